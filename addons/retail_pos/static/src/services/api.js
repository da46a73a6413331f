// The one service talking to the POS server (contract: addons/retail_pos/
// openapi.yaml). Base URL derived from location so the database name is never
// hard-coded: /<database>/retail_pos/ -> /<database>/retail_pos/api/v1/.
export class ApiError extends Error {
    constructor(status, error = {}) {
        super(error.message || `HTTP ${status}`);
        this.status = status;
        this.code = error.code || 'http_error';
        this.field = error.field;
    }
}
export class NetworkError extends Error {
    constructor(cause) { super('network'); this.code = 'offline'; this.cause = cause; }
}

export function appBase(pathname = location.pathname) {
    const i = pathname.indexOf('/retail_pos/');
    return i >= 0 ? pathname.slice(0, i + '/retail_pos/'.length) : pathname.replace(/[^/]*$/, '');
}

export class Api {
    constructor(env) {
        this.env = env;
        this.base = appBase() + 'api/v1/';
        this.token = sessionStorage.getItem('hy-pos-token') || null;
        this.timeout = 15000;
    }
    setToken(token) {
        this.token = token;
        if (token) sessionStorage.setItem('hy-pos-token', token);
        else sessionStorage.removeItem('hy-pos-token');
    }
    async call(method, path, body, {query, timeout} = {}) {
        let url = this.base + path;
        if (query) {
            const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null));
            url += '?' + q;
        }
        const headers = {'Accept': 'application/json', 'Accept-Language': this.env.i18n.lang};
        if (this.token) headers.Authorization = `Bearer ${this.token}`;
        if (body !== undefined) headers['Content-Type'] = 'application/json';
        const ctrl = new AbortController();
        const timer = setTimeout(() => ctrl.abort(), timeout || this.timeout);
        let resp;
        try {
            resp = await fetch(url, {method, headers, signal: ctrl.signal, cache: 'no-store',
                body: body === undefined ? undefined : JSON.stringify(body)});
        } catch (e) {
            this.env.setOnline(false);
            throw new NetworkError(e);
        } finally {
            clearTimeout(timer);
        }
        // a proxy answering 502/503/504 while trytond is down counts as offline
        if ([502, 503, 504].includes(resp.status) && !(resp.headers.get('content-type') || '').includes('json')) {
            this.env.setOnline(false);
            throw new NetworkError(new Error(`HTTP ${resp.status}`));
        }
        this.env.setOnline(true);
        let data = null;
        const text = await resp.text();
        if (text) {
            try { data = JSON.parse(text); } catch { data = {error: {code: 'bad_response', message: text.slice(0, 200)}}; }
        }
        if (!resp.ok) {
            if (resp.status === 401 && path !== 'login') this.env.sessionExpired?.();
            throw new ApiError(resp.status, (data && data.error) || {});
        }
        return data || {};
    }
    get(path, query, opts) { return this.call('GET', path, undefined, {...opts, query}); }
    post(path, body = {}, opts) { return this.call('POST', path, body, opts); }
}
