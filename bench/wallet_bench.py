#!/usr/bin/env python3
"""Stored value (retail_wallet) benchmark on PostgreSQL; prints a JSON report.

  .venv/bin/python bench/wallet_bench.py [--payments 10000] [--lines 100000]
      [--terminals 8] [--wallets 100] [--per-terminal 250]

1. sequential wallet payments, one committed transaction each (lock, sum,
   check, append), plus a sample with the argon2 PIN check;
2. balance and next payment of a wallet holding 100k ledger lines;
3. N terminal processes paying at random from 100 wallets at once, each
   retrying on lock conflicts as Tryton's dispatcher does; then the ledger is
   audited (sums, chains, no negative balance, payments booked = succeeded).

The database (default bench_retail_wallet) is created from a template cached
in var/bench-cache the first time (a few minutes), then reused.
"""
import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URI = os.environ.get('HUIYUAN_PG_URI', 'postgresql://postgres@127.0.0.1:5432/')


def setup_env(db_name):
    os.environ['TRYTOND_DATABASE__URI'] = PG_URI
    os.environ['DB_NAME'] = db_name
    os.environ.setdefault('DB_CACHE', str(ROOT / 'var' / 'bench-cache'))
    Path(os.environ['DB_CACHE']).mkdir(parents=True, exist_ok=True)


def run(func, db_name, context=None, retries=200, stats=None):
    "Run func in its own transaction, restarting like the dispatcher"
    from trytond import backend
    from trytond.transaction import Transaction, TransactionError
    extras = {}
    for _ in range(retries):
        try:
            with Transaction().start(
                    db_name, 0, context=context or {}, **extras) as transaction:
                try:
                    result = func()
                except TransactionError as e:
                    transaction.rollback()
                    e.fix(extras)
                    if stats is not None:
                        stats['restarts'] = stats.get('restarts', 0) + 1
                    continue
                except Exception:
                    transaction.rollback()
                    raise
                transaction.commit()
                return result
        except backend.DatabaseOperationalError:
            if stats is not None:
                stats['lock_conflicts'] = stats.get('lock_conflicts', 0) + 1
            time.sleep(random.uniform(0.001, 0.02))
    raise RuntimeError("too many retries")


def percentiles(values):
    values = sorted(values)

    def pick(p):
        return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 2)
    return {
        'count': len(values),
        'p50_ms': pick(0.50), 'p95_ms': pick(0.95), 'p99_ms': pick(0.99),
        'mean_ms': round(statistics.fmean(values) * 1000, 2),
        }


def prepare(db_name, wallets):
    from trytond.pool import Pool
    from trytond.tests.test_tryton import activate_module
    from trytond.transaction import Transaction
    activate_module(['retail_wallet'])

    def create():
        from trytond.modules.company.tests import create_company
        pool = Pool()
        Party = pool.get('party.party')
        Wallet = pool.get('retail.wallet')
        Company = pool.get('company.company')
        companies = Company.search([], limit=1)
        company = companies[0] if companies else create_company("Bench Co")
        with Transaction().set_context(company=company.id):
            parties = Party.create([{
                        'name': 'Bench %s' % i,
                        'is_member': True,
                        'member_company': company.id,
                        } for i in range(wallets + 1)])
            result = []
            for party in parties:
                wallet = Wallet.find(party, company, create=True)
                wallet.post_line('topup', principal=Decimal('1000000'))
                result.append(wallet.id)
        return company.id, result
    return run(create, db_name)


def bench_sequential(db_name, company_id, wallet_ids, count, pin_sample):
    from trytond.pool import Pool
    context = {'company': company_id}
    timings = []
    start = time.perf_counter()
    for i in range(count):
        wallet_id = wallet_ids[i % len(wallet_ids)]

        def pay(wallet_id=wallet_id):
            Wallet = Pool().get('retail.wallet')
            Wallet(wallet_id).spend(Decimal('1.23'), origin=None)
        t0 = time.perf_counter()
        run(pay, db_name, context)
        timings.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start

    # With the PIN check (argon2id, its own transaction for the attempt)
    wallet_id = wallet_ids[0]

    def set_pin():
        Wallet = Pool().get('retail.wallet')
        wallet = Wallet(wallet_id)
        if not wallet.has_pin:
            wallet.change_pin('135790')
    run(set_pin, db_name, context)
    pin_timings = []
    for _ in range(pin_sample):
        def pay_pin():
            Wallet = Pool().get('retail.wallet')
            wallet = Wallet(wallet_id)
            wallet.verify_pin('135790')
            wallet.spend(Decimal('1.23'), origin=None)
        t0 = time.perf_counter()
        run(pay_pin, db_name, context)
        pin_timings.append(time.perf_counter() - t0)
    return {
        'payments': count,
        'elapsed_s': round(elapsed, 2),
        'per_second': round(count / elapsed, 1),
        'latency': percentiles(timings),
        'with_pin': percentiles(pin_timings),
        }


def bench_big_wallet(db_name, company_id, wallet_id, lines):
    "Fill one wallet with lines by SQL (consistent chain), then time it"
    from sql.functions import CurrentTimestamp

    from trytond.pool import Pool
    from trytond.transaction import Transaction
    context = {'company': company_id}

    def fill():
        pool = Pool()
        Line = pool.get('retail.wallet.line')
        Wallet = pool.get('retail.wallet')
        table = Line.__table__()
        cursor = Transaction().connection.cursor()
        principal, bonus, sequence = Wallet._ledger_sums([wallet_id])[wallet_id]
        today = pool.get('ir.date').today()
        batch = []
        columns = [table.wallet, table.sequence, table.date, table.kind,
            table.principal, table.bonus, table.principal_before,
            table.bonus_before, table.principal_after, table.bonus_after,
            table.request_key, table.create_uid, table.create_date]
        for i in range(lines):
            sequence += 1
            amount = Decimal('1.00') if i % 2 == 0 else Decimal('-1.00')
            batch.append([wallet_id, sequence, today, 'topup' if amount > 0
                    else 'payment', amount, Decimal(0), principal, bonus,
                    principal + amount, bonus, 'bench-%s-%s' % (wallet_id, i),
                    0, CurrentTimestamp()])
            principal += amount
            if len(batch) == 5000:
                cursor.execute(*table.insert(columns, batch))
                batch = []
        if batch:
            cursor.execute(*table.insert(columns, batch))
    t0 = time.perf_counter()
    run(fill, db_name, context)
    fill_s = time.perf_counter() - t0
    run(lambda: Transaction().connection.cursor().execute('ANALYZE retail_wallet_line'),
        db_name)

    read_timings, pay_timings = [], []
    for _ in range(30):
        def balance():
            Wallet = Pool().get('retail.wallet')
            return Wallet(wallet_id).balance
        t0 = time.perf_counter()
        run(balance, db_name, context)
        read_timings.append(time.perf_counter() - t0)

        def pay():
            Wallet = Pool().get('retail.wallet')
            Wallet(wallet_id).spend(Decimal('0.01'), origin=None)
        t0 = time.perf_counter()
        run(pay, db_name, context)
        pay_timings.append(time.perf_counter() - t0)

    def count():
        Line = Pool().get('retail.wallet.line')
        return Line.search([('wallet', '=', wallet_id)], count=True)
    return {
        'lines': run(count, db_name, context),
        'fill_s': round(fill_s, 2),
        'balance': percentiles(read_timings),
        'payment': percentiles(pay_timings),
        }


def terminal(args):
    db_name, company_id, wallet_ids, count, seed = args
    from trytond.modules.retail_wallet.exceptions import InsufficientBalanceError
    from trytond.pool import Pool
    Pool(db_name).init()
    rng = random.Random(seed)
    stats = {'paid': 0, 'refused': 0, 'restarts': 0, 'lock_conflicts': 0,
        'amount': Decimal(0)}
    timings = []
    for i in range(count):
        wallet_id = rng.choice(wallet_ids)
        amount = Decimal(rng.randint(1, 5000)) / 100

        def pay(wallet_id=wallet_id, amount=amount, i=i):
            Wallet = Pool().get('retail.wallet')
            Wallet(wallet_id).spend(amount, origin=None,
                request_key='term-%s-%s' % (seed, i))
        t0 = time.perf_counter()
        try:
            run(pay, db_name, {'company': company_id}, stats=stats)
            stats['paid'] += 1
            stats['amount'] += amount
        except InsufficientBalanceError:
            stats['refused'] += 1
        timings.append(time.perf_counter() - t0)
    stats['timings'] = timings
    return stats


def bench_terminals(db_name, company_id, wallet_ids, terminals, per_terminal):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    context = {'company': company_id}

    def totals():
        Wallet = Pool().get('retail.wallet')
        sums = Wallet._ledger_sums(list(wallet_ids))
        return sum(p + b for p, b, _ in sums.values())
    before = run(totals, db_name, context)
    ctx = multiprocessing.get_context('spawn')
    start = time.perf_counter()
    with ctx.Pool(terminals) as pool:
        results = pool.map(terminal, [
                (db_name, company_id, wallet_ids, per_terminal, seed)
                for seed in range(terminals)])
    elapsed = time.perf_counter() - start
    after = run(totals, db_name, context)
    paid = sum(r['paid'] for r in results)
    amount = sum(r['amount'] for r in results)

    def audit():
        cursor = Transaction().connection.cursor()
        cursor.execute(
            'SELECT COUNT(*) FROM retail_wallet_line '
            'WHERE principal_after < 0 OR bonus_after < 0 '
            'OR principal_after <> principal_before + principal '
            'OR bonus_after <> bonus_before + bonus')
        bad, = cursor.fetchone()
        # every line starts where the previous one of its wallet ended
        cursor.execute(
            'SELECT COUNT(*) FROM ('
            'SELECT principal_before, bonus_before, '
            'LAG(principal_after) OVER w AS p, LAG(bonus_after) OVER w AS b, '
            'sequence, LAG(sequence) OVER w AS s '
            'FROM retail_wallet_line WINDOW w AS '
            '(PARTITION BY wallet ORDER BY sequence)) x '
            'WHERE s IS NOT NULL AND (principal_before <> p '
            'OR bonus_before <> b OR sequence <> s + 1)')
        broken, = cursor.fetchone()
        cursor.execute(
            "SELECT COUNT(*) FROM retail_wallet_line "
            "WHERE request_key LIKE 'term-%%'")
        booked, = cursor.fetchone()
        return bad, broken, booked
    bad, broken, booked = run(audit, db_name, context)
    timings = [t for r in results for t in r['timings']]
    return {
        'terminals': terminals,
        'wallets': len(wallet_ids),
        'attempted': terminals * per_terminal,
        'paid': paid,
        'refused_insufficient': sum(r['refused'] for r in results),
        'elapsed_s': round(elapsed, 2),
        'payments_per_second': round(paid / elapsed, 1),
        'latency': percentiles(timings),
        'transaction_restarts_to_lock': sum(r['restarts'] for r in results),
        'lock_conflicts_retried': sum(r['lock_conflicts'] for r in results),
        'audit': {
            'balance_drop_equals_paid': (before - after) == amount,
            'lines_booked_equals_paid': booked == paid,
            'invalid_lines': bad,
            'broken_chains': broken,
            },
        }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--db', default='bench_retail_wallet')
    parser.add_argument('--payments', type=int, default=10000)
    parser.add_argument('--pin-sample', type=int, default=50)
    parser.add_argument('--lines', type=int, default=100000)
    parser.add_argument('--terminals', type=int, default=8)
    parser.add_argument('--wallets', type=int, default=100)
    parser.add_argument('--per-terminal', type=int, default=250)
    args = parser.parse_args()
    setup_env(args.db)
    from trytond.tests.test_tryton import drop_db
    drop_db(args.db)
    t0 = time.perf_counter()
    company_id, wallet_ids = prepare(args.db, args.wallets)
    report = {
        'backend': 'postgresql',
        'setup_s': round(time.perf_counter() - t0, 1),
        'cpu_count': os.cpu_count(),
        }
    big_wallet, wallet_ids = wallet_ids[0], wallet_ids[1:]
    if args.payments:
        report['sequential_payments'] = bench_sequential(
            args.db, company_id, wallet_ids, args.payments, args.pin_sample)
    if args.lines:
        report['wallet_with_many_lines'] = bench_big_wallet(
            args.db, company_id, big_wallet, args.lines)
    report['concurrent_terminals'] = bench_terminals(
        args.db, company_id, wallet_ids, args.terminals, args.per_terminal)
    json.dump(report, sys.stdout, indent=2, default=str)
    print()


if __name__ == '__main__':
    main()
