import {Component, esc} from '../../core/component.js';

// Top bar: till and cashier, server online/offline, sales waiting to sync,
// device status (hardware proxy, printer, display, card reader), language.
export class StatusBar extends Component {
    switchLang() {
        const next = this.env.i18n.lang === 'zh_CN' ? 'en' : 'zh_CN';
        sessionStorage.setItem('hy-pos-lang-chosen', '1');
        this.env.i18n.load(next);
    }
    openPair() { this.state.dialog = 'pair'; }
    sync() { this.state.dialog = 'queue'; this.env.dialogs.queue.load(); this.env.pos.sync(); }
    devices() {
        const hw = this.state.hw;
        if (hw.proxy !== 'online') return `<span class="dev off" title="${esc(this.env.hw.url)}">${this.t('hw.proxy_offline')}</span>`;
        if (!hw.paired) return `<button class="dev warn" ${this.on('openPair')} data-testid="hw-pair">${this.t('hw.unpaired')}</button>`;
        const names = {printer: 'hw.printer', display: 'hw.display', card_reader: 'hw.reader', scale: 'hw.scale'};
        return Object.entries(hw.devices || {}).map(([name, d]) => {
            const cls = d.state === 'connected' ? 'ok' : (d.state === 'unknown' ? 'warn' : 'off');
            return `<span class="dev ${cls}" title="${esc(name)}: ${esc(d.state)} ${esc(d.message || '')}">${
                this.t(names[d.type] || 'hw.device')} · ${this.t('hw.state.' + (d.state || 'unknown'))}</span>`;
        }).join('');
    }
    template() {
        const s = this.state;
        const pending = s.pending || 0;
        return `<header class="statusbar">
            <div class="brand">会员收银 <small>Huiyuan</small></div>
            <div class="where">${esc(s.point?.name || '')}${s.user ? ' · ' + esc(s.user.name) : ''}</div>
            <div class="grow"></div>
            <span class="net ${s.online ? 'ok' : 'off'}" data-testid="net-status">${s.online ? this.t('status.online') : this.t('status.offline')}</span>
            <button class="pending ${pending ? 'has' : ''}" ${this.on('sync')} data-testid="pending-count" data-pending="${pending}"
                title="${this.t('status.pending_hint')}">${this.t('status.pending', {count: pending})}${s.syncing ? ' ⟳' : ''}</button>
            ${s.rejected ? `<span class="dev off" ${this.on('sync')} data-testid="rejected-count">${this.t('status.rejected', {count: s.rejected})}</span>` : ''}
            <span class="devices" data-testid="hw-status">${this.devices()}</span>
            <button class="lang" ${this.on('switchLang')} data-testid="lang-switch" title="zh_CN / en">${this.env.i18n.lang === 'zh_CN' ? 'EN' : '中文'}</button>
        </header>`;
    }
}
