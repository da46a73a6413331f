import {Component, esc} from '../../core/component.js';
import {ONLINE_ONLY_KINDS} from '../../pos.js';
import {PinPad} from '../PinPad/PinPad.js';
import {uuid4} from '../../core/uuid.js';

const NEEDS_REFERENCE = new Set(['card', 'wechat', 'alipay']);

// Split payments: cash (change, 找零转存), bank card / WeChat / Alipay with a
// reference, wallet with the member's payment PIN, points with a chooser
// showing their value, coupons. Enter pays, Esc goes back to the cart.
export class PaymentScreen extends Component {
    constructor(env) {
        super(env);
        this.local = env.makeLocal({selected: null, error: '', busy: false, pinFor: null, coupon: ''});
        this.pad = new PinPad(env, {secret: true, max: 6, labelKey: 'payment.wallet_pin', onDone: (pin) => this.setPin(pin)});
    }
    get pos() { return this.env.pos; }
    get m() { return this.env.money; }
    payments() { return this.state.payments; }
    paid() { return this.payments().reduce((s, p) => s + this.m.parse(p.amount), 0); }
    remaining() { return this.pos.total() - this.paid(); }
    member() { return this.pos.cart.member; }
    line() { return this.payments().find((p) => p.key === this.local.selected) || null; }
    pointRate() {
        const pts = this.member()?.points;
        if (!pts || !Number(pts.available ?? pts.balance)) return 0;
        return this.m.parse(pts.value) / Number(pts.available ?? pts.balance);  // minor units per point
    }
    available(method) {
        const kind = method.kind;
        if (!this.state.online && ONLINE_ONLY_KINDS.has(kind)) return this.t('offline.refuse_balance');
        const member = this.member();
        if (kind === 'wallet' && !member?.wallet) return this.t('payment.need_member_wallet');
        if (kind === 'points' && !(member && Number(member.points?.available ?? member.points?.balance) > 0)) return this.t('payment.need_member_points');
        if (kind === 'count_card') return this.t('payment.count_card_on_line');
        return null;
    }
    addMethod(id) {
        const method = this.pos.method(id);
        if (!method) return;
        const refusal = this.available(method);
        if (refusal) { this.local.error = refusal; return; }
        this.local.error = '';
        const rest = Math.max(0, this.remaining());
        const line = {key: uuid4().slice(0, 8), method_id: method.id, kind: method.kind, name: method.name, amount: this.m.str(rest)};
        if (method.kind === 'wallet') {
            const balance = this.m.parse(this.member().wallet.balance);
            line.amount = this.m.str(Math.min(rest, balance));
            if (this.member().wallet.has_pin) { this.local.pinFor = line.key; this.pad.clear(); }
        } else if (method.kind === 'points') {
            const rate = this.pointRate();
            const balance = Number(this.member().points.available ?? this.member().points.balance);
            const points = rate ? Math.min(balance, Math.floor(rest / rate)) : 0;
            line.points = points;
            line.amount = this.m.str(Math.floor(points * rate + 1e-9));
        }
        const existing = this.payments().find((p) => p.method_id === method.id && p.kind !== 'cash');
        if (existing && method.kind !== 'cash') { this.local.selected = existing.key; return; }
        this.payments().push(line);
        this.local.selected = line.key;
        setTimeout(() => document.getElementById(method.kind === 'points' ? 'pay-points' : (NEEDS_REFERENCE.has(method.kind) ? 'pay-reference' : 'pay-amount'))?.select(), 30);
    }
    select(key) { this.local.selected = key; }
    remove(key) {
        const i = this.payments().findIndex((p) => p.key === key);
        if (i >= 0) this.payments().splice(i, 1);
        if (this.local.pinFor === key) this.local.pinFor = null;
        this.local.selected = this.payments()[this.payments().length - 1]?.key || null;
    }
    setAmount(value) {
        const line = this.line();
        if (!line || line.kind === 'points') return;
        const v = this.m.parse(value);
        if (Number.isNaN(v) || v < 0) { this.local.error = this.t('common.bad_amount'); return; }
        this.local.error = '';
        line.amount = this.m.str(v);
    }
    setReference(value) { const line = this.line(); if (line) line.reference = value.trim(); }
    setPoints(value) {
        const line = this.line();
        if (!line) return;
        const balance = Number(this.member().points.available ?? this.member().points.balance);
        let points = Math.max(0, Math.floor(Number(value) || 0));
        if (points > balance) { points = balance; this.local.error = this.t('payment.points_over', {balance}); } else this.local.error = '';
        line.points = points;
        line.amount = this.m.str(Math.floor(points * this.pointRate() + 1e-9));
    }
    maxPoints() {
        const line = this.line();
        if (!line) return;
        const others = this.paid() - this.m.parse(line.amount);
        const rest = Math.max(0, this.pos.total() - others);
        const rate = this.pointRate();
        this.setPoints(String(rate ? Math.min(Number(this.member().points.available ?? this.member().points.balance), Math.floor(rest / rate)) : 0));
    }
    async setPin(pin) {
        const line = this.payments().find((p) => p.key === this.local.pinFor);
        this.pad.clear();
        if (!line || this.local.busy) { this.local.pinFor = null; return; }
        this.local.busy = true;
        try {
            await this.pos.verifyWalletPin(line, pin);
            this.local.pinFor = null;
            this.local.error = '';
            setTimeout(() => document.getElementById('pay-amount')?.focus(), 30);
        } catch (e) {
            // the pad stays open for another try (the message says how many)
            this.local.error = e.message;
            if (e.code === 'insufficient_balance') { this.local.pinFor = null; this.pos.refreshMember(); }
        } finally {
            this.local.busy = false;
        }
    }
    askPin(key) { this.local.pinFor = key; this.pad.clear(); }
    toggleChangeToWallet() { this.state.changeToWallet = !this.state.changeToWallet; }
    coupon(code) { this.pos.toggleCoupon(code); this.pos.ensureQuote(); }
    setCouponCode(value) { this.local.coupon = value.trim(); }
    addCoupon() {
        const code = this.local.coupon;
        if (!code) return;
        if (!this.state.online) { this.local.error = this.t('offline.refuse_coupon'); return; }
        if (!this.pos.cart.coupons.includes(code)) this.pos.toggleCoupon(code);
        this.local.coupon = '';
        this.pos.ensureQuote();
    }
    back() { this.state.screen = 'sale'; this.local.error = ''; }
    validateMessage() {
        const pays = this.payments();
        if (!pays.length && this.pos.total() > 0) return this.t('payment.add_payment');
        if (this.remaining() > 0) return this.t('payment.still_due', {amount: this.m.str(this.remaining())});
        const nonCash = pays.filter((p) => p.kind !== 'cash').reduce((s, p) => s + this.m.parse(p.amount), 0);
        if (nonCash > this.pos.total()) return this.t('payment.only_cash_change');
        const wallet = pays.find((p) => p.kind === 'wallet');
        if (wallet && this.member()?.wallet?.has_pin && !this.pos.pinCovers(wallet)) return this.t('payment.need_pin');
        if (wallet && this.m.parse(wallet.amount) > this.m.parse(this.member().wallet.balance)) return this.t('payment.wallet_short');
        const quote = this.state.quote;
        if (quote?.error && quote.version === this.pos.cartVersion) return quote.error;
        return null;
    }
    async validate() {
        if (this.local.busy) return;
        const message = this.validateMessage();
        if (message) { this.local.error = message; return; }
        if (!this.state.online) {
            const refusal = this.pos.offlineRefusal(this.payments());
            if (refusal) { this.local.error = refusal; return; }
        }
        this.local.busy = true;
        this.local.error = '';
        try {
            const answer = await this.pos.checkout();
            const cash = this.payments().some((p) => p.kind === 'cash');
            this.env.screens.receipt.autoPrint(answer, cash);
        } catch (e) {
            this.local.error = e.message;
            if (e.code && /pin/i.test(e.code)) {
                const wallet = this.payments().find((p) => p.kind === 'wallet');
                if (wallet) { wallet.pin = ''; wallet.pinFor = null; this.askPin(wallet.key); }
            }
            if (e.code && e.code !== 'offline_refused') this.pos.refreshMember();
        } finally {
            this.local.busy = false;
        }
    }
    onKey(ev) {
        if (this.local.pinFor) {
            if (ev.key === 'Escape') { this.local.pinFor = null; return true; }
            return this.pad.onKey(ev);
        }
        if (ev.target.id === 'coupon-code' && ev.key === 'Enter') { this.addCoupon(); return true; }
        const f = /^F([1-9])$/.exec(ev.key);
        if (f) {
            const method = this.pos.methods()[Number(f[1]) - 1];
            if (method) this.addMethod(method.id);
            return true;
        }
        if (ev.key === 'Escape') { this.back(); return true; }
        if (ev.key === 'Enter') {
            if (ev.target.matches?.('input')) ev.target.dispatchEvent(new Event('change', {bubbles: true}));
            this.validate();
            return true;
        }
        if (ev.key === 'F11') { this.toggleChangeToWallet(); return true; }
        return false;
    }
    lineEditor() {
        const line = this.line();
        if (!line) return `<p class="hint">${this.t('payment.pick_method')}</p>`;
        const parts = [`<h3>${esc(line.name)}</h3>`];
        if (line.kind === 'points') {
            const m = this.member();
            parts.push(`<div class="points-chooser" data-testid="points-chooser">
                <div>${this.t('payment.points_balance', {points: m.points.available ?? m.points.balance, value: m.points.value})}</div>
                <label>${this.t('payment.points_use')}<input id="pay-points" inputmode="numeric" value="${esc(line.points)}" ${this.onChange('setPoints')} data-testid="points-input"></label>
                <div class="points-value">= ￥<b data-testid="points-value">${esc(line.amount)}</b></div>
                <button class="btn small" ${this.on('maxPoints')}>${this.t('payment.points_max')}</button>
            </div>`);
        } else {
            parts.push(`<label>${this.t('payment.amount')}<input id="pay-amount" class="money big" inputmode="decimal" value="${esc(line.amount)}" ${this.onChange('setAmount')} data-testid="pay-amount" data-autofocus></label>`);
        }
        if (line.kind === 'cash') {
            const quick = [this.pos.total(), ...[5000, 10000, 20000, 50000].map((x) => x * this.m.factor / 100).filter((x) => x > this.pos.total())].slice(0, 4);
            parts.push(`<div class="quick">${quick.map((x) => `<button class="chip" ${this.on('setAmount', this.m.str(x))}>￥${esc(this.m.str(x))}</button>`).join('')}</div>`);
        }
        if (NEEDS_REFERENCE.has(line.kind)) {
            parts.push(`<label>${this.t('payment.reference')}<input id="pay-reference" value="${esc(line.reference || '')}" ${this.onInput('setReference')} placeholder="${this.t('payment.reference_hint')}" data-testid="pay-reference"></label>`);
        }
        if (line.kind === 'wallet') {
            const w = this.member().wallet;
            parts.push(`<div class="hint">${this.t('payment.wallet_balance', {balance: w.balance})}</div>`);
            if (w.has_pin) parts.push(`<button class="btn" ${this.on('askPin', line.key)} data-testid="wallet-pin">${this.pos.pinCovers(line) ? this.t('payment.pin_entered') : this.t('payment.enter_pin')}</button>`);
        }
        return parts.join('');
    }
    template() {
        const pos = this.pos;
        const m = this.m;
        const total = pos.total();
        const rest = this.remaining();
        const member = this.member();
        const change = rest < 0 ? -rest : 0;
        const canChangeToWallet = change > 0 && member?.wallet && this.state.online;
        const methods = pos.methods().map((method, i) => {
            const refusal = this.available(method);
            return `<button class="method ${refusal ? 'disabled' : ''}" ${this.on('addMethod', method.id)} title="${esc(refusal || '')}" data-testid="method-${esc(method.kind)}" data-kind="${esc(method.kind)}">
                <kbd>F${i + 1}</kbd> ${esc(method.name)}${refusal && !this.state.online ? ` <small>${this.t('status.offline')}</small>` : ''}</button>`;
        }).join('');
        const pays = this.payments().map((p) => `<li class="${p.key === this.local.selected ? 'sel' : ''}" ${this.on('select', p.key)} data-testid="payment-line">
            <span>${esc(p.name)}${p.points ? ` <small>(${this.t('payment.points_n', {points: p.points})})</small>` : ''}${p.reference ? ` <small>#${esc(p.reference)}</small>` : ''}${p.kind === 'wallet' && member?.wallet?.has_pin ? ` <small>${this.pos.pinCovers(p) ? this.t('payment.pin_ok_short') : this.t('payment.need_pin_short')}</small>` : ''}</span>
            <b>${esc(p.amount)}</b><button class="x" ${this.on('remove', p.key)}>✕</button></li>`).join('');
        const q = pos.quoteIsFresh() ? this.state.quote : null;
        const coupons = member?.coupons || [];
        return `<div class="payment-screen">
            <section class="pay-summary">
                <div class="due"><span>${this.t('payment.due')}</span><b data-testid="pay-total">￥${esc(m.str(total))}</b></div>
                ${q?.adjustments?.length ? `<div class="adjs">${q.adjustments.map((a) => `<div><span>${esc(a.label)}</span><span>${esc(a.amount)}</span></div>`).join('')}</div>` : ''}
                <ul class="pay-lines" data-testid="payment-lines">${pays || `<li class="empty">${this.t('payment.no_payment')}</li>`}</ul>
                <div class="rest ${rest > 0 ? 'due-left' : 'done'}">
                    ${rest > 0 ? `<span>${this.t('payment.remaining')}</span><b data-testid="pay-remaining">￥${esc(m.str(rest))}</b>`
                        : `<span>${this.t('payment.change')}</span><b data-testid="pay-change">￥${esc(m.str(change))}</b>`}
                </div>
                ${canChangeToWallet ? `<label class="check"><input type="checkbox" ${this.state.changeToWallet ? 'checked' : ''} ${this.onChange('toggleChangeToWallet')} data-testid="change-to-wallet"> ${this.t('payment.change_to_wallet')} <kbd>F11</kbd></label>` : ''}
                ${member ? `<div class="hint">${this.t('payment.member', {name: esc(member.name)})}${q?.points_to_earn ? ' · ' + this.t('cart.points_to_earn') + ' +' + esc(q.points_to_earn) : ''}</div>` : ''}
            </section>
            <section class="methods">${methods}
                ${this.state.online ? '' : `<p class="offline-policy" data-testid="offline-policy">${this.t('offline.policy')}</p>`}
                <div class="coupon-box"><h3>${this.t('payment.coupons')}</h3>
                    ${coupons.map((c) => `<button class="chip ${pos.cart.coupons.includes(c.code) ? 'on' : ''}" ${this.on('coupon', c.code)} data-testid="pay-coupon">${esc(c.name)}</button>`).join('')}
                    ${pos.cart.coupons.filter((c) => !coupons.some((x) => x.code === c)).map((c) => `<button class="chip on" ${this.on('coupon', c)}>${esc(c)}</button>`).join('')}
                    <div class="row"><input id="coupon-code" value="${esc(this.local.coupon)}" ${this.onInput('setCouponCode')} placeholder="${this.t('payment.coupon_code')}" data-testid="coupon-code"><button class="btn small" ${this.on('addCoupon')}>${this.t('payment.apply')}</button></div>
                </div>
            </section>
            <section class="pay-edit">
                ${this.local.pinFor ? this.pad.template() : this.lineEditor()}
                ${this.local.error ? `<p class="error" data-testid="pay-error">${esc(this.local.error)}</p>` : ''}
            </section>
            <footer class="fkeys">
                <button class="fkey" ${this.on('back')} data-testid="pay-back"><kbd>Esc</kbd>${this.t('common.back')}</button>
                <span class="grow"></span>
                <button class="btn primary validate" ${this.on('validate')} ${this.local.busy ? 'disabled' : ''} data-testid="validate">${this.local.busy ? this.t('common.wait') : this.t('payment.validate')} <kbd>Enter</kbd></button>
            </footer>
        </div>`;
    }
}
