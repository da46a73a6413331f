import {esc} from '../../core/component.js';

// The receipt JSON (the structure hw_proxy prints) as an HTML preview.
export function receiptHtml(r, {reprint = false} = {}) {
    if (!r) return '';
    const sym = r.currency_symbol || '￥';
    const rows = (list) => (list || []).map(([k, v]) => `<div class="r-row"><span>${esc(k)}</span><span>${esc(v)}</span></div>`).join('');
    const totals = (list) => (list || []).map((t) => `<div class="r-row ${t.bold ? 'b' : ''} ${t.big ? 'big' : ''}"><span>${esc(t.label)}</span><span>${esc(sym)}${esc(t.amount)}</span></div>`).join('');
    return `<div class="receipt-paper" data-testid="receipt">
        ${reprint ? '<div class="r-reprint">重印 / REPRINT</div>' : ''}
        ${r.header?.title ? `<div class="r-title">${esc(r.header.title)}</div>` : ''}
        ${(r.header?.lines || []).map((l) => `<div class="r-center">${esc(l)}</div>`).join('')}
        <div class="r-sep"></div>${rows(r.meta)}<div class="r-sep"></div>
        ${(r.lines || []).map((l) => `<div class="r-line"><div class="r-name">${esc(l.name)}</div>
            <div class="r-row"><span>${l.qty !== undefined ? esc(l.qty) + ' × ' + esc(l.unit_price ?? '') : ''}</span><span>${esc(l.amount)}</span></div>
            ${l.note ? `<div class="r-note">${esc(l.note)}</div>` : ''}</div>`).join('')}
        <div class="r-sep"></div>${totals(r.totals)}
        ${r.payments?.length ? `<div class="r-sep"></div>${totals(r.payments)}` : ''}
        ${r.member ? `<div class="r-sep"></div><div class="r-center b">${esc(r.member.title || '')}</div>${rows(r.member.rows)}` : ''}
        ${r.barcode ? `<div class="r-barcode">||||| ${esc(r.barcode.data)} |||||</div>` : ''}
        ${(r.footer || []).map((l) => `<div class="r-center">${esc(l)}</div>`).join('')}
    </div>`;
}
