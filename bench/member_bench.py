#!/usr/bin/env python3
"""Benchmark of retail_member on PostgreSQL: identify a member by card number,
mobile phone, member number and QR payload at 100k and 1M members, and the
throughput of the Excel member import.

Usage: bench/member_bench.py [--sizes 100000 1000000] [--lookups 2000]
                             [--import-rows 5000] [--keep]
Env: HUIYUAN_PG_URI (default postgresql://postgres@127.0.0.1:5432/),
     BENCH_DB (default bench_member).
Prints one JSON report on stdout (progress on stderr). Members beyond the
first few are bulk-inserted with SQL (generate_series): what is measured is
the lookup, not the fill. Each lookup runs in its own transaction, as a
request would; both the identify call and the whole transaction are timed.
"""
import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URI = os.environ.get(
    'HUIYUAN_PG_URI', 'postgresql://postgres@127.0.0.1:5432/')
DB = os.environ.get('BENCH_DB', 'bench_member')
os.environ['TRYTOND_DATABASE__URI'] = PG_URI
os.environ.pop('TRYTOND_CONFIG', None)


def log(msg):
    print(f'[bench] {msg}', file=sys.stderr, flush=True)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * len(values))) - 1)]


def summary(seconds):
    ms = [s * 1000 for s in seconds]
    return {
        'n': len(ms),
        'p50_ms': round(statistics.median(ms), 3),
        'p95_ms': round(pct(ms, 95), 3),
        'max_ms': round(max(ms), 3),
        }


def pg_connect(dbname):
    from urllib.parse import urlparse

    import psycopg
    uri = urlparse(PG_URI)
    return psycopg.connect(host=uri.hostname, port=uri.port or 5432,
        user=uri.username or None, dbname=dbname, autocommit=True)


def create_database():
    with pg_connect('postgres') as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", (DB,))
        conn.execute(f'DROP DATABASE IF EXISTS {DB}')
        conn.execute(f'CREATE DATABASE {DB}')
    env = dict(os.environ, TRYTONPASSFILE=str(ROOT / 'var' / 'benchpass'))
    (ROOT / 'var').mkdir(exist_ok=True)
    (ROOT / 'var' / 'benchpass').write_text('admin-bench')
    admin = str(ROOT / '.venv' / 'bin' / 'trytond-admin')
    for args in (['--all', '--email', 'admin@bench.example'],
            ['-u', 'retail_member', '--activate-dependencies']):
        subprocess.run([admin, '-d', DB, *args], env=env, check=True,
            stdout=subprocess.DEVNULL)


def create_company():
    "A company in CNY, made through the ORM"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(DB)
    pool.init()
    with Transaction().start(DB, 0) as transaction:
        Currency = pool.get('currency.currency')
        Party = pool.get('party.party')
        Company = pool.get('company.company')
        User = pool.get('res.user')
        cny, = Currency.create([{'name': 'Yuan', 'code': 'CNY',
                    'symbol': '¥', 'rounding': 1, 'digits': 2}])
        cny.rounding = cny.rounding / 100
        cny.save()
        party, = Party.create([{'name': 'Bench Co.'}])
        company, = Company.create([{'party': party.id, 'currency': cny.id}])
        admin, = User.search([('login', '=', 'admin')])
        User.write([admin], {
                'companies': [('add', [company.id])],
                'company': company.id})
        transaction.commit()
        return company.id, admin.id


def fill(conn, company, start, stop):
    "Members start..stop-1 with one active card each, by plain SQL"
    conn.execute("""
        INSERT INTO party_party (code, name, active, is_member,
            member_company, member_number, member_mobile, join_date,
            tier_locked, consent_sms, consent_email,
            create_uid, create_date)
        SELECT 'B' || g, 'Member ' || g, true, true, %(c)s,
            'M' || lpad(g::text, 8, '0'),
            '+86138' || lpad(g::text, 8, '0'), current_date,
            false, false, false, 0, now()
        FROM generate_series(%(a)s::int, %(b)s::int) AS g""",
        {'c': company, 'a': start, 'b': stop - 1})
    conn.execute("""
        INSERT INTO retail_member_card (company, number, party, medium,
            named, state, issue_date, create_uid, create_date)
        SELECT %(c)s, '88' || lpad(substr(p.code, 2), 10, '0'), p.id,
            'rfid', true, 'active', current_date, 0, now()
        FROM party_party p
        WHERE p.code LIKE 'B%%' AND substr(p.code, 2)::int
            BETWEEN %(a)s::int AND %(b)s::int""",
        {'c': company, 'a': start, 'b': stop - 1})
    conn.execute('ANALYZE party_party')
    conn.execute('ANALYZE retail_member_card')


def lookups(size, n, company, admin):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(DB)
    Card = pool.get('retail.member.card')
    rnd = random.Random(size)
    kinds = {
        'card': lambda i: f'88{i:010d}',
        'mobile': lambda i: f'138{i:08d}',
        'mobile_formatted': lambda i: (
            f'+86 138 {i:08d}'[:12] + ' ' + f'{i:08d}'[4:]),
        'member_number': lambda i: f'M{i:08d}',
        'qr': lambda i: f'HY:88{i:010d}',
        }
    context = {'company': company, 'companies': [company]}
    result = {}
    for kind, make in kinds.items():
        calls, txns = [], []
        for _ in range(n):
            i = rnd.randint(1, size)
            code = make(i)
            t0 = time.perf_counter()
            with Transaction().start(DB, admin, context=context,
                    readonly=True):
                t1 = time.perf_counter()
                member, card = Card.identify(code)
                t2 = time.perf_counter()
                assert member.member_number == f'M{i:08d}', (code, member)
            t3 = time.perf_counter()
            calls.append(t2 - t1)
            txns.append(t3 - t0)
        result[kind] = {'identify': summary(calls),
            'transaction': summary(txns)}
        log(f'{size} {kind}: p95 {result[kind]["identify"]["p95_ms"]} ms')
    return result


def import_throughput(rows, company, admin):
    """Check (dry run) and import of an .xlsx of `rows` new members with
    cards through the import wizard's own MemberImporter"""
    from openpyxl import Workbook

    from trytond.modules.retail_member.exchange import COLUMNS, MemberImporter
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(DB)
    Company = pool.get('company.company')
    workbook = Workbook()
    sheet = workbook.active
    header = [key for key, _, _ in COLUMNS]
    sheet.append(header)
    for i in range(rows):
        values = {
            'member_number': f'I{i:08d}', 'name': f'导入会员{i}',
            'mobile': f'139{i:08d}', 'birth_date': '1990-01-01',
            'gender': '女', 'card_number': f'77{i:010d}',
            'card_medium': 'rfid', 'card_named': '是', 'tags': 'VIP',
            'consent_sms': '是'}
        sheet.append([values.get(c) for c in header])
    buf = io.BytesIO()
    workbook.save(buf)
    data = buf.getvalue()
    context = {'company': company, 'companies': [company]}
    result = {'rows': rows}
    with Transaction().start(DB, admin, context=context) as transaction:
        importer = MemberImporter(Company(company))
        t0 = time.perf_counter()
        importer.read(data)
        t1 = time.perf_counter()
        rejections = importer.check()
        t2 = time.perf_counter()
        created = importer.create()
        t3 = time.perf_counter()
        transaction.commit()
    assert not rejections, rejections[:5]
    assert created == rows, created
    result.update({
            'read_s': round(t1 - t0, 2),
            'dry_run_s': round(t2 - t0, 2),
            'dry_run_rows_per_s': round(rows / (t2 - t0)),
            'create_s': round(t3 - t2, 2),
            'import_total_s': round(t3 - t0, 2),
            'import_rows_per_s': round(rows / (t3 - t0)),
            })
    log(f'import: {result}')
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--sizes', type=int, nargs='+',
        default=[100_000, 1_000_000])
    parser.add_argument('--lookups', type=int, default=2000)
    parser.add_argument('--import-rows', type=int, default=5000)
    parser.add_argument('--keep', action='store_true',
        help='keep the database afterwards')
    args = parser.parse_args()

    from trytond import config
    config.update_etc()
    log(f'creating {DB}')
    create_database()
    company, admin = create_company()
    report = {'database': 'postgresql', 'db': DB, 'lookups': {}}
    done = 0
    with pg_connect(DB) as conn:
        for size in sorted(args.sizes):
            t0 = time.perf_counter()
            fill(conn, company, done + 1, size + 1)
            log(f'filled {size} members in {time.perf_counter() - t0:.0f}s')
            done = size
            report['lookups'][str(size)] = lookups(
                size, args.lookups, company, admin)
    if args.import_rows:
        report['import'] = import_throughput(
            args.import_rows, company, admin)
    if not args.keep:
        from trytond import backend
        backend.Database(DB).close()
        with pg_connect('postgres') as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()", (DB,))
            conn.execute(f'DROP DATABASE IF EXISTS {DB}')
    print(json.dumps(report, indent=1))


if __name__ == '__main__':
    main()
