#!/usr/bin/env python3
"""Extract every translatable string of the upstream Tryton modules the suite
activates, with the zh_CN translation upstream ships for it.

It builds a throw-away SQLite database, activates the modules with `en` and
`zh_CN` loaded (upstream catalogues only: retail_i18n is not activated), runs
Tryton's own "Set Translations" wizard (ir.translation.set: view and report
strings are only registered by it) and reads the strings back per module the
way `ir.translation.translation_export` writes them (msgctxt
`type:name:fs_id`).

Usage:
  i18n/extract.py [--force] [--stats] [--json PATH]

The result is cached in i18n/strings.json keyed by the versions of the
installed trytond distributions and EXTRACT_VERSION: a matching cache is reused,
so `--stats` is instant once extracted.

JSON layout: {"key": ..., "modules": {module: [[msgctxt, msgid,
msgid_plural, zh_CN value, fuzzy], ...]}}
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = ROOT / '.venv' / 'bin' / 'python'
CACHE = HERE / 'strings.json'
LANG = 'zh_CN'
# Strings whose translation may equal the source (unit symbols...)
SAME = {line for line in (HERE / 'same.txt').read_text(
        encoding='utf-8').splitlines()
    if line and not line.startswith('#')}
# Bump when the extraction logic changes: part of the cache key.
EXTRACT_VERSION = 1

# The modules the suite depends on directly; the rest come as dependencies.
SUITE_ROOTS = [
    'sale_point', 'sale_promotion_coupon', 'commission', 'marketing_email',
    'product_price_list', 'sale_price_list', 'sale_gift_card',
    ]


def trytond_versions():
    "Sorted (distribution, version) of trytond and its modules"
    versions = set()
    for dist in metadata.distributions():
        name = (dist.metadata['Name'] or '').lower().replace('-', '_')
        if name == 'trytond' or name.startswith('trytond_'):
            versions.add((name, dist.version))
    return sorted(versions)


def cache_key():
    digest = hashlib.sha256()
    digest.update(json.dumps(trytond_versions()).encode())
    digest.update(json.dumps(SUITE_ROOTS).encode())
    digest.update(str(EXTRACT_VERSION).encode())
    return digest.hexdigest()[:16]


def module_closure(roots):
    "The roots and their dependencies, from the installed tryton.cfg"
    from trytond.modules import get_module_info
    seen = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        info = get_module_info(name)
        todo.extend(info.get('depends', []))
    return sorted(seen)


def _dump(modules, out_path):
    "Run inside the throw-away database: set translations, export strings"
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    dbname = os.environ['HUIYUAN_I18N_DB']
    Pool.start()
    pool = Pool(dbname)
    pool.init()
    with Transaction().start(dbname, 0, readonly=False) as transaction:
        TranslationSet = pool.get('ir.translation.set', type='wizard')
        session_id, _, _ = TranslationSet.create()
        TranslationSet.execute(session_id, {}, 'set_')
        TranslationSet.delete(session_id)
        transaction.commit()
    with Transaction().start(dbname, 0, readonly=True):
        result = {}
        for module in modules:
            result[module] = _module_strings(pool, module)
    Path(out_path).write_text(json.dumps(result, ensure_ascii=False))


def _module_strings(pool, module):
    "Like Translation.translation_export but pairing en sources with zh_CN"
    ModelData = pool.get('ir.model.data')
    Translation = pool.get('ir.translation')
    db_id2fs_id = {}
    for model_data in ModelData.search([('module', '=', module)]):
        db_id2fs_id.setdefault(model_data.model, {})[
            model_data.db_id] = model_data.fs_id
        for extra_model in Translation.extra_model_data(model_data):
            db_id2fs_id.setdefault(extra_model, {})[
                model_data.db_id] = model_data.fs_id

    def context(translation):
        ctxt = f'{translation.type}:{translation.name}:'
        if translation.res_id >= 0:
            model = translation.name.split(',')[0]
            fs_id = db_id2fs_id.get(model, {}).get(translation.res_id)
            if fs_id is None:
                return None
            ctxt += fs_id
        return ctxt

    def key(translation):
        if translation.type in {'report', 'view', 'wizard_button',
                'selection'}:
            return (context(translation), translation.src,
                translation.src_plural)
        return (context(translation),)

    zh = {}
    for translation in Translation.search([
                ('lang', '=', LANG), ('module', '=', module)], order=[]):
        zh[key(translation)] = translation
    entries = []
    for translation in Translation.search([
                ('lang', '=', 'en'), ('module', '=', module)], order=[]):
        ctxt = context(translation)
        if ctxt is None or not translation.src:
            continue
        if not any(c.isalpha() for c in translation.src):
            continue  # "%s", "/", "-": nothing to translate
        target = zh.get(key(translation))
        value = (target.value or '') if target else None
        fuzzy = bool(target and target.fuzzy)
        entries.append([ctxt, translation.src, translation.src_plural,
                value, fuzzy])
    entries.sort()
    return entries


def _run(cmd, env, quiet):
    if not quiet:
        subprocess.run(cmd, env=env, check=True)
        return
    proc = subprocess.run(cmd, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.returncode:
        sys.stderr.write(proc.stdout[-5000:])
        raise subprocess.CalledProcessError(proc.returncode, cmd)


def extract(modules, dump=None, quiet=False):
    """Activate modules (and their dependencies) in a throw-away SQLite
    database and return the strings of the `dump` modules (default: all)"""
    with tempfile.TemporaryDirectory(prefix='huiyuan-i18n-') as tmp:
        dbname = 'i18n'
        (Path(tmp) / f'{dbname}.sqlite').touch()
        env = dict(os.environ)
        env.pop('TRYTOND_CONFIG', None)
        env['TRYTOND_DATABASE__URI'] = 'sqlite://'
        env['TRYTOND_DATABASE__PATH'] = tmp
        env['HUIYUAN_I18N_DB'] = dbname
        passfile = Path(tmp) / 'pass'
        passfile.write_text(f'throw-away-{os.getpid()}\n')
        env['TRYTONPASSFILE'] = str(passfile)
        admin = ROOT / '.venv' / 'bin' / 'trytond-admin'
        _run([str(admin), '-d', dbname, '--all',
                '--email', 'admin@example.com'], env, quiet)
        _run([str(admin), '-d', dbname, '-u', *modules,
                '--activate-dependencies', '-l', LANG], env, quiet)
        out = Path(tmp) / 'strings.json'
        _run([str(PYTHON), __file__, '--dump', str(out),
                *(dump or modules)], env, quiet)
        return json.loads(out.read_text())


def load(force=False):
    "The cached extraction, refreshed when the installed modules changed"
    key = cache_key()
    if not force and CACHE.exists():
        data = json.loads(CACHE.read_text())
        if data.get('key') == key:
            return data
    modules = module_closure(SUITE_ROOTS)
    print(f'extracting strings of {len(modules)} modules '
        '(throw-away SQLite database, a few minutes)...', file=sys.stderr)
    data = {'key': key, 'versions': trytond_versions(),
        'modules': extract(modules)}
    CACHE.write_text(json.dumps(data, ensure_ascii=False, indent=0,
            sort_keys=True) + '\n')
    return data


def is_translated(msgid, value, fuzzy):
    """A zh_CN value counts when present, not fuzzy and not English left as
    is (an all-capitals acronym such as "URL" or "RFID" may stay)"""
    if not value or fuzzy:
        return False
    if value == msgid and msgid in SAME:
        return True
    return not (value == msgid and any('a' <= c <= 'z' for c in msgid))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--force', action='store_true')
    parser.add_argument('--stats', action='store_true')
    parser.add_argument('--dump', metavar='PATH')
    parser.add_argument('modules', nargs='*')
    args = parser.parse_args()
    if args.dump:
        _dump(args.modules, args.dump)
        return
    data = load(force=args.force)
    if args.stats:
        total = done = 0
        print(f'{"module":24} {"upstream zh_CN":>14} {"strings":>8}')
        for module, entries in sorted(data['modules'].items()):
            ok = sum(is_translated(e[1], e[3], e[4]) for e in entries)
            total += len(entries)
            done += ok
            print(f'{module:24} {ok:14} {len(entries):8}')
        print(f'{"total":24} {done:14} {total:8}')


if __name__ == '__main__':
    main()
