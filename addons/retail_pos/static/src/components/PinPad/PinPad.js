import {Component, esc} from '../../core/component.js';

// A numeric pad for PINs and amounts, usable with the mouse, a touch screen or
// the keyboard's numeric keypad. props: {secret, max, onDone(value), labelKey}
export class PinPad extends Component {
    constructor(env, props) {
        super(env, props);
        this.local = env.makeLocal({value: ''});
    }
    get value() { return this.local.value; }
    clear() { this.local.value = ''; }
    press(key) {
        const v = this.local.value;
        if (key === 'back') this.local.value = v.slice(0, -1);
        else if (key === 'clear') this.local.value = '';
        else if (key === 'ok') this.props.onDone?.(v);
        else if (v.length < (this.props.max || 12)) this.local.value = v + key;
    }
    onKey(ev) {
        if (/^[0-9]$/.test(ev.key) || (this.props.decimal && ev.key === '.')) { this.press(ev.key); return true; }
        if (ev.key === 'Backspace') { this.press('back'); return true; }
        if (ev.key === 'Enter') { this.press('ok'); return true; }
        return false;
    }
    template() {
        const v = this.local.value;
        const shown = this.props.secret ? '●'.repeat(v.length) : v;
        const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', this.props.decimal ? '.' : 'clear', '0', 'back'];
        return `<div class="pinpad" data-testid="pinpad">
            ${this.props.labelKey ? `<div class="pinpad-label">${esc(this.t(this.props.labelKey))}</div>` : ''}
            <div class="pinpad-display" data-testid="pin-display">${esc(shown) || '&nbsp;'}</div>
            <div class="pinpad-keys">
            ${keys.map((k) => `<button type="button" class="key" ${this.on('press', k)}>${
                k === 'back' ? '⌫' : k === 'clear' ? this.t('common.clear') : k}</button>`).join('')}
            </div>
            <button type="button" class="btn primary wide" ${this.on('press', 'ok')} data-testid="pin-ok">${this.t('common.confirm')} <kbd>Enter</kbd></button>
        </div>`;
    }
}
