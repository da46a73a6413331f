import {Component, esc} from '../../core/component.js';

const MAX_TILES = 60;

// Search by name / code / barcode, category bar, product tiles.
export class ProductGrid extends Component {
    constructor(env) {
        super(env);
        this.local = env.makeLocal({q: '', category: null});
    }
    setQuery(value) { this.local.q = value; }
    pickCategory(id) { this.local.category = id ? Number(id) : null; }
    add(id) {
        const p = this.env.pos.byId.get(Number(id));
        if (p) this.env.pos.addProduct(p);
    }
    focus() { document.getElementById('product-search')?.focus(); }
    // Enter in the search box: exact code/barcode, else the only match
    submit() {
        const q = this.local.q.trim();
        if (!q) return false;
        const exact = this.env.pos.byBarcode.get(q);
        const list = exact ? [exact] : this.env.pos.search(q, this.local.category);
        if (list.length === 1) {
            this.env.pos.addProduct(list[0]);
            this.local.q = '';
            return true;
        }
        if (!list.length) this.env.toast(this.t('sale.no_product', {q}), 'warn');
        return true;
    }
    template() {
        const pos = this.env.pos;
        const list = pos.search(this.local.q, this.local.category);
        const roots = (pos.catalog.categories || []).filter((c) => !c.parent_id);
        const cats = roots.length > 1 ? roots : (pos.catalog.categories || []);
        return `<section class="products">
            <div class="searchbar">
                <input id="product-search" type="search" ${this.onInput('setQuery')} value="${esc(this.local.q)}"
                    placeholder="${this.t('sale.search_placeholder')}" data-autofocus data-testid="product-search" autocomplete="off">
                <kbd>F2</kbd>
            </div>
            <nav class="categories">
                <button class="chip ${this.local.category ? '' : 'on'}" ${this.on('pickCategory', '')}>${this.t('sale.all')}</button>
                ${cats.map((c) => `<button class="chip ${this.local.category === c.id ? 'on' : ''}" ${this.on('pickCategory', c.id)}>${esc(c.name)}</button>`).join('')}
            </nav>
            <div class="grid" data-keep-scroll="grid" data-testid="product-grid">
                ${list.slice(0, MAX_TILES).map((p) => `<button class="tile ${p.kind === 'service' ? 'service' : ''}" ${this.on('add', p.id)} data-testid="product-tile" data-code="${esc(p.code || '')}">
                    <span class="name">${esc(p.name)}</span>
                    <span class="code">${esc(p.code || '')}</span>
                    <span class="price">￥${esc(p.price)}${p.unit && p.unit !== 'u' ? `<small>/${esc(p.unit)}</small>` : ''}</span>
                </button>`).join('')}
                ${list.length > MAX_TILES ? `<div class="more">${this.t('sale.more', {count: list.length - MAX_TILES})}</div>` : ''}
                ${!list.length ? `<div class="more">${pos.catalog.products.length ? this.t('sale.no_product', {q: this.local.q}) : this.t('sale.no_catalog')}</div>` : ''}
            </div>
        </section>`;
    }
}
