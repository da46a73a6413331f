import {Component, esc} from '../../core/component.js';

// Opening a cash session: the float (期初余额) per cash method.
export class OpenSessionScreen extends Component {
    constructor(env) {
        super(env);
        // needReason: the count is not what the previous shift left
        this.local = env.makeLocal({float: {}, error: '', busy: false, needReason: false, reason: ''});
    }
    setFloat(value, ev, el) { this.local.float[el.dataset.method] = value; }
    setReason(value) { this.local.reason = value; }
    async open() {
        const float = {};
        for (const m of this.env.pos.methods().filter((x) => x.kind === 'cash')) {
            const v = this.local.float[m.id] || '0';
            if (Number.isNaN(this.env.money.parse(v))) { this.local.error = this.t('common.bad_amount'); return; }
            float[m.id] = this.env.money.str(this.env.money.parse(v));
        }
        const reason = this.local.reason.trim();
        if (this.local.needReason && !reason) { this.local.error = this.t('session.reason_required'); return; }
        this.local.busy = true;
        try {
            await this.env.pos.openSession(float, this.local.needReason ? reason : undefined);
            this.env.pos.newSale();
        } catch (e) {
            // the server's message tells the amount expected and the difference
            // (and the reason's input takes the focus)
            if (e.code === 'float_difference') { this.local.needReason = true; document.activeElement?.blur(); }
            this.local.error = e.code === 'offline' ? this.t('session.offline') : e.message;
        } finally {
            this.local.busy = false;
        }
    }
    logout() { this.env.pos.logout(); }
    onKey(ev) {
        if (ev.key === 'Enter') { this.open(); return true; }
        return false;
    }
    template() {
        const cash = this.env.pos.methods().filter((m) => m.kind === 'cash');
        return `<div class="center-screen"><form class="card">
            <h1>${this.t('session.open_title')}</h1>
            <p class="hint">${this.t('session.open_hint')}</p>
            ${cash.map((m, i) => `<label>${esc(m.name)} · ${this.t('session.float')}
                <input class="money" inputmode="decimal" data-method="${m.id}" ${this.onInput('setFloat')} id="float-${m.id}"
                  value="${esc(this.local.float[m.id] || '')}" placeholder="0.00" ${i === 0 && !this.local.needReason ? 'data-autofocus' : ''} data-testid="float-input"></label>`).join('')}
            ${this.local.error ? `<p class="error" data-testid="open-error">${esc(this.local.error)}</p>` : ''}
            ${this.local.needReason ? `<label>${this.t('session.reason')}
                <input id="float-reason" ${this.onInput('setReason')} value="${esc(this.local.reason)}" maxlength="200"
                  placeholder="${esc(this.t('session.reason_hint'))}" data-autofocus data-testid="float-reason"></label>` : ''}
            <div class="row">
                <button type="button" class="btn" ${this.on('logout')}>${this.t('common.logout')}</button>
                <button type="button" class="btn primary" ${this.on('open')} data-testid="open-session" ${this.local.busy ? 'disabled' : ''}>${this.t('session.open')} <kbd>Enter</kbd></button>
            </div>
        </form></div>`;
    }
}
