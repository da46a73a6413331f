# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
import functools
import unittest
from decimal import Decimal

from trytond import backend
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, SQLConstraintError
from trytond.modules.account.tests import create_chart
from trytond.modules.company.tests import CompanyTestMixin, create_company, set_company
from trytond.modules.retail_coupon.coupon import normalize_code
from trytond.modules.retail_coupon.exceptions import CouponError
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, ModuleTestCase, with_transaction
from trytond.transaction import Transaction, TransactionError

WEDNESDAY = dt.date(2026, 3, 11)
THURSDAY = dt.date(2026, 3, 12)


class Fixture:
    "A company with a tax-included point of sale, categories and products"

    def __init__(self, company):
        pool = Pool()
        Journal = pool.get('account.journal')
        Location = pool.get('stock.location')
        Sequence = pool.get('ir.sequence.strict')
        SequenceType = pool.get('ir.sequence.type')
        Point = pool.get('sale.point')
        Category = pool.get('product.category')
        Uom = pool.get('product.uom')
        self.company = company
        create_chart(company)
        revenue, = pool.get('account.account').search([
                ('type.revenue', '=', True),
                ('closed', '=', False),
                ], limit=1)
        self.accounting = Category(
            name="Accounting", accounting=True, account_revenue=revenue)
        self.accounting.save()
        journal = Journal(name="Revenue", type='revenue')
        journal.save()
        sequence_type, = SequenceType.search([('name', '=', "POS")])
        sequence = Sequence(
            name="POS", sequence_type=sequence_type, company=self.company)
        sequence.save()
        storage, = Location.search([('code', '=', 'STO')])
        customer, = Location.search([('code', '=', 'CUS')])
        self.point = Point(
            name="POS", company=self.company, journal=journal,
            sequence=sequence, storage_location=storage,
            customer_location=customer, tax_included=True)
        self.point.save()
        self.clothing = Category(name="Clothing")
        self.clothing.save()
        self.cosmetics = Category(name="Cosmetics")
        self.cosmetics.save()
        self.unit, = Uom.search([('name', '=', "Unit")])
        self.shirt = self.product("Shirt", '150', self.clothing)
        self.coat = self.product("Coat", '400', self.clothing)
        self.cream = self.product("Cream", '100', self.cosmetics)

    def product(self, name, price, category):
        pool = Pool()
        Template = pool.get('product.template')
        Product = pool.get('product.product')
        template = Template(products=[Product()],
            name=name, default_uom=self.unit, sale_uom=self.unit, type='goods',
            salable=True,
            list_price=Decimal(price), categories=[category],
            account_category=self.accounting)
        template.save()
        template.gross_price = Decimal(price)
        template.save()
        return template.products[0]

    def member(self, name="Member", tier=None, **values):
        pool = Pool()
        Party = pool.get('party.party')
        party = Party(
            name=name, is_member=True, member_company=self.company,
            member_tier=tier, **values)
        party.save()
        return party

    def tier(self, name, rank, discount='0', price_list=None):
        pool = Pool()
        Tier = pool.get('retail.member.tier')
        tier = Tier(
            name=name, code=name, rank=rank, company=self.company,
            discount=Decimal(discount), price_list=price_list)
        tier.save()
        return tier

    def promotion(self, name, kind='line', formula='unit_price',
            categories=(), products=(), steps=(), **values):
        pool = Pool()
        Promotion = pool.get('sale.promotion')
        Step = pool.get('sale.promotion.step')
        promotion = Promotion(
            name=name, company=self.company, retail_kind=kind,
            formula=formula, categories=list(categories),
            products=list(products),
            retail_steps=[Step(threshold=Decimal(t), discount=Decimal(d))
                for t, d in steps],
            **values)
        promotion.save()
        return promotion

    def template(self, promotion, **values):
        pool = Pool()
        Template = pool.get('sale.promotion.coupon')
        template = Template(
            promotion=promotion, company=self.company, number_of_use=1,
            **values)
        template.save()
        return template

    def quote(self, lines, member=None, coupons=(), date=WEDNESDAY):
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        return Sale.retail_quote(
            self.point.id, member.id if member else None,
            [{'product_id': p.id, 'quantity': q} for p, q in lines],
            list(coupons), date=date)

    def sale(self, lines, member=None, date=WEDNESDAY):
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        Line = pool.get('sale.point.sale.line')
        sale = Sale(
            company=self.company, point=self.point, date=date,
            member=member,
            lines=[Line(product=p, quantity=q,
                    # the client's prices: never trusted
                    unit_list_price=Decimal(1), unit_gross_price=Decimal(1))
                for p, q in lines])
        sale.save()
        return sale


def with_fixture(func):
    "Run the test in a transaction with a Fixture of a new company"
    @functools.wraps(func)
    def wrapper(self):
        company = create_company()
        with set_company(company):
            return func(self, Fixture(company))
    return with_transaction()(wrapper)


class RetailCouponTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Retail Coupon module"
    module = 'retail_coupon'

    @property
    def _skip_company_rule(self):
        return super()._skip_company_rule | {
            ('party.party', 'member_company')}

    def test_company_multivalue_context(self):
        "Test context of company multivalue target (but for members)"
        Party = Pool(DB_NAME).get('party.party')
        fields = Party._fields
        try:
            Party._fields = {
                k: v for k, v in fields.items() if k != 'member_company'}
            super().test_company_multivalue_context()
        finally:
            Party._fields = fields

    @with_fixture
    def test_spend_steps(self, f):
        "满300减30, 满500减60: the highest step reached, spread exactly"
        f.promotion(
            "Clothing", kind='spend', categories=[f.clothing],
            steps=[('300', '30'), ('500', '60')])
        for lines, total, adjustment in [
                ([(f.shirt, 1)], Decimal('150'), None),
                ([(f.shirt, 2)], Decimal('270'), Decimal('-30')),
                ([(f.shirt, 1), (f.coat, 1)], Decimal('490'), Decimal('-60')),
                ([(f.shirt, 3), (f.cream, 1)], Decimal('520'), Decimal('-30')),
                ]:
            with self.subTest(lines=lines):
                quote = f.quote(lines)
                self.assertEqual(quote['total'], total)
                self.assertEqual(
                    sum(ln['amount'] for ln in quote['lines']), total)
                if adjustment is None:
                    self.assertEqual(quote['adjustments'], [])
                else:
                    adj, = quote['adjustments']
                    self.assertEqual(adj['amount'], adjustment)
                    self.assertIn("Clothing", adj['label'])
        # the cream is not clothing: it keeps its price and has no note
        quote = f.quote([(f.shirt, 3), (f.cream, 1)])
        cream = quote['lines'][1]
        self.assertEqual(cream['amount'], Decimal('100'))
        self.assertEqual(cream['notes'], [])
        self.assertTrue(quote['lines'][0]['notes'])

    @with_fixture
    def test_spend_spread_rounding(self, f):
        "An order discount over odd amounts still sums to the step"
        f.promotion(
            "Clothing", kind='spend', categories=[f.clothing],
            steps=[('100', '10')])
        odd = f.product("Socks", '33.33', f.clothing)
        quote = f.quote([(odd, 3), (f.shirt, 1), (odd, 7)])
        self.assertEqual(
            quote['total'], Decimal('33.33') * 10 + Decimal('150') - 10)
        self.assertEqual(
            sum(ln['amount'] for ln in quote['lines']), quote['total'])

    @with_fixture
    def test_discounts_read_minus_first_in_chinese(self, f):
        "A discount note in Chinese reads -¥30.00, never ¥30.00-"
        f.promotion(
            "Clothing", kind='spend', categories=[f.clothing],
            steps=[('300', '30')])
        symbol = f.company.currency.symbol
        with Transaction().set_context(language='zh_CN'):
            result = f.quote([(f.shirt, 2)])
        note = ' '.join(result['lines'][0]['notes'])
        self.assertIn(f'-{symbol}', note)
        self.assertNotIn('00-', note)

    @with_fixture
    def test_category_percent_best_price(self, f):
        "Line promotions: Tryton's formula, the lowest price wins"
        f.promotion(
            "Cosmetics 10%", categories=[f.cosmetics],
            formula='unit_price * 0.9')
        best = f.promotion(
            "Cosmetics 20%", categories=[f.cosmetics],
            formula='unit_price * 0.8')
        quote = f.quote([(f.cream, 2), (f.shirt, 1)])
        cream, shirt = quote['lines']
        self.assertEqual(cream['unit_price'], Decimal('80'))
        self.assertEqual(cream['promotion_id'], best.id)
        self.assertEqual(cream['discount'], Decimal('40'))
        self.assertIn("Cosmetics 20%", cream['notes'][0])
        self.assertEqual(shirt['unit_price'], Decimal('150'))
        self.assertEqual(quote['total'], Decimal('310'))

    @with_fixture
    def test_member_day(self, f):
        "A member-day promotion applies to members on its day only"
        f.promotion(
            "Member Day", categories=[f.cosmetics],
            formula='unit_price * 0.8', retail_members_only=True,
            retail_weekdays=['2'])
        member = f.member()
        for date, who, price in [
                (WEDNESDAY, member, Decimal('80')),
                (THURSDAY, member, Decimal('100')),
                (WEDNESDAY, None, Decimal('100')),
                ]:
            with self.subTest(date=date, member=who):
                quote = f.quote([(f.cream, 1)], member=who, date=date)
                self.assertEqual(quote['lines'][0]['unit_price'], price)
        month_day = f.promotion(
            "8th", formula='unit_price - 5', retail_month_day=12,
            products=[f.shirt])
        quote = f.quote([(f.shirt, 1)], date=THURSDAY)
        self.assertEqual(quote['lines'][0]['promotion_id'], month_day.id)

    @with_fixture
    def test_tier_discount_and_price_list(self, f):
        "Member price list, then the tier discount unless excluded"
        pool = Pool()
        PriceList = pool.get('product.price_list')
        price_list = PriceList(
            name="Members", company=f.company, price='list_price',
            tax_included=True)
        price_list.save()
        PriceListLine = pool.get('product.price_list.line')
        PriceListLine.create([
                {'price_list': price_list.id, 'product': f.coat.id,
                    'formula': 'unit_price - 50'},
                {'price_list': price_list.id, 'formula': 'unit_price'},
                ])
        gold = f.tier("Gold", 1, discount='0.1', price_list=price_list)
        member = f.member(tier=gold)
        f.promotion(
            "Tier discount", kind='tier',
            formula='unit_price * (1 - tier_discount)',
            retail_members_only=True)
        f.promotion(
            "Cream sale", categories=[f.cosmetics], formula='unit_price - 10',
            retail_no_tier_discount=True)
        quote = f.quote(
            [(f.coat, 1), (f.shirt, 1), (f.cream, 1)], member=member)
        coat, shirt, cream = quote['lines']
        self.assertEqual(coat['base_unit_price'], Decimal('350'))
        self.assertEqual(coat['unit_price'], Decimal('315'))
        self.assertEqual(len(coat['notes']), 2)
        self.assertEqual(shirt['unit_price'], Decimal('135'))
        # promoted line: no tier discount on top
        self.assertEqual(cream['unit_price'], Decimal('90'))
        # without member: list prices
        quote = f.quote([(f.coat, 1)])
        self.assertEqual(quote['lines'][0]['unit_price'], Decimal('400'))

    @with_fixture
    def test_coupons(self, f):
        "Issue, resolve codes, errors, stacking, minimum spend"
        pool = Pool()
        Coupon = pool.get('retail.coupon')
        fixed = f.promotion(
            "20 off 100", kind='spend', steps=[('100', '20')])
        percent = f.promotion(
            "Cosmetics 9折", categories=[f.cosmetics],
            formula='unit_price * 0.9')
        fixed_t = f.template(fixed, retail_valid_days=30)
        percent_t = f.template(percent, retail_stackable=True)
        member = f.member()
        other = f.member("Other")
        coupon, = Coupon.issue(fixed_t, [member], date=WEDNESDAY)
        self.assertEqual(coupon.valid_until, WEDNESDAY + dt.timedelta(29))
        self.assertEqual(coupon.number.number, coupon.code)
        self.assertEqual(
            normalize_code(' hyc:' + coupon.code.lower()), coupon.code)
        percent_c, = Coupon.issue(percent_t, [member], date=WEDNESDAY)

        quote = f.quote(
            [(f.shirt, 1)], member=member, coupons=[coupon.qr_payload])
        self.assertEqual(quote['total'], Decimal('130'))
        self.assertEqual(quote['coupons'][0]['amount'], Decimal('20'))
        self.assertEqual(len(quote['adjustments']), 1)

        for codes, who, lines, message in [
                (['NOPE'], member, [(f.shirt, 1)], 'msg_coupon_unknown'),
                ([coupon.code], other, [(f.shirt, 1)],
                    'msg_coupon_other_member'),
                ([coupon.code], None, [(f.shirt, 1)], 'msg_coupon_no_member'),
                ([coupon.code, coupon.code], member, [(f.shirt, 1)],
                    'msg_coupon_duplicate'),
                ([coupon.code], member, [(f.cream, 0.5)],
                    'msg_coupon_min_spend'),
                ([coupon.code, percent_c.code], member,
                    [(f.shirt, 1), (f.cream, 1)],
                    'msg_coupon_not_stackable'),
                ([percent_c.code], member, [(f.shirt, 1)],
                    'msg_coupon_not_applicable'),
                ]:
            with self.subTest(message=message):
                with self.assertRaises(CouponError) as cm:
                    f.quote(lines, member=who, coupons=codes)
                self.assertIn(
                    cm.exception.message,
                    self._message(message, cm.exception.message))
        with self.assertRaises(CouponError):
            f.quote([(f.shirt, 1)], member=member, coupons=[coupon.code],
                date=WEDNESDAY + dt.timedelta(30))

    @with_fixture
    def test_free_product_and_percent_coupons(self, f):
        "Two stackable coupons: a free cream, then 10% off the clothing"
        pool = Pool()
        Coupon = pool.get('retail.coupon')
        free = f.promotion(
            "Free cream", kind='free', products=[f.cream],
            retail_free_quantity=1)
        percent = f.promotion(
            "Clothing 9折", categories=[f.clothing],
            formula='unit_price * 0.9')
        member = f.member()
        free_c, = Coupon.issue(
            f.template(free, retail_stackable=True), [member],
            date=WEDNESDAY)
        percent_c, = Coupon.issue(
            f.template(percent, retail_stackable=True), [member],
            date=WEDNESDAY)
        quote = f.quote(
            [(f.cream, 2), (f.shirt, 1)], member=member,
            coupons=[percent_c.code, free_c.code])
        cream, shirt = quote['lines']
        self.assertEqual(cream['amount'], Decimal('100'))
        self.assertEqual(shirt['amount'], Decimal('135'))
        self.assertEqual(quote['total'], Decimal('235'))
        self.assertEqual(
            [a['amount'] for a in quote['adjustments']],
            [Decimal('-100'), Decimal('-15')])
        self.assertEqual(
            {c['code']: c['amount'] for c in quote['coupons']},
            {free_c.code: Decimal('100'), percent_c.code: Decimal('15')})
        # without the cream in the cart the free coupon does not apply
        with self.assertRaises(CouponError):
            f.quote([(f.shirt, 1)], member=member, coupons=[free_c.code])

    def _message(self, msg_id, text):
        "The text if it comes from the message msg_id (its fixed prefix)"
        pool = Pool()
        Message = pool.get('ir.message')
        template = Message.gettext('retail_coupon', msg_id, 'en')
        prefix = template.split('%(')[0]
        return text if text.startswith(prefix) else ''

    @with_fixture
    def test_one_use_enforced_by_database(self, f):
        "A second use of a coupon is refused by the database itself"
        pool = Pool()
        Coupon = pool.get('retail.coupon')
        Use = pool.get('retail.coupon.use')
        promotion = f.promotion("20 off", kind='spend', steps=[('100', '20')])
        member = f.member()
        coupon, = Coupon.issue(f.template(promotion), [member], date=WEDNESDAY)
        first = f.sale([(f.shirt, 1)], member=member)
        second = f.sale([(f.shirt, 1)], member=member)
        Coupon.use([coupon], first)
        Coupon.use([coupon], first)  # reopened sale: nothing twice
        self.assertEqual(len(Use.search([('coupon', '=', coupon.id)])), 1)
        with self.assertRaises(CouponError):
            Coupon.use([coupon], second)
        self.assertEqual(Coupon(coupon.id).state, 'used')
        # a use cannot be deleted nor changed but to returned
        use, = Use.search([('coupon', '=', coupon.id)])
        with self.assertRaises(AccessError):
            Use.delete([use])
        with self.assertRaises(AccessError):
            Use.write([use], {'sale': second.id})
        with self.assertRaises(AccessError):
            Coupon.delete([coupon])
        # bypass every check of the code: the database itself refuses
        table = Use.__table__()
        cursor = Transaction().connection.cursor()
        with self.assertRaises(backend.DatabaseIntegrityError):
            cursor.execute(*table.insert(
                    [table.coupon, table.sale, table.state,
                        table.used_coupon],
                    [[coupon.id, second.id, 'used', coupon.id]]))

    @unittest.skipUnless(backend.name == 'postgresql',
        "rows are locked in place on PostgreSQL only")
    @with_fixture
    def test_lock_does_not_restart_the_sale(self, f):
        "A coupon locked in a running sale waits in place: no restart"
        pool = Pool()
        Coupon = pool.get('retail.coupon')
        promotion = f.promotion("20 off", kind='spend', steps=[('100', '20')])
        coupon, = Coupon.issue(
            f.template(promotion), [f.member()], date=WEDNESDAY)
        # as a coupon issued before the sale's transaction (Tryton locks
        # nothing it created itself)
        Transaction().create_records['retail.coupon'].clear()
        try:
            Coupon.lock([coupon])
        except TransactionError:
            self.fail("the sale would be started again")

    @with_fixture
    def test_second_use_by_orm(self, f):
        "Creating a second use row, even as root, is a constraint error"
        pool = Pool()
        Coupon = pool.get('retail.coupon')
        Use = pool.get('retail.coupon.use')
        promotion = f.promotion("20 off", kind='spend', steps=[('100', '20')])
        member = f.member()
        coupon, = Coupon.issue(f.template(promotion), [member], date=WEDNESDAY)
        first = f.sale([(f.shirt, 1)], member=member)
        second = f.sale([(f.shirt, 1)], member=member)
        Coupon.use([coupon], first)
        # a returned use frees the coupon; then it may be used again
        use, = Use.search([('coupon', '=', coupon.id)])
        Use.write([use], {'state': 'returned'})
        self.assertIsNone(use.used_coupon)
        Use.create([{'coupon': coupon.id, 'sale': second.id}])
        with self.assertRaises(SQLConstraintError):
            Use.create([{'coupon': coupon.id, 'sale': first.id}])

    @with_fixture
    def test_apply_ignores_client_prices(self, f):
        "apply_retail_promotions writes the server's prices on the lines"
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        f.promotion(
            "Clothing", kind='spend', categories=[f.clothing],
            steps=[('300', '30')])
        sale = f.sale([(f.shirt, 2), (f.cream, 1)])
        result, = Sale.apply_retail_promotions([sale.id])
        sale = Sale(sale.id)
        self.assertEqual(sale.total, Decimal('370'))
        self.assertEqual(result['total'], Decimal('370'))
        shirt = sale.lines[0]
        self.assertEqual(shirt.base_unit_price, Decimal('150'))
        self.assertEqual(shirt.unit_price, Decimal('135'))
        self.assertIn("Clothing", shirt.promotion_notes)
        self.assertIn("Clothing", sale.promotion_adjustments)
        self.assertEqual(
            sale.get_retail_adjustments()[0][1], Decimal('-30'))

    @with_fixture
    def test_done_prices_again_what_changed(self, f):
        """A sale priced earlier in the transaction is priced again when
        done if its lines or member changed since"""
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        Line = pool.get('sale.point.sale.line')
        Payment = pool.get('sale.point.payment')
        Method = pool.get('sale.point.payment.method')
        Account = pool.get('account.account')
        cash = Method(name="Cash", company=f.company, cash=True,
            account=Account.search([('type.statement', '=', 'balance'),
                    ('closed', '=', False)], limit=1)[0])
        cash.save()

        def do(sale, paid):
            "Pay what the sale will cost when done, then do it"
            Payment(sale=sale, method=cash, amount=Decimal(paid)).save()
            Sale.do([Sale(sale.id)])
            return Sale(sale.id)
        f.promotion(
            "Clothing", kind='spend', categories=[f.clothing],
            steps=[('300', '30')])
        f.promotion("Tier", kind='tier',
            formula='unit_price * (1 - tier_discount)',
            retail_members_only=True)
        gold = f.tier("Gold", 1, discount='0.1')
        member = f.member(tier=gold)

        sale = f.sale([(f.shirt, 2), (f.cream, 1)])
        Sale.apply_retail_promotions([sale.id])
        self.assertEqual(Sale(sale.id).total, Decimal('370'))
        shirt = Sale(sale.id).lines[0]
        # below the spend's threshold now
        Line.write([shirt], {'quantity': 1})
        sale = do(sale, '250')
        self.assertEqual(sale.state, 'done')
        self.assertEqual(sale.lines[0].unit_price, Decimal('150'))
        self.assertEqual(sale.total, Decimal('250'))
        self.assertIsNone(sale.promotion_adjustments)

        other = f.sale([(f.cream, 1)])
        Sale.apply_retail_promotions([other.id])
        self.assertEqual(Sale(other.id).total, Decimal('100'))
        Sale.write([Sale(other.id)], {'member': member.id})
        other = do(other, '90')
        self.assertEqual(other.lines[0].unit_price, Decimal('90'))
        self.assertEqual(other.total, Decimal('90'))

        # unchanged: done keeps the pricing (and its notes)
        third = f.sale([(f.coat, 1)], member=member)
        Sale.apply_retail_promotions([third.id])
        third = do(third, '330')
        self.assertEqual(third.lines[0].unit_price, Decimal('330'))
        self.assertIn("Clothing", third.promotion_adjustments)

        # the member's tier changed
        Party = pool.get('party.party')
        fourth = f.sale([(f.cream, 1)], member=member)
        Sale.apply_retail_promotions([fourth.id])
        self.assertEqual(Sale(fourth.id).total, Decimal('90'))
        Party.write([member], {'member_tier': f.tier("Diamond", 2, '0.2').id})
        fourth = do(fourth, '80')
        self.assertEqual(fourth.total, Decimal('80'))

    @with_fixture
    def test_promotion_lines_follow_changes(self, f):
        """What a promotion applies to is kept across requests: a change of
        its products or categories is priced at once"""
        pool = Pool()
        Promotion = pool.get('sale.promotion')
        PromotionCategory = pool.get('sale.promotion-product.category')
        promotion = f.promotion(
            "Half price", formula='unit_price * 0.5',
            categories=[f.cosmetics])
        cart = [(f.shirt, 1), (f.cream, 1)]
        self.assertEqual(f.quote(cart)['total'], Decimal('200'))
        Promotion.write([promotion], {
                'categories': [('add', [f.clothing.id])]})
        self.assertEqual(f.quote(cart)['total'], Decimal('125'))
        # the relation written on its own
        link, = PromotionCategory.search([
                ('promotion', '=', promotion.id),
                ('category', '=', f.cosmetics.id)])
        PromotionCategory.delete([link])
        self.assertEqual(f.quote(cart)['total'], Decimal('175'))
        Promotion.write([promotion], {
                'categories': [('remove', [f.clothing.id])],
                'products': [('add', [f.cream.id])]})
        self.assertEqual(f.quote(cart)['total'], Decimal('200'))
        # counted in kilograms: no line sold by the unit is promoted
        kilogram, = pool.get('product.uom').search([('symbol', '=', 'kg')])
        Promotion.write([promotion], {'unit': kilogram.id})
        self.assertEqual(f.quote(cart)['total'], Decimal('250'))

    @with_fixture
    def test_promotion_conditions_follow_changes(self, f):
        """A promotion's steps, tiers, member days, coupons and description
        are kept across requests: each change is priced at once"""
        pool = Pool()
        Promotion = pool.get('sale.promotion')
        Step = pool.get('sale.promotion.step')
        promotion = f.promotion(
            "Spend", kind='spend', steps=[('200', '20')])
        gold, silver = f.tier("Gold", 1), f.tier("Silver", 2)
        gilded = f.member("Gilded", tier=gold)
        silvered = f.member("Silvered", tier=silver)
        cart = [(f.shirt, 1), (f.cream, 1)]
        self.assertEqual(f.quote(cart)['total'], Decimal('230'))
        # the step written on its own
        step, = promotion.retail_steps
        Step.write([step], {'threshold': Decimal('300')})
        self.assertEqual(f.quote(cart)['total'], Decimal('250'))
        Step.write([step], {'threshold': Decimal('250')})
        self.assertEqual(f.quote(cart)['total'], Decimal('230'))
        Promotion.write([promotion], {'retail_tiers': [('add', [gold.id])]})
        self.assertEqual(f.quote(cart)['total'], Decimal('250'))
        self.assertEqual(f.quote(cart, silvered)['total'], Decimal('250'))
        self.assertEqual(f.quote(cart, gilded)['total'], Decimal('230'))
        # the quotes are on a Wednesday (week day 2)
        Promotion.write([promotion], {'retail_weekdays': ['0']})
        self.assertEqual(f.quote(cart, gilded)['total'], Decimal('250'))
        Promotion.write([promotion], {'retail_weekdays': ['0', '2']})
        self.assertEqual(f.quote(cart, gilded)['total'], Decimal('230'))
        Promotion.write([promotion], {
                'retail_description': "Member Wednesday"})
        adjustment, = f.quote(cart, gilded)['adjustments']
        self.assertIn("Member Wednesday", adjustment['label'])
        # a tier deactivated: its members no longer qualify
        Tier = pool.get('retail.member.tier')
        Tier.write([gold], {'active': False})
        self.assertEqual(f.quote(cart, gilded)['total'], Decimal('250'))
        Tier.write([gold], {'active': True})
        self.assertEqual(f.quote(cart, gilded)['total'], Decimal('230'))
        # a coupon template makes it a coupon's promotion, never automatic
        f.template(promotion)
        self.assertEqual(f.quote(cart, gilded)['total'], Decimal('250'))

    @with_fixture
    def test_issue_idempotent_and_limit(self, f):
        "An issue key issues once; the per-member limit is kept"
        pool = Pool()
        Coupon = pool.get('retail.coupon')
        promotion = f.promotion("5 off", kind='spend', steps=[('50', '5')])
        template = f.template(promotion, retail_per_member_limit=2)
        member = f.member()
        first = Coupon.issue(template, [member], key='k')
        again = Coupon.issue(template, [member], key='k')
        self.assertEqual(first, again)
        Coupon.issue(template, [member])
        self.assertEqual(Coupon.issue(template, [member]), [])
        self.assertEqual(
            Coupon.search_count([('member', '=', member.id)]), 2)
        Coupon.revoke(first)
        self.assertEqual(len(Coupon.issue(template, [member])), 1)

    @with_fixture
    def test_campaigns(self, f):
        "New member, birthday (once a year) and batch to a segment"
        pool = Pool()
        Campaign = pool.get('retail.coupon.campaign')
        Coupon = pool.get('retail.coupon')
        Category = pool.get('party.category')
        promotion = f.promotion("5 off", kind='spend', steps=[('50', '5')])
        template = f.template(promotion, retail_valid_days=7)
        Campaign.create([
                {'name': "Welcome", 'kind': 'new_member',
                    'template': template.id, 'company': f.company.id},
                {'name': "Birthday", 'kind': 'birthday',
                    'template': template.id, 'company': f.company.id},
                ])
        newcomer = f.member("New")
        self.assertEqual(
            [c.campaign.name for c in Coupon.search(
                    [('member', '=', newcomer.id)])], ["Welcome"])
        born = f.member("Born", birth_date=dt.date(1990, 3, 11))
        f.member("Other", birth_date=dt.date(1990, 3, 12))
        issued = Campaign.issue_birthdays(date=WEDNESDAY)
        self.assertEqual([c.member for c in issued], [born])
        self.assertEqual(Campaign.issue_birthdays(date=WEDNESDAY), issued)
        leap = f.member("Leap", birth_date=dt.date(1992, 2, 29))
        self.assertEqual(
            [c.member for c in Campaign.issue_birthdays(
                    date=dt.date(2027, 2, 28))], [leap])

        gold = f.tier("Gold", 1)
        vip = Category(name="VIP")
        vip.save()
        target = f.member("Target", tier=gold, categories=[vip])
        f.member("Gold only", tier=gold)
        batch, = Campaign.create([{
                    'name': "Gold VIP", 'kind': 'batch',
                    'template': template.id, 'company': f.company.id,
                    'tiers': [('add', [gold.id])],
                    'tags': [('add', [vip.id])]}])
        Campaign.issue_batch([batch])
        self.assertEqual(batch.last_count, 1)
        self.assertEqual([c.member for c in batch.coupons], [target])

    @with_fixture
    def test_member_summary(self, f):
        "The member's available coupons, valid today"
        pool = Pool()
        Coupon = pool.get('retail.coupon')
        promotion = f.promotion("5 off", kind='spend', steps=[('50', '5')])
        template = f.template(promotion, retail_name="5元券")
        member = f.member()
        kept, revoked = Coupon.issue(template, [member], quantity=2)
        Coupon.revoke([revoked])
        summary = Coupon.member_summary(member.id)
        self.assertEqual(
            [(s['id'], s['code'], s['name']) for s in summary],
            [(kept.id, kept.code, "5元券")])

    @with_fixture
    def test_promotion_checks(self, f):
        "A spend promotion without steps, a free one without product"
        with self.assertRaises(UserError):
            f.promotion("No step", kind='spend')
        with self.assertRaises(UserError):
            f.promotion("No gift", kind='free', retail_free_quantity=1)


del ModuleTestCase
