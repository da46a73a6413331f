import {Component, esc} from '../../core/component.js';

// Cart lines with quantity, discount and staff per line; the server's quote
// (member prices, promotions, coupons, points to earn) when online.
export class Cart extends Component {
    select(key) { this.env.pos.cart.selected = key; }
    remove(key) { this.env.pos.removeLine(key); }
    setQty(value) {
        const line = this.env.pos.selectedLine();
        const qty = Number(value);
        if (line && value !== '' && Number.isFinite(qty) && qty > 0) this.env.pos.setLine(line.key, {qty});
    }
    setDiscount(value) {
        const line = this.env.pos.selectedLine();
        const d = Number(value || 0);
        if (line && Number.isFinite(d) && d >= 0 && d <= 100) this.env.pos.setLine(line.key, {discount: d});
    }
    toggleStaff(id) {
        const line = this.env.pos.selectedLine();
        if (!line) return;
        id = Number(id);
        const ids = line.staff_ids.includes(id) ? line.staff_ids.filter((x) => x !== id) : [...line.staff_ids, id];
        this.env.pos.setLine(line.key, {staff_ids: ids});
    }
    bump(delta) {
        const line = this.env.pos.selectedLine();
        if (line) this.env.pos.setLine(line.key, {qty: Math.round((line.qty + delta) * 1000) / 1000});
    }
    move(delta) {
        const lines = this.env.pos.cart.lines;
        if (!lines.length) return;
        const i = lines.findIndex((l) => l.key === this.env.pos.cart.selected);
        const next = Math.min(lines.length - 1, Math.max(0, (i < 0 ? lines.length : i) + delta));
        this.env.pos.cart.selected = lines[next].key;
    }
    quoteLine(line, index) {
        const q = this.env.pos.quoteIsFresh() ? this.state.quote : null;
        return q && q.lines ? q.lines[index] : null;
    }
    editor() {
        const line = this.env.pos.selectedLine();
        if (!line) return '';
        const staff = this.state.config?.staff || [];
        // off when the shop's promotions price every line
        const noDiscount = this.state.config?.line_discount === false;
        return `<div class="line-editor" data-testid="line-editor">
            <label><span>${this.t('cart.qty')} <kbd>F4</kbd></span><input id="line-qty" inputmode="decimal" value="${esc(line.qty)}" ${this.onChange('setQty')} data-testid="line-qty"></label>
            <label><span>${this.t('cart.discount')} % <kbd>F5</kbd></span><input id="line-discount" inputmode="decimal" value="${esc(line.discount || '')}" ${this.onChange('setDiscount')} data-testid="line-discount" ${line.count_card_id || noDiscount ? 'disabled' : ''} ${noDiscount ? `title="${this.t('cart.discount_off')}"` : ''}></label>
            ${staff.length ? `<div class="staff"><span>${this.t('cart.staff')} <kbd>F6</kbd></span>${staff.map((s, i) => `<button class="chip ${line.staff_ids.includes(s.id) ? 'on' : ''}" ${this.on('toggleStaff', s.id)} data-testid="staff-chip" id="${i === 0 ? 'staff-first' : ''}">${esc(s.name)}</button>`).join('')}</div>` : ''}
        </div>`;
    }
    template() {
        const pos = this.env.pos;
        const cart = pos.cart;
        const m = this.env.money;
        const q = pos.quoteIsFresh() ? this.state.quote : null;
        const staffNames = new Map((this.state.config?.staff || []).map((s) => [s.id, s.name]));
        const lines = cart.lines.map((l, i) => {
            const ql = this.quoteLine(l, i);
            const amount = ql ? ql.amount : m.str(pos.localLineAmount(l));
            const price = ql ? ql.unit_price : l.price;
            const notes = [...(ql?.notes || [])];
            if (l.discount) notes.push(this.t('cart.discount_note', {percent: l.discount}));
            if (l.count_card_id) notes.push(this.t('cart.count_card_note', {name: l.card_name || ''}));
            if (l.staff_ids?.length) notes.push(this.t('cart.staff_note', {names: l.staff_ids.map((id) => staffNames.get(id) || id).join('、')}));
            return `<li class="${l.key === cart.selected ? 'sel' : ''}" ${this.on('select', l.key)} data-testid="cart-line">
                <div class="l1"><span class="name">${esc(l.name)}</span><span class="amount">${esc(amount)}</span></div>
                <div class="l2"><span>${esc(l.qty)} × ${esc(price)}${l.unit && l.unit !== 'u' ? ' / ' + esc(l.unit) : ''}</span>
                    <button class="x" ${this.on('remove', l.key)} title="${this.t('cart.remove')}">✕</button></div>
                ${notes.length ? `<div class="notes">${notes.map(esc).join(' · ')}</div>` : ''}
            </li>`;
        }).join('');
        const adjustments = q?.adjustments?.length ? q.adjustments.map((a) => `<div class="adj"><span>${esc(a.label)}</span><span>${esc(a.amount)}</span></div>`).join('') : '';
        const quoteError = this.state.quote && this.state.quote.error && this.state.quote.version === pos.cartVersion
            ? `<div class="error small" data-testid="quote-error">${esc(this.state.quote.error)}</div>` : '';
        return `<section class="cart">
            <ul class="lines" data-keep-scroll="cart" data-scroll-end data-testid="cart">${lines || `<li class="empty">${this.t('cart.empty')}</li>`}</ul>
            ${this.editor()}
            <div class="totals">
                ${adjustments}
                ${q?.points_to_earn ? `<div class="adj"><span>${this.t('cart.points_to_earn')}</span><span>+${esc(q.points_to_earn)}</span></div>` : ''}
                ${quoteError}
                <div class="total"><span>${this.t('cart.total')}${q ? '' : (cart.lines.length && this.state.online ? ' …' : (cart.lines.length ? ` <small>${this.t('offline.local_price')}</small>` : ''))}</span>
                    <b data-testid="cart-total">￥${esc(m.str(pos.total()))}</b></div>
            </div>
        </section>`;
    }
}
