// The POS model: state, cart, checkout, offline queue and sync. Components
// call these methods; services do the I/O.
import {ApiError, NetworkError} from './services/api.js';
import {uuid4} from './core/uuid.js';

// payments that need the server's lock on the member's balances: never offline
export const ONLINE_ONLY_KINDS = new Set(['wallet', 'points', 'count_card']);
const SYNC_MS = 10000;

export class Pos {
    constructor(env) {
        this.env = env;
        this.catalog = {products: [], categories: []};
        this.byBarcode = new Map();
        this.quoteTimer = null;
        this.cartVersion = 0;
        this.syncing = false;
    }
    get state() { return this.env.state; }
    get api() { return this.env.api; }
    get store() { return this.env.store; }
    get money() { return this.env.money; }
    t(k, p) { return this.env.i18n.t(k, p); }

    // ------------------------------------------------------------ start / auth
    async afterLogin(answer) {
        if (answer) {
            this.api.setToken(answer.token);
            this.state.user = answer.user;
            this.state.point = answer.point;
            if (answer.user?.language && answer.user.language !== this.env.i18n.lang
                    && !sessionStorage.getItem('hy-pos-lang-chosen')) {
                await this.env.i18n.load(answer.user.language.startsWith('en') ? 'en' : 'zh_CN');
            }
        }
        await this.loadConfig();
        await this.loadCatalog();
        this.state.screen = this.state.session && this.state.session.state !== 'closed' ? 'sale' : 'open';
        this.startSync();
    }
    async loadConfig() {
        let config;
        try {
            config = await this.api.get('config');
            await this.store.set('config', config);
        } catch (e) {
            if (!(e instanceof NetworkError)) throw e;
            config = await this.store.get('config');
            if (!config) throw e;
        }
        this.applyConfig(config);
    }
    applyConfig(config) {
        this.state.config = config;
        this.state.session = config.session;
        if (config.user) this.state.user = config.user;
        if (config.point) this.state.point = config.point;
        this.env.setMoneyDigits(config.currency?.digits ?? 2);
        this.env.hw.configure(config.hw_proxy?.url);
    }
    async loadCatalog() {
        const cached = await this.store.get('catalog');
        try {
            const answer = await this.api.get('catalog', {since: cached?.cursor});
            this.setCatalog(await this.store.applyCatalog(answer));
        } catch (e) {
            if (!(e instanceof NetworkError) || !cached) throw e;
            this.setCatalog(cached);
        }
    }
    setCatalog(catalog) {
        this.catalog = catalog;
        this.byBarcode = new Map();
        this.byId = new Map();
        for (const p of catalog.products) {
            this.byId.set(p.id, p);
            for (const b of p.barcodes || []) this.byBarcode.set(String(b), p);
            if (p.code) this.byBarcode.set(String(p.code), p);
        }
        this.state.catalogVersion = (this.state.catalogVersion || 0) + 1;
    }
    async logout() {
        try { await this.api.post('logout'); } catch { /* offline: forget the token anyway */ }
        this.api.setToken(null);
        this.newSale();
        this.state.user = null;
        this.state.screen = 'login';
    }
    // cash is always F1, then cards and mobile payments, then the member's
    // balances: the same keys on every till whatever order the server has
    methods() {
        const order = ['cash', 'card', 'wechat', 'alipay', 'wallet', 'points', 'count_card', 'other'];
        const rank = (m) => (order.indexOf(m.kind) + 1 || order.length + 1);
        return [...(this.state.config?.payment_methods || [])].sort((a, b) => rank(a) - rank(b) || a.id - b.id);
    }
    method(id) { return this.methods().find((m) => m.id === Number(id)); }
    cashMethod() { return this.methods().find((m) => m.kind === 'cash'); }

    // ------------------------------------------------------------ session
    async openSession(float, reason) {
        // reason: why the count differs from what the previous shift left
        const answer = await this.api.post('session/open', reason === undefined ? {float} : {float, reason});
        this.state.session = answer.session;
        this.state.screen = 'sale';
    }
    async closeSession(counted, kept) {
        // kept: the float left in the drawer, the rest handed in
        const answer = await this.api.post('session/close', kept === undefined ? {counted} : {counted, kept});
        this.state.session = null;
        return answer.report;
    }

    // ------------------------------------------------------------ catalogue
    search(text, categoryId) {
        const q = (text || '').trim().toLowerCase();
        let list = this.catalog.products;
        if (categoryId) {
            const ids = this.categoryTree(Number(categoryId));
            list = list.filter((p) => ids.has(p.category_id));
        }
        if (q) {
            list = list.filter((p) => (p.name || '').toLowerCase().includes(q)
                || (p.code || '').toLowerCase().includes(q)
                || (p.barcodes || []).some((b) => String(b).startsWith(q)));
        }
        return list;
    }
    categoryTree(id) {
        const ids = new Set([id]);
        let grew = true;
        while (grew) {
            grew = false;
            for (const c of this.catalog.categories || []) {
                if (c.parent_id && ids.has(c.parent_id) && !ids.has(c.id)) { ids.add(c.id); grew = true; }
            }
        }
        return ids;
    }

    // ------------------------------------------------------------ cart
    get cart() { return this.state.cart; }
    newSale(restore = false) {
        let saved = null;
        if (restore) {
            try { saved = JSON.parse(sessionStorage.getItem('hy-pos-cart')); } catch { saved = null; }
        }
        this.state.cart = saved && Array.isArray(saved.lines) && saved.uuid ? saved
            : {uuid: uuid4(), lines: [], member: null, coupons: [], selected: null};
        this.state.payments = [];
        this.state.quote = null;
        this.state.changeToWallet = false;
        this.cartChanged();
    }
    addProduct(product, qty = 1, extra = {}) {
        const lines = this.cart.lines;
        const same = !extra.count_card_id && lines.find((l) => l.product_id === product.id
            && !l.discount && !l.count_card_id && (!l.staff_ids || !l.staff_ids.length));
        if (same) {
            same.qty = Math.round((same.qty + qty) * 1000) / 1000;
            this.cart.selected = same.key;
        } else {
            const line = {key: uuid4().slice(0, 8), product_id: product.id, name: product.name,
                unit: product.unit, price: product.price, qty, discount: 0, staff_ids: [], ...extra};
            lines.push(line);
            this.cart.selected = line.key;
        }
        this.env.hw.display({mode: 'item', name: product.name, qty: String(qty), price: product.price});
        this.cartChanged();
    }
    selectedLine() { return this.cart.lines.find((l) => l.key === this.cart.selected) || null; }
    setLine(key, changes) {
        const line = this.cart.lines.find((l) => l.key === key);
        if (!line) return;
        Object.assign(line, changes);
        if (line.qty <= 0) this.removeLine(key);
        this.cartChanged();
    }
    removeLine(key) {
        const i = this.cart.lines.findIndex((l) => l.key === key);
        if (i >= 0) this.cart.lines.splice(i, 1);
        const last = this.cart.lines[this.cart.lines.length - 1];
        this.cart.selected = last ? last.key : null;
        this.cartChanged();
    }
    localLineAmount(line) {
        if (line.count_card_id) return 0;
        return this.money.line(line.qty, this.money.parse(line.price), line.discount);
    }
    localTotal() { return this.cart.lines.reduce((s, l) => s + this.localLineAmount(l), 0); }
    // the total to pay: the server's quote when it is for this very cart
    total() {
        const q = this.state.quote;
        if (q && q.version === this.cartVersion) return this.money.parse(q.total);
        return this.localTotal();
    }
    quoteIsFresh() { return this.state.quote && this.state.quote.version === this.cartVersion; }
    cartBody() {
        const c = this.cart;
        const body = {lines: c.lines.map((l) => {
            const line = {product_id: l.product_id, quantity: l.qty};
            if (l.discount) line.discount_percent = Number(l.discount);
            if (l.staff_ids?.length) line.staff_ids = [...l.staff_ids];
            if (l.count_card_id) line.count_card_id = l.count_card_id;
            return line;
        }), coupons: [...c.coupons]};
        if (c.member) { body.member_id = c.member.id; if (c.cardCode) body.card_code = c.cardCode; }
        return body;
    }
    cartChanged() {
        this.cartVersion += 1;
        // a reload (F5, a crash) keeps the sale being rung up
        try { sessionStorage.setItem('hy-pos-cart', JSON.stringify(this.cart)); } catch { /* private mode */ }
        clearTimeout(this.quoteTimer);
        if (!this.cart?.lines.length) { this.state.quote = null; return; }
        this.quoteTimer = setTimeout(() => this.requestQuote(), 200);
    }
    async requestQuote() {
        if (!this.state.online || !this.cart.lines.length) return;
        const version = this.cartVersion;
        try {
            const quote = await this.api.post('quote', this.cartBody());
            if (version === this.cartVersion) this.state.quote = {...quote, version};
        } catch (e) {
            if (e instanceof ApiError) {
                this.state.quote = {error: e.message, field: e.field, version};
            }
        }
    }
    async ensureQuote() {
        if (this.quoteIsFresh() || !this.state.online) return;
        clearTimeout(this.quoteTimer);
        await this.requestQuote();
    }

    // ------------------------------------------------------------ member
    async identify(code) {
        code = String(code).trim();
        if (!code) return null;
        try {
            const member = await this.api.get('members/identify', {code});
            await this.store.rememberMember(member, code);
            this.setMember(member, code);
            return member;
        } catch (e) {
            if (!(e instanceof NetworkError)) throw e;
            const member = await this.store.findMember(code);
            if (!member) throw new ApiError(404, {code: 'member_not_found', message: this.t('offline.member_unknown')});
            this.setMember({...member, offline: true}, code);
            this.env.toast(this.t('offline.member_cached'), 'warn');
            return member;
        }
    }
    setMember(member, code) {
        this.cart.member = member;
        this.cart.cardCode = member?.card?.number || code || null;
        this.cart.coupons = [];
        this.cartChanged();
    }
    async refreshMember() {
        const m = this.cart.member;
        if (!m || !this.state.online) return;
        try {
            const member = await this.api.get('members/identify', {code: m.card?.number || m.number});
            this.cart.member = member;
        } catch { /* keep the one we have */ }
    }
    toggleCoupon(code) {
        const i = this.cart.coupons.indexOf(code);
        if (i >= 0) this.cart.coupons.splice(i, 1); else this.cart.coupons.push(code);
        this.cartChanged();
    }

    // ------------------------------------------------------------ scans
    async scan(code) {
        const screen = this.state.screen;
        if (screen === 'login') return this.env.emit('badge', code);
        if (screen === 'refund') return this.env.emit('refund-scan', code);
        if (screen === 'topup' || screen === 'payment') {
            if (!/^HY:/i.test(code) && this.byBarcode.has(code)) return;
            return this.identifyAndToast(code);
        }
        if (screen !== 'sale') return;
        const product = this.byBarcode.get(code);
        if (product && !/^HY:/i.test(code)) { this.addProduct(product); return; }
        return this.identifyAndToast(code);
    }
    async identifyAndToast(code) {
        try {
            const member = await this.identify(code);
            if (member) this.env.toast(this.t('member.identified', {name: member.name}), 'ok');
        } catch (e) {
            if (e.code === 'member_not_found' && this.state.screen === 'sale') {
                this.env.toast(this.t('sale.unknown_code', {code}), 'error');
            } else {
                this.env.notifyError(e);
            }
        }
    }

    // ------------------------------------------------------------ checkout
    offlineRefusal(payments, cart = this.cart) {
        const kinds = payments.map((p) => this.method(p.method_id)?.kind);
        if (kinds.some((k) => ONLINE_ONLY_KINDS.has(k))) return this.t('offline.refuse_balance');
        if (cart.coupons.length) return this.t('offline.refuse_coupon');
        if (cart.lines.some((l) => l.count_card_id)) return this.t('offline.refuse_count_card');
        if (this.state.changeToWallet) return this.t('offline.refuse_change_to_wallet');
        return null;
    }
    // The PIN pad checks the member's PIN for this sale and amount at once: a
    // wrong PIN is told at the pad, and the checkout sends no PIN (nor pays the
    // key derivation). Without the server the PIN goes with the checkout.
    async verifyWalletPin(line, pin) {
        try {
            await this.api.post('wallet/pin', {uuid: this.cart.uuid, member_id: this.cart.member.id,
                amount: line.amount, pin}, {timeout: 10000});
            line.pinFor = line.amount;
            line.pin = '';
        } catch (e) {
            if (!(e instanceof NetworkError)) throw e;
            line.pin = pin;
        }
    }
    // whether the wallet line's PIN is entered (checked for this amount or more)
    pinCovers(line) {
        if (line.pin) return true;
        return !!line.pinFor && this.money.parse(line.amount) <= this.money.parse(line.pinFor);
    }
    checkoutBody() {
        const body = this.cartBody();
        body.uuid = this.cart.uuid;
        body.payments = this.state.payments.map((p) => {
            const out = {method_id: p.method_id, amount: p.amount};
            if (p.pin) out.pin = p.pin;
            if (p.points) out.points = p.points;
            if (p.reference) out.reference = p.reference;
            return out;
        });
        body.change_to_wallet = !!this.state.changeToWallet;
        return body;
    }
    // Returns {receipt, sale, offline}. Throws ApiError (shown to the cashier).
    async checkout() {
        const body = this.checkoutBody();
        if (!this.state.online) return this.checkoutOffline(body);
        try {
            const answer = await this.api.post('checkout', body, {timeout: 30000});
            this.finish(answer, false);
            return answer;
        } catch (e) {
            if (!(e instanceof NetworkError)) throw e;
            // the server may or may not have booked it: the same UUID makes the
            // retry (now or at sync) book it at most once
            return this.checkoutOffline(body);
        }
    }
    async checkoutOffline(body) {
        const refusal = this.offlineRefusal(this.state.payments);
        if (refusal) throw new ApiError(0, {code: 'offline_refused', message: refusal});
        // PINs never stored
        const stored = {...body, payments: body.payments.map(({pin, ...p}) => p)};
        const receipt = this.offlineReceipt(body);
        await this.store.enqueue({uuid: body.uuid, body: stored, state: 'pending', created_at: new Date().toISOString(),
            total: this.money.str(this.total()), receipt, attempts: 0});
        await this.refreshPending();
        const answer = {sale: {number: null, total: this.money.str(this.total()), change: this.changeStr()}, receipt, offline: true};
        this.finish(answer, true);
        return answer;
    }
    changeStr() {
        const paid = this.state.payments.reduce((s, p) => s + this.money.parse(p.amount), 0);
        return this.money.str(Math.max(0, paid - this.total()));
    }
    finish(answer, offline) {
        // this UUID is booked (or queued): a reload must not offer it again
        sessionStorage.removeItem('hy-pos-cart');
        this.state.lastSale = {...answer, offline, uuid: this.cart.uuid};
        this.state.screen = 'receipt';
        const sale = answer.sale || {};
        this.env.hw.display({mode: 'change', paid: this.money.str(this.state.payments.reduce((s, p) => s + this.money.parse(p.amount), 0)), change: sale.change || '0.00'});
    }
    // a receipt made in the browser for a sale waiting to sync (same structure
    // hw_proxy prints); the server's receipt, after sync, is the one of record
    offlineReceipt(body) {
        const t = (k, p) => this.t(k, p);
        const m = this.money;
        const cfg = this.state.config || {};
        const paid = body.payments.reduce((s, p) => s + m.parse(p.amount), 0);
        const total = this.total();
        const quote = this.quoteIsFresh() && !this.state.quote.error ? this.state.quote : null;
        const payments = body.payments.map((p) => ({label: this.method(p.method_id)?.name || '?', amount: p.amount}));
        if (paid > total) payments.push({label: t('receipt.change'), amount: m.str(paid - total)});
        return {
            header: {title: cfg.company?.name || '', lines: [cfg.point?.shop || cfg.point?.name || ''].filter(Boolean)},
            meta: [[t('receipt.offline_no'), body.uuid.slice(0, 8).toUpperCase()],
                [t('receipt.cashier'), this.state.user?.name || ''],
                [t('receipt.date'), new Date().toLocaleString(this.env.i18n.lang === 'en' ? 'en-GB' : 'zh-CN')]],
            // the last quote of the server when it is for this cart, else shelf prices
            lines: this.cart.lines.map((l, i) => {
                const ql = quote?.lines?.[i];
                return {name: l.name, qty: String(l.qty), unit_price: ql ? ql.unit_price : l.price,
                    amount: ql ? ql.amount : m.str(this.localLineAmount(l)),
                    ...(l.discount ? {note: t('receipt.discount_note', {percent: l.discount})} : {})};
            }),
            totals: [...(quote?.adjustments || []).map((a) => ({label: a.label, amount: a.amount})),
                {label: t('receipt.total'), amount: m.str(total), bold: true, big: true}],
            payments,
            footer: [t('receipt.offline_footer')],
            currency_symbol: '￥',
        };
    }

    // ------------------------------------------------------------ offline queue
    async refreshPending() {
        const rows = await this.store.queued();
        this.state.pending = rows.filter((r) => r.state === 'pending').length;
        this.state.rejected = rows.filter((r) => r.state === 'rejected').length;
        return rows;
    }
    startSync() {
        clearInterval(this.syncTimer);
        this.syncTimer = setInterval(() => this.sync(), SYNC_MS);
        this.sync();
    }
    // Sends every pending sale, oldest first, with its UUID: the server books a
    // UUID once and answers a retry with the stored result, so a sale sent twice
    // (two tabs, a lost answer) is still one sale. Web Locks keep two tabs of
    // this till from sending at the same moment.
    async sync() {
        if (this.syncing || !this.api.token) return;
        const run = async () => {
            this.syncing = true;
            this.state.syncing = true;
            try {
                const rows = (await this.refreshPending()).filter((r) => r.state === 'pending')
                    .sort((a, b) => a.created_at.localeCompare(b.created_at));
                for (const row of rows) {
                    try {
                        const answer = await this.api.post('checkout', row.body, {timeout: 30000});
                        await this.store.dequeue(row.uuid);
                        await this.store.set(`synced:${row.uuid}`, {number: answer.sale?.number, at: new Date().toISOString()});
                        const last = this.state.lastSale;
                        if (last && last.uuid === row.uuid) {
                            this.state.lastSale = {...answer, offline: false, synced: true, uuid: row.uuid};
                        }
                    } catch (e) {
                        if (e instanceof NetworkError) break;
                        if (e.status === 401) break;
                        // the server refused it (e.g. a product removed): keep it,
                        // visible, for a manager; never dropped silently
                        await this.store.updateQueued(row.uuid, {state: 'rejected', error: e.message, attempts: (row.attempts || 0) + 1});
                    }
                }
            } finally {
                this.syncing = false;
                this.state.syncing = false;
                await this.refreshPending();
            }
        };
        if (navigator.locks) await navigator.locks.request('hy-pos-sync', {ifAvailable: true}, (lock) => lock && run());
        else await run();
    }
    async retryRejected(uuid) {
        await this.store.updateQueued(uuid, {state: 'pending'});
        await this.sync();
    }

    // ------------------------------------------------------------ refund / top-up / reprint
    async refund(body) {
        const answer = await this.api.post('refund', {uuid: uuid4(), ...body}, {timeout: 30000});
        this.state.lastSale = {...answer, offline: false, refund: true};
        this.state.screen = 'receipt';
        return answer;
    }
    async topup(body) {
        const answer = await this.api.post('topup', {uuid: uuid4(), ...body}, {timeout: 30000});
        if (answer.member && this.cart.member?.id === answer.member.id) this.cart.member = answer.member;
        this.state.lastSale = {...answer, offline: false, topup: true};
        this.state.screen = 'receipt';
        return answer;
    }
}
