// Service worker of the browser POS: keeps the app shell (index.html, scripts,
// styles, catalogues) so the till reloads offline. Network first (the server
// answers no-cache + ETag, so a deploy is picked up at once), cache when the
// server cannot be reached. The API is never cached here: the catalogue and the
// queue of sales live in IndexedDB (services/offline_store.js).
// (trytond answers module scripts with "Vary: Origin": matches ignore Vary)
const CACHE = 'huiyuan-pos-v2';
const BASE = self.location.pathname.replace(/static\/sw\.js$/, '');
const SHELL = [
    '', 'static/css/pos.css', 'static/src/main.js', 'static/src/pos.js',
    'static/src/core/component.js', 'static/src/core/money.js', 'static/src/core/uuid.js',
    'static/src/services/api.js', 'static/src/services/i18n.js', 'static/src/services/offline_store.js',
    'static/src/services/hardware.js', 'static/src/services/scanner.js',
    'static/i18n/zh_CN.json', 'static/i18n/en.json',
    ...['StatusBar', 'PinPad', 'LoginScreen', 'OpenSessionScreen', 'SaleScreen', 'ProductGrid', 'Cart',
        'MemberPanel', 'PaymentScreen', 'ReceiptScreen', 'RefundScreen', 'TopupScreen', 'CloseSessionScreen',
        'Toasts', 'PairDialog', 'QueueDialog'].map((n) => `static/src/components/${n}/${n}.js`),
    ...['StatusBar', 'PinPad', 'LoginScreen', 'ProductGrid', 'Cart', 'MemberPanel', 'SaleScreen',
        'PaymentScreen', 'ReceiptScreen'].map((n) => `static/src/components/${n}/${n}.css`),
    'static/src/components/ReceiptScreen/receipt_view.js',
].map((p) => BASE + p);

self.addEventListener('install', (event) => {
    event.waitUntil(caches.open(CACHE).then((cache) => Promise.all(
        SHELL.map((url) => cache.add(url).catch(() => null)))).then(() => self.skipWaiting()));
});
self.addEventListener('activate', (event) => {
    event.waitUntil(caches.keys().then((keys) => Promise.all(
        keys.filter((k) => k.startsWith('huiyuan-pos-') && k !== CACHE).map((k) => caches.delete(k))))
        .then(() => self.clients.claim()));
});
self.addEventListener('fetch', (event) => {
    const url = new URL(event.request.url);
    if (event.request.method !== 'GET' || url.origin !== self.location.origin
            || !url.pathname.startsWith(BASE) || url.pathname.startsWith(BASE + 'api/')) return;
    event.respondWith(fetch(event.request).then((resp) => {
        if (resp.ok) {
            const copy = resp.clone();
            caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return resp;
    }).catch(() => caches.match(event.request, {ignoreSearch: true, ignoreVary: true}).then((hit) =>
        hit || (event.request.mode === 'navigate' ? caches.match(BASE) : Response.error()))));
});
