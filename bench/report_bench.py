#!/usr/bin/env python3
"""Benchmark retail_report on PostgreSQL; prints one JSON object.

Set-up: a company with 3 shops (one point of sale each), 4 tiers, 200
products in 10 categories, 20 employees, 4 payment methods (cash, WeChat,
Alipay, stored value) through the ORM; then, with set-based SQL
(``INSERT ... SELECT ... FROM generate_series``, no ORM):

- ``--members`` members (default 100,000) with join dates over two years;
- ``--lines`` POS sale lines (default 1,000,000) in sales of 4 lines over the
  365 days up to 2026-03-31, between 9:00 and 21:59, 60 % with a member,
  one sale in 50 a refund; one payment per sale, cash ones in the cash
  session of their point and day (one session per point and day);
- commission lines for the service lines, a wallet with a top-up and a
  payment for one member in three, a points lot for every member, tier
  history for one member in ten.

Then each report is read as sao reads a list: ``search`` (limit 1000, the
list's default) then ``read`` of the list view's fields, in the report's
context (whole year by month, and one month by day for sales), plus
``search_count``; and the Excel export of one report.  The time of the
sales-by-period report is also measured without the report's
``(company, date)`` index on ``sale_point_sale``.

Everything runs in one transaction that is rolled back: the database
(``--database``, default ``bench_report``, activated on the first run,
which takes a few minutes) is reused as is.

  .venv/bin/python bench/report_bench.py [--lines 1000000] [--members 100000]
"""
import argparse
import datetime as dt
import json
import os
import sys
import time
from decimal import Decimal

parser = argparse.ArgumentParser()
parser.add_argument('--lines', type=int, default=1_000_000)
parser.add_argument('--members', type=int, default=100_000)
parser.add_argument('--database', default='bench_report')
parser.add_argument('--target', type=float, default=3.0)
parser.add_argument('--keep', action='store_true',
    help='commit the data instead of rolling back (to explore the queries)')
parser.add_argument('--uri', default=os.environ.get(
        'HUIYUAN_PG_URI', 'postgresql://postgres@127.0.0.1:5432/'))
args = parser.parse_args()

os.environ['TRYTOND_DATABASE__URI'] = args.uri
os.environ['DB_NAME'] = args.database
os.environ.pop('DB_CACHE', None)
os.environ.pop('TRYTOND_CONFIG', None)

from trytond.modules.account.tests import create_chart, get_fiscalyear  # noqa: E402
from trytond.modules.company.tests import create_company, create_employee  # noqa: E402
from trytond.pool import Pool  # noqa: E402
from trytond.tests.test_tryton import activate_module  # noqa: E402
from trytond.transaction import Transaction, TransactionError  # noqa: E402

END = dt.date(2026, 3, 31)
START = END - dt.timedelta(days=364)
LINES_PER_SALE = 4
N_PRODUCTS = 200

# (model, fields read by the list view)
REPORTS = {
    'retail.report.sale.period': ['date', 'tickets', 'sales', 'refunds',
        'refund_amount', 'revenue', 'revenue_untaxed', 'average_ticket',
        'member_tickets', 'member_revenue', 'walk_in_revenue',
        'member_share'],
    'retail.report.sale.hour': ['hour', 'tickets', 'sales', 'refunds',
        'revenue', 'average_ticket', 'member_tickets', 'member_share'],
    'retail.report.sale.product': ['rank', 'product', 'quantity', 'tickets',
        'revenue', 'revenue_untaxed', 'share'],
    'retail.report.sale.category': ['rank', 'category', 'quantity',
        'tickets', 'revenue', 'revenue_untaxed', 'share'],
    'retail.report.sale.payment': ['method', 'payments', 'tickets', 'amount',
        'share'],
    'retail.report.sale.customer': ['customer', 'tickets', 'sales',
        'refunds', 'revenue', 'average_ticket'],
    'retail.report.member': ['member', 'tier', 'join_date', 'first_visit',
        'last_visit', 'visits', 'tickets', 'spend', 'average_ticket',
        'mean_interval', 'days_since', 'churn_risk', 'recency_score',
        'frequency_score', 'monetary_score', 'segment'],
    'retail.report.member.segment': ['segment', 'members', 'spend',
        'average_spend', 'member_share'],
    'retail.report.member.frequency': ['visits_from', 'visits_to',
        'members', 'spend', 'average_spend', 'member_share'],
    'retail.report.member.spend': ['spend_from', 'spend_to', 'members',
        'spend', 'average_spend', 'member_share'],
    'retail.report.member.flow': ['date', 'new_members', 'visitors',
        'new_visitors', 'returning_visitors', 'returning_share'],
    'retail.report.member.cohort': ['cohort', 'months', 'members', 'active_members',
        'retention'],
    'retail.report.member.tier': ['tier', 'members', 'new_members',
        'upgrades', 'downgrades', 'spend', 'member_share'],
    'retail.report.member.tier.movement': ['from_tier', 'to_tier', 'kind',
        'members'],
    'retail.report.liability': ['kind', 'holders', 'quantity', 'amount',
        'account', 'account_balance', 'difference'],
    'retail.report.staff': ['employee', 'date', 'sales', 'services',
        'commission', 'tickets', 'cashier_revenue'],
    'retail.report.cash.session': ['session', 'point', 'shop', 'opened',
        'state', 'start_amount', 'cash_payments', 'transfers', 'expected',
        'counted', 'difference', 'payments'],
    'retail.report.cash.session.method': ['session', 'method', 'payments',
        'amount'],
    'retail.report.daily.close': ['date', 'point', 'method', 'tickets',
        'payments', 'amount'],
    }


def timed(func, *a, **kw):
    start = time.perf_counter()
    result = func(*a, **kw)
    return result, time.perf_counter() - start


def setup_master(pool):
    company = create_company()
    create_chart(company)
    with Transaction().set_context(company=company.id):
        return _setup_master(pool, company)


def _setup_master(pool, company):
    Account = pool.get('account.account')
    Category = pool.get('product.category')
    FiscalYear = pool.get('account.fiscalyear')
    Journal = pool.get('account.journal')
    Location = pool.get('stock.location')
    Method = pool.get('sale.point.payment.method')
    POS = pool.get('sale.point')
    SequenceStrict = pool.get('ir.sequence.strict')
    SequenceType = pool.get('ir.sequence.type')
    Shop = pool.get('retail.shop')
    Template = pool.get('product.template')
    Tier = pool.get('retail.member.tier')
    Uom = pool.get('product.uom')
    WalletConfiguration = pool.get('retail.wallet.configuration')
    Employee = pool.get('company.employee')

    fiscalyear = get_fiscalyear(company, today=END)
    fiscalyear.save()
    FiscalYear.create_period([fiscalyear])
    shops = Shop.create([{'name': 'Shop %s' % i, 'code': 'S%s' % i,
                'company': company.id} for i in range(3)])
    tiers = Tier.create([{'name': name, 'code': name[0], 'rank': rank,
                'company': company.id}
            for rank, name in enumerate(
                ['Bronze', 'Silver', 'Gold', 'Platinum'], 1)])
    employees = [create_employee(company, 'Staff %02d' % i)
        for i in range(20)]
    Employee.save(employees)
    unit, = Uom.search([('name', '=', 'Unit')])
    categories = Category.create([{'name': 'Category %s' % i}
            for i in range(10)])
    templates = Template.create([{
                'name': 'Product %03d' % i,
                'type': 'service' if i % 4 == 0 else 'goods',
                'default_uom': unit.id,
                'sale_uom': unit.id,
                'salable': True,
                'list_price': Decimal(10 + (i % 50) * 5),
                'gross_price': Decimal(10 + (i % 50) * 5),
                'categories': [('add', [categories[i % 10].id])],
                'products': [('create', [{}])],
                } for i in range(N_PRODUCTS)])
    products = [t.products[0] for t in templates]
    journal, = Journal.search([('type', '=', 'revenue')], limit=1)
    storage, = Location.search([('code', '=', 'STO')])
    customer, = Location.search([('code', '=', 'CUS')])
    sequence_type, = SequenceType.search([('name', '=', 'POS')], limit=1)
    points = []
    for i, shop in enumerate(shops):
        sequence = SequenceStrict(name='POS %s' % i, company=company,
            sequence_type=sequence_type)
        sequence.save()
        pos = POS(name='Till %s' % i, company=company, journal=journal,
            sequence=sequence, storage_location=storage, shop=shop,
            customer_location=customer, tax_included=True)
        pos.save()
        points.append(pos)
    account = Account.search([('type.receivable', '=', False),
            ('type', '!=', None), ('closed', '!=', True),
            ('party_required', '=', False),
            ('company', '=', company.id)], limit=1)[0]
    payable = Account.search([('type.payable', '=', True),
            ('closed', '!=', True), ('company', '=', company.id)],
        limit=1)[0]
    liability, = Account.copy([payable], default={
            'name': 'Stored Value', 'code': None,
            'party_required': False, 'reconcile': False})
    methods = Method.create([
            {'name': 'Cash', 'cash': True, 'account': account.id,
                'company': company.id},
            {'name': 'WeChat', 'account': account.id,
                'company': company.id},
            {'name': 'Alipay', 'account': account.id,
                'company': company.id},
            {'name': 'Stored Value', 'account': account.id,
                'company': company.id, 'retail_wallet': True},
            ])
    WalletConfiguration.create([{'company': company.id,
                'liability_account': liability.id}])
    return company, shops, tiers, employees, products, points, methods


def bulk(company, shops, tiers, employees, products, points, methods):
    "Members, sales, lines, payments, sessions and ledgers by SQL"
    cursor = Transaction().connection.cursor()
    result = {}
    days = (END - START).days + 1
    tier_ids = 'ARRAY[%s]' % ','.join(str(t.id) for t in tiers)
    shop_ids = 'ARRAY[%s]' % ','.join(str(s.id) for s in shops)
    point_ids = 'ARRAY[%s]' % ','.join(str(p.id) for p in points)
    product_ids = 'ARRAY[%s]' % ','.join(str(p.id) for p in products)
    employee_ids = 'ARRAY[%s]' % ','.join(str(e.id) for e in employees)
    method_ids = 'ARRAY[%s]' % ','.join(str(m.id) for m in methods)
    cash_id = methods[0].id
    n = args.members
    c = company.id

    def run(label, sql):
        start = time.perf_counter()
        cursor.execute(sql)
        result['insert_%s_s' % label] = round(
            time.perf_counter() - start, 1)

    run('members', f"""
        INSERT INTO party_party (name, code, active, is_member,
            member_company, member_number, member_tier, member_shop,
            join_date, tier_locked, consent_sms, consent_email,
            create_uid, create_date)
        SELECT 'Member ' || g, 'BM' || g, true, true, {c}, 'BM' || g,
            CASE WHEN g % 5 = 0 THEN NULL
                ELSE ({tier_ids})[1 + g % 4] END,
            ({shop_ids})[1 + g % 3],
            DATE '{END}' - (g % 730), false, false, false, 0, now()
        FROM generate_series(1, {n}) g""")
    cursor.execute("SELECT min(id), max(id) FROM party_party "
        "WHERE code LIKE 'BM%'")
    first_member, last_member = cursor.fetchone()

    n_sales = args.lines // LINES_PER_SALE
    # one sale in 5 without member; members picked with a skew so that
    # some come often and some once
    run('sales', f"""
        INSERT INTO sale_point_sale (company, point, number, date, state,
            member, employee, create_uid, create_date)
        SELECT {c}, ({point_ids})[1 + g % 3], 'B' || g,
            DATE '{START}' + (g % {days}),
            'done',
            CASE WHEN g % 5 = 0 THEN NULL
                ELSE {first_member}
                    + (g::bigint * 7919) % ({n} / (1 + g % 4)) END,
            ({employee_ids})[1 + g % 20], 0,
            (DATE '{START}' + (g % {days}))
                + make_interval(hours => 1 + g % 13, mins => g % 60)
        FROM generate_series(1, {n_sales}) g""")
    cursor.execute("SELECT min(id), max(id) FROM sale_point_sale "
        "WHERE number LIKE 'B%'")
    first_sale, last_sale = cursor.fetchone()
    run('lines', f"""
        INSERT INTO sale_point_sale_line (sale, product, quantity,
            unit_list_price, unit_gross_price, create_uid, create_date)
        SELECT s, ({product_ids})[1 + (s * 7 + k) % {N_PRODUCTS}],
            CASE WHEN s % 50 = 0 THEN -1 ELSE 1 + k % 2 END,
            round((10 + ((s * 7 + k) % {N_PRODUCTS}) % 50 * 5) / 1.13, 4),
            10 + ((s * 7 + k) % {N_PRODUCTS}) % 50 * 5, 0, now()
        FROM generate_series({first_sale}, {last_sale}) s,
            generate_series(0, 3) k""")
    # what retail_report stores when a sale is done: on each line its sale's
    # date and point and its amounts, on each sale the sum of its lines
    run('report_lines', f"""
        UPDATE sale_point_sale_line AS l
        SET report_date = s.date, report_point = s.point,
            report_amount = round(l.quantity::numeric * l.unit_gross_price, 2),
            report_untaxed = round(l.quantity::numeric * l.unit_list_price, 2)
        FROM sale_point_sale AS s
        WHERE s.id = l.sale AND s.id BETWEEN {first_sale} AND {last_sale}""")
    run('report_amounts', f"""
        UPDATE sale_point_sale AS s
        SET report_amount = t.amount, report_untaxed = t.untaxed
        FROM (SELECT sale, SUM(report_amount) AS amount,
                SUM(report_untaxed) AS untaxed
            FROM sale_point_sale_line
            WHERE sale BETWEEN {first_sale} AND {last_sale}
            GROUP BY sale) AS t
        WHERE s.id = t.sale""")

    # one cash session per point and day, chained, the last one open
    n_sessions = days * len(points)
    cursor.execute("SELECT nextval('sale_point_cash_session_id_seq') "
        "FROM generate_series(1, %s)", (n_sessions,))
    ids = [r[0] for r in cursor]
    rows, k = [], 0
    for point in points:
        previous = None
        for d in range(days):
            date = START + dt.timedelta(days=d)
            rows.append((ids[k], point.id, previous,
                    'open' if d == days - 1 else 'closed',
                    dt.datetime.combine(date, dt.time(0, 30))))
            previous = ids[k]
            k += 1
    start = time.perf_counter()
    for i in range(0, len(rows), 500):
        chunk = rows[i:i + 500]
        cursor.execute(
            "INSERT INTO sale_point_cash_session (id, point, "
            "previous_session, state, end_amount, create_uid, create_date) "
            "VALUES " + ','.join(['(%s, %s, %s, %s, 0, 0, %s)'] * len(chunk)),
            [v for row in chunk for v in row])
    result['insert_sessions_s'] = round(time.perf_counter() - start, 1)

    run('payments', f"""
        INSERT INTO sale_point_payment (sale, method, amount, session,
            create_uid, create_date)
        SELECT s.id, m.method, t.amount, cs.id,
            0, s.create_date + interval '5 minutes'
        FROM sale_point_sale s
        JOIN (SELECT sale, sum(round(quantity::numeric * unit_gross_price,
                    2)) AS amount
            FROM sale_point_sale_line
            WHERE sale BETWEEN {first_sale} AND {last_sale}
            GROUP BY sale) t ON t.sale = s.id
        CROSS JOIN LATERAL (SELECT CASE WHEN t.amount < 0 THEN {cash_id}
                ELSE ({method_ids})[1 + s.id % 4] END AS method) m
        LEFT JOIN sale_point_cash_session cs ON m.method = {cash_id}
            AND cs.point = s.point
            AND cs.create_date = s.date + time '00:30'
        WHERE s.id BETWEEN {first_sale} AND {last_sale}""")
    # the shift retail_report stores on a non-cash payment when it is
    # recorded: the session of its point opened that day at 00:30
    run('payment_shifts', f"""
        UPDATE sale_point_payment AS p SET report_session = cs.id
        FROM sale_point_sale s
        JOIN sale_point_cash_session cs ON cs.point = s.point
            AND cs.create_date = s.date + time '00:30'
        WHERE p.sale = s.id AND p.session IS NULL
            AND s.id BETWEEN {first_sale} AND {last_sale}""")

    run('commission', f"""
        INSERT INTO retail_commission_line (company, employee, date, kind,
            origin, sale_line, product, quantity, share, requested, member,
            base, amount, currency, create_uid, create_date)
        SELECT {c}, s.employee, s.date,
            CASE WHEN l.quantity < 0 THEN 'refund' ELSE 'sale' END,
            'sale.point.sale.line,' || l.id, l.id, l.product, l.quantity, 1,
            false, s.member IS NOT NULL,
            round(l.quantity::numeric * l.unit_list_price, 2),
            round(l.quantity::numeric * l.unit_list_price * 0.05, 2),
            {company.currency.id}, 0, now()
        FROM sale_point_sale_line l
        JOIN sale_point_sale s ON s.id = l.sale
        WHERE l.sale BETWEEN {first_sale} AND {last_sale}
            AND l.product % 4 = 0""")

    run('wallets', f"""
        INSERT INTO retail_wallet (company, party, state, create_uid,
            create_date)
        SELECT {c}, p, 'open', 0, now()
        FROM generate_series({first_member}, {last_member}, 3) p""")
    run('wallet_lines', f"""
        INSERT INTO retail_wallet_line (wallet, sequence, date, kind,
            principal, bonus, principal_before, bonus_before,
            principal_after, bonus_after, request_key, create_uid,
            create_date)
        SELECT w.id, k.seq, DATE '{START}' + (w.id % 300) + k.seq,
            k.kind, k.principal, k.bonus, k.pb, 0, k.pa, 50,
            'bench-' || w.id || '-' || k.seq, 0, now()
        FROM retail_wallet w
        CROSS JOIN (VALUES (1, 'topup', 500, 50, 0, 500),
            (2, 'payment', -100, 0, 500, 400)) AS k(seq, kind, principal,
                bonus, pb, pa)
        WHERE w.company = {c}""")
    run('points', f"""
        INSERT INTO retail_points_account (company, member, create_uid,
            create_date)
        SELECT {c}, p, 0, now()
        FROM generate_series({first_member}, {last_member}) p""")
    run('points_lines', f"""
        INSERT INTO retail_points_line (account, company, member, sequence,
            date, kind, points, balance, lot, create_uid, create_date)
        SELECT a.id, {c}, a.member, 1, DATE '{START}' + (a.id % 300),
            'earn', 100 + a.id % 400, 100 + a.id % 400, true, 0, now()
        FROM retail_points_account a WHERE a.company = {c}""")
    run('tier_history', f"""
        INSERT INTO retail_member_tier_history (member, from_tier, to_tier,
            date, kind, create_uid, create_date)
        SELECT p, ({tier_ids})[1 + p % 3], ({tier_ids})[2 + p % 3],
            DATE '{START}' + (p % 365), 'upgrade', 0, now()
        FROM generate_series({first_member}, {last_member}, 10) p""")
    start = time.perf_counter()
    cursor.execute('ANALYZE')
    result['analyze_s'] = round(time.perf_counter() - start, 1)
    cursor.execute("SELECT count(*) FROM sale_point_sale_line")
    result['sale_lines'] = cursor.fetchone()[0]
    cursor.execute("SELECT count(*) FROM sale_point_sale")
    result['sales'] = cursor.fetchone()[0]
    result['members'] = last_member - first_member + 1
    return result


def read_report(pool, name, names, context):
    "search + read + search_count as sao loads a list; seconds"
    Model = pool.get(name)
    with Transaction().set_context(**context):
        start = time.perf_counter()
        records = Model.search([], limit=1000)
        Model.read([r.id for r in records], names)
        count = Model.search([], count=True)
        return time.perf_counter() - start, count


def main():
    activate_module(['retail_report'])
    result = {'backend': 'postgresql', 'target_s': args.target}
    extras = {}
    while True:
        try:
            run(result, extras)
            break
        except TransactionError as exception:
            exception.fix(extras)
    json.dump(result, sys.stdout, indent=2)
    print()


def run(result, extras):
    with Transaction().start(args.database, 0, **extras) as transaction:
        pool = Pool()
        Excel = pool.get('retail.report.excel', type='report')
        try:
            master, t = timed(setup_master, pool)
            result['setup_master_s'] = round(t, 1)
            company = master[0]
            result.update(bulk(*master))
            year = {'company': company.id, 'from_date': START,
                'to_date': END, 'period': 'month'}
            month = {'company': company.id,
                'from_date': END.replace(day=1), 'to_date': END,
                'period': 'day'}
            reports = result['reports'] = {}
            for name, names in REPORTS.items():
                contexts = [('year', year)]
                if name.startswith('retail.report.sale.') or name in {
                        'retail.report.daily.close',
                        'retail.report.cash.session'}:
                    contexts.append(('month', month))
                for label, context in contexts:
                    seconds, rows = read_report(pool, name, names, context)
                    reports['%s [%s]' % (name, label)] = {
                        's': round(seconds, 3), 'rows': rows,
                        'ok': seconds <= args.target}
            result['slowest_s'] = max(r['s'] for r in reports.values())
            result['all_within_target'] = all(
                r['ok'] for r in reports.values())
            with transaction.set_context(**year):
                (_, content, _, _), t = timed(Excel.execute, [],
                    {'model': 'retail.report.member.segment'})
            result['excel_segments_s'] = round(t, 3)

            # the (company, date) index of the sales reports
            cursor = transaction.connection.cursor()
            cursor.execute("SELECT indexname FROM pg_indexes "
                "WHERE tablename = 'sale_point_sale' "
                "AND indexdef LIKE '%(company, date)%'")
            index = cursor.fetchone()
            if index:
                seconds, _ = read_report(pool, 'retail.report.sale.period',
                    REPORTS['retail.report.sale.period'], month)
                result['sale_period_month_with_index_s'] = round(seconds, 3)
                cursor.execute('DROP INDEX "%s"' % index[0])
                seconds, _ = read_report(pool, 'retail.report.sale.period',
                    REPORTS['retail.report.sale.period'], month)
                result['sale_period_month_without_index_s'] = round(
                    seconds, 3)
            if args.keep:
                transaction.commit()
        finally:
            transaction.rollback()


if __name__ == '__main__':
    main()
