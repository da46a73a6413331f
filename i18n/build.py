#!/usr/bin/env python3
"""Maintain the zh_CN catalogues of the upstream Tryton modules and build the
retail_i18n module's override catalogue from them.

  i18n/build.py sync [--rebuild]   refresh i18n/upstream/<module>.zh_CN.po
  i18n/build.py module             write addons/retail_i18n/locale/zh_CN.po
  i18n/build.py                    both

`sync` writes one catalogue per activated upstream module with every
translatable string found by extract.py (msgctxt as in the module's own
locale: `type:name:fs_id`). A msgstr already in the catalogue is kept (the
catalogues are the source of truth and are edited by hand); a new entry takes
upstream's zh_CN value when it is a real translation (with the term fixes of
terms.csv applied), else the translation memory (memory/*.tsv: `en<TAB>zh`).
Memory lines `msgctxt<TAB>en<TAB>zh` (one context) and `!en<TAB>zh` (every
context) are decisions that win over upstream and over the catalogue: use
them to fix a wrong upstream translation. `\\n` stands for a new line. What is
still empty is left empty for check.py to report. `--rebuild` ignores the
msgstr already in the catalogues (after editing the memory or terms.csv).

`module` writes the entries whose translation differs from upstream's
effective zh_CN in Tryton's overriding syntax: the msgctxt names the
upstream module, `model:ir.ui.menu,name:sale_point.menu_point`, or
`field:sale.point.sale,number:sale_point.` for strings with no record.
"""
import csv
import re
import sys
from pathlib import Path

import polib

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import extract  # noqa: E402

UPSTREAM = HERE / 'upstream'
MEMORY = HERE / 'memory'
TERMS = HERE / 'terms.csv'
MODULE_PO = ROOT / 'addons' / 'retail_i18n' / 'locale' / 'zh_CN.po'
HEADER = {
    'Content-Type': 'text/plain; charset=utf-8',
    'Language': 'zh_CN',
    }


def catalogue_path(module):
    return UPSTREAM / f'{module}.zh_CN.po'


def unescape(text):
    return text.replace('\\n', '\n').replace('\\t', '\t')


def load_memory():
    """From memory/*.tsv: msgid -> zh (fills empty entries), (msgctxt,
    msgid) -> zh and `!msgid` -> zh (forced: replace upstream's and the
    catalogue's value, for wrong upstream translations)"""
    by_id, by_ctxt, forced = {}, {}, {}
    for path in sorted(MEMORY.glob('*.tsv')):
        for lineno, line in enumerate(
                path.read_text(encoding='utf-8').splitlines(), 1):
            if not line.strip() or line.startswith('#'):
                continue
            parts = [unescape(p) for p in line.split('\t')]
            if len(parts) == 2 and parts[0].startswith('!'):
                forced[parts[0][1:]] = parts[1]
            elif len(parts) == 2:
                by_id[parts[0]] = parts[1]
            elif len(parts) == 3:
                by_ctxt[parts[0], parts[1]] = parts[2]
            else:
                raise SystemExit(f'{path}:{lineno}: expected 2 or 3 '
                    'tab separated columns')
    return by_id, by_ctxt, forced


def load_terms():
    with TERMS.open(encoding='utf-8') as fp:
        return [(r['upstream'], r['ours']) for r in csv.DictReader(fp)]


CJK_END = re.compile(r'([\u3400-\u9fff）])\s*\.$')
CJK_COLON = re.compile(r'([\u3400-\u9fff])\s*:$')


def fix_terms(value, terms):
    "terms.csv replacements and Chinese end punctuation for upstream's text"
    for old, new in terms:
        value = value.replace(old, new)
    lines = []
    for line in value.split('\n'):
        line = CJK_END.sub(r'\1。', line)
        line = CJK_COLON.sub(r'\1：', line)
        lines.append(line)
    return '\n'.join(lines)


def entry_key(msgctxt, msgid, msgid_plural):
    return (msgctxt, msgid, msgid_plural or None)


def read_catalogue(path):
    "(msgctxt, msgid, msgid_plural) -> POEntry"
    if not path.exists():
        return {}
    return {entry_key(e.msgctxt, e.msgid, e.msgid_plural): e
        for e in polib.pofile(str(path)) if not e.obsolete}


def new_pofile():
    pofile = polib.POFile(wrapwidth=78)
    pofile.metadata = dict(HEADER)
    return pofile


def sync(rebuild=False):
    data = extract.load()
    by_id, by_ctxt, forced = load_memory()
    terms = load_terms()
    UPSTREAM.mkdir(exist_ok=True)
    for module, entries in sorted(data['modules'].items()):
        path = catalogue_path(module)
        old = {} if rebuild else read_catalogue(path)
        pofile = new_pofile()
        for msgctxt, msgid, plural, value, fuzzy in entries:
            entry = polib.POEntry(msgctxt=msgctxt, msgid=msgid)
            previous = old.get(entry_key(msgctxt, msgid, plural))
            if (msgctxt, msgid) in by_ctxt:
                msgstr = by_ctxt[msgctxt, msgid]
            elif msgid in forced:
                msgstr = forced[msgid]
            elif previous is not None and previous.msgstr and (
                    'fuzzy' not in previous.flags):
                msgstr = previous.msgstr
            elif extract.is_translated(msgid, value, fuzzy):
                msgstr = fix_terms(value, terms)
            elif msgid in extract.SAME:
                msgstr = msgid
            else:
                msgstr = by_id.get(msgid, '')
            if plural:
                entry.msgid_plural = plural
                entry.msgstr_plural = {0: msgstr}
            else:
                entry.msgstr = msgstr
            pofile.append(entry)
        pofile.save(str(path))
    print(f'synced {len(data["modules"])} catalogues in {UPSTREAM}')


def override_context(module, msgctxt):
    ttype, name, fs_id = msgctxt.split(':')
    return f'{ttype}:{name}:{module}.{fs_id}'


def module_pofile():
    "The override catalogue: what differs from upstream's effective zh_CN"
    data = extract.load()
    pofile = new_pofile()
    for module, entries in sorted(data['modules'].items()):
        catalogue = read_catalogue(catalogue_path(module))
        for msgctxt, msgid, plural, value, fuzzy in entries:
            ours = catalogue.get(entry_key(msgctxt, msgid, plural))
            if ours is None or 'fuzzy' in ours.flags:
                continue
            msgstr = ours.msgstr_plural.get(0) if plural else ours.msgstr
            if not msgstr:
                continue
            if extract.is_translated(msgid, value, fuzzy) and (
                    value == msgstr):
                continue  # upstream already says it
            entry = polib.POEntry(
                msgctxt=override_context(module, msgctxt), msgid=msgid)
            if plural:
                entry.msgid_plural = plural
                entry.msgstr_plural = {0: msgstr}
            else:
                entry.msgstr = msgstr
            pofile.append(entry)
    return pofile


def build_module():
    pofile = module_pofile()
    MODULE_PO.parent.mkdir(parents=True, exist_ok=True)
    pofile.save(str(MODULE_PO))
    print(f'{len(pofile)} overrides written to {MODULE_PO.relative_to(ROOT)}')


def main():
    args = sys.argv[1:]
    command = args[0] if args and not args[0].startswith('-') else None
    if command in {None, 'sync'}:
        sync(rebuild='--rebuild' in args)
    if command in {None, 'module'}:
        build_module()
    if command not in {None, 'sync', 'module'}:
        raise SystemExit(__doc__)


if __name__ == '__main__':
    main()
