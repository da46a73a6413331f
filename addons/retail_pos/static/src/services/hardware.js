// The one front-end service for the hardware proxy (hw_proxy, 127.0.0.1:8400):
// pairing, receipts, drawer, customer display and card events, with a reactive
// status the status bar shows and a keep-alive poll (the shape of Odoo's
// point_of_sale hardware_proxy service). A missing proxy never blocks a sale:
// the status shows it and printing can be retried from the receipt screen.
const POLL_MS = 5000;

export class Hardware {
    constructor(env) {
        this.env = env;
        this.url = 'http://127.0.0.1:8400';
        this.token = localStorage.getItem('hy-hw-token');
        this.ws = null;
        this.timer = null;
        this.cardListeners = new Set();
        // reactive part lives in env.state.hw
    }
    get status() { return this.env.state.hw; }
    // the server's config names the proxy; a till whose proxy listens
    // elsewhere sets localStorage['hy-hw-url']
    configure(url) {
        url = localStorage.getItem('hy-hw-url') || url;
        if (url) this.url = url.replace(/\/$/, '');
        this.start();
    }
    start() {
        clearInterval(this.timer);
        this.poll();
        this.timer = setInterval(() => this.poll(), POLL_MS);
    }
    headers(json = true) {
        const h = {};
        if (json) h['Content-Type'] = 'application/json';
        if (this.token) h.Authorization = `Bearer ${this.token}`;
        return h;
    }
    async request(method, path, body, timeout = 15000) {
        const ctrl = new AbortController();
        const timer = setTimeout(() => ctrl.abort(), timeout);
        try {
            const resp = await fetch(this.url + path, {method, headers: this.headers(body !== undefined),
                body: body === undefined ? undefined : JSON.stringify(body), signal: ctrl.signal});
            const data = await resp.json().catch(() => ({}));
            if (!resp.ok && resp.status !== 202) {
                const err = new Error(data.message || data.error || `HTTP ${resp.status}`);
                err.code = data.error; err.status = resp.status;
                if (resp.status === 401) { this.setToken(null); }
                throw err;
            }
            return data;
        } finally {
            clearTimeout(timer);
        }
    }
    setToken(token) {
        this.token = token;
        if (token) localStorage.setItem('hy-hw-token', token); else localStorage.removeItem('hy-hw-token');
        this.status.paired = !!token;
        if (!token) this.closeEvents();
    }
    async poll() {
        const st = this.status;
        try {
            const data = await this.request('GET', '/api/v1/status', undefined, 3000);
            st.proxy = 'online';
            st.devices = data.devices || {};
            st.paired = !!this.token;
            if (this.token && !this.ws) this.openEvents();
        } catch {
            st.proxy = 'offline';
            st.devices = {};
            this.closeEvents();
        }
    }
    deviceOf(type) {
        const devices = this.status.devices || {};
        const name = Object.keys(devices).find((n) => devices[n].type === type);
        return name ? {name, ...devices[name]} : null;
    }
    // overall state for the status bar: ok | warn | off
    summary() {
        const st = this.status;
        if (st.proxy !== 'online') return 'off';
        if (!st.paired) return 'warn';
        const printer = this.deviceOf('printer');
        return printer && printer.state === 'connected' ? 'ok' : 'warn';
    }

    // --- pairing: the proxy shows a 6-digit code on its console / status page
    async pairStart(name) {
        const data = await this.request('POST', '/api/v1/pair', {name});
        this.pairingId = data.pairing_id;
        return data;
    }
    async pairConfirm(code) {
        const data = await this.request('POST', '/api/v1/pair/confirm', {pairing_id: this.pairingId, code});
        this.setToken(data.token);
        this.poll();
        return data;
    }

    // --- commands
    async command(type, command, body) {
        if (this.status.proxy !== 'online') throw Object.assign(new Error('hw_offline'), {code: 'hw_offline'});
        if (!this.token) throw Object.assign(new Error('hw_unpaired'), {code: 'hw_unpaired'});
        const device = this.deviceOf(type);
        if (!device) throw Object.assign(new Error('no_device'), {code: 'no_device'});
        return this.request('POST', `/api/v1/devices/${encodeURIComponent(device.name)}/${command}`, body);
    }
    printReceipt(receipt, openDrawer = false) {
        return this.command('printer', 'receipt', {receipt, open_drawer: openDrawer, wait: 10});
    }
    openDrawer() { return this.command('printer', 'drawer', {wait: 10}); }
    // the customer display never interrupts the cashier: errors are ignored
    display(payload) {
        if (this.status.proxy !== 'online' || !this.token || !this.deviceOf('display')) return;
        this.command('display', 'show', payload).catch(() => {});
    }

    // --- card events over WebSocket
    onCard(fn) { this.cardListeners.add(fn); return () => this.cardListeners.delete(fn); }
    openEvents() {
        if (this.ws || !this.token) return;
        const ws = new WebSocket(this.url.replace(/^http/, 'ws') + '/api/v1/events');
        this.ws = ws;
        ws.onopen = () => ws.send(JSON.stringify({type: 'auth', token: this.token}));
        ws.onmessage = (m) => {
            let e; try { e = JSON.parse(m.data); } catch { return; }
            if (e.type === 'card') {
                const number = e.number || e.tag;
                if (number) for (const fn of this.cardListeners) fn(String(number), e);
            } else if (e.type === 'device' && this.status.devices?.[e.device]) {
                this.status.devices[e.device] = {...this.status.devices[e.device], state: e.state, message: e.message};
            } else if (e.type === 'hello' && e.devices) {
                this.status.devices = e.devices;
            }
        };
        ws.onclose = () => { if (this.ws === ws) this.ws = null; };
        ws.onerror = () => ws.close();
    }
    closeEvents() {
        if (this.ws) { const ws = this.ws; this.ws = null; ws.close(); }
    }
}
