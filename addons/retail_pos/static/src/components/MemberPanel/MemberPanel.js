import {Component, esc} from '../../core/component.js';

// Member: identify by card swipe / phone / member number / QR (HY:<card>),
// then tier, points (and their value), wallet, count cards and coupons.
export class MemberPanel extends Component {
    constructor(env) {
        super(env);
        this.local = env.makeLocal({code: '', busy: false, results: null});
    }
    setCode(value) { this.local.code = value; }
    focus() { document.getElementById('member-code')?.focus(); }
    async identify() {
        const code = this.local.code.trim();
        if (!code) return;
        this.local.busy = true;
        this.local.results = null;
        try {
            await this.env.pos.identify(code);
            this.local.code = '';
            document.getElementById('product-search')?.focus();
        } catch (e) {
            if (e.code === 'member_not_found' && this.state.online && code.length >= 2) {
                // not a card or number: search by name / phone tail
                try {
                    const found = await this.env.api.get('members/search', {q: code});
                    this.local.results = found.members || [];
                    if (!this.local.results.length) this.env.toast(e.message, 'error');
                } catch (e2) { this.env.notifyError(e2); }
            } else {
                this.env.notifyError(e);
            }
        } finally {
            this.local.busy = false;
        }
    }
    async pick(number) {
        this.local.results = null;
        this.local.code = '';
        try { await this.env.pos.identify(number); } catch (e) { this.env.notifyError(e); }
    }
    clear() { this.env.pos.setMember(null); this.local.results = null; }
    coupon(code) { this.env.pos.toggleCoupon(code); }
    useService(arg) {
        const [cardId, productId] = arg.split(':').map(Number);
        const product = this.env.pos.byId.get(productId);
        const card = this.env.pos.cart.member.count_cards.find((c) => c.id === cardId);
        const service = card?.services.find((s) => s.product_id === productId);
        // uses_left is null on a period card (月卡): unlimited uses
        if (!service || (service.uses_left !== null && service.uses_left <= 0)) return;
        this.env.pos.addProduct(product || {id: productId, name: service.name, price: '0', unit: ''}, 1,
            {count_card_id: cardId, card_name: card.name});
    }
    onKey(ev) {
        if (ev.target.id !== 'member-code') return false;
        if (ev.key === 'Enter') { this.identify(); return true; }
        if (ev.key === 'Escape') { this.local.code = ''; this.local.results = null; document.getElementById('product-search')?.focus(); return true; }
        return false;
    }
    template() {
        const m = this.env.pos.cart?.member;
        const input = `<div class="member-input">
            <input id="member-code" ${this.onInput('setCode')} value="${esc(this.local.code)}" autocomplete="off"
                placeholder="${this.t('member.placeholder')}" data-testid="member-code">
            <button class="btn small" ${this.on('identify')}>${this.t('member.identify')} <kbd>F3</kbd></button>
        </div>`;
        const results = this.local.results ? `<ul class="member-results">${this.local.results.map((r) => `
            <li><button ${this.on('pick', r.number)}>${esc(r.name)} · ${esc(r.number)} · ${esc(r.mobile_masked || '')}</button></li>`).join('')}</ul>` : '';
        if (!m) return `<section class="member empty">${input}${results}<p class="hint">${this.t('member.walk_in')}</p></section>`;
        const cart = this.env.pos.cart;
        // the tier's rate is a fraction: 0.15 reads 优惠15% / 15% off
        const rate = Number(m.tier?.discount || 0);
        const tierDiscount = rate ? this.t('member.tier_discount',
            {percent: String(Math.round(rate * 10000) / 100)}) : '';
        return `<section class="member" data-testid="member-panel">
            <div class="member-head">
                <div><b class="member-name" data-testid="member-name">${esc(m.name)}</b> <span class="tier" data-testid="member-tier">${esc(m.tier?.name || '')}${tierDiscount ? ' · ' + tierDiscount : ''}</span>
                ${m.offline ? `<span class="badge warn">${this.t('offline.cached_badge')}</span>` : ''}</div>
                <div class="muted">${esc(m.number)} · ${esc(m.mobile_masked || '')}</div>
                <button class="btn small" ${this.on('clear')} title="${this.t('member.clear')}">✕</button>
            </div>
            <div class="balances">
                <div><span>${this.t('member.points')}</span><b data-testid="member-points">${esc(m.points?.balance ?? 0)}</b><small>≈￥${esc(m.points?.value ?? '0')}</small></div>
                <div><span>${this.t('member.wallet')}</span><b data-testid="member-wallet">${m.wallet ? '￥' + esc(m.wallet.balance) : '—'}</b>${m.wallet ? `<small>${this.t('member.principal')} ${esc(m.wallet.principal)} / ${this.t('member.bonus')} ${esc(m.wallet.bonus)}</small>` : ''}</div>
            </div>
            ${(m.count_cards || []).length ? `<div class="cards"><span class="muted">${this.t('member.count_cards')}</span>
                ${m.count_cards.map((c) => c.services.map((s) => `<button class="chip" ${this.on('useService', `${c.id}:${s.product_id}`)} ${s.uses_left === null || s.uses_left > 0 ? '' : 'disabled'} data-testid="count-card-service">
                    ${esc(s.name)} · ${s.uses_left === null ? this.t('member.unlimited') : this.t('member.uses_left', {count: s.uses_left})}</button>`).join('')).join('')}</div>` : ''}
            ${(m.coupons || []).length ? `<div class="coupons"><span class="muted">${this.t('member.coupons')}</span>
                ${m.coupons.map((c) => `<button class="chip ${cart.coupons.includes(c.code) ? 'on' : ''}" ${this.on('coupon', c.code)} title="${esc(c.description || '')}" data-testid="member-coupon">
                    ${esc(c.name)}${c.valid_until ? ` <small>${this.t('member.until', {date: esc(c.valid_until)})}</small>` : ''}</button>`).join('')}</div>` : ''}
            ${input}${results}
        </section>`;
    }
}
