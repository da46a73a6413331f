// Huiyuan browser POS: boot, environment (services + reactive state), the
// screen switch and the global keyboard dispatch.
import {Renderer, reactive} from './core/component.js';
import {Money} from './core/money.js';
import {Api, NetworkError, appBase} from './services/api.js';
import {I18n} from './services/i18n.js';
import {OfflineStore} from './services/offline_store.js';
import {Hardware} from './services/hardware.js';
import {Scanner} from './services/scanner.js';
import {Pos} from './pos.js';
import {StatusBar} from './components/StatusBar/StatusBar.js';
import {LoginScreen} from './components/LoginScreen/LoginScreen.js';
import {OpenSessionScreen} from './components/OpenSessionScreen/OpenSessionScreen.js';
import {SaleScreen} from './components/SaleScreen/SaleScreen.js';
import {PaymentScreen} from './components/PaymentScreen/PaymentScreen.js';
import {ReceiptScreen} from './components/ReceiptScreen/ReceiptScreen.js';
import {RefundScreen} from './components/RefundScreen/RefundScreen.js';
import {TopupScreen} from './components/TopupScreen/TopupScreen.js';
import {CloseSessionScreen} from './components/CloseSessionScreen/CloseSessionScreen.js';
import {Toasts} from './components/Toasts/Toasts.js';
import {PairDialog} from './components/PairDialog/PairDialog.js';
import {QueueDialog} from './components/QueueDialog/QueueDialog.js';

const BASE = appBase();
const STATIC = BASE + 'static/';
const database = BASE.split('/').filter(Boolean)[0] || 'pos';

function createEnv() {
    const listeners = new Map();
    const env = {
        base: BASE,
        database,
        money: new Money(2),
        listeners,
        on(name, fn) { if (!listeners.has(name)) listeners.set(name, new Set()); listeners.get(name).add(fn); },
        emit(name, ...args) { for (const fn of listeners.get(name) || []) fn(...args); },
    };
    let renderer = null;
    const schedule = () => renderer && renderer.schedule();
    env.makeLocal = (obj) => reactive(obj, schedule);
    env.state = reactive({
        screen: 'loading', online: navigator.onLine, user: null, point: null, config: null, session: null,
        cart: null, quote: null, payments: [], changeToWallet: false, lastSale: null,
        pending: 0, rejected: 0, syncing: false, toasts: [], dialog: null, catalogVersion: 0,
        hw: {proxy: 'unknown', paired: false, devices: {}},
        bootError: '',
    }, schedule);
    env.i18n = new I18n(STATIC, schedule);
    env.api = new Api(env);
    env.store = new OfflineStore(`huiyuan-pos-${database}`);
    env.hw = new Hardware(env);
    env.pos = new Pos(env);
    env.setMoneyDigits = (d) => { env.money = new Money(d); };
    env.setOnline = (online) => {
        if (env.state.online === online) return;
        env.state.online = online;
        if (online) { env.pos.sync(); env.pos.cartChanged(); }
    };
    let toastId = 0;
    env.toast = (text, kind = 'info', ms = 4000) => {
        const id = ++toastId;
        env.state.toasts.push({id, text, kind});
        if (env.state.toasts.length > 4) env.state.toasts.splice(0, 1);
        setTimeout(() => {
            const i = env.state.toasts.findIndex((x) => x.id === id);
            if (i >= 0) env.state.toasts.splice(i, 1);
        }, ms);
    };
    env.hwMessage = (e) => {
        const known = {hw_offline: 'hw.err_offline', hw_unpaired: 'hw.err_unpaired', no_device: 'hw.err_no_device',
            paper_out: 'hw.err_paper_out', device_offline: 'hw.err_device_offline'};
        return known[e.code] ? env.i18n.t(known[e.code]) : (e.message || String(e));
    };
    env.notifyError = (e) => {
        console.error(e);
        if (e instanceof NetworkError) env.toast(env.i18n.t('status.offline_error'), 'error');
        else if (e.code && e.code.startsWith('hw_')) env.toast(env.hwMessage(e), 'error');
        else env.toast(e.message || String(e), 'error');
    };
    env.sessionExpired = () => {
        env.api.setToken(null);
        env.state.screen = 'login';
        env.toast(env.i18n.t('login.expired'), 'warn');
    };
    env.attachRenderer = (r) => { renderer = r; };
    return env;
}

async function boot() {
    const env = createEnv();
    window.__pos = env;  // for the browser tests and debugging
    const screens = {
        login: new LoginScreen(env),
        open: new OpenSessionScreen(env),
        sale: new SaleScreen(env),
        payment: new PaymentScreen(env),
        receipt: new ReceiptScreen(env),
        refund: new RefundScreen(env),
        topup: new TopupScreen(env),
        close: new CloseSessionScreen(env),
    };
    env.screens = screens;
    const bar = new StatusBar(env);
    const toasts = new Toasts(env);
    const pair = new PairDialog(env);
    const queue = new QueueDialog(env);
    const dialogs = {pair, queue};
    env.dialogs = dialogs;
    const root = document.getElementById('app');
    const render = () => {
        const s = env.state;
        const screen = screens[s.screen];
        const body = screen ? screen.template()
            : `<div class="center-screen"><div class="card"><h1>会员收银 · Huiyuan POS</h1><p>${s.bootError || env.i18n.t('common.wait')}</p></div></div>`;
        return `${bar.template()}<main class="screen screen-${s.screen}">${body}</main>${dialogs[s.dialog] ? dialogs[s.dialog].template() : ''}${toasts.template()}`;
    };
    const renderer = new Renderer(root, render);
    env.attachRenderer(renderer);

    // keyboard: dialog first, then the current screen
    document.addEventListener('keydown', (ev) => {
        const target = dialogs[env.state.dialog] || screens[env.state.screen];
        if (!target) return;
        let handled = false;
        try { handled = target.onKey(ev); } catch (e) { env.notifyError(e); }
        if (handled) { ev.preventDefault(); ev.stopPropagation(); }
        else if (/^F\d+$/.test(ev.key) && ev.key !== 'F5' && ev.key !== 'F11') ev.preventDefault();
    });
    new Scanner((code) => env.pos.scan(code).catch((e) => env.notifyError(e)));
    env.hw.onCard((number) => env.pos.scan(number).catch((e) => env.notifyError(e)));
    window.addEventListener('online', () => env.pos.sync());
    window.addEventListener('offline', () => env.setOnline(false));
    // a light ping brings the status back when the network returns
    setInterval(async () => {
        if (env.state.online || !env.api.token) return;
        try { await env.api.get('config'); } catch { /* still offline */ }
    }, 5000);

    await env.i18n.load(localStorage.getItem('hy-pos-lang') || 'zh_CN');
    env.pos.newSale(true);
    await env.pos.refreshPending().catch(() => {});
    if ('serviceWorker' in navigator) {
        navigator.serviceWorker.register(STATIC + 'sw.js', {scope: BASE}).catch(() =>
            navigator.serviceWorker.register(STATIC + 'sw.js').catch(() => {}));
    }
    if (env.api.token) {
        try {
            await env.pos.afterLogin(null);
            return;
        } catch (e) {
            if (e.status === 401) env.api.setToken(null);
            else if (!(e instanceof NetworkError)) env.notifyError(e);
        }
    }
    env.hw.start();
    env.state.screen = 'login';
}

boot().catch((e) => {
    console.error(e);
    document.getElementById('app').innerHTML = `<p style="padding:2em">POS failed to start / 收银系统启动失败: ${String(e.message || e)}</p>`;
});
