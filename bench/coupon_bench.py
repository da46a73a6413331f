#!/usr/bin/env python3
"""Benchmark of retail_coupon on PostgreSQL; prints a JSON report.

  .venv/bin/python bench/coupon_bench.py [--members 10000] [--sales 200]
                                         [--keep]

- quote: ``sale.point.sale.retail_quote`` of a 5-line cart for a Gold member
  with a coupon, 4 automatic promotions active (满减 with steps, category
  percent, member day, tier discount) and 20 inactive ones (other dates);
- checkout: N POS sales, each in its own committed transaction as the
  checkout does it: create the sale with 5 lines and a coupon, price it
  (``apply_retail_promotions``), pay cash, ``do`` (coupon used under lock,
  threshold coupon issued); the same without member/coupon for comparison;
- issue: a batch campaign to every member (one coupon each: a coupon number
  and a member coupon per member);
- summary: ``member_summary`` of a member holding 200 coupons among all;
- birthday: the birthday task over all members.

The database (default bench_coupon) is created from scratch with
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
parser.add_argument('--members', type=int, default=10000)
parser.add_argument('--sales', type=int, default=200)
parser.add_argument('--quotes', type=int, default=200)
parser.add_argument('--database', default='bench_coupon')
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


def stats(values):
    values = sorted(values)
    return {
        'n': len(values),
        'p50_ms': round(statistics.median(values) * 1000, 1),
        'p95_ms': round(values[int(len(values) * 0.95) - 1] * 1000, 1),
        'max_ms': round(values[-1] * 1000, 1),
        }


def main():
    report = {'backend': 'postgresql', 'members': args.members,
        'sales': args.sales}
    drop_database()
    start = time.monotonic()
    activate_module(['retail_coupon'])
    report['setup_s'] = round(time.monotonic() - start, 1)

    from trytond.modules.account.tests import create_chart
    from trytond.modules.company.tests import create_company, set_company
    from trytond.pool import Pool
    from trytond.transaction import Transaction, TransactionError

    pool = Pool(args.database)
    context = {}

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

    today = dt.date.today()

    def setup():
        company = create_company()
        with set_company(company):
            create_chart(company)
            Account = pool.get('account.account')
            Category = pool.get('product.category')
            Journal = pool.get('account.journal')
            Location = pool.get('stock.location')
            Method = pool.get('sale.point.payment.method')
            Party = pool.get('party.party')
            Point = pool.get('sale.point')
            Product = pool.get('product.product')
            Promotion = pool.get('sale.promotion')
            Sequence = pool.get('ir.sequence.strict')
            SequenceType = pool.get('ir.sequence.type')
            Step = pool.get('sale.promotion.step')
            Template = pool.get('product.template')
            Tier = pool.get('retail.member.tier')
            CouponTemplate = pool.get('sale.promotion.coupon')
            Campaign = pool.get('retail.coupon.campaign')
            Uom = pool.get('product.uom')
            revenue, = Account.search([
                    ('type.revenue', '=', True), ('closed', '=', False)],
                limit=1)
            cash_account, = Account.search([('code', '=', '1.1.1')])
            accounting = Category(name="Accounting", accounting=True,
                account_revenue=revenue)
            accounting.save()
            clothing = Category(name="Clothing")
            cosmetics = Category(name="Cosmetics")
            Category.save([clothing, cosmetics])
            unit, = Uom.search([('name', '=', 'Unit')])
            templates = Template.create([{
                        'name': f'Product {i}', 'default_uom': unit.id,
                        'sale_uom': unit.id, 'type': 'goods',
                        'salable': True, 'list_price': Decimal(100 + i),
                        'account_category': accounting.id,
                        'categories': [('add', [
                                    (clothing if i % 2 else cosmetics).id])],
                        } for i in range(5)])
            for template in templates:
                template.gross_price = template.list_price
            Template.save(templates)
            products = Product.create([
                    {'template': t.id} for t in templates])
            journal = Journal(name="Revenue", type='revenue')
            journal.save()
            sequence_type, = SequenceType.search([('name', '=', "POS")])
            sequence = Sequence(name="POS", sequence_type=sequence_type,
                company=company)
            sequence.save()
            point = Point(name="POS", journal=journal, sequence=sequence,
                storage_location=Location.search([('code', '=', 'STO')])[0],
                customer_location=Location.search([('code', '=', 'CUS')])[0])
            point.save()
            cash = Method(name="Cash", cash=True, account=cash_account)
            cash.save()
            gold = Tier(name="Gold", code='G', rank=1,
                discount=Decimal('0.05'))
            gold.save()
            promotions = [
                Promotion(name="Spend", retail_kind='spend',
                    categories=[clothing], retail_steps=[
                        Step(threshold=Decimal(300), discount=Decimal(30)),
                        Step(threshold=Decimal(500), discount=Decimal(60))]),
                Promotion(name="Cosmetics", categories=[cosmetics],
                    formula='unit_price * 0.9'),
                Promotion(name="Member day", categories=[cosmetics],
                    formula='unit_price * 0.8', retail_members_only=True,
                    retail_month_day=today.day),
                Promotion(name="Tier", retail_kind='tier',
                    formula='unit_price * (1 - tier_discount)'),
                ]
            for i in range(20):
                promotions.append(Promotion(
                        name=f"Old {i}", formula='unit_price * 0.5',
                        start_date=dt.date(2020, 1, 1),
                        end_date=dt.date(2020, 12, 31)))
            Promotion.save(promotions)
            coupon_promotion = Promotion(
                name="20 off 100", retail_kind='spend',
                retail_steps=[Step(
                        threshold=Decimal(100), discount=Decimal(20))])
            coupon_promotion.save()
            template = CouponTemplate(promotion=coupon_promotion,
                number_of_use=1, retail_valid_days=30)
            template.save()
            Campaign.create([{
                        'name': "Spend 400", 'kind': 'spend',
                        'template': template.id, 'threshold': Decimal(400),
                        }, {
                        'name': "Birthday", 'kind': 'birthday',
                        'template': template.id,
                        }])
            batch, = Campaign.create([{
                        'name': "Everybody", 'kind': 'batch',
                        'template': template.id}])
            members = []
            for start in range(0, args.members, 1000):
                members += Party.create([{
                            'name': f'Member {i}', 'is_member': True,
                            'member_company': company.id,
                            'member_tier': gold.id,
                            'birth_date': (
                                dt.date(1990, today.month, 1)
                                + dt.timedelta(days=i % 28)),
                            } for i in range(
                                start, min(start + 1000, args.members))])
            return (company.id, point.id, cash.id, template.id, batch.id,
                [m.id for m in members], [p.id for p in products])

    (company_id, point_id, cash_id, template_id, batch_id, member_ids,
        product_ids) = run(setup)
    context = {'company': company_id, 'language': 'en'}

    # Issue: one batch to every member
    def issue():
        Campaign = pool.get('retail.coupon.campaign')
        campaign = Campaign(batch_id)
        Campaign.issue_batch([campaign])
        return campaign.last_count
    start = time.monotonic()
    count = run(issue)
    elapsed = time.monotonic() - start
    report['issue_batch'] = {
        'coupons': count, 's': round(elapsed, 2),
        'per_s': round(count / elapsed, 1)}

    # A member with 200 coupons, for the summary
    def give_many():
        Coupon = pool.get('retail.coupon')
        Party = pool.get('party.party')
        Template = pool.get('sale.promotion.coupon')
        return [c.id for c in Coupon.issue(
                Template(template_id), [Party(member_ids[0])], quantity=199)]
    run(give_many)

    def summary():
        Coupon = pool.get('retail.coupon')
        return len(Coupon.member_summary(member_ids[0]))
    times = []
    for _ in range(50):
        start = time.monotonic()
        n = run(summary)
        times.append(time.monotonic() - start)
    report['member_summary_200'] = dict(stats(times), coupons=n)

    lines = [{'product_id': p, 'quantity': 2} for p in product_ids]

    # Quote
    def coupon_code(i):
        Coupon = pool.get('retail.coupon')
        coupon, = Coupon.search([
                ('member', '=', member_ids[i]),
                ('state', '=', 'available')], limit=1)
        return coupon.code

    def quote(i):
        Sale = pool.get('sale.point.sale')
        return Sale.retail_quote(
            point_id, member_ids[i], lines, [coupon_code(i)])
    times = []
    for i in range(1, args.quotes + 1):
        start = time.monotonic()
        result = run(quote, i % len(member_ids))
        times.append(time.monotonic() - start)
    report['quote_5_lines_coupon'] = dict(stats(times),
        total=str(result['total']),
        adjustments=len(result['adjustments']))

    # Checkout: create, price, pay, do
    def checkout(i, with_member):
        Sale = pool.get('sale.point.sale')
        Line = pool.get('sale.point.sale.line')
        Payment = pool.get('sale.point.payment')
        Coupon = pool.get('retail.coupon')
        Product = pool.get('product.product')
        member = member_ids[i] if with_member else None
        sale = Sale(point=point_id, member=member, lines=[
                Line(product=Product(p['product_id']),
                    quantity=p['quantity'], unit_list_price=Decimal(1),
                    unit_gross_price=Decimal(1)) for p in lines])
        if with_member:
            sale.coupons = Coupon.browse(Coupon.find_codes(
                    [coupon_code(i)], member, company_id))
        sale.save()
        Sale.apply_retail_promotions([sale])
        sale = Sale(sale.id)
        Payment.create([{'sale': sale.id, 'method': cash_id,
                    'amount': sale.amount_to_pay}])
        Sale.do([sale])
        return sale.id
    for with_member in [False, True]:
        times = []
        for i in range(1, args.sales + 1):
            start = time.monotonic()
            run(checkout, (i + args.quotes) % len(member_ids), with_member)
            times.append(time.monotonic() - start)
        key = 'checkout_member_coupon' if with_member else 'checkout_walk_in'
        report[key] = stats(times)

    def audit():
        Coupon = pool.get('retail.coupon')
        Use = pool.get('retail.coupon.use')
        return {
            'coupons': Coupon.search_count([]),
            'used': Coupon.search_count([('state', '=', 'used')]),
            'uses': Use.search_count([]),
            'issued_by_sales': Coupon.search_count(
                [('origin', 'like', 'sale.point.sale,%')]),
            }
    report['audit'] = run(audit)

    # Birthday task over every member (1/28 of them have a birthday today)
    def birthdays():
        Campaign = pool.get('retail.coupon.campaign')
        return len(Campaign.issue_birthdays(
                date=dt.date(today.year, today.month, 1)))
    start = time.monotonic()
    count = run(birthdays)
    report['birthday_task'] = {
        'coupons': count, 's': round(time.monotonic() - start, 2)}

    if not args.keep:
        drop_database()
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == '__main__':
    main()
