#!/usr/bin/env python3
"""Check that everything the suite shows is translated into Chinese.

Fails (exit 1) and lists what is wrong when:
- a catalogue the suite ships (addons/*/locale/zh_CN.po, i18n/upstream/*.po,
  the web client's i18n/sao/zh_CN.po, the POS front end's
  addons/*/static/i18n/zh*.json) has an empty, fuzzy or
  English-left-as-is entry, or a msgstr whose %-placeholders differ from the
  msgid's (the message would crash or lose its data);
- a string of an activated upstream module (i18n/strings.json, see
  extract.py) is translated neither by upstream's zh_CN nor by our catalogue;
- a catalogue lacks strings the installed modules have (run build.py sync),
  or an upstream module our addons or data/modules.txt activate is not
  extracted at all;
- addons/retail_i18n/locale/zh_CN.po is not what build.py would write from
  the catalogues (run build.py module);
- a catalogue still uses a word terms.csv replaces (参与者, 草案...), a
  string that is exactly a glossary term (e.g. "Points", "Member Card") is
  not translated with the glossary's word, or the glossary is malformed.

Usage: i18n/check.py [--max N] [--stats] [--strict]
  N: entries listed per problem (default 20); --stats: strings translated
  per upstream module, by upstream's zh_CN and now; --strict: an addon
  that registers models, wizards or reports without a locale/zh_CN.po is a
  failure (otherwise a warning).
"""
import argparse
import csv
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import polib

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import build  # noqa: E402
import extract  # noqa: E402
import sao  # noqa: E402

# Python %-formats, and sao's %1 %2
PLACEHOLDER = re.compile(
    r'%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]|%\d')


def placeholders(text):
    return sorted(p for p in PLACEHOLDER.findall(text) if p != '%%')


def po_catalogues():
    paths = sorted(ROOT.glob('addons/*/locale/zh_CN.po'))
    paths += sorted((HERE / 'upstream').glob('*.zh_CN.po'))
    paths += sorted((HERE / 'sao').glob('*.po'))
    return paths


def check_po(path, problems):
    try:
        pofile = polib.pofile(str(path))
    except (OSError, ValueError) as exception:
        problems['unreadable catalogue'].append(f'{path}: {exception}')
        return
    name = path.relative_to(ROOT)
    for entry in pofile:
        if entry.obsolete:
            continue
        where = f'{name}: {entry.msgctxt} {entry.msgid!r}'
        values = (list(entry.msgstr_plural.values()) if entry.msgid_plural
            else [entry.msgstr])
        if 'fuzzy' in entry.flags:
            problems['fuzzy'].append(where)
        elif not all(extract.is_translated(entry.msgid, v, False)
                for v in values):
            problems['untranslated'].append(where)
        elif any(placeholders(v) != placeholders(entry.msgid)
                for v in values):
            problems['placeholders differ'].append(
                f'{where} -> {values[0]!r}')


def flatten(data, prefix=''):
    if isinstance(data, dict):
        for key, value in data.items():
            yield from flatten(value, f'{prefix}{key}.')
    else:
        yield prefix.rstrip('.'), data


def check_json(path, problems):
    "The POS catalogue: every key of en.json present and translated"
    name = path.relative_to(ROOT)
    try:
        zh = dict(flatten(json.loads(path.read_text(encoding='utf-8'))))
    except ValueError as exception:
        problems['unreadable catalogue'].append(f'{name}: {exception}')
        return
    en_path = path.with_name('en.json')
    en = (dict(flatten(json.loads(en_path.read_text(encoding='utf-8'))))
        if en_path.exists() else {})
    for key in sorted(set(en) - set(zh)):
        problems['untranslated'].append(f'{name}: {key} (missing)')
    for key, value in sorted(zh.items()):
        source = en.get(key, '')
        if not isinstance(value, str) or not value.strip() or (
                value == source and re.search('[a-z]', source)):
            problems['untranslated'].append(f'{name}: {key} {value!r}')
        elif source and placeholders(value) != placeholders(source):
            problems['placeholders differ'].append(
                f'{name}: {key} {value!r}')


def check_coverage(data, problems):
    "Every string of every activated upstream module translated somewhere"
    for module, entries in sorted(data['modules'].items()):
        catalogue = build.read_catalogue(build.catalogue_path(module))
        for msgctxt, msgid, plural, value, fuzzy in entries:
            ours = catalogue.get(build.entry_key(msgctxt, msgid, plural))
            if ours is None:
                problems['not in catalogue (run i18n/build.py sync)'].append(
                    f'{module}: {msgctxt} {msgid!r}')
            ours_value = None
            if ours is not None and 'fuzzy' not in ours.flags:
                ours_value = (ours.msgstr_plural.get(0) if plural
                    else ours.msgstr)
            if not (extract.is_translated(msgid, ours_value, False)
                    or extract.is_translated(msgid, value, fuzzy)):
                problems[f'not translated in zh_CN: {module}'].append(
                    f'{msgctxt} {msgid!r}')


def stats(data):
    "Per module: strings, translated by upstream zh_CN, translated now"
    rows = []
    for module, entries in sorted(data['modules'].items()):
        catalogue = build.read_catalogue(build.catalogue_path(module))
        upstream = now = 0
        for msgctxt, msgid, plural, value, fuzzy in entries:
            up = extract.is_translated(msgid, value, fuzzy)
            ours = catalogue.get(build.entry_key(msgctxt, msgid, plural))
            ours_ok = ours is not None and 'fuzzy' not in ours.flags and (
                extract.is_translated(msgid, (ours.msgstr_plural.get(0)
                        if plural else ours.msgstr), False))
            upstream += up
            now += up or ours_ok
        rows.append((module, len(entries), upstream, now))
    print(f'{"module":24} {"strings":>8} {"upstream":>9} {"now":>6}')
    for module, total, upstream, now in rows:
        print(f'{module:24} {total:8} {upstream:9} {now:6}')
    print(f'{"total":24} {sum(r[1] for r in rows):8} '
        f'{sum(r[2] for r in rows):9} {sum(r[3] for r in rows):6}')


def suite_upstream_modules():
    "Upstream modules our addons and data/modules.txt activate, with deps"
    import configparser
    ours = {p.parent.name for p in ROOT.glob('addons/*/tryton.cfg')}
    roots = set()
    for path in ROOT.glob('addons/*/tryton.cfg'):
        cfg = configparser.ConfigParser()
        cfg.read(path)
        for option in ('depends', 'extras_depend'):
            roots.update(cfg.get('tryton', option, fallback='').split())
    modules_txt = ROOT / 'data' / 'modules.txt'
    if modules_txt.exists():
        roots.update(line.strip() for line in modules_txt.read_text(
                encoding='utf-8').splitlines()
            if line.strip() and not line.startswith('#'))
    roots -= ours
    try:
        return set(extract.module_closure(sorted(roots))) - ours
    except OSError as exception:  # a module that is not installed
        return {f'(not installed: {exception.filename})'}


def check_extracted_modules(data, problems):
    for module in sorted(suite_upstream_modules() - set(data['modules'])):
        problems['activated but not extracted (add to '
            'extract.SUITE_ROOTS)'].append(module)


def check_module_po(problems):
    expected = build.module_pofile()
    path = build.MODULE_PO
    if not path.exists():
        problems['stale'].append(f'{path} missing: run i18n/build.py')
        return
    actual = polib.pofile(str(path))
    key = lambda e: (e.msgctxt, e.msgid, e.msgstr)  # noqa: E731
    if sorted(map(key, expected)) != sorted(map(key, actual)):
        problems['stale'].append(
            f'{path.relative_to(ROOT)} differs from the catalogues: '
            'run i18n/build.py module')


def addons_without_catalogue():
    "Our addons that register models or data but ship no zh_CN.po"
    missing = []
    for cfg in sorted(ROOT.glob('addons/*/tryton.cfg')):
        text = cfg.read_text(encoding='utf-8')
        registers = re.search(r'^\s*(model|wizard|report):', text, re.M)
        if registers and not (cfg.parent / 'locale' / 'zh_CN.po').exists():
            missing.append(cfg.parent.name)
    return missing


def check_terms(problems):
    with build.TERMS.open(encoding='utf-8') as fp:
        words = [r['upstream'] for r in csv.DictReader(fp)]
    for path in po_catalogues():
        for entry in polib.pofile(str(path)):
            for word in words:
                if word in entry.msgstr:
                    problems[f'uses {word} (terms.csv)'].append(
                        f'{path.relative_to(ROOT)}: {entry.msgctxt} '
                        f'{entry.msgstr!r}')


def glossary_terms():
    "msgid (lower case) -> the accepted zh_CN words (alternatives by /)"
    with (HERE / 'glossary.csv').open(encoding='utf-8') as fp:
        return {row['en'].lower(): row['zh_CN'].split('/')
            for row in csv.DictReader(fp) if row['en'] and row['zh_CN']}


def check_glossary_use(problems):
    """A string that is exactly a glossary term uses the glossary's word
    (in every catalogue: our modules, upstream, POS)"""
    terms = glossary_terms()

    def check(where, msgid, msgstr):
        words = terms.get(msgid.strip().lower())
        if words and msgstr and not any(w in msgstr for w in words):
            problems['glossary word not used'].append(
                f'{where} {msgid!r} -> {msgstr!r} (glossary: '
                f'{"/".join(words)})')

    for path in po_catalogues():
        for entry in polib.pofile(str(path)):
            check(f'{path.relative_to(ROOT)}: {entry.msgctxt}', entry.msgid,
                entry.msgstr)
    for path in sorted(ROOT.glob('addons/*/static/i18n/zh*.json')):
        en_path = path.with_name('en.json')
        if not en_path.exists():
            continue
        try:
            en = dict(flatten(json.loads(en_path.read_text('utf-8'))))
            zh = dict(flatten(json.loads(path.read_text('utf-8'))))
        except ValueError:
            continue  # reported by check_json
        for key, source in en.items():
            if isinstance(source, str) and isinstance(zh.get(key), str):
                check(f'{path.relative_to(ROOT)}: {key}', source, zh[key])


def check_glossary(problems):
    path = HERE / 'glossary.csv'
    with path.open(encoding='utf-8') as fp:
        reader = csv.DictReader(fp)
        if reader.fieldnames != ['en', 'zh_CN', 'note']:
            problems['glossary'].append(
                f'columns must be en,zh_CN,note: {reader.fieldnames}')
            return
        seen = set()
        for row in reader:
            if not row['en'] or not row['zh_CN']:
                problems['glossary'].append(f'incomplete row {row}')
            if row['en'].lower() in seen:
                problems['glossary'].append(f'duplicate term {row["en"]}')
            seen.add(row['en'].lower())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--max', type=int, default=20)
    parser.add_argument('--strict', action='store_true',
        help='also fail when an addon registers models without zh_CN.po')
    parser.add_argument('--stats', action='store_true',
        help='print strings translated per module, upstream vs now')
    args = parser.parse_args()
    problems = defaultdict(list)
    data = extract.load()
    if args.stats:
        stats(data)
    for path in po_catalogues():
        check_po(path, problems)
    for path in sorted(ROOT.glob('addons/*/static/i18n/zh*.json')):
        check_json(path, problems)
    check_coverage(data, problems)
    check_extracted_modules(data, problems)
    check_module_po(problems)
    check_terms(problems)
    check_glossary(problems)
    check_glossary_use(problems)
    if sao.installed_is_current(sao.DEFAULT_SAO) is False:
        print('warning: the web client\'s zh_CN.json is sao\'s own: run '
            'i18n/sao.py install')
    missing = addons_without_catalogue()
    if missing and args.strict:
        problems['addon without locale/zh_CN.po'].extend(missing)
    elif missing:
        print('warning: no locale/zh_CN.po in ' + ', '.join(missing)
            + ' (i18n/po_template.py <module> writes one)')

    total = sum(len(e) for e in data['modules'].values())
    if not problems:
        print(f'i18n: ok ({len(po_catalogues())} catalogues, {total} '
            'upstream strings translated)')
        return 0
    for problem, items in sorted(problems.items()):
        print(f'{problem}: {len(items)}')
        for item in items[:args.max]:
            print(f'  {item}')
        if len(items) > args.max:
            print(f'  ... and {len(items) - args.max} more')
    return 1


if __name__ == '__main__':
    sys.exit(main())
