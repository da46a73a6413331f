import {Component, esc} from '../../core/component.js';

// Shift handover (交班): expected per method from the server, counted cash
// typed by the cashier, the difference, a printed handover report, then close.
export class CloseSessionScreen extends Component {
    constructor(env) {
        super(env);
        // kept: the float left in the drawer for the next shift (tills that
        // book the float: the rest of the cash counted is handed in)
        this.local = env.makeLocal({report: null, counted: {}, kept: '', error: '', closed: false, busy: false});
    }
    async load() {
        this.local.error = '';
        this.local.report = null;
        this.local.closed = false;
        this.local.counted = {};
        this.local.kept = '';
        try {
            this.local.report = (await this.env.api.get('session/report')).report;
        } catch (e) {
            this.local.error = e.code === 'offline' ? this.t('session.offline') : e.message;
        }
    }
    setCounted(value, ev, el) { this.local.counted[el.dataset.method] = value; this.local.error = ''; }
    setKept(value) { this.local.kept = value; this.local.error = ''; }
    floatBooked() { return Boolean(this.state.point?.float_booked); }
    cashRow() { return this.rows().find((row) => row.kind === 'cash'); }
    // the cash counted less the float kept: what goes to the safe
    handedIn() {
        const m = this.env.money;
        const row = this.cashRow();
        if (!row || String(this.local.kept).trim() === '') return null;
        const counted = this.rows().filter((r) => r.kind === 'cash')
            .reduce((sum, r) => sum + m.parse(this.local.counted[r.method_id ?? r.id] || '0'), 0);
        return counted - m.parse(this.local.kept);
    }
    rows() { return this.local.report?.methods || this.local.report?.lines || []; }
    // stored value, points and count cards are balances, not tender: there
    // is nothing to count in the drawer or on a terminal's slip
    countable(row) { return !['wallet', 'points', 'count_card'].includes(row.kind); }
    typed(row) {
        const value = this.local.counted[row.method_id ?? row.id];
        return value !== undefined && String(value).trim() !== '';
    }
    // the cash must be counted: an empty count is not an empty drawer
    cashCounted() { return this.rows().filter((row) => row.kind === 'cash').every((row) => this.typed(row)); }
    handoverReceipt() {
        const r = this.local.report || {};
        // after closing, the server's handover receipt (with counted amounts)
        if (this.local.closed && r.receipt) return r.receipt;
        const m = this.env.money;
        const rows = [];
        for (const row of this.rows()) {
            const id = row.method_id ?? row.id;
            const counted = this.local.counted[id];
            rows.push({name: row.name || row.method || '', amount: row.expected ?? '0.00',
                note: counted !== undefined ? `${this.t('session.counted')} ${m.str(m.parse(counted))} / ${this.t('session.difference')} ${m.str(m.parse(counted) - m.parse(row.expected))}` : undefined});
        }
        return {
            header: {title: this.t('session.handover'), lines: [this.state.point?.name || '']},
            meta: [[this.t('receipt.cashier'), this.state.user?.name || ''], [this.t('receipt.date'), new Date().toLocaleString()],
                [this.t('session.sales_count'), String(r.sales_count ?? r.sales ?? '')]],
            lines: rows.map((x) => (x.note ? x : {name: x.name, amount: x.amount})),
            totals: [{label: this.t('session.expected_total'), amount: r.expected_total ?? rows.reduce((s, x) => m.str(m.parse(s) + m.parse(x.amount)), '0'), bold: true}],
            footer: [this.t('session.sign')],
            currency_symbol: '￥',
        };
    }
    async print() {
        try {
            await this.env.hw.printReceipt(this.handoverReceipt());
            this.env.toast(this.t('receipt.printed'), 'ok');
        } catch (e) { this.env.notifyError(e); }
    }
    async close() {
        if (!this.cashCounted()) {
            this.local.error = this.t('session.count_cash');
            return;
        }
        this.local.error = '';
        const counted = {};
        for (const row of this.rows()) {
            const id = row.method_id ?? row.id;
            if (this.countable(row) && this.typed(row)) counted[id] = this.env.money.str(this.env.money.parse(this.local.counted[id]));
        }
        let kept;
        if (this.floatBooked() && String(this.local.kept).trim() !== '') {
            const m = this.env.money;
            const value = m.parse(this.local.kept);
            if (Number.isNaN(value)) { this.local.error = this.t('common.bad_amount'); return; }
            const row = this.cashRow();
            if (row) kept = {[row.method_id ?? row.id]: m.str(value)};
        }
        if (this.state.pending && !confirm(this.t('session.pending_warning', {count: this.state.pending}))) return;
        this.local.busy = true;
        try {
            const report = await this.env.pos.closeSession(counted, kept);
            this.local.report = report;
            this.local.closed = true;
        } catch (e) {
            this.local.error = e.message;
        } finally {
            this.local.busy = false;
        }
    }
    back() { this.state.screen = this.local.closed ? 'open' : 'sale'; }
    onKey(ev) {
        if (ev.key === 'Escape') { this.back(); return true; }
        if (ev.key === 'F4') { this.print(); return true; }
        return false;
    }
    template() {
        const r = this.local.report;
        const m = this.env.money;
        const body = !r ? `<p class="hint">${esc(this.local.error || this.t('common.wait'))}</p>` : `
            <table class="report" data-testid="handover">
              <thead><tr><th>${this.t('payment.method')}</th><th>${this.t('session.expected')}</th><th>${this.t('session.counted')}</th><th>${this.t('session.difference')}</th></tr></thead>
              <tbody>${this.rows().map((row) => {
                  const id = row.method_id ?? row.id;
                  const counted = this.local.closed ? row.counted : this.local.counted[id];
                  const diff = this.local.closed ? row.difference : (counted !== undefined && counted !== '' ? m.str(m.parse(counted) - m.parse(row.expected)) : '');
                  const input = !this.countable(row) ? '—' : `<input class="money" inputmode="decimal" id="count-${id}" data-method="${id}" ${this.onInput('setCounted')} value="${esc(counted || '')}">`;
                  return `<tr><td>${esc(row.name || row.method)}</td><td class="num">${esc(row.expected)}</td>
                    <td>${this.local.closed ? esc(counted ?? '—') : input}</td>
                    <td class="num ${diff && m.parse(diff) !== 0 ? 'neg' : ''}">${esc(diff ?? '')}</td></tr>`;
              }).join('')}</tbody></table>
            ${this.floatBooked() && !this.local.closed && this.cashRow() ? `<p class="row kept">
                <label>${this.t('session.kept')}
                  <input class="money" inputmode="decimal" id="kept" ${this.onInput('setKept')} value="${esc(this.local.kept)}" placeholder="0.00" data-testid="kept-input"></label>
                ${this.handedIn() !== null ? `<span>${this.t('session.handed_in')}: <span class="num ${this.handedIn() < 0 ? 'neg' : ''}" data-testid="handed-in">${esc(m.str(this.handedIn()))}</span></span>` : ''}
              </p>` : ''}
            ${this.local.closed && r.kept != null ? `<p data-testid="kept-report">${this.t('session.kept')}: <span class="num">${esc(r.kept)}</span> · ${this.t('session.handed_in')}: <span class="num">${esc(r.handed_in)}</span></p>` : ''}
            ${r.float_difference != null && m.parse(r.float_difference) !== 0 ? `<p data-testid="float-difference">${this.t('session.float_difference')}: <span class="num neg">${esc(r.float_difference)}</span>${r.float_reason ? ` · ${esc(r.float_reason)}` : ''}</p>` : ''}
            <p>${this.t('session.sales_count')}: ${esc(r.sales_count ?? '')} · ${this.t('session.refunds')}: ${esc(r.refunds_count ?? r.refunds ?? '')} · ${this.t('session.topups')}: ${esc(r.topups_count ?? r.topups ?? '')}</p>
            ${this.local.closed && r.cash_difference_booked != null && m.parse(r.cash_difference_booked) !== 0 ? `<p data-testid="difference-booked">${this.t('session.difference_booked')}: <span class="num neg">${esc(r.cash_difference_booked)}</span></p>` : ''}
            ${this.local.closed ? `<p class="ok-text" data-testid="session-closed">${this.t('session.closed')}</p>` : ''}`;
        return `<div class="center-screen"><div class="card wide">
            <h1>${this.t('session.close_title')}</h1>
            ${body}
            ${this.local.error && r ? `<p class="error">${esc(this.local.error)}</p>` : ''}
            <div class="row">
                <button class="btn" ${this.on('back')}>${this.t('common.back')} <kbd>Esc</kbd></button>
                <button class="btn" ${this.on('print')}>${this.t('session.print')} <kbd>F4</kbd></button>
                ${this.local.closed ? '' : `<button class="btn danger" ${this.on('close')} data-testid="close-session" ${this.local.busy || !r ? 'disabled' : ''} title="${esc(this.cashCounted() ? '' : this.t('session.count_cash'))}">${this.t('session.close')}</button>`}
            </div>
        </div></div>`;
    }
}
