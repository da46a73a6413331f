#!/usr/bin/env python3
"""Benchmark of retail_points on PostgreSQL; prints a JSON report.

  .venv/bin/python bench/points_bench.py [--sales 10000] [--lots 1000000]
                                         [--keep]

- award: N sales awarded one by one, each in its own committed transaction
  as a till would (lock the member's account, apply the earning rules to 3
  lines, write the earn lot, settle debts), over 1,000 members;
- balance: balance, available, locked, debt and next expiry of a member with
  1,000 lots (half of them partly spent), and one redemption over them;
- expiry: the expiry task over a ledger of --lots lots (bulk-inserted with
  SQL), a tenth of them due, a tenth of them to warn about.

The database (default bench_points) is created from scratch with
trytond.tests' activate_module; --keep leaves it for inspection.
"""
import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from decimal import Decimal

parser = argparse.ArgumentParser()
parser.add_argument('--sales', type=int, default=10000)
parser.add_argument('--lots', type=int, default=1000000)
parser.add_argument('--members', type=int, default=1000)
parser.add_argument('--database', default='bench_points')
parser.add_argument('--keep', action='store_true')
args = parser.parse_args()

PG_URI = os.environ.get(
    'HUIYUAN_PG_URI', 'postgresql://postgres@127.0.0.1:5432/')
os.environ['TRYTOND_DATABASE__URI'] = PG_URI
os.environ['DB_NAME'] = args.database
os.environ.pop('TRYTOND_CONFIG', None)
os.environ.pop('DB_CACHE', None)

import psycopg  # noqa: E402

from trytond.tests.test_tryton import activate_module  # noqa: E402


def drop_database():
    with psycopg.connect(PG_URI + 'postgres', autocommit=True) as conn:
        conn.execute(
            'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % args.database)


def main():
    report = {'backend': 'postgresql', 'sales': args.sales,
        'lots': args.lots, 'members': args.members}
    drop_database()
    start = time.monotonic()
    activate_module(['retail_points'])
    report['setup_s'] = round(time.monotonic() - start, 1)

    from trytond.modules.company.tests import create_company, set_company
    from trytond.pool import Pool
    from trytond.transaction import Transaction, TransactionError

    pool = Pool(args.database)

    def run(func, *a, **kw):
        "One committed transaction, taking the locks it asks (as RPC does)"
        extras = {}
        while True:
            with Transaction().start(
                    args.database, 1, context=context, **extras) as t:
                try:
                    result = func(*a, **kw)
                except TransactionError as e:
                    t.rollback()
                    e.fix(extras)
                    continue
                t.commit()
                return result

    context = {}

    def setup():
        company = create_company()
        Party = pool.get('party.party')
        Value = pool.get('retail.points.configuration.company')
        Value.create([{'company': company.id, 'lock_days': 0,
                    'expiry_mode': 'year_end', 'warning_days': 30}])
        Template = pool.get('product.template')
        Product = pool.get('product.product')
        Uom = pool.get('product.uom')
        unit, = Uom.search([('name', '=', 'Unit')])
        with set_company(company):
            templates = Template.create([{
                        'name': 'Product %s' % i, 'default_uom': unit.id,
                        'type': 'goods'} for i in range(3)])
            products = Product.create([
                    {'template': t.id} for t in templates])
            parties = Party.create([{
                        'name': 'Member %s' % i, 'is_member': True,
                        'member_company': company.id,
                        } for i in range(args.members + 1)])
        return company.id, [p.id for p in parties], [p.id for p in products]
    company_id, party_ids, product_ids = run(setup)
    context = {'company': company_id}

    # Award
    def award(i):
        Account = pool.get('retail.points.account')
        Rule = pool.get('retail.points.rule')
        Configuration = pool.get('retail.points.configuration')
        Product = pool.get('product.product')
        Company = pool.get('company.company')
        Party = pool.get('party.party')
        company = Company(company_id)
        member = Party(party_ids[i % args.members])
        account = Account.get_account(company, member)
        Account.lock([account])
        settings = Configuration.get_settings(company)
        today = dt.date.today()
        items = [('sale.point.sale.line,%s' % (3 * i + k),
                Product(product_ids[k]), Decimal(10 + (i + k) % 50))
            for k in range(3)]
        earning = Rule.compute_earning(company, member, today, items)
        account.credit(
            'earn', earning.points, today,
            lock_until=settings.lock_until(today),
            expiry_date=settings.expiry_date(today),
            origin='sale.sale,%s' % (i + 1),
            base_amount=earning.base,
            detail={k: str(v) for k, v in earning.raw.items()})
    durations = []
    start = time.monotonic()
    for i in range(args.sales):
        t0 = time.monotonic()
        run(award, i)
        durations.append((time.monotonic() - t0) * 1000)
    total = time.monotonic() - start
    durations.sort()
    report['award'] = {
        'sales': args.sales,
        'total_s': round(total, 1),
        'per_sale_ms_p50': round(statistics.median(durations), 2),
        'per_sale_ms_p95': round(durations[int(len(durations) * .95)], 2),
        'sales_per_s': round(args.sales / total, 1),
        }

    print(json.dumps(report, default=str), file=sys.stderr, flush=True)

    # Balance of a member with 1k lots
    member_id = party_ids[-1]

    def many_lots():
        Account = pool.get('retail.points.account')
        Company = pool.get('company.company')
        Party = pool.get('party.party')
        account = Account.get_account(Company(company_id), Party(member_id))
        Account.lock([account])
        today = dt.date.today()
        for i in range(1000):
            account.credit(
                'gift', 10, today,
                expiry_date=today + dt.timedelta(days=40 + i),
                origin='sale.sale,%s' % (10 ** 8 + i))
            if i % 2:
                account.debit('redeem', 5, today)
        return account.id
    t0 = time.monotonic()
    account_id = run(many_lots)
    create_s = time.monotonic() - t0

    def read_balance():
        Account = pool.get('retail.points.account')
        timings = []
        for _ in range(20):
            t0 = time.monotonic()
            account = Account(account_id)
            values = Account.get_amounts([account], [
                    'balance', 'available', 'locked', 'debt',
                    'next_expiry_date', 'next_expiry_points'])
            timings.append((time.monotonic() - t0) * 1000)
        sum_only = []
        for _ in range(20):
            t0 = time.monotonic()
            Account.get_amounts([Account(account_id)], ['balance'])
            sum_only.append((time.monotonic() - t0) * 1000)
        return values, sorted(timings), sorted(sum_only)
    values, timings, sum_only = run(read_balance)

    def spend():
        Account = pool.get('retail.points.account')
        account = Account(account_id)
        Account.lock([account])
        t0 = time.monotonic()
        account.debit('redeem', 3000, dt.date.today())
        return (time.monotonic() - t0) * 1000
    spend_ms = run(spend)
    report['balance_1k_lots'] = {
        'setup_s': round(create_s, 1),
        'balance': values['balance'][account_id],
        'available': values['available'][account_id],
        'all_figures_ms_p50': round(statistics.median(timings), 2),
        'balance_sum_ms_p50': round(statistics.median(sum_only), 2),
        'redeem_3000_points_over_lots_ms': round(spend_ms, 1),
        }

    print(json.dumps(report, default=str), file=sys.stderr, flush=True)

    # Expiry over many lots (bulk SQL set-up)
    def bulk_lots():
        Line = pool.get('retail.points.line')
        cursor = Transaction().connection.cursor()
        n_accounts = max(args.lots // 10, 1)
        cursor.execute(
            'INSERT INTO party_party (name, code, active, is_member, '
            'member_company, create_uid, create_date) '
            'SELECT \'Bulk \' || g, \'BULK\' || g, true, true, %s, 0, '
            'now() FROM generate_series(1, %s) g',
            (company_id, n_accounts))
        cursor.execute(
            'INSERT INTO retail_points_account (company, member, '
            'create_uid, create_date) '
            'SELECT %s, id, 0, now() FROM party_party '
            'WHERE code LIKE \'BULK%%\'', (company_id,))
        today = dt.date.today()
        # per account 10 lots: lot 1 due (expired 1..20 days ago),
        # lot 2 expiring within the warning window, the others later
        cursor.execute(
            'INSERT INTO retail_points_line (account, company, member, '
            'sequence, date, kind, points, balance, lot, lock_until, '
            'expiry_date, origin, create_uid, create_date) '
            'SELECT a.id, a.company, a.member, s, %s::date - 400, '
            '\'gift\', 10, 10 * s, true, NULL, '
            'CASE WHEN s = 1 THEN %s::date - 1 - (a.id %% 20) '
            'WHEN s = 2 THEN %s::date + 1 + (a.id %% 20) '
            'ELSE %s::date + 60 + s END, '
            '\'sale.sale,\' || (a.id * 100 + s + 200000000), 0, now() '
            'FROM retail_points_account a, generate_series(1, 10) s '
            'WHERE a.member IN (SELECT id FROM party_party '
            'WHERE code LIKE \'BULK%%\')',
            (today, today, today, today))
        cursor.execute('ANALYZE retail_points_line')
        cursor.execute('ANALYZE retail_points_allocation')
        cursor.execute('ANALYZE retail_points_account')
        cursor.execute('SELECT COUNT(*) FROM "%s"' % Line._table)
        return cursor.fetchone()[0]
    t0 = time.monotonic()
    n_lines = run(bulk_lots)
    bulk_s = time.monotonic() - t0

    def expire():
        Line = pool.get('retail.points.line')
        t0 = time.monotonic()
        result = Line.expire_points(commit=True)
        return result, time.monotonic() - t0
    result, expire_s = run(expire)

    def expire_again():
        Line = pool.get('retail.points.line')
        t0 = time.monotonic()
        result = Line.expire_points(commit=True)
        return result, time.monotonic() - t0
    result2, expire2_s = run(expire_again)
    report['expiry'] = {
        'ledger_lines': n_lines,
        'bulk_insert_s': round(bulk_s, 1),
        'expired_lots': result['expired_lots'],
        'expired_points': result['expired_points'],
        'warnings': result['warnings'],
        'run_s': round(expire_s, 1),
        'lots_per_s': round(result['expired_lots'] / expire_s, 0)
        if expire_s else None,
        'second_run_s': round(expire2_s, 2),
        'second_run_expired': result2['expired_lots'],
        }
    json.dump(report, sys.stdout, indent=2, default=str)
    print(flush=True)
    if not args.keep:
        drop_database()


if __name__ == '__main__':
    main()
