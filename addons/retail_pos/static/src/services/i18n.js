// The POS message catalogue: static/i18n/<lang>.json (nested keys, %(name)s
// placeholders, checked by i18n/check.py). zh_CN is the default; en is complete.
// Catalogues are cached in localStorage so a reload offline still speaks Chinese.
export const LANGS = ['zh_CN', 'en'];

export class I18n {
    constructor(base, onChange) {
        this.base = base;
        this.onChange = onChange;
        this.lang = 'zh_CN';
        this.catalogues = {};
    }
    async load(lang) {
        if (!LANGS.includes(lang)) lang = 'zh_CN';
        if (!this.catalogues[lang]) {
            try {
                const resp = await fetch(`${this.base}i18n/${lang}.json`, {cache: 'no-cache'});
                if (!resp.ok) throw new Error(resp.statusText);
                this.catalogues[lang] = await resp.json();
                localStorage.setItem(`hy-pos-i18n-${lang}`, JSON.stringify(this.catalogues[lang]));
            } catch (e) {
                const cached = localStorage.getItem(`hy-pos-i18n-${lang}`);
                if (!cached) throw e;
                this.catalogues[lang] = JSON.parse(cached);
            }
        }
        this.lang = lang;
        document.documentElement.lang = lang === 'zh_CN' ? 'zh-CN' : 'en';
        localStorage.setItem('hy-pos-lang', lang);
        this.onChange?.();
    }
    t(key, params) {
        let node = this.catalogues[this.lang];
        for (const part of key.split('.')) node = node?.[part];
        if (typeof node !== 'string') {
            node = key.split('.').reduce((n, p) => n?.[p], this.catalogues.en);
            if (typeof node !== 'string') return key;
        }
        if (!params) return node.replace(/%%/g, '%');
        return node.replace(/%\((\w+)\)s/g, (_, name) => String(params[name] ?? '')).replace(/%%/g, '%');
    }
}
