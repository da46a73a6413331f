# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
import datetime as dt
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.company.tests import create_company, create_employee, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

MARCH = dt.date(2026, 3, 10)


class RetailCommissionTestCase(ModuleTestCase):
    "Test Retail Commission module"
    module = 'retail_commission'
    extras = ['sale_point']

    def _setup(self):
        pool = Pool()
        Party = pool.get('party.party')
        Card = pool.get('retail.member.card')
        Scheme = pool.get('retail.commission.scheme')
        Role = pool.get('retail.commission.role')
        company = create_company()
        employee = create_employee(company, "Eve")
        role = Role(name="Consultant", company=company)
        role.save()
        employee.commission_role = role
        employee.save()
        member = Party(name="Member", is_member=True, member_company=company)
        member.save()
        card = Card(number='C001', party=member, company=company)
        card.save()
        scheme = Scheme(name="Cards", company=company,
            start_date=dt.date(2026, 1, 1))
        scheme.rules = [
            {'kind': 'card_open', 'method': 'fixed',
                'amount': Decimal('15')},
            {'kind': 'topup', 'role': role.id, 'method': 'percent',
                'rate': Decimal('0.02')},
            {'kind': 'topup', 'method': 'percent', 'rate': Decimal('0.01')},
            {'kind': 'wallet_spend', 'method': 'percent',
                'rate': Decimal('0.005')},
            ]
        scheme.save()
        Scheme.approve([scheme])
        return company, employee, card, scheme

    @with_transaction()
    def test_record_api(self):
        "Card opening, top-up and stored value spent through record()"
        pool = Pool()
        Line = pool.get('retail.commission.line')
        Card = pool.get('retail.member.card')
        company, employee, card, scheme = self._setup()
        with set_company(company):
            line = Line.record(card, employee, Decimal('0'), 'card_open',
                date=MARCH)
            self.assertEqual(line.amount, Decimal('15.00'))
            self.assertEqual(line.scheme, scheme)
            # idempotent: the same origin records once
            again = Line.record(card, employee, Decimal('0'), 'card_open',
                date=MARCH)
            self.assertEqual(again, line)
            self.assertEqual(Line.search([], count=True), 1)

            topup = Line.record(card, employee, Decimal('333.33'), 'topup',
                date=MARCH)
            # the role's rule comes first: 2%
            self.assertEqual(topup.amount, Decimal('6.67'))
            spend = Line.record(card, employee, Decimal('100'),
                'wallet_spend', date=MARCH, share=Decimal('0.5'))
            self.assertEqual(
                (spend.base, spend.amount),
                (Decimal('50.00'), Decimal('0.25')))

            # before the scheme: recorded for performance, no commission
            card2 = Card(number='C002', party=card.party, company=company)
            card2.save()
            early = Line.record(card2, employee, Decimal('10'), 'topup',
                date=dt.date(2025, 12, 31))
            self.assertEqual(early.amount, Decimal('0'))
            self.assertIsNone(early.scheme)

            with self.assertRaises(UserError):
                Line.record(card, employee, Decimal('1'), 'tier')

    @with_transaction()
    def test_line_append_only(self):
        "Commission lines can be neither changed nor deleted"
        pool = Pool()
        Line = pool.get('retail.commission.line')
        company, employee, card, _ = self._setup()
        with set_company(company):
            line = Line.record(card, employee, Decimal('0'), 'card_open',
                date=MARCH)
            with self.assertRaises(AccessError):
                Line.write([line], {'amount': Decimal('1')})
            with self.assertRaises(AccessError):
                Line.delete([line])

    @with_transaction()
    def test_line_unique_in_database(self):
        "The database refuses a second line for an origin and employee"
        pool = Pool()
        Line = pool.get('retail.commission.line')
        company, employee, card, scheme = self._setup()
        with set_company(company):
            line = Line.record(card, employee, Decimal('0'), 'card_open',
                date=MARCH)
            values = {
                'company': company.id, 'employee': employee.id,
                'date': MARCH, 'kind': 'card_open', 'origin': str(card),
                'base': Decimal(0), 'amount': Decimal(15),
                'currency': company.currency.id,
                }
            with self.assertRaises(UserError):
                Line.create([values])
            self.assertEqual(line.amount, Decimal('15.00'))

    @with_transaction()
    def test_employee_other_company(self):
        "An employee of another company is refused"
        pool = Pool()
        Line = pool.get('retail.commission.line')
        company, employee, card, _ = self._setup()
        other = create_company("Other")
        stranger = create_employee(other, "Stranger")
        with set_company(company):
            with self.assertRaises(UserError):
                Line.create([{
                            'company': company.id,
                            'employee': stranger.id,
                            'date': MARCH, 'kind': 'topup',
                            'origin': str(card),
                            'base': Decimal(0), 'amount': Decimal(0),
                            'currency': company.currency.id,
                            }])

    @with_transaction()
    def test_scheme_versions(self):
        "Versions: same start refused, end date from the next version"
        pool = Pool()
        Scheme = pool.get('retail.commission.scheme')
        company, employee, card, scheme = self._setup()
        with set_company(company):
            with self.assertRaises(AccessError):
                Scheme.write([scheme], {'name': "Changed"})
            with self.assertRaises(AccessError):
                Scheme.delete([scheme])
            same, = Scheme.copy([scheme])
            with self.assertRaises(ValidationError):
                Scheme.approve([same])
            Scheme.write([same], {'start_date': dt.date(2026, 2, 1)})
            Scheme.approve([same])
            self.assertEqual(scheme.end_date, dt.date(2026, 1, 31))
            self.assertEqual(
                Scheme.in_force(company, dt.date(2026, 1, 31)), scheme)
            self.assertEqual(
                Scheme.in_force(company, dt.date(2026, 2, 1)), same)
            self.assertIsNone(
                Scheme.in_force(company, dt.date(2025, 12, 31)))
            empty = Scheme(name="Empty", company=company,
                start_date=dt.date(2026, 5, 1))
            empty.save()
            with self.assertRaises(ValidationError):
                Scheme.approve([empty])

    @with_transaction()
    def test_tier_amount(self):
        "Tiered rates: whole amount and progressive"
        pool = Pool()
        Scheme = pool.get('retail.commission.scheme')
        Tier = pool.get('retail.commission.scheme.tier')
        scheme = Scheme(tier_mode='whole', tiers=[
                Tier(threshold=Decimal(10000), rate=Decimal('0.03')),
                Tier(threshold=Decimal(0), rate=Decimal('0.01')),
                Tier(threshold=Decimal(20000), rate=Decimal('0.05')),
                ])
        self.assertEqual(
            scheme.tier_amount(Decimal(5000)),
            (Decimal('0.01'), Decimal('50.00')))
        self.assertEqual(
            scheme.tier_amount(Decimal(15000)),
            (Decimal('0.03'), Decimal('450.00')))
        self.assertEqual(
            scheme.tier_amount(Decimal(-100)), (Decimal(0), Decimal(0)))
        scheme.tier_mode = 'progressive'
        # 10000 * 1% + 10000 * 3% + 5000 * 5%
        self.assertEqual(
            scheme.tier_amount(Decimal(25000))[1], Decimal('650.00'))
        self.assertEqual(
            scheme.tier_amount(Decimal(15000))[1], Decimal('250.00'))

    @with_transaction()
    def test_card_opening(self):
        "The employee who opens a card earns once, a replacement nothing"
        pool = Pool()
        Line = pool.get('retail.commission.line')
        Card = pool.get('retail.member.card')
        company, employee, card, scheme = self._setup()
        with set_company(company):
            self.assertEqual(Line.search([], count=True), 0)
            opened = Card(number='C010', party=card.party, company=company,
                opened_by=employee, issue_date=MARCH)
            opened.save()
            line, = Line.search([])
            self.assertEqual(
                (line.kind, line.amount, line.origin, line.employee),
                ('card_open', Decimal('15.00'), opened, employee))
            replacement = Card(number='C011', party=card.party,
                company=company, opened_by=employee, issue_date=MARCH,
                replacement_of=opened)
            replacement.save()
            self.assertEqual(Line.search([], count=True), 1)

    @with_transaction()
    def test_staff_see_own_commission(self):
        "Cashiers and staff read their own lines; managers every line"
        pool = Pool()
        Line = pool.get('retail.commission.line')
        Statement = pool.get('retail.commission.statement')
        Ranking = pool.get('retail.commission.ranking')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        company, eve, card, scheme = self._setup()
        adam = create_employee(company, "Adam")

        def group(module, name):
            return ModelData.get_id(module, name)

        def make_user(login, employee, groups):
            user = User(login=login, name=login, companies=[company],
                company=company, employees=[employee] if employee else [],
                employee=employee, groups=groups)
            user.save()
            return user

        cashier = make_user('cashier', eve,
            [group('retail_member', 'group_retail_cashier')])
        staff = make_user('staff', adam,
            [group('retail_commission', 'group_commission_staff')])
        manager = make_user('manager', None,
            [group('retail_member', 'group_retail_manager')])
        with set_company(company):
            Line.record(card, eve, Decimal(100), 'topup', date=MARCH)
            Line.record(card, adam, Decimal(200), 'topup', date=MARCH)
            statements = Statement.generate(
                company, dt.date(2026, 3, 1), dt.date(2026, 3, 31))
            self.assertEqual(len(statements), 2)

        def visible(user):
            with Transaction().set_user(user.id), \
                    Transaction().set_context(
                        company=company.id, _check_access=True,
                        start_date=dt.date(2026, 3, 1),
                        end_date=dt.date(2026, 3, 31)):
                return (
                    sorted(ln.employee.rec_name for ln in Line.search([])),
                    sorted(s.employee.rec_name
                        for s in Statement.search([])),
                    sorted(r.employee.rec_name for r in Ranking.search([])),
                    )

        self.assertEqual(visible(cashier), (['Eve'], ['Eve'], ['Eve']))
        self.assertEqual(visible(staff), (['Adam'], ['Adam'], ['Adam']))
        self.assertEqual(visible(manager),
            (['Adam', 'Eve'], ['Adam', 'Eve'], ['Adam', 'Eve']))
        # reading another employee's line by id is refused too
        adam_line, = Line.search([('employee', '=', adam.id)])
        with Transaction().set_user(cashier.id), \
                Transaction().set_context(
                    company=company.id, _check_access=True):
            with self.assertRaises(AccessError):
                Line.read([adam_line.id], ['amount'])


del ModuleTestCase
