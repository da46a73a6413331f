import {Component, esc} from '../../core/component.js';
import {uuid4} from '../../core/uuid.js';

// Top-up (充值) of the identified member's wallet, paid in cash / card /
// WeChat / Alipay; an optional new payment PIN on the pad. Online only.
const PAYABLE = new Set(['cash', 'card', 'wechat', 'alipay', 'other']);

export class TopupScreen extends Component {
    constructor(env) {
        super(env);
        this.local = env.makeLocal({amount: '', method: null, pin: '', error: '', busy: false, uuid: uuid4()});
    }
    methods() { return this.env.pos.methods().filter((m) => PAYABLE.has(m.kind)); }
    setAmount(v) { this.local.amount = v; }
    setPin(v) { this.local.pin = v.replace(/\D/g, '').slice(0, 6); }
    pick(id) { this.local.method = Number(id); }
    quick(v) { this.local.amount = v; }
    async submit() {
        const member = this.env.pos.cart.member;
        if (!member) { this.local.error = this.t('topup.need_member'); return; }
        const amount = this.env.money.parse(this.local.amount);
        if (!amount || Number.isNaN(amount) || amount <= 0) { this.local.error = this.t('common.bad_amount'); return; }
        const method = this.local.method || this.methods()[0]?.id;
        const body = {uuid: this.local.uuid, member_id: member.id, amount: this.env.money.str(amount), method_id: method};
        if (this.local.pin) body.pin_new = this.local.pin;
        this.local.busy = true;
        this.local.error = '';
        try {
            await this.env.pos.topup(body);
            this.local.amount = '';
            this.local.pin = '';
            this.local.uuid = uuid4();
            this.env.screens.receipt.autoPrint(this.state.lastSale, this.env.pos.method(method)?.kind === 'cash');
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
        if (ev.key === 'Enter' && ev.target.id !== 'member-code') { this.submit(); return true; }
        const f = /^F([1-9])$/.exec(ev.key);
        if (f && this.methods()[Number(f[1]) - 1]) { this.pick(this.methods()[Number(f[1]) - 1].id); return true; }
        return false;
    }
    template() {
        const member = this.env.pos.cart.member;
        const sel = this.local.method || this.methods()[0]?.id;
        return `<div class="center-screen"><form class="card">
            <h1>${this.t('topup.title')}</h1>
            ${member ? `<p data-testid="topup-member"><b>${esc(member.name)}</b> · ${esc(member.number)} · ${this.t('member.wallet')} ${member.wallet ? '￥' + esc(member.wallet.balance) : '—'}</p>`
                : `<p class="error">${this.t('topup.need_member')}</p>`}
            <label>${this.t('topup.amount')}<input id="topup-amount" class="money big" inputmode="decimal" value="${esc(this.local.amount)}" ${this.onInput('setAmount')} data-autofocus data-testid="topup-amount"></label>
            <div class="row">${['100', '200', '500', '1000'].map((v) => `<button type="button" class="chip" ${this.on('quick', v)}>￥${v}</button>`).join('')}</div>
            <div class="row">${this.methods().map((m, i) => `<button type="button" class="chip ${m.id === sel ? 'on' : ''}" ${this.on('pick', m.id)}><kbd>F${i + 1}</kbd> ${esc(m.name)}</button>`).join('')}</div>
            ${member && member.wallet && member.wallet.has_pin ? '' : `<label>${this.t('topup.new_pin')}<input id="topup-pin" type="password" inputmode="numeric" value="${esc(this.local.pin)}" ${this.onInput('setPin')} autocomplete="new-password"></label>`}
            ${this.local.error ? `<p class="error" data-testid="topup-error">${esc(this.local.error)}</p>` : ''}
            <div class="row">
                <button type="button" class="btn" ${this.on('back')}>${this.t('common.back')} <kbd>Esc</kbd></button>
                <button type="button" class="btn primary" ${this.on('submit')} ${this.local.busy || !member ? 'disabled' : ''} data-testid="topup-submit">${this.t('topup.submit')} <kbd>Enter</kbd></button>
            </div>
        </form></div>`;
    }
}
