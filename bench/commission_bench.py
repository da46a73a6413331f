#!/usr/bin/env python3
"""Benchmark retail_commission on PostgreSQL; prints one JSON object.

A month of POS sales (default 100,000 lines in 25,000 sales, 20 employees,
one line in ten split between two staff) is bulk-inserted with SQL.  Then:

- checkout: ``--checkout-sales`` 5-line sales (one line in five split
  between two staff) created through the ORM and paid in cash, then ``do``
  one sale at a time as the till does: p50/p95 of ``do`` and of the
  commission part of it (``process_commission``, timed inside ``do``), then
  the same for refunds of every line of those sales;
- compute: the real commission path (``sale.point.sale.process_commission``,
  the code ``do`` runs) on the first ``--orm-lines`` lines, lines per second
  and the projection to all lines;
- the rest of the lines get their commission lines by one SQL INSERT (set-up
  only, to have a full month);
- statement: ``Statement.generate`` for the month (every employee: link the
  lines, sums in SQL, tiered bonus), ranking (the ``table_query``), and the
  Excel export of one statement.

Everything runs in one transaction that is rolled back: the database
(``--database``, default ``bench_commission``, activated on the first run,
which takes a few minutes) is reused as is.

  .venv/bin/python bench/commission_bench.py [--lines 100000] [--orm-lines 2000]
"""
import argparse
import datetime as dt
import json
import os
import sys
import time
from decimal import Decimal

parser = argparse.ArgumentParser()
parser.add_argument('--lines', type=int, default=100_000)
parser.add_argument('--orm-lines', type=int, default=2_000)
parser.add_argument('--employees', type=int, default=20)
parser.add_argument('--checkout-sales', type=int, default=40)
parser.add_argument('--database', default='bench_commission')
parser.add_argument('--uri', default=os.environ.get(
        'HUIYUAN_PG_URI', 'postgresql://postgres@127.0.0.1:5432/'))
args = parser.parse_args()

os.environ['TRYTOND_DATABASE__URI'] = args.uri
os.environ['DB_NAME'] = args.database
os.environ.pop('DB_CACHE', None)
os.environ.pop('TRYTOND_CONFIG', None)

from sql import Cast, Literal, Table  # noqa: E402
from sql.functions import Now, Round  # noqa: E402
from sql.operators import Concat  # noqa: E402

from trytond.modules.account.tests import create_chart  # noqa: E402
from trytond.modules.company.tests import create_company, create_employee  # noqa: E402
from trytond.pool import Pool  # noqa: E402
from trytond.tests.test_tryton import activate_module  # noqa: E402
from trytond.transaction import Transaction, TransactionError  # noqa: E402

MONTH_START = dt.date(2026, 3, 1)
MONTH_END = dt.date(2026, 3, 31)
LINES_PER_SALE = 4


def log(message):
    print('[commission_bench] %s' % message, file=sys.stderr, flush=True)


def timed(func, *a, **kw):
    name = getattr(func, '__name__', 'step')
    log('%s ...' % name)
    start = time.perf_counter()
    result = func(*a, **kw)
    elapsed = time.perf_counter() - start
    log('%s: %.2f s' % (name, elapsed))
    return result, elapsed


def setup_master(pool):
    "Company, staff, products, point of sale and an approved scheme (ORM)"
    company = create_company()
    create_chart(company)
    with Transaction().set_context(company=company.id):
        return _setup_master(pool, company)


def _setup_master(pool, company):
    Role = pool.get('retail.commission.role')
    Scheme = pool.get('retail.commission.scheme')
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    Category = pool.get('product.category')
    POS = pool.get('sale.point')
    Journal = pool.get('account.journal')
    Location = pool.get('stock.location')
    SequenceStrict = pool.get('ir.sequence.strict')
    SequenceType = pool.get('ir.sequence.type')

    roles = Role.create([
            {'name': 'Stylist', 'company': company.id},
            {'name': 'Senior', 'company': company.id}])
    employees = []
    for i in range(args.employees):
        employee = create_employee(company, 'Staff %02d' % i)
        employee.commission_role = roles[i % 5 == 0]
        employees.append(employee)
    pool.get('company.employee').save(employees)

    unit, = Uom.search([('name', '=', 'Unit')])
    services = Category(name='Services')
    services.save()
    templates = Template.create([{
                'name': 'Product %02d' % i,
                'type': 'service' if i % 2 else 'goods',
                'default_uom': unit.id,
                'sale_uom': unit.id,
                'salable': True,
                'list_price': Decimal(20 + i * 5),
                'gross_price': Decimal(20 + i * 5),
                'categories': [('add', [services.id])] if i % 2 else [],
                'products': [('create', [{}])],
                } for i in range(50)])
    products = [t.products[0] for t in templates]

    journal, = Journal.search([('type', '=', 'revenue')], limit=1)
    storage, = Location.search([('code', '=', 'STO')])
    customer, = Location.search([('code', '=', 'CUS')])
    sequence_type, = SequenceType.search([('name', '=', 'POS')], limit=1)
    sequence = SequenceStrict(
        name='POS', company=company, sequence_type=sequence_type)
    sequence.save()
    pos = POS(name='POS', company=company, journal=journal,
        sequence=sequence, storage_location=storage,
        customer_location=customer, tax_included=False)
    pos.save()

    scheme = Scheme(name='Bench', company=company, start_date=MONTH_START,
        exclude_special_price=True, tier_mode='progressive')
    scheme.rules = [
        {'sequence': 10, 'kind': 'sale', 'product': products[1].id,
            'assignment': 'requested', 'method': 'fixed',
            'amount': Decimal('8')},
        {'sequence': 20, 'kind': 'sale', 'role': roles[1].id,
            'category': services.id, 'method': 'percent',
            'rate': Decimal('0.12')},
        {'sequence': 30, 'kind': 'sale', 'category': services.id,
            'customer': 'member', 'method': 'percent',
            'rate': Decimal('0.08')},
        {'sequence': 40, 'kind': 'sale', 'category': services.id,
            'method': 'percent', 'rate': Decimal('0.06')},
        {'sequence': 50, 'kind': 'sale', 'method': 'percent',
            'rate': Decimal('0.02')},
        ]
    scheme.tiers = [
        {'threshold': Decimal(0), 'rate': Decimal('0.005')},
        {'threshold': Decimal(100000), 'rate': Decimal('0.01')},
        {'threshold': Decimal(200000), 'rate': Decimal('0.02')},
        ]
    scheme.save()
    Scheme.approve([scheme])
    return company, employees, products, pos


def bulk_sales(company, employees, products, pos):
    "Insert the month's sales, lines and staff with SQL; return sale ids"
    cursor = Transaction().connection.cursor()
    sale = Table('sale_point_sale')
    line = Table('sale_point_sale_line')
    staff = Table('retail_commission_line_staff')
    n_sales = args.lines // LINES_PER_SALE
    days = (MONTH_END - MONTH_START).days + 1
    sale_rows = [[company.id, pos.id,
            MONTH_START + dt.timedelta(days=i % days), 'open', 0, Now()]
        for i in range(n_sales)]
    sale_ids = []
    for k in range(0, len(sale_rows), 5000):
        cursor.execute(*sale.insert(
                [sale.company, sale.point, sale.date, sale.state,
                    sale.create_uid, sale.create_date],
                sale_rows[k:k + 5000], returning=[sale.id]))
        sale_ids.extend(r[0] for r in cursor)
    rows = []
    for i, sale_id in enumerate(sale_ids):
        for j in range(LINES_PER_SALE):
            k = (i * 7 + j) % len(products)
            product = products[k]
            price = Decimal(20 + k * 5)  # the template's list price
            rows.append([sale_id, product.id, float(1 + (i + j) % 3),
                    price, price, 0, Now()])
    line_ids = []
    for k in range(0, len(rows), 10000):
        cursor.execute(*line.insert(
                [line.sale, line.product, line.quantity,
                    line.unit_list_price, line.unit_gross_price,
                    line.create_uid, line.create_date],
                rows[k:k + 10000], returning=[line.id]))
        line_ids.extend(r[0] for r in cursor)
    staff_rows = []
    for i, line_id in enumerate(line_ids):
        first = employees[i % len(employees)]
        if i % 10 == 0:
            second = employees[(i + 1) % len(employees)]
            staff_rows.append(
                [line_id, first.id, Decimal('0.6'), True, 0, Now()])
            staff_rows.append(
                [line_id, second.id, Decimal('0.4'), False, 0, Now()])
        else:
            staff_rows.append(
                [line_id, first.id, Decimal(1), i % 3 == 0, 0, Now()])
    for k in range(0, len(staff_rows), 10000):
        cursor.execute(*staff.insert(
                [staff.line, staff.employee, staff.share, staff.requested,
                    staff.create_uid, staff.create_date],
                staff_rows[k:k + 10000]))
    cursor.execute('ANALYZE sale_point_sale, sale_point_sale_line, '
        'retail_commission_line_staff')
    return sale_ids, len(line_ids), len(staff_rows)


def percentile(values, p):
    values = sorted(values)
    if not values:
        return None
    k = min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))
    return values[k]


def checkout(pool, company, employees, products, pos, result):
    "Time do of 5-line sales and of their refunds, one sale at a time"
    Sale = pool.get('sale.point.sale')
    Method = pool.get('sale.point.payment.method')
    Payment = pool.get('sale.point.payment')
    Account = pool.get('account.account')
    account = Account.search([('type.receivable', '=', False),
            ('type', '!=', None), ('closed', '!=', True),
            ('party_required', '=', False)], limit=1)[0]
    cash = Method(name='Cash', company=company, cash=True, account=account)
    cash.save()
    timings = {'commission': []}
    process_commission = Sale.process_commission.__func__

    def timed_commission(cls, sales):
        start = time.perf_counter()
        try:
            return process_commission(cls, sales)
        finally:
            timings['commission'].append(time.perf_counter() - start)
    Sale.process_commission = classmethod(timed_commission)

    def make(i, originals=None):
        lines = []
        for j in range(5):
            if originals:
                original = originals[j]
                lines.append({'product': original.product.id,
                        'quantity': -original.quantity,
                        'unit_list_price': original.unit_list_price,
                        'unit_gross_price': original.unit_gross_price,
                        'commission_returned_line': original.id})
                continue
            k = (i * 5 + j) % len(products)
            first = employees[(i + j) % len(employees)]
            if j == 0:
                second = employees[(i + j + 1) % len(employees)]
                staff = [{'employee': first.id, 'share': Decimal('0.6'),
                        'requested': True},
                    {'employee': second.id, 'share': Decimal('0.4')}]
            else:
                staff = [{'employee': first.id, 'share': Decimal(1),
                        'requested': j % 2 == 0}]
            price = Decimal(20 + k * 5)  # the template's list price
            lines.append({'product': products[k].id, 'quantity': 1 + j % 2,
                    'unit_list_price': price, 'unit_gross_price': price,
                    'staff': [('create', staff)]})
        sale, = Sale.create([{
                    'point': pos.id, 'company': company.id,
                    'date': MONTH_START, 'lines': [('create', lines)],
                    }])
        Payment.create([{'sale': sale.id, 'method': cash.id,
                    'amount': sale.amount_to_pay}])
        return Sale(sale.id)

    def measure(label, sales):
        timings['commission'].clear()
        durations = []
        for sale in sales:
            _, t = timed(Sale.do, [sale])
            durations.append(t)
        commission = timings['commission']
        result['checkout_%s_sales' % label] = len(sales)
        for name, values in [('do', durations), ('commission', commission)]:
            for p in [50, 95]:
                result['checkout_%s_%s_p%s_ms' % (label, name, p)] = round(
                    percentile(values, p) * 1000, 1)

    try:
        sold = [make(i) for i in range(args.checkout_sales)]
        measure('sale', sold)
        refunds = [make(i, list(s.lines)) for i, s in enumerate(sold)]
        measure('refund', refunds)
        CommissionLine = pool.get('retail.commission.line')
        result['checkout_commission_lines'] = CommissionLine.search([
                ('sale_line.sale', 'in', [s.id for s in sold + refunds]),
                ], count=True)
    finally:
        Sale.process_commission = classmethod(process_commission)


def bulk_commission(company, first_sale_id, done_sale_ids):
    "Commission lines of the lines not computed by the ORM (set-up only)"
    cursor = Transaction().connection.cursor()
    sale = Table('sale_point_sale')
    line = Table('sale_point_sale_line')
    staff = Table('retail_commission_line_staff')
    cline = Table('retail_commission_line')
    base = Round(Cast(
            line.quantity * line.unit_list_price * staff.share,
            'NUMERIC'), 2)
    query = (staff
        .join(line, condition=staff.line == line.id)
        .join(sale, condition=line.sale == sale.id)
        .select(
            Literal(company.id), staff.employee, sale.date,
            Literal('sale'),
            Concat('sale.point.sale.line,', Cast(line.id, 'VARCHAR')),
            line.id, line.product, line.quantity, staff.share,
            staff.requested, Literal(False), base,
            Round(base * Literal(Decimal('0.05')), 2),
            Literal(company.currency.id), Literal(0), Now(),
            where=(sale.id >= first_sale_id)
            & ~sale.id.in_(done_sale_ids or [-1])))
    cursor.execute(*cline.insert(
            [cline.company, cline.employee, cline.date, cline.kind,
                cline.origin, cline.sale_line, cline.product,
                cline.quantity, cline.share, cline.requested, cline.member,
                cline.base, cline.amount, cline.currency, cline.create_uid,
                cline.create_date],
            query))
    cursor.execute('ANALYZE retail_commission_line')


def main():
    activate_module(['retail_commission'])
    result = {'backend': 'postgresql', 'lines': args.lines,
        'employees': args.employees}
    extras = {}
    while True:
        # The chart's singletons lock their table: restart with the lock
        # taken first, as Tryton's dispatcher does
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
        Sale = pool.get('sale.point.sale')
        Statement = pool.get('retail.commission.statement')
        Ranking = pool.get('retail.commission.ranking')
        CommissionLine = pool.get('retail.commission.line')
        StatementExcel = pool.get(
            'retail.commission.statement.excel', type='report')
        try:
            (company, employees, products, pos), t = timed(setup_master, pool)
            result['setup_master_s'] = round(t, 2)
            with transaction.set_context(company=company.id):
                if args.checkout_sales:
                    _, t = timed(checkout, pool, company, employees,
                        products, pos, result)
                    result['checkout_s'] = round(t, 1)
                (sale_ids, n_lines, n_staff), t = timed(
                    bulk_sales, company, employees, products, pos)
                result['bulk_insert_s'] = round(t, 2)
                result['sale_lines'] = n_lines
                result['staff_rows'] = n_staff

                n_orm_sales = max(1, args.orm_lines // LINES_PER_SALE)
                orm_sales = Sale.browse(sale_ids[:n_orm_sales])
                _, t = timed(Sale.process_commission, orm_sales)
                orm_lines = n_orm_sales * LINES_PER_SALE
                result['compute_orm_lines'] = orm_lines
                result['compute_orm_s'] = round(t, 2)
                result['compute_lines_per_s'] = round(orm_lines / t, 1)
                result['compute_projected_all_s'] = round(
                    n_lines / (orm_lines / t), 1)
                # idempotence: a second pass records nothing
                before = CommissionLine.search([], count=True)
                _, t = timed(Sale.process_commission, orm_sales)
                result['recompute_noop_s'] = round(t, 2)
                assert CommissionLine.search([], count=True) == before

                _, t = timed(bulk_commission, company, min(sale_ids),
                    [s.id for s in orm_sales])
                result['bulk_commission_s'] = round(t, 2)
                result['commission_lines'] = CommissionLine.search(
                    [], count=True)

                statements, t = timed(
                    Statement.generate, company, MONTH_START, MONTH_END)
                result['statement_generate_s'] = round(t, 2)
                result['statements'] = len(statements)
                result['statement_total'] = str(sum(
                        (s.total for s in statements), Decimal(0)))
                _, t = timed(Statement.approve, statements)
                result['statement_approve_s'] = round(t, 2)

                with transaction.set_context(
                        start_date=MONTH_START, end_date=MONTH_END):
                    ranking, t = timed(Ranking.search, [])
                    _, t2 = timed(lambda: [
                            (r.employee.id, r.sales, r.commission)
                            for r in ranking])
                result['ranking_s'] = round(t + t2, 3)
                result['ranking_rows'] = len(ranking)

                (_, content, _, _), t = timed(
                    StatementExcel.execute, [statements[0].id], {})
                result['excel_one_statement_s'] = round(t, 2)
                result['excel_rows'] = CommissionLine.search(
                    [('statement', '=', statements[0].id)], count=True)
                result['excel_bytes'] = len(content)
        finally:
            transaction.rollback()


if __name__ == '__main__':
    main()
