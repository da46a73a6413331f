#!/usr/bin/env python3
"""Count cards (retail_count_card) benchmark on PostgreSQL; prints a JSON report.

  .venv/bin/python bench/count_card_bench.py [--redeems 500] [--sales 200]
      [--cards 20]

1. sequential redemptions of one use, one committed transaction each (lock
   the card, sum the ledger, check, append);
2. POS sales with one redeemed line: create the sale, `apply_count_cards`
   (checks, price at unit value, count card payment) and `do` (ledger), one
   committed transaction each, to `done` (posting is batched, not measured);
3. `member_summary` of a member holding --cards cards.

The database (default bench_retail_count_card) is created from a template
cached in var/bench-cache the first time (a few minutes), then reused.
"""
import argparse
import json
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


def run(func, db_name, context=None, retries=200):
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
                    continue
                except Exception:
                    transaction.rollback()
                    raise
                transaction.commit()
                return result
        except backend.DatabaseOperationalError:
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


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def prepare(db_name, n_cards):
    "Company, templates, a POS, a member with n_cards cards of 10000 uses"
    from trytond.modules.company.tests import create_company, set_company
    from trytond.modules.retail_count_card.tests.test_module import Env
    from trytond.pool import Pool

    def setup():
        pool = Pool()
        POS = pool.get('sale.point')
        Method = pool.get('sale.point.payment.method')
        Sequence = pool.get('ir.sequence.strict')
        SequenceType = pool.get('ir.sequence.type')
        Location = pool.get('stock.location')
        Journal = pool.get('account.journal')
        company = create_company(name="Bench Co")
        with set_company(company):
            env = Env(company)
            cards = []
            for _ in range(n_cards):
                card = env.issue(price='500')
                card.adjust_uses(card.services[0], 9990, "bench")
                cards.append(card.id)
            sequence_type, = SequenceType.search(
                [('name', '=', "POS")], limit=1)
            sequence, = Sequence.create([{
                        'name': "Bench till", 'company': company.id,
                        'sequence_type': sequence_type.id}])
            storage, = Location.search([('code', '=', 'STO')])
            customer, = Location.search([('code', '=', 'CUS')])
            journal, = Journal.search([('type', '=', 'revenue')], limit=1)
            pos, = POS.create([{
                        'name': "Bench till", 'company': company.id,
                        'journal': journal.id, 'sequence': sequence.id,
                        'storage_location': storage.id,
                        'customer_location': customer.id,
                        'tax_included': True}])
            Method.create([{
                        'name': "Count Card", 'company': company.id,
                        'account': env.deferred.id, 'count_card': True}])
            return {
                'company': company.id, 'cards': cards, 'pos': pos.id,
                'member': env.member.id, 'haircut': env.haircut.id}
    return run(setup, db_name)


def bench_redeem(db_name, ids, n):
    from trytond.pool import Pool
    context = {'company': ids['company']}
    timings = []
    for i in range(n):
        card_id = ids['cards'][i % len(ids['cards'])]

        def redeem(card_id=card_id):
            pool = Pool()
            Card = pool.get('retail.count.card')
            Product = pool.get('product.product')
            Party = pool.get('party.party')
            Date = pool.get('ir.date')
            Card(card_id).redeem(Product(ids['haircut']), 1,
                Party(ids['member']), Date.today())
        start = time.perf_counter()
        run(redeem, db_name, context)
        timings.append(time.perf_counter() - start)
    return percentiles(timings)


def bench_sales(db_name, ids, n):
    from trytond.pool import Pool
    context = {'company': ids['company']}
    timings = []
    for i in range(n):
        card_id = ids['cards'][i % len(ids['cards'])]

        def sell(card_id=card_id):
            pool = Pool()
            Sale = pool.get('sale.point.sale')
            sale, = Sale.create([{
                        'company': ids['company'],
                        'point': ids['pos'],
                        'member': ids['member'],
                        'lines': [('create', [{
                                        'product': ids['haircut'],
                                        'quantity': 1,
                                        'unit_list_price': Decimal(0),
                                        'unit_gross_price': Decimal(0),
                                        'count_card': card_id,
                                        }])],
                        }])
            Sale.apply_count_cards([sale])
            Sale.do([Sale(sale.id)])
            return Sale(sale.id).state
        start = time.perf_counter()
        state = run(sell, db_name, context)
        timings.append(time.perf_counter() - start)
        assert state == 'done', state
    return percentiles(timings)


def bench_summary(db_name, ids, n=50):
    from trytond.pool import Pool
    context = {'company': ids['company']}
    timings = []
    for _ in range(n):
        def summary():
            Card = Pool().get('retail.count.card')
            return len(Card.member_summary(ids['member']))
        start = time.perf_counter()
        count = run(summary, db_name, context)
        timings.append(time.perf_counter() - start)
    result = percentiles(timings)
    result['cards'] = count
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--db', default='bench_retail_count_card')
    parser.add_argument('--redeems', type=int, default=500)
    parser.add_argument('--sales', type=int, default=200)
    parser.add_argument('--cards', type=int, default=20)
    args = parser.parse_args()
    setup_env(args.db)
    from trytond.tests.test_tryton import activate_module, drop_db
    drop_db()
    log('activating retail_count_card (cached template after the first run)')
    activate_module(['retail_count_card'])
    log(f'preparing {args.cards} cards')
    ids = prepare(args.db, args.cards)
    report = {'backend': 'postgresql', 'database': args.db}
    log(f'{args.redeems} redemptions')
    report['redeem_one_use'] = bench_redeem(args.db, ids, args.redeems)
    log(f'{args.sales} POS sales with a redeemed line')
    report['pos_sale_redeem_to_done'] = bench_sales(args.db, ids, args.sales)
    log('member summary')
    report['member_summary'] = bench_summary(args.db, ids)
    drop_db()
    print(json.dumps(report, indent=2))


if __name__ == '__main__':
    main()
