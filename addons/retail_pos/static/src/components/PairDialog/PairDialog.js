import {Component, esc} from '../../core/component.js';

// Pairing with the hardware proxy: ask, then type the 6-digit code the proxy
// shows on its console / status page (never sent to the browser).
export class PairDialog extends Component {
    constructor(env) {
        super(env);
        this.local = env.makeLocal({started: false, code: '', error: ''});
    }
    async start() {
        this.local.error = '';
        try {
            await this.env.hw.pairStart(`${this.state.point?.name || 'POS'}`);
            this.local.started = true;
        } catch (e) { this.local.error = this.env.hwMessage(e); }
    }
    setCode(v) { this.local.code = v.replace(/\D/g, '').slice(0, 6); }
    async confirm() {
        try {
            await this.env.hw.pairConfirm(this.local.code);
            this.close();
            this.env.toast(this.t('hw.paired'), 'ok');
        } catch (e) { this.local.error = this.env.hwMessage(e); }
    }
    close() { this.state.dialog = null; this.local.started = false; this.local.code = ''; this.local.error = ''; }
    onKey(ev) {
        if (ev.key === 'Escape') { this.close(); return true; }
        if (ev.key === 'Enter') { if (this.local.started) this.confirm(); else this.start(); return true; }
        return false;
    }
    template() {
        return `<div class="modal"><div class="card">
            <h1>${this.t('hw.pair_title')}</h1>
            <p class="hint">${this.t('hw.pair_hint', {url: esc(this.env.hw.url)})}</p>
            ${this.local.started ? `<label>${this.t('hw.pair_code')}<input id="pair-code" inputmode="numeric" value="${esc(this.local.code)}" ${this.onInput('setCode')} data-autofocus></label>` : ''}
            ${this.local.error ? `<p class="error">${esc(this.local.error)}</p>` : ''}
            <div class="row">
                <button class="btn" ${this.on('close')}>${this.t('common.cancel')} <kbd>Esc</kbd></button>
                ${this.local.started ? `<button class="btn primary" ${this.on('confirm')}>${this.t('common.confirm')} <kbd>Enter</kbd></button>`
                    : `<button class="btn primary" ${this.on('start')} data-autofocus>${this.t('hw.pair_start')} <kbd>Enter</kbd></button>`}
            </div>
        </div></div>`;
    }
}
