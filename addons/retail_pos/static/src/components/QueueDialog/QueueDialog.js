import {Component, esc} from '../../core/component.js';

// The sales waiting for the server (and those it refused), with "sync now"
// and "send again" for a refused one once a manager has fixed the cause.
export class QueueDialog extends Component {
    constructor(env) {
        super(env);
        this.local = env.makeLocal({rows: []});
    }
    async load() { this.local.rows = await this.env.pos.refreshPending(); }
    async sync() { await this.env.pos.sync(); await this.load(); }
    async retry(uuid) { await this.env.pos.retryRejected(uuid); await this.load(); }
    close() { this.state.dialog = null; }
    onKey(ev) {
        if (ev.key === 'Escape') { this.close(); return true; }
        if (ev.key === 'Enter') { this.sync(); return true; }
        return false;
    }
    template() {
        const rows = [...this.local.rows].sort((a, b) => a.created_at.localeCompare(b.created_at));
        return `<div class="modal"><div class="card wide" data-testid="queue-dialog">
            <h1>${this.t('queue.title')}</h1>
            <p class="hint">${this.t('queue.hint')}</p>
            ${rows.length ? `<table class="report"><thead><tr><th>${this.t('receipt.offline_no')}</th><th>${this.t('receipt.date')}</th><th>${this.t('receipt.total')}</th><th>${this.t('queue.state')}</th><th></th></tr></thead><tbody>
            ${rows.map((r) => `<tr><td>${esc(r.uuid.slice(0, 8).toUpperCase())}</td><td>${esc(new Date(r.created_at).toLocaleString())}</td>
                <td class="num">${esc(r.total)}</td><td>${r.state === 'rejected' ? `<span class="error small">${esc(r.error || '')}</span>` : this.t('queue.pending')}</td>
                <td>${r.state === 'rejected' ? `<button class="btn small" ${this.on('retry', r.uuid)}>${this.t('queue.retry')}</button>` : ''}</td></tr>`).join('')}
            </tbody></table>` : `<p>${this.t('queue.empty')}</p>`}
            <div class="row">
                <button class="btn" ${this.on('close')}>${this.t('common.back')} <kbd>Esc</kbd></button>
                <button class="btn primary" ${this.on('sync')} data-autofocus ${this.state.online ? '' : 'disabled'}>${this.t('queue.sync')} <kbd>Enter</kbd></button>
            </div>
        </div></div>`;
    }
}
