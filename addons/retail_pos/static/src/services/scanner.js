// Tells a barcode scanner or a keyboard-wedge card reader from a person typing,
// by timing: at least MIN_LEN characters each arriving < GAP_MS after the
// previous one, ended by Enter, is a scan. The scanned characters are taken
// back out of whatever input they landed in, and the scan goes to onScan.
// A till whose scanner is slow (or a loaded test machine) may set
// localStorage['hy-pos-scan-gap'] (ms).
const GAP_MS = Number(localStorage.getItem('hy-pos-scan-gap')) || 30;
const MIN_LEN = 4;

export class Scanner {
    constructor(onScan) {
        this.onScan = onScan;
        this.reset();
        this.handler = (ev) => this.keydown(ev);
        document.addEventListener('keydown', this.handler, true);
    }
    reset() {
        this.buffer = '';
        this.last = 0;
        this.target = null;
        this.before = null;
    }
    keydown(ev) {
        // the time the key was pressed, not when this handler runs (a render
        // may delay the handler; the events' own stamps stay close together)
        const now = ev.timeStamp || performance.now();
        if (ev.key === 'Enter') {
            const fast = this.buffer.length >= MIN_LEN && now - this.last < GAP_MS * 3;
            if (fast) {
                ev.preventDefault();
                ev.stopImmediatePropagation();
                const code = this.buffer;
                // the app re-renders while characters arrive: find the input again
                const target = (this.target && this.target.id && document.getElementById(this.target.id)) || this.target;
                if (target && this.before !== null && 'value' in target) {
                    target.value = this.before;
                    target.dispatchEvent(new Event('input', {bubbles: true}));
                }
                this.reset();
                this.onScan(code);
                return;
            }
            this.reset();
            return;
        }
        if (ev.key.length !== 1 || ev.ctrlKey || ev.altKey || ev.metaKey) {
            if (!['Shift'].includes(ev.key)) this.reset();
            return;
        }
        if (this.buffer && now - this.last < GAP_MS) {
            this.buffer += ev.key;
        } else {
            // a new possible scan starts here: remember the input's value before it
            this.buffer = ev.key;
            this.target = ev.target;
            this.before = 'value' in ev.target ? ev.target.value : null;
            const sel = ev.target.selectionStart;
            if (this.before !== null && typeof sel === 'number') this.before = this.before.slice(0, sel) + this.before.slice(ev.target.selectionEnd ?? sel);
        }
        this.last = now;
    }
}
