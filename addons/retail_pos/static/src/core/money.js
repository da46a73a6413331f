// Money as integer minor units (never floats); strings in and out as the API
// sends them ("12.50"). `digits` comes from config.currency.digits.
export class Money {
    constructor(digits = 2) { this.digits = digits; this.factor = 10 ** digits; }
    parse(value) {
        if (value === null || value === undefined || value === '') return 0;
        const s = String(value).trim().replace(/[,\s￥¥]/g, '');
        if (!/^-?\d*(\.\d*)?$/.test(s)) return NaN;
        const neg = s.startsWith('-');
        const [int, frac = ''] = s.replace('-', '').split('.');
        const f = (frac + '0'.repeat(this.digits + 1)).slice(0, this.digits + 1);
        let units = Number(int || '0') * this.factor + Number(f.slice(0, this.digits) || '0');
        if (Number(f[this.digits]) >= 5) units += 1;  // half up
        return neg ? -units : units;
    }
    str(units) {
        const neg = units < 0;
        const a = Math.abs(Math.round(units));
        const int = Math.floor(a / this.factor);
        const frac = String(a % this.factor).padStart(this.digits, '0');
        return (neg ? '-' : '') + int + (this.digits ? '.' + frac : '');
    }
    // quantity (number) x unit price (units) less discount percent, rounded half up
    line(qty, priceUnits, discountPercent = 0) {
        const raw = qty * priceUnits * (1 - (Number(discountPercent) || 0) / 100);
        return Math.sign(raw) * Math.round(Math.abs(raw) + 1e-9);
    }
}
