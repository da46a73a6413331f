# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
import functools
from decimal import Decimal

from trytond import backend
from trytond.model.exceptions import AccessError
from trytond.modules.account.tests import create_chart, get_fiscalyear
from trytond.modules.company.tests import CompanyTestMixin, create_company, set_company
from trytond.modules.retail_count_card.exceptions import CountCardError
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, ModuleTestCase, with_transaction
from trytond.transaction import Transaction


def setup_accounts(company):
    "Chart of accounts and an open fiscal year; return (deferred, breakage, journal)"
    pool = Pool()
    Account = pool.get('account.account')
    Journal = pool.get('account.journal')
    FiscalYear = pool.get('account.fiscalyear')
    create_chart(company)
    today = dt.date.today()
    for year in (today.year, today.year + 1):
        fiscalyear = get_fiscalyear(company, today=today.replace(year=year))
        fiscalyear.save()
        FiscalYear.create_period([fiscalyear])
    payable, = Account.search([('type.payable', '=', True)], limit=1)
    revenue, = Account.search([('type.revenue', '=', True)], limit=1)
    deferred, = Account.copy([payable], default={
            'name': "Deferred Count Card Revenue", 'code': None,
            'party_required': False, 'reconcile': False, 'closed': False})
    breakage, = Account.copy([revenue], default={
            'name': "Count Card Breakage", 'code': None, 'closed': False})
    journal, = Journal.search([('type', '=', 'general')], limit=1)
    return deferred, breakage, journal


def create_service(name, price):
    pool = Pool()
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    unit, = Uom.search([('name', '=', 'Unit')])
    template, = Template.create([{
                'name': name,
                'type': 'service',
                'salable': True,
                'default_uom': unit.id,
                'sale_uom': unit.id,
                'list_price': Decimal(price),
                'products': [('create', [{}])],
                }])
    return template.products[0]


def create_member(company, name="Li Lei"):
    Party = Pool().get('party.party')
    member, = Party.create([{
                'name': name,
                'is_member': True,
                'member_company': company.id,
                }])
    return member


class Env:
    "A company with accounts, services, templates and two members"

    def __init__(self, company):
        pool = Pool()
        Template = pool.get('retail.count.card.template')
        self.company = company
        self.deferred, self.breakage, self.journal = setup_accounts(
            self.company)
        self.haircut = create_service("Haircut", '60')
        self.massage = create_service("Massage", '200')
        self.foot = create_service("Foot Bath", '100')
        accounts = {
            'deferred_account': self.deferred.id,
            'breakage_account': self.breakage.id,
            'journal': self.journal.id,
            }
        self.ten_haircuts, = Template.create([dict(accounts,
                    name="10 Haircuts", kind='count',
                    services=[('create', [{
                                    'product': self.haircut.id,
                                    'uses': 10,
                                    'validity_days': 365,
                                    }])])])
        self.combo, = Template.create([dict(accounts,
                    name="5 Massages + 5 Foot Baths", kind='count',
                    services=[('create', [{
                                    'product': self.massage.id,
                                    'uses': 5,
                                    'validity_days': 180,
                                    }, {
                                    'product': self.foot.id,
                                    'uses': 5,
                                    'validity_days': 90,
                                    }])])])
        self.month, = Template.create([dict(accounts,
                    name="Month Card", kind='period', daily_max=1,
                    services=[('create', [{
                                    'product': self.haircut.id,
                                    'validity_days': 30,
                                    }])])])
        self.member = create_member(self.company)
        self.other = create_member(self.company, "Han Meimei")
        self.today = pool.get('ir.date').today()

    def issue(self, template=None, price='500', party=None, date=None):
        Card = Pool().get('retail.count.card')
        return Card.issue(template or self.ten_haircuts,
            party or self.member, Decimal(price), date or self.today)


def with_env(func):
    "Run the test in a transaction with a fresh Env as second argument"
    @functools.wraps(func)
    @with_transaction()
    def wrapper(self):
        company = create_company()
        with set_company(company):
            return func(self, Env(company))
    return wrapper


def line_count():
    Line = Pool().get('retail.count.card.line')
    return Line.search([], count=True)


class RetailCountCardTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Retail Count Card module"
    module = 'retail_count_card'

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

    @with_env
    def test_issue_count_card(self, env):
        "A sold card has its uses and unit value; the price is deferred"
        card = env.issue()
        service, = card.services
        self.assertEqual(card.number[:2], 'CC')
        self.assertEqual(service.uses_left, 10)
        self.assertEqual(service.unit_value, Decimal('50.00'))
        self.assertEqual(card.value_left, Decimal('500.00'))
        self.assertEqual(card.valid_until,
            env.today + dt.timedelta(days=364))
        line, = card.lines
        self.assertEqual((line.kind, line.uses, line.amount),
            ('sale', 10, Decimal('500.00')))

    @with_env
    def test_combined_card_allocation(self, env):
        "The price of a combined card is allocated by standalone price"
        card = env.issue(env.combo, price='1000')
        by_product = {s.product: s for s in card.services}
        massage, foot = by_product[env.massage], by_product[env.foot]
        # standalone 5 × 200 and 5 × 100: two thirds and one third
        self.assertEqual(massage.value, Decimal('666.67'))
        self.assertEqual(foot.value, Decimal('333.33'))
        self.assertEqual(massage.unit_value, Decimal('133.33'))
        self.assertEqual(foot.unit_value, Decimal('66.66'))
        self.assertEqual(massage.valid_until,
            env.today + dt.timedelta(days=179))
        self.assertEqual(foot.valid_until,
            env.today + dt.timedelta(days=89))
        self.assertEqual(card.value_left, Decimal('1000.00'))

    @with_env
    def test_redeem(self, env):
        "Each use takes one use and recognises the unit value"
        card = env.issue()
        line = card.redeem(env.haircut, 3, env.member, env.today)
        self.assertEqual((line.uses, line.uses_after, line.amount),
            (-3, 7, Decimal('-150.00')))
        card = card.__class__(card.id)
        self.assertEqual(card.services[0].uses_left, 7)
        self.assertEqual(card.value_left, Decimal('350.00'))
        summary, = card.__class__.member_summary(env.member.id)
        self.assertEqual(summary['number'], card.number)
        self.assertEqual(summary['services'][0]['uses_left'], 7)
        self.assertEqual(summary['services'][0]['product_id'],
            env.haircut.id)

    @with_env
    def test_redeem_bad_input(self, env):
        "Bad input is a clear error and writes nothing"
        card = env.issue()
        before = line_count()
        cases = [
            ((env.haircut, 1, env.other, env.today), 'other member'),
            ((env.massage, 1, env.member, env.today), 'not on count card'),
            ((env.haircut, 11, env.member, env.today), 'use(s) of'),
            ((env.haircut, 1, env.member,
                    env.today + dt.timedelta(days=400)), 'not valid'),
            ((env.haircut, 1.5, env.member, env.today), 'whole quantity'),
            ]
        for args, text in cases:
            with self.subTest(text=text):
                with self.assertRaises(CountCardError) as cm:
                    card.redeem(*args)
                self.assertIn(text, cm.exception.message)
        self.assertEqual(line_count(), before)
        card.redeem(env.haircut, 10, env.member, env.today)
        with self.assertRaises(CountCardError) as cm:
            card.redeem(env.haircut, 1, env.member, env.today)
        self.assertIn('0 use(s)', cm.exception.message)

    @with_env
    def test_request_key_idempotent(self, env):
        "A retried redemption with the same key changes nothing twice"
        card = env.issue()
        first = card.redeem(env.haircut, 2, env.member, env.today,
            request_key='uuid-1')
        again = card.redeem(env.haircut, 2, env.member, env.today,
            request_key='uuid-1')
        self.assertEqual(first, again)
        self.assertEqual(card.services[0].uses_left, 8)

    @with_env
    def test_ledger_immutable(self, env):
        "Nobody, not even root, changes, deletes or copies a ledger line"
        pool = Pool()
        Line = pool.get('retail.count.card.line')
        card = env.issue()
        line, = card.lines
        with self.assertRaises(AccessError):
            Line.write([line], {'uses': 100})
        with self.assertRaises(AccessError):
            Line.delete([line])
        with self.assertRaises(AccessError):
            Line.copy([line])
        self.assertEqual(card.services[0].uses_left, 10)

    @with_env
    def test_database_refuses_negative_uses(self, env):
        "The database refuses a line leaving negative uses"
        if backend.name == 'sqlite':
            self.skipTest("SQLite tables are created without CHECK")
        pool = Pool()
        Line = pool.get('retail.count.card.line')
        card = env.issue()
        service, = card.services
        table = Line.__table__()
        cursor = Transaction().connection.cursor()
        with self.assertRaises(backend.DatabaseIntegrityError):
            cursor.execute(*table.insert(
                    [table.card, table.service, table.sequence, table.date,
                        table.kind, table.uses, table.uses_after,
                        table.amount, table.value_after, table.request_key],
                    [[card.id, service.id, 99, env.today, 'use', -11, -1,
                            Decimal(0), Decimal(0), 'raw']]))

    @with_env
    def test_period_card_daily_max(self, env):
        "A period card allows unlimited uses but at most daily_max a day"
        card = env.issue(env.month, price='300')
        service, = card.services
        self.assertIsNone(service.uses_left)
        self.assertEqual(service.unit_value, Decimal(0))
        card.redeem(env.haircut, 1, env.member, env.today)
        with self.assertRaises(CountCardError) as cm:
            card.redeem(env.haircut, 1, env.member, env.today)
        self.assertIn('a day', cm.exception.message)
        card.redeem(env.haircut, 1, env.member,
            env.today + dt.timedelta(days=1))
        with self.assertRaises(CountCardError):
            card.redeem(env.haircut, 1, env.member,
                env.today + dt.timedelta(days=30))

    @with_env
    def test_expiry_warning_and_breakage(self, env):
        "The task warns ahead once, then expires and books the breakage"
        pool = Pool()
        Card = pool.get('retail.count.card')
        Warning = pool.get('retail.count.card.expiry.warning')
        card = env.issue(env.combo, price='1000')
        card.redeem(env.foot, 1, env.member, env.today)
        warn_day = env.today + dt.timedelta(days=85)
        Card.expire_due(warn_day)
        Card.expire_due(warn_day)
        warning, = Warning.search([])
        self.assertEqual((warning.product, warning.uses_left),
            (env.foot, 4))
        # foot baths expire, massages are still valid
        Card.expire_due(env.today + dt.timedelta(days=90))
        card = Card(card.id)
        self.assertEqual(card.state, 'active')
        foot = [s for s in card.services if s.product == env.foot][0]
        self.assertEqual((foot.uses_left, foot.value_left),
            (0, Decimal(0)))
        breakage = env.breakage.__class__(env.breakage.id)
        # 333.33 allocated, 66.66 recognised by the use
        self.assertEqual(breakage.credit - breakage.debit,
            Decimal('266.67'))
        Card.expire_due(env.today + dt.timedelta(days=200))
        card = Card(card.id)
        self.assertEqual((card.state, card.value_left),
            ('expired', Decimal(0)))
        deferred = env.deferred.__class__(env.deferred.id)
        # no sale posted here: the deferred account only saw the expiry
        self.assertEqual(deferred.debit - deferred.credit,
            Decimal('1000.00') - Decimal('66.66'))

    @with_env
    def test_member_card_replacement_transfers(self, env):
        "A replacement card for another member moves the count cards"
        pool = Pool()
        MemberCard = pool.get('retail.member.card')
        Card = pool.get('retail.count.card')
        card = env.issue()
        card.redeem(env.haircut, 4, env.member, env.today)
        member_card, = MemberCard.create([{
                    'number': '880001', 'party': env.member.id}])
        new_member_card = MemberCard.replace_card(member_card, '880002')
        self.assertEqual(Card(card.id).state, 'active')
        MemberCard._replaced(member_card, MemberCard(
                new_member_card.id, party=env.other))
        card = Card(card.id)
        self.assertEqual(card.state, 'transferred')
        new = card.transferred_to
        self.assertEqual(new.party, env.other)
        self.assertEqual(new.services[0].uses_left, 6)
        self.assertEqual(new.value_left, Decimal('300.00'))
        self.assertEqual(card.value_left, Decimal(0))
        with self.assertRaises(CountCardError):
            card.redeem(env.haircut, 1, env.member, env.today)

    @with_env
    def test_adjust_needs_reason(self, env):
        "A manual adjustment needs a reason and keeps the operator"
        card = env.issue()
        service, = card.services
        with self.assertRaises(CountCardError):
            card.adjust_uses(service, 2, ' ')
        line = card.adjust_uses(service, 2, "complaint")
        self.assertEqual((line.kind, line.uses, line.amount, line.reason),
            ('adjust', 2, Decimal(0), "complaint"))
        self.assertEqual(line.operator.id, Transaction().user)
        self.assertEqual(card.services[0].uses_left, 12)
        card.adjust_uses(service, -1, "typo")
        self.assertEqual(card.services[0].uses_left, 11)

    @with_env
    def test_access_rights(self, env):
        "Cashiers read cards and ledgers but change nothing; managers edit templates"
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        Card = pool.get('retail.count.card')
        Line = pool.get('retail.count.card.line')
        Template = pool.get('retail.count.card.template')
        card = env.issue()

        def user(login, group):
            group_id = ModelData.get_id('retail_member', group)
            user, = User.create([{
                        'name': login, 'login': login,
                        'companies': [('add', [env.company.id])],
                        'company': env.company.id,
                        'groups': [('add', [group_id])],
                        }])
            return user
        cashier = user('cashier', 'group_retail_cashier')
        manager = user('manager', 'group_retail_manager')
        with Transaction().set_user(cashier.id), \
                Transaction().set_context(_check_access=True,
                    company=env.company.id):
            self.assertEqual(Card.search([]), [Card(card.id)])
            self.assertEqual(len(Line.search([])), 1)
            self.assertEqual(
                Card(card.id).services[0].uses_left, 10)
            with self.assertRaises(AccessError):
                Template.write([Template(env.ten_haircuts.id)],
                    {'name': "Free haircuts"})
            with self.assertRaises(AccessError):
                Card.write([Card(card.id)], {'state': 'expired'})
        with Transaction().set_user(manager.id), \
                Transaction().set_context(_check_access=True,
                    company=env.company.id):
            Template.write([Template(env.ten_haircuts.id)],
                {'name': "12 Haircuts"})
            with self.assertRaises(AccessError):
                Line.create([{
                            'card': card.id, 'service': card.services[0].id,
                            'sequence': 2, 'kind': 'adjust', 'uses': 5,
                            'amount': Decimal(0),
                            'value_after': Decimal(500)}])



del ModuleTestCase
