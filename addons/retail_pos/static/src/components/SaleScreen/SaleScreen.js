import {Component} from '../../core/component.js';
import {ProductGrid} from '../ProductGrid/ProductGrid.js';
import {Cart} from '../Cart/Cart.js';
import {MemberPanel} from '../MemberPanel/MemberPanel.js';

// The main sale screen. Keyboard first: every action has a key on its button.
export class SaleScreen extends Component {
    constructor(env) {
        super(env);
        this.grid = new ProductGrid(env);
        this.cart = new Cart(env);
        this.member = new MemberPanel(env);
    }
    async pay() {
        const pos = this.env.pos;
        if (!pos.cart.lines.length) { this.env.toast(this.t('sale.empty_cart'), 'warn'); return; }
        await pos.ensureQuote();
        if (this.state.quote?.error && this.state.quote.version === pos.cartVersion) {
            this.env.toast(this.state.quote.error, 'error');
            return;
        }
        this.state.payments = [];
        this.state.screen = 'payment';
        this.env.hw.display({mode: 'total', amount: this.env.money.str(pos.total())});
    }
    go(screen) {
        if ((screen === 'refund' || screen === 'topup' || screen === 'close') && !this.state.online) {
            this.env.toast(this.t('offline.refuse_' + screen), 'error');
            return;
        }
        this.state.screen = screen;
        if (screen === 'close') this.env.screens.close.load();
    }
    voidSale() {
        if (this.env.pos.cart.lines.length && !confirm(this.t('sale.void_confirm'))) return;
        this.env.pos.newSale();
    }
    async drawer() {
        try { await this.env.hw.openDrawer(); } catch (e) { this.env.notifyError(e); }
    }
    logout() { this.env.pos.logout(); }
    // 重打小票: the last sale's receipt from the server, marked REPRINT
    async reprint() {
        const last = this.state.lastSale;
        if (!last?.sale?.id) { this.env.toast(this.t('sale.no_last_sale'), 'warn'); return; }
        const answer = await this.env.api.get(`receipt/${last.sale.id}`);
        await this.env.hw.printReceipt(answer.receipt);
        this.env.toast(this.t('receipt.printed'), 'ok');
    }
    onKey(ev) {
        if (this.member.onKey(ev)) return true;
        if (ev.key === 'Delete' && ev.ctrlKey) { this.voidSale(); return true; }
        if (ev.key === 'p' && ev.ctrlKey) { this.reprint().catch((e) => this.env.notifyError(e)); return true; }
        const inEditor = ev.target.id === 'line-qty' || ev.target.id === 'line-discount';
        switch (ev.key) {
        case 'F2': this.grid.focus(); return true;
        case 'F3': this.member.focus(); return true;
        case 'F4': document.getElementById('line-qty')?.select(); return true;
        case 'F5': document.getElementById('line-discount')?.select(); return true;
        case 'F6': document.getElementById('staff-first')?.focus(); return true;
        case 'F7': this.drawer(); return true;
        case 'F8': this.go('refund'); return true;
        case 'F9': this.go('topup'); return true;
        case 'F10': this.go('close'); return true;
        case 'F12': this.pay(); return true;
        case 'Enter':
            if (inEditor) { ev.target.dispatchEvent(new Event('change', {bubbles: true})); this.grid.focus(); return true; }
            if (ev.target.id === 'product-search' && this.grid.local.q.trim()) { this.grid.submit(); return true; }
            if (ev.target.id === 'product-search' || ev.target === document.body) { this.pay(); return true; }
            return false;
        case 'Escape':
            if (this.grid.local.q) { this.grid.local.q = ''; return true; }
            this.grid.focus();
            return true;
        case 'ArrowUp': if (!inEditor) { this.cart.move(-1); return true; } return false;
        case 'ArrowDown': if (!inEditor) { this.cart.move(1); return true; } return false;
        case '+': if (ev.target.id === 'product-search' && !this.grid.local.q) { this.cart.bump(1); return true; } return false;
        case '-': if (ev.target.id === 'product-search' && !this.grid.local.q) { this.cart.bump(-1); return true; } return false;
        case 'Delete': if (!inEditor && this.env.pos.cart.selected) { this.env.pos.removeLine(this.env.pos.cart.selected); return true; } return false;
        default:
            // typing anywhere on the sale screen goes to the search box
            if (ev.key.length === 1 && !ev.ctrlKey && !ev.altKey && !ev.target.matches?.('input, textarea')) this.grid.focus();
            return false;
        }
    }
    template() {
        const k = (key, label, act, arg, cls = '') => `<button class="fkey ${cls}" ${this.on(act, arg)} data-testid="key-${key}"><kbd>${key}</kbd>${this.t(label)}</button>`;
        return `<div class="sale-screen">
            ${this.grid.template()}
            <aside class="side">
                ${this.member.template()}
                ${this.cart.template()}
                <button class="btn pay" ${this.on('pay')} data-testid="pay">${this.t('sale.pay')} <kbd>F12</kbd> <kbd>Enter</kbd></button>
            </aside>
            <footer class="fkeys">
                ${k('F2', 'sale.key_search', 'grid_focus')}
                ${k('F3', 'sale.key_member', 'member_focus')}
                ${k('F7', 'sale.key_drawer', 'drawer')}
                ${k('F8', 'sale.key_refund', 'go', 'refund')}
                ${k('F9', 'sale.key_topup', 'go', 'topup')}
                ${k('F10', 'sale.key_close', 'go', 'close')}
                ${k('Del', 'sale.key_delete', 'deleteLine')}
                ${k('Ctrl+P', 'sale.key_reprint', 'reprint')}
                <span class="grow"></span>
                ${k('Ctrl+Del', 'sale.key_void', 'voidSale')}
                <button class="fkey" ${this.on('logout')}>${this.t('common.logout')}</button>
            </footer>
        </div>`;
    }
    grid_focus() { this.grid.focus(); }
    member_focus() { this.member.focus(); }
    deleteLine() { if (this.env.pos.cart.selected) this.env.pos.removeLine(this.env.pos.cart.selected); }
}
