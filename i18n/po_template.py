#!/usr/bin/env python3
"""Write or refresh a module's locale/zh_CN.po from a throw-away database.

  i18n/po_template.py retail_member [--extras sale_point ...] [--dry-run]
                                    [--output PATH]

Activates the module (with its dependencies and the given extras) in a
throw-away SQLite database, runs Tryton's "Set Translations" (view and report
strings) and lists every translatable string the module registers: models,
fields, help, selections, views, buttons, menus, actions, messages, reports,
wizard buttons (msgctxt `type:name:fs_id`, as Tryton's own export).

The new addons/<module>/locale/zh_CN.po keeps every translation already in
the file (same msgctxt and msgid). A new string gets a suggestion, flagged
`fuzzy` so that i18n/check.py fails until someone reviews it: the same msgid
elsewhere in this file, then in i18n/upstream/*.po, then the glossary term
(case-insensitive). Strings no longer in the module are dropped (listed).
"""
import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

import polib

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import build  # noqa: E402
import extract  # noqa: E402


def suggestions(existing):
    "msgid -> zh_CN from this catalogue, the upstream ones and the glossary"
    found = {}
    with (HERE / 'glossary.csv').open(encoding='utf-8') as fp:
        for row in csv.DictReader(fp):
            found[row['en'].lower()] = row['zh_CN']
    votes = {}
    for path in sorted(build.UPSTREAM.glob('*.po')):
        for entry in polib.pofile(str(path)):
            if entry.msgstr and 'fuzzy' not in entry.flags:
                votes.setdefault(entry.msgid, Counter())[entry.msgstr] += 1
    for msgid, counter in votes.items():
        found[msgid] = counter.most_common(1)[0][0]
    for entry in existing:
        if entry.msgstr and 'fuzzy' not in entry.flags:
            found[entry.msgid] = entry.msgstr
    return found


def suggest(found, msgid):
    return found.get(msgid) or found.get(msgid.lower())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('module')
    parser.add_argument('--extras', nargs='*', default=[])
    parser.add_argument('--dry-run', action='store_true')
    parser.add_argument('--output', type=Path,
        help='write there instead of addons/<module>/locale/zh_CN.po')
    args = parser.parse_args()

    path = ROOT / 'addons' / args.module / 'locale' / 'zh_CN.po'
    existing = polib.pofile(str(path)) if path.exists() else polib.POFile()
    old = {(e.msgctxt, e.msgid): e for e in existing if not e.obsolete}
    found = suggestions(existing)

    print(f'extracting {args.module} (throw-away database)...',
        file=sys.stderr)
    strings = extract.extract([args.module, *args.extras],
        dump=[args.module], quiet=True)[args.module]

    pofile = build.new_pofile()
    kept = suggested = empty = 0
    for msgctxt, msgid, plural, _, _ in strings:
        entry = polib.POEntry(msgctxt=msgctxt, msgid=msgid)
        previous = old.pop((msgctxt, msgid), None)
        previous_value = previous and (previous.msgstr_plural.get(0)
            if previous.msgid_plural else previous.msgstr)
        if previous_value:
            entry.msgstr = previous_value
            entry.flags = list(previous.flags)
            entry.tcomment = previous.tcomment
            kept += 1
        elif value := suggest(found, msgid):
            entry.msgstr = value
            entry.flags = ['fuzzy']
            suggested += 1
        else:
            empty += 1
        if plural:
            entry.msgid_plural = plural
            entry.msgstr_plural = {0: entry.msgstr}
            entry.msgstr = ''
        pofile.append(entry)
    for msgctxt, msgid in sorted(old, key=str):
        print(f'dropped (no longer in the module): {msgctxt} {msgid!r}')
    output = args.output or path
    print(f'{output}: {len(pofile)} strings, {kept} kept, '
        f'{suggested} suggested (fuzzy: review them), {empty} to translate')
    if not args.dry_run:
        output.parent.mkdir(parents=True, exist_ok=True)
        pofile.save(str(output))


if __name__ == '__main__':
    main()
