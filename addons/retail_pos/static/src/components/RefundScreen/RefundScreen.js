import {Component, esc} from '../../core/component.js';
import {uuid4} from '../../core/uuid.js';

// Refund from a receipt number (typed, or the receipt's barcode scanned):
// every line not yet returned comes back; wallet and points go back where
// they came from (the server decides), the rest in cash or the chosen method.
export class RefundScreen extends Component {
    constructor(env) {
        super(env);
        this.local = env.makeLocal({number: '', method: '', error: '', busy: false, uuid: uuid4()});
        env.on('refund-scan', (code) => { this.local.number = code; this.submit(); });
    }
    setNumber(v) { this.local.number = v.trim(); if (this.local.error) this.local.error = ''; }
    setMethod(v) { this.local.method = v; }
    async submit() {
        const number = this.local.number;
        if (!number) { this.local.error = this.t('refund.need_number'); return; }
        if (!this.state.online) { this.local.error = this.t('offline.refuse_refund'); return; }
        if (!confirm(this.t('refund.confirm', {number}))) return;
        this.local.busy = true;
        this.local.error = '';
        try {
            // same UUID while this refund is being retried; a new one after
            await this.env.pos.refund({uuid: this.local.uuid, sale_number: number});
            this.local.number = '';
            this.local.uuid = uuid4();
            this.env.screens.receipt.autoPrint(this.state.lastSale, true);
        } catch (e) {
            this.local.error = e.message;
            if (e.code !== 'offline') this.local.uuid = uuid4();
        } finally {
            this.local.busy = false;
        }
    }
    back() { this.state.screen = 'sale'; this.local.error = ''; }
    onKey(ev) {
        if (ev.key === 'Escape') { this.back(); return true; }
        if (ev.key === 'Enter') { this.submit(); return true; }
        return false;
    }
    template() {
        return `<div class="center-screen"><form class="card">
            <h1>${this.t('refund.title')}</h1>
            <p class="hint">${this.t('refund.hint')}</p>
            <label>${this.t('refund.number')}<input id="refund-number" value="${esc(this.local.number)}" ${this.onInput('setNumber')} data-autofocus data-testid="refund-number" autocomplete="off"></label>
            <p class="hint">${this.t('refund.policy')}</p>
            ${this.local.error ? `<p class="error" data-testid="refund-error">${esc(this.local.error)}</p>` : ''}
            <div class="row">
                <button type="button" class="btn" ${this.on('back')}>${this.t('common.back')} <kbd>Esc</kbd></button>
                <button type="button" class="btn danger" ${this.on('submit')} ${this.local.busy ? 'disabled' : ''} data-testid="refund-submit">${this.t('refund.submit')} <kbd>Enter</kbd></button>
            </div>
        </form></div>`;
    }
}
