import {Component, esc} from '../../core/component.js';
import {receiptHtml} from './receipt_view.js';

// After a sale / refund / top-up: the receipt preview, print through the
// hardware proxy, and the next sale (Enter).
export class ReceiptScreen extends Component {
    constructor(env) {
        super(env);
        this.local = env.makeLocal({printState: '', printError: ''});
    }
    // print at once when a paired printer is there; open the drawer for cash
    autoPrint(answer, openDrawer) {
        this.local.printState = '';
        this.local.printError = '';
        if (this.env.hw.summary() === 'ok' && answer.receipt) this.print(openDrawer);
        else if (openDrawer && this.state.hw.paired) this.env.hw.openDrawer().catch(() => {});
    }
    async print(openDrawer = false) {
        const sale = this.state.lastSale;
        if (!sale?.receipt) return;
        this.local.printState = 'printing';
        try {
            await this.env.hw.printReceipt(sale.receipt, openDrawer === true);
            this.local.printState = 'printed';
        } catch (e) {
            this.local.printState = 'failed';
            this.local.printError = this.env.hwMessage(e);
        }
    }
    next() {
        this.env.pos.newSale();
        this.state.screen = 'sale';
        this.env.hw.display({mode: 'welcome'});
    }
    onKey(ev) {
        if (ev.key === 'Enter' || ev.key === 'Escape') { this.next(); return true; }
        if (ev.key === 'F4' || ev.key === 'p') { this.print(false); return true; }
        return false;
    }
    template() {
        const s = this.state.lastSale || {};
        const kind = s.refund ? 'refund' : s.topup ? 'topup' : 'sale';
        const m = this.env.money;
        const change = s.sale?.change && m.parse(s.sale.change) > 0 ? s.sale.change : null;
        return `<div class="receipt-screen">
            <section class="receipt-side">
                <h1 data-testid="receipt-title">${this.t('receipt.done_' + kind)}</h1>
                ${s.sale?.number ? `<p class="big-number">${this.t('receipt.number')}: <b data-testid="sale-number">${esc(s.sale.number)}</b></p>` : ''}
                ${s.offline ? `<p class="offline-note" data-testid="offline-note">${this.t('receipt.offline_note')}</p>` : ''}
                ${s.synced ? `<p class="ok-text" data-testid="synced-note">${this.t('receipt.synced_note')}</p>` : ''}
                ${change ? `<p class="change">${this.t('payment.change')} <b data-testid="receipt-change">￥${esc(change)}</b></p>` : ''}
                ${s.topup ? `<p>${this.t('topup.done', {amount: esc(s.topup.amount), bonus: esc(s.topup.bonus || '0')})}</p>` : ''}
                ${s.member ? `<p>${esc(s.member.name)} · ${this.t('member.points')} ${esc(s.member.points?.balance ?? '')} · ${this.t('member.wallet')} ${s.member.wallet ? '￥' + esc(s.member.wallet.balance) : '—'}</p>` : ''}
                <p class="print-state">${this.local.printState ? this.t('receipt.print_' + this.local.printState) : ''} ${esc(this.local.printError)}</p>
                <div class="row">
                    <button class="btn" ${this.on('print')} data-testid="print"><kbd>F4</kbd> ${this.t('receipt.print')}</button>
                    <button class="btn primary" ${this.on('next')} data-testid="next-sale" data-autofocus>${this.t('receipt.next')} <kbd>Enter</kbd></button>
                </div>
            </section>
            <section class="receipt-preview" data-keep-scroll="receipt">${receiptHtml(s.receipt)}</section>
        </div>`;
    }
}
