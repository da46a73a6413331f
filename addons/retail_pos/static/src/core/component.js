// A tiny component layer (no dependency): a component renders an HTML string
// from the shared reactive state; events are delegated from the root with
// data-c="<component id>" data-act="<method>" (click) / data-input / data-change.
// The whole app re-renders on the next animation frame after a state change,
// keeping the focused input and its caret (a POS screen is small: ~1 ms).

let nextId = 1;
export const registry = new Map();

export class Component {
    constructor(env, props = {}) {
        this.env = env;
        this.props = props;
        this.cid = `c${nextId++}`;
        registry.set(this.cid, this);
    }
    get state() { return this.env.state; }
    t(key, params) { return this.env.i18n.t(key, params); }
    // attributes for a clickable element calling this.method(arg)
    on(method, arg) {
        return `data-c="${this.cid}" data-act="${method}"` +
            (arg === undefined ? '' : ` data-arg="${esc(String(arg))}"`);
    }
    onInput(method) { return `data-c="${this.cid}" data-input="${method}"`; }
    onChange(method) { return `data-c="${this.cid}" data-change="${method}"`; }
    template() { return ''; }
    // keyboard: return true when handled
    onKey(/* event */) { return false; }
}

const ESC = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};
export function esc(value) {
    return String(value ?? '').replace(/[&<>"']/g, (c) => ESC[c]);
}

// Deep reactive proxy: any set/delete schedules one render.
export function reactive(target, onChange) {
    const cache = new WeakMap();
    const wrap = (obj) => {
        if (obj === null || typeof obj !== 'object') return obj;
        if (obj instanceof Date || obj instanceof Map || obj instanceof Set) return obj;
        if (cache.has(obj)) return cache.get(obj);
        const proxy = new Proxy(obj, {
            get(o, key) { return wrap(o[key]); },
            set(o, key, value) {
                if (o[key] !== value || Array.isArray(o)) { o[key] = value; onChange(); }
                return true;
            },
            deleteProperty(o, key) { delete o[key]; onChange(); return true; },
        });
        cache.set(obj, proxy);
        return proxy;
    };
    return wrap(target);
}

export class Renderer {
    constructor(root, renderFn) {
        this.root = root;
        this.renderFn = renderFn;
        this.scheduled = false;
        root.addEventListener('click', (ev) => this.dispatch(ev, 'act'));
        root.addEventListener('input', (ev) => this.dispatch(ev, 'input'));
        root.addEventListener('change', (ev) => this.dispatch(ev, 'change'));
        root.addEventListener('submit', (ev) => ev.preventDefault());
    }
    dispatch(ev, kind) {
        const el = ev.target.closest(`[data-${kind}]`);
        if (!el || !this.root.contains(el)) return;
        const comp = registry.get(el.dataset.c);
        const method = el.dataset[kind];
        if (!comp || typeof comp[method] !== 'function') return;
        if (kind === 'act') ev.preventDefault();
        const arg = kind === 'act' ? el.dataset.arg : el.value;
        Promise.resolve(comp[method](arg, ev, el)).catch((e) => comp.env.notifyError(e));
    }
    schedule() {
        if (this.scheduled) return;
        this.scheduled = true;
        requestAnimationFrame(() => { this.scheduled = false; this.render(); });
    }
    render() {
        const active = document.activeElement;
        const focusId = active && this.root.contains(active) ? active.id : null;
        // an input committed on "change" keeps what the cashier is typing
        const keepValue = focusId && active.dataset && active.dataset.change !== undefined ? active.value : null;
        let start = null, end = null;
        try { start = active.selectionStart; end = active.selectionEnd; } catch { /* not a text input */ }
        const scrolls = {};
        this.root.querySelectorAll('[data-keep-scroll]').forEach((el) => { scrolls[el.dataset.keepScroll] = el.scrollTop; });
        this.root.innerHTML = this.renderFn();
        this.root.querySelectorAll('[data-keep-scroll]').forEach((el) => {
            if (scrolls[el.dataset.keepScroll] !== undefined) el.scrollTop = scrolls[el.dataset.keepScroll];
        });
        const autofocus = this.root.querySelector('[data-autofocus]');
        const target = (focusId && document.getElementById(focusId)) || autofocus;
        if (target) {
            if (keepValue !== null && target.id === focusId) target.value = keepValue;
            target.focus({preventScroll: true});
            if (focusId && target.id === focusId && start !== null && typeof target.setSelectionRange === 'function') {
                try { target.setSelectionRange(start, end); } catch { /* number inputs */ }
            }
        }
        this.root.querySelectorAll('[data-scroll-end]').forEach((el) => { el.scrollTop = el.scrollHeight; });
    }
}
