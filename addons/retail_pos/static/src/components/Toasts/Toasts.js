import {Component, esc} from '../../core/component.js';

export class Toasts extends Component {
    close(id) {
        const i = this.state.toasts.findIndex((x) => String(x.id) === id);
        if (i >= 0) this.state.toasts.splice(i, 1);
    }
    template() {
        return `<div class="toasts" aria-live="polite">${this.state.toasts.map((x) =>
            `<div class="toast ${x.kind}" ${this.on('close', x.id)} data-testid="toast">${esc(x.text)}</div>`).join('')}</div>`;
    }
}
