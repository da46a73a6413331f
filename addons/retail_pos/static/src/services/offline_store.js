// IndexedDB store of the POS: the catalogue, recent members, and the queue of
// finished sales waiting for the server (keyed by the sale's UUID, so a sale
// is stored once and the server, idempotent by UUID, books it once).
const VERSION = 1;

function promisify(req) {
    return new Promise((resolve, reject) => {
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
    });
}

export class OfflineStore {
    constructor(name) { this.name = name; this.db = null; }
    async open() {
        if (this.db) return this.db;
        const req = indexedDB.open(this.name, VERSION);
        req.onupgradeneeded = () => {
            const db = req.result;
            db.createObjectStore('kv');
            const members = db.createObjectStore('members', {keyPath: 'id'});
            members.createIndex('seen', 'seen_at');
            const queue = db.createObjectStore('queue', {keyPath: 'uuid'});
            queue.createIndex('state', 'state');
        };
        this.db = await promisify(req);
        return this.db;
    }
    async tx(stores, mode, fn) {
        const db = await this.open();
        const tx = db.transaction(stores, mode);
        const result = await fn(tx);
        await new Promise((resolve, reject) => {
            tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); tx.onabort = () => reject(tx.error);
        });
        return result;
    }
    get(key) { return this.tx(['kv'], 'readonly', (tx) => promisify(tx.objectStore('kv').get(key))); }
    set(key, value) { return this.tx(['kv'], 'readwrite', (tx) => promisify(tx.objectStore('kv').put(value, key))); }

    // --- catalogue: applies a full or incremental answer of GET catalog
    async applyCatalog(answer) {
        const old = (!answer.full && await this.get('catalog')) || {products: [], categories: []};
        const byId = new Map(old.products.map((p) => [p.id, p]));
        for (const id of answer.removed || []) byId.delete(id);
        for (const p of answer.products || []) byId.set(p.id, p);
        const catalog = {
            cursor: answer.cursor,
            products: [...byId.values()],
            categories: answer.categories?.length || answer.full ? answer.categories : old.categories,
            tiers: answer.tiers || old.tiers || [],
            promotions: answer.promotions || old.promotions || [],
            saved_at: new Date().toISOString(),
        };
        await this.set('catalog', catalog);
        return catalog;
    }

    // --- recent members (kept for display offline; never used to pay offline)
    async rememberMember(member, code) {
        const codes = new Set([member.number, member.card?.number, code].filter(Boolean).map(String));
        const row = {...member, codes: [...codes], seen_at: Date.now()};
        await this.tx(['members'], 'readwrite', (tx) => promisify(tx.objectStore('members').put(row)));
        // keep the 500 most recent
        const all = await this.tx(['members'], 'readonly', (tx) => promisify(tx.objectStore('members').getAll()));
        if (all.length > 500) {
            all.sort((a, b) => a.seen_at - b.seen_at);
            await this.tx(['members'], 'readwrite', (tx) => {
                for (const m of all.slice(0, all.length - 500)) tx.objectStore('members').delete(m.id);
            });
        }
    }
    async findMember(code) {
        const all = await this.tx(['members'], 'readonly', (tx) => promisify(tx.objectStore('members').getAll()));
        code = String(code).trim().replace(/^HY:/i, '');
        return all.find((m) => m.codes.includes(code)) || null;
    }

    // --- queue of finished sales
    async enqueue(sale) {
        await this.tx(['queue'], 'readwrite', (tx) => promisify(tx.objectStore('queue').put(sale)));
    }
    async queued() {
        return this.tx(['queue'], 'readonly', (tx) => promisify(tx.objectStore('queue').getAll()));
    }
    async updateQueued(uuid, changes) {
        await this.tx(['queue'], 'readwrite', async (tx) => {
            const store = tx.objectStore('queue');
            const row = await promisify(store.get(uuid));
            if (row) store.put({...row, ...changes});
        });
    }
    async dequeue(uuid) {
        await this.tx(['queue'], 'readwrite', (tx) => promisify(tx.objectStore('queue').delete(uuid)));
    }
}
