#!/usr/bin/env python3
"""The Tryton web client's (sao) zh_CN, completed.

sao 8.0's own zh_CN leaves 26 of its 269 strings empty and 12 fuzzy (wrong:
"Copy Selected Rows" 已选记录, "Are you sure to unsubscribe..." 确定要删除这条
记录吗), so favourites, chat, notifications and preferences show in English.

  i18n/sao.py sync [SAO_DIR]      refresh i18n/sao/zh_CN.po from sao's messages.pot
  i18n/sao.py install [SAO_DIR]   write SAO_DIR/locale/zh_CN.json from it

SAO_DIR defaults to var/sao/package (where scripts/setup.sh unpacks sao).
`sync` takes the `!en<TAB>zh` lines of i18n/sao/memory.tsv (fixes of sao's
own: "%s" where sao passes "%1", glossary words), then keeps the msgstr
already in i18n/sao/zh_CN.po, then sao's non-fuzzy zh_CN (with
i18n/terms.csv fixes), then the other lines of the memory.
`install` must run after every (re)install of sao.
"""
import json
import sys
from pathlib import Path

import polib

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import build  # noqa: E402

CATALOGUE = HERE / 'sao' / 'zh_CN.po'
MEMORY = HERE / 'sao' / 'memory.tsv'
DEFAULT_SAO = ROOT / 'var' / 'sao' / 'package'


def value(entry):
    if entry.msgid_plural:
        return entry.msgstr_plural.get(0, '')
    return entry.msgstr


def sync(sao_dir):
    locale = sao_dir / 'locale'
    upstream = {e.msgid: e for e in polib.pofile(str(locale / 'zh_CN.po'))}
    ours = ({e.msgid: e for e in polib.pofile(str(CATALOGUE))}
        if CATALOGUE.exists() else {})
    memory, forced = {}, {}
    for line in MEMORY.read_text(encoding='utf-8').splitlines():
        if line.strip():
            en, zh = (build.unescape(p) for p in line.split('\t'))
            if en.startswith('!'):
                forced[en[1:]] = zh
            else:
                memory[en] = zh
    terms = build.load_terms()
    pofile = build.new_pofile()
    for template in polib.pofile(str(locale / 'messages.pot')):
        entry = polib.POEntry(msgid=template.msgid,
            msgid_plural=template.msgid_plural)
        previous = ours.get(template.msgid)
        up = upstream.get(template.msgid)
        if template.msgid in forced:
            msgstr = forced[template.msgid]
        elif previous is not None and value(previous) and not previous.fuzzy:
            msgstr = value(previous)
        elif up is not None and value(up) and not up.fuzzy:
            msgstr = build.fix_terms(value(up), terms)
        else:
            msgstr = memory.get(template.msgid, '')
        if template.msgid_plural:
            entry.msgstr_plural = {0: msgstr}
        else:
            entry.msgstr = msgstr
        pofile.append(entry)
    CATALOGUE.parent.mkdir(exist_ok=True)
    pofile.save(str(CATALOGUE))
    print(f'{CATALOGUE.relative_to(ROOT)}: {len(pofile)} strings')


def catalogue_json():
    "sao's locale format: msgid -> [msgid_plural or null, msgstr]"
    data = {'': {'content-type': 'text/plain; charset=utf-8'}}
    for entry in polib.pofile(str(CATALOGUE)):
        if value(entry) and not entry.fuzzy:
            data[entry.msgid] = [entry.msgid_plural or None, value(entry)]
    return data


def installed_is_current(sao_dir):
    path = sao_dir / 'locale' / 'zh_CN.json'
    if not path.exists():
        return None
    installed = json.loads(path.read_text(encoding='utf-8'))
    return all(installed.get(k) == v for k, v in catalogue_json().items())


def install(sao_dir):
    path = sao_dir / 'locale' / 'zh_CN.json'
    path.write_text(json.dumps(catalogue_json(), ensure_ascii=False),
        encoding='utf-8')
    print(f'wrote {path}')


def main():
    args = sys.argv[1:]
    if not args or args[0] not in {'sync', 'install'}:
        raise SystemExit(__doc__)
    sao_dir = Path(args[1]) if len(args) > 1 else DEFAULT_SAO
    if args[0] == 'sync':
        sync(sao_dir)
    else:
        install(sao_dir)


if __name__ == '__main__':
    main()
