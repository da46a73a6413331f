import {Component, esc} from '../../core/component.js';
import {PinPad} from '../PinPad/PinPad.js';

// Cashier login: user name + PIN on the pad, or a badge scan.
export class LoginScreen extends Component {
    constructor(env) {
        super(env);
        this.local = env.makeLocal({login: localStorage.getItem('hy-pos-last-login') || '', error: '', busy: false});
        this.pad = new PinPad(env, {secret: true, max: 12, labelKey: 'login.pin', onDone: (pin) => this.submit(pin)});
        env.on('badge', (badge) => this.login({badge}));
    }
    setLogin(value) { this.local.login = value.trim(); }
    async submit(pin) {
        if (!this.local.login) { this.local.error = this.t('login.need_user'); return; }
        if (!pin) { this.local.error = this.t('login.need_pin'); return; }
        await this.login({login: this.local.login, pin});
    }
    async login(body) {
        if (this.local.busy) return;
        this.local.busy = true;
        this.local.error = '';
        try {
            const answer = await this.env.api.post('login', body);
            if (body.login) localStorage.setItem('hy-pos-last-login', body.login);
            this.pad.clear();
            await this.env.pos.afterLogin(answer);
        } catch (e) {
            this.pad.clear();
            this.local.error = e.code === 'offline' ? this.t('login.offline') : e.message;
        } finally {
            this.local.busy = false;
        }
    }
    onKey(ev) {
        if (ev.target.id === 'login-user') {
            if (ev.key === 'Enter') { document.getElementById('login-pin-focus')?.focus(); return true; }
            return false;
        }
        return this.pad.onKey(ev);
    }
    template() {
        const l = this.local;
        return `<div class="center-screen login">
            <form class="card" autocomplete="off">
                <h1>${this.t('login.title')}</h1>
                <label>${this.t('login.user')}
                    <input id="login-user" ${this.onInput('setLogin')} value="${esc(l.login)}" ${l.login ? '' : 'data-autofocus'} autocomplete="username" data-testid="login-user">
                </label>
                <div id="login-pin-focus" tabindex="0" ${l.login ? 'data-autofocus' : ''} class="pad-wrap">${this.pad.template()}</div>
                <p class="hint">${this.t('login.badge_hint')}</p>
                ${l.error ? `<p class="error" data-testid="login-error">${esc(l.error)}</p>` : ''}
                ${l.busy ? `<p class="hint">${this.t('common.wait')}</p>` : ''}
            </form>
        </div>`;
    }
}
