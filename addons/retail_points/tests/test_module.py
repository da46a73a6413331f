# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
import datetime as dt
import threading
import time
import unittest
from decimal import Decimal

from trytond import backend
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, ModuleTestCase, with_transaction
from trytond.transaction import Transaction, TransactionError

TODAY = dt.date(2026, 3, 10)


def locked(func, *args, **kwargs):
    "Run func in a new committed transaction, taking the locks it asks"
    extras = {}
    transaction = Transaction()
    while True:
        with transaction.new_transaction(**extras) as new:
            try:
                result = func(*args, **kwargs)
            except TransactionError as e:
                new.rollback()
                e.fix(extras)
                continue
            new.commit()
            return result


class RetailPointsTestCase(ModuleTestCase):
    "Test Retail Points module"
    module = 'retail_points'
    extras = ['sale_point']

    def _member(self, company, name="Member", **values):
        pool = Pool()
        Party = pool.get('party.party')
        party = Party(
            name=name, is_member=True, member_company=company, **values)
        party.save()
        return party

    def _settings(self, company, **values):
        pool = Pool()
        Value = pool.get('retail.points.configuration.company')
        Value.create([{'company': company.id, **values}])

    def _account(self, company, member):
        pool = Pool()
        Account = pool.get('retail.points.account')
        account = Account.get_account(company, member)
        Account.lock([account])
        return account

    @with_transaction()
    def test_expiry_dates(self):
        "Expiry date of each mode"
        pool = Pool()
        Value = pool.get('retail.points.configuration.company')
        settings = Value(expiry_mode='never', expiry_days=0)
        self.assertIsNone(settings.expiry_date(TODAY))
        settings = Value(expiry_mode='days', expiry_days=30)
        self.assertEqual(settings.expiry_date(TODAY), dt.date(2026, 4, 9))
        settings = Value(expiry_mode='month_end', expiry_days=0)
        self.assertEqual(settings.expiry_date(TODAY), dt.date(2026, 3, 31))
        settings = Value(expiry_mode='month_end', expiry_days=365)
        self.assertEqual(settings.expiry_date(TODAY), dt.date(2027, 3, 31))
        settings = Value(expiry_mode='month_end', expiry_days=0)
        self.assertEqual(
            settings.expiry_date(dt.date(2028, 2, 3)), dt.date(2028, 2, 29))
        settings = Value(expiry_mode='year_end', expiry_days=0)
        self.assertEqual(settings.expiry_date(TODAY), dt.date(2026, 12, 31))
        settings = Value(expiry_mode='year_end', expiry_days=365)
        self.assertEqual(settings.expiry_date(TODAY), dt.date(2027, 12, 31))

    @with_transaction()
    def test_member_day_and_birthday(self):
        "Member day and birthday detection"
        pool = Pool()
        Value = pool.get('retail.points.configuration.company')
        settings = Value(member_day='weekly', member_day_weekday='1')
        self.assertTrue(settings.is_member_day(dt.date(2026, 3, 10)))  # Tue
        self.assertFalse(settings.is_member_day(dt.date(2026, 3, 11)))
        settings = Value(member_day='monthly', member_day_monthday=31)
        self.assertTrue(settings.is_member_day(dt.date(2026, 2, 28)))
        self.assertTrue(settings.is_member_day(dt.date(2026, 3, 31)))
        self.assertFalse(settings.is_member_day(dt.date(2026, 3, 30)))
        settings = Value(birthday_scope='day')
        self.assertTrue(settings.is_birthday(
                dt.date(1990, 3, 10), dt.date(2026, 3, 10)))
        self.assertFalse(settings.is_birthday(
                dt.date(1990, 3, 11), dt.date(2026, 3, 10)))
        self.assertTrue(settings.is_birthday(
                dt.date(2000, 2, 29), dt.date(2026, 2, 28)))
        settings = Value(birthday_scope='month')
        self.assertTrue(settings.is_birthday(
                dt.date(1990, 3, 31), dt.date(2026, 3, 1)))
        settings = Value(birthday_scope='none')
        self.assertFalse(settings.is_birthday(
                dt.date(1990, 3, 10), dt.date(2026, 3, 10)))

    @with_transaction()
    def test_earning_rules(self):
        "Rates, category and product overrides, exclusion, multipliers"
        pool = Pool()
        Rule = pool.get('retail.points.rule')
        Template = pool.get('product.template')
        Product = pool.get('product.product')
        Category = pool.get('product.category')
        Uom = pool.get('product.uom')
        Tier = pool.get('retail.member.tier')
        unit, = Uom.search([('name', '=', 'Unit')])
        company = create_company()
        with set_company(company):
            category = Category(name="Drinks")
            category.save()

            def product(name, **values):
                template = Template(
                    name=name, default_uom=unit, type='goods', **values)
                template.save()
                product, = Product.create([{'template': template.id}])
                return product
            plain = product("Plain")
            drink = product("Drink", categories=[category])
            special = product("Special", categories=[category])
            excluded = product("Top-up", points_excluded=True)
            tier = Tier(
                name="Gold", code='G', rank=2,
                points_multiplier=Decimal('1.5'))
            tier.save()
            member = self._member(
                company, member_tier=tier, birth_date=dt.date(1990, 5, 1))
            self._settings(company, earn_rate=Decimal(1))
            Rule.create([{
                        'name': "Drinks x2", 'type': 'category',
                        'category': category.id,
                        'multiplier': Decimal(2),
                        }, {
                        'name': "Special rate", 'type': 'product',
                        'product': special.id, 'rate': Decimal('0.5'),
                        }])
            items = [
                ('a', plain, Decimal('10.00')),
                ('b', drink, Decimal('10.00')),
                ('c', special, Decimal('10.00')),
                ('d', excluded, Decimal('100.00')),
                ('e', plain, Decimal('-5.00')),
                ]
            earning = Rule.compute_earning(company, member, TODAY, items)
            # (10 + 20 + 5) * 1.5 tier = 52.5 -> 52
            self.assertEqual(earning.points, 52)
            self.assertEqual(earning.base, Decimal('30.00'))
            self.assertNotIn('d', earning.raw)

            # Double points promotion for a date range and time window
            Rule.create([{
                        'name': "Double", 'type': 'promotion',
                        'multiplier': Decimal(2),
                        'start_date': TODAY, 'end_date': TODAY,
                        'time_start': dt.time(10), 'time_end': dt.time(12),
                        }])
            earning = Rule.compute_earning(
                company, member, TODAY, items, time=dt.time(11))
            self.assertEqual(earning.points, 105)
            earning = Rule.compute_earning(
                company, member, TODAY, items, time=dt.time(13))
            self.assertEqual(earning.points, 52)
            earning = Rule.compute_earning(
                company, member, TODAY + dt.timedelta(days=1), items,
                time=dt.time(11))
            self.assertEqual(earning.points, 52)
            # a new rate of the company counts at the next earning
            Value = pool.get('retail.points.configuration.company')
            Value.write(Value.search([('company', '=', company.id)]),
                {'earn_rate': Decimal(2)})
            earning = Rule.compute_earning(
                company, member, TODAY, items, time=dt.time(13))
            # (20 + 40 + 5 at the product's own rate) * 1.5 = 97.5 -> 97
            self.assertEqual(earning.points, 97)
            Value.write(Value.search([('company', '=', company.id)]),
                {'earn_rate': Decimal(1)})
            # a rule changed or deactivated counts at the next earning
            double, = Rule.search([('name', '=', "Double")])
            Rule.write([double], {'multiplier': Decimal(3)})
            earning = Rule.compute_earning(
                company, member, TODAY, items, time=dt.time(11))
            self.assertEqual(earning.points, 157)
            Rule.write([double], {'active': False})
            earning = Rule.compute_earning(
                company, member, TODAY, items, time=dt.time(11))
            self.assertEqual(earning.points, 52)
            # the tier's multiplier and the member's birthday as they are
            # now: 35 * 2 tier
            Tier.write([tier], {'points_multiplier': Decimal(2)})
            earning = Rule.compute_earning(company, member, TODAY, items)
            self.assertEqual(earning.points, 70)
            Party = pool.get('party.party')
            Value.write(Value.search([('company', '=', company.id)]), {
                    'birthday_scope': 'day',
                    'birthday_multiplier': Decimal(3)})
            earning = Rule.compute_earning(company, member, TODAY, items)
            self.assertEqual(earning.points, 70)
            Party.write([member], {'birth_date': dt.date(1990, 3, 10)})
            earning = Rule.compute_earning(company, member, TODAY, items)
            self.assertEqual(earning.points, 210)
            # without a tier: 35 * 3 birthday
            Party.write([member], {'member_tier': None})
            earning = Rule.compute_earning(company, member, TODAY, items)
            self.assertEqual(earning.points, 105)

    @with_transaction()
    def test_ledger_fifo_lock_and_debt(self):
        "Spending is FIFO by expiry, locked points wait, debts recover"
        pool = Pool()
        Account = pool.get('retail.points.account')
        company = create_company()
        with set_company(company):
            member = self._member(company)
            account = self._account(company, member)
            late = account.credit(
                'earn', 100, TODAY, expiry_date=dt.date(2027, 1, 1))
            soon = account.credit(
                'gift', 50, TODAY, expiry_date=dt.date(2026, 6, 1))
            account.credit(
                'earn', 30, TODAY, lock_until=TODAY + dt.timedelta(days=7),
                expiry_date=dt.date(2026, 5, 1))
            with Transaction().set_context(date=TODAY):
                account = Account(account.id)
                self.assertEqual(account.balance, 180)
                self.assertEqual(account.locked, 30)
                self.assertEqual(account.available, 150)

            redeem = account.debit('redeem', 70, TODAY)
            self.assertEqual(
                sorted((a.lot.id, a.points) for a in redeem.allocations),
                sorted([(soon.id, 50), (late.id, 20)]))
            self.assertEqual(redeem.balance, 110)
            with self.assertRaises(UserError):
                account.debit('redeem', 81, TODAY)

            # Refund gives back exactly the lots used, latest expiry first
            back = account.reverse_redeem(redeem, Decimal('0.5'), TODAY)
            self.assertEqual(back.points, 35)
            self.assertEqual(
                [(a.lot.id, a.points) for a in back.allocations],
                [(late.id, -20), (soon.id, -15)])
            back = account.reverse_redeem(redeem, Decimal(1), TODAY)
            self.assertEqual(back.points, 35)
            self.assertIsNone(
                account.reverse_redeem(redeem, Decimal(1), TODAY))

            # Refund of spent earnings leaves a debt
            account.debit('redeem', 150, TODAY)
            reverse = account.reverse_earn(late, Decimal(1), TODAY)
            self.assertEqual(reverse.points, -100)
            with Transaction().set_context(date=TODAY):
                account = Account(account.id)
                self.assertEqual(account.balance, -70)
                self.assertEqual(account.debt, 100 - 30)
                self.assertEqual(account.available, 0)
            with self.assertRaises(UserError):
                account.debit('redeem', 1, TODAY)
            # The next earnings pay the debt first
            account.credit('earn', 100, TODAY, expiry_date=None)
            with Transaction().set_context(date=TODAY):
                account = Account(account.id)
                self.assertEqual(account.balance, 30)
                self.assertEqual(account.debt, 0)

    @with_transaction()
    def test_ledger_immutable(self):
        "Points lines cannot be changed, not even with SQL"
        pool = Pool()
        Line = pool.get('retail.points.line')
        company = create_company()
        with set_company(company):
            member = self._member(company)
            account = self._account(company, member)
            line = account.credit('adjust', 10, TODAY, reason="test")
            with self.assertRaises(AccessError):
                Line.write([line], {'points': 20})
            with self.assertRaises(AccessError):
                Line.delete([line])
            table = Line.__table__()
            cursor = Transaction().connection.cursor()
            with self.assertRaises(backend.DatabaseIntegrityError
                    if backend.name == 'postgresql'
                    else Exception):
                cursor.execute(*table.update(
                        [table.points], [20], where=table.id == line.id))

    @with_transaction()
    def test_database_refuses_double_award(self):
        "A second earn line for the same origin is refused"
        company = create_company()
        with set_company(company):
            member = self._member(company)
            account = self._account(company, member)
            first = account.credit('adjust', 10, TODAY, reason="first")
            origin = str(first)
            account.credit('earn', 10, TODAY, origin=origin)
            with self.assertRaises(UserError):
                account.credit('earn', 10, TODAY, origin=origin)

    @with_transaction()
    def test_expire_and_warn(self):
        "The expiry task expires what is left of lots and warns ahead"
        pool = Pool()
        Account = pool.get('retail.points.account')
        Line = pool.get('retail.points.line')
        Warning_ = pool.get('retail.points.expiry.warning')
        company = create_company()
        with set_company(company):
            self._settings(company, warning_days=10)
            member = self._member(company)
            account = self._account(company, member)
            old = account.credit(
                'earn', 100, TODAY, expiry_date=TODAY - dt.timedelta(days=1))
            soon = account.credit(
                'earn', 40, TODAY, expiry_date=TODAY + dt.timedelta(days=5))
            account.credit(
                'earn', 60, TODAY, expiry_date=TODAY + dt.timedelta(days=60))
            account.debit(
                'redeem', 30, TODAY - dt.timedelta(days=2))
            result = Line.expire_points(date=TODAY, accounts=[account])
            self.assertEqual(result['expired_lots'], 1)
            self.assertEqual(result['expired_points'], 70)
            self.assertEqual(result['warnings'], 1)
            expire, = Line.search([('kind', '=', 'expire')])
            self.assertEqual(expire.reversed, old)
            self.assertEqual(expire.points, -70)
            warning, = Warning_.search([])
            self.assertEqual(warning.lot, soon)
            self.assertEqual(warning.points, 40)
            # Running again changes nothing
            result = Line.expire_points(date=TODAY, accounts=[account])
            self.assertEqual(result, {
                    'expired_lots': 0, 'expired_points': 0, 'warnings': 0})
            with Transaction().set_context(date=TODAY):
                self.assertEqual(Account(account.id).balance, 100)

    @with_transaction()
    def test_tier_upgrade_downgrade(self):
        "Tiers follow unlocked figures over the window, lock respected"
        pool = Pool()
        Account = pool.get('retail.points.account')
        Tier = pool.get('retail.member.tier')
        History = pool.get('retail.member.tier.history')
        Party = pool.get('party.party')
        company = create_company()
        with set_company(company):
            self._settings(company, tier_downgrade=True)
            basic, silver, gold = Tier.create([{
                        'name': "Basic", 'code': 'B', 'rank': 0,
                        }, {
                        'name': "Silver", 'code': 'S', 'rank': 1,
                        'upgrade_points': 100, 'window_days': 30,
                        }, {
                        'name': "Gold", 'code': 'G', 'rank': 2,
                        'upgrade_spend': Decimal(1000), 'window_days': 30,
                        }])
            member = self._member(company, member_tier=basic)
            account = self._account(company, member)
            account.credit(
                'earn', 150, TODAY, lock_until=TODAY + dt.timedelta(days=7),
                base_amount=Decimal(150))
            self.assertEqual(Account.update_tiers([account], date=TODAY), [])
            changes = Account.update_tiers(
                [account], date=TODAY + dt.timedelta(days=7))
            self.assertEqual(len(changes), 1)
            member = Party(member.id)
            self.assertEqual(member.member_tier, silver)
            history, = History.search([('member', '=', member.id)])
            self.assertEqual(
                (history.from_tier, history.to_tier, history.kind),
                (basic, silver, 'upgrade'))
            # Out of the window: upgrade never lowers, review does
            later = TODAY + dt.timedelta(days=40)
            self.assertEqual(Account.update_tiers([account], date=later), [])
            Party.write([member], {'tier_locked': True})
            self.assertEqual(Account.update_tiers(
                    [account], date=later, downgrade=True), [])
            Party.write([member], {'tier_locked': False})
            Account.update_tiers([account], date=later, downgrade=True)
            self.assertEqual(Party(member.id).member_tier, basic)
            self.assertEqual(History.search([
                        ('member', '=', member.id),
                        ('kind', '=', 'downgrade'),
                        ], count=True), 1)
            # a tier's new threshold counts at the next review
            Tier.write([silver], {'window_days': 60})
            changes = Account.update_tiers([account], date=later)
            self.assertEqual([(c[1], c[2]) for c in changes],
                [(basic, silver)])
            self.assertEqual(Party(member.id).member_tier, silver)

    @with_transaction()
    def test_adjust_requires_reason(self):
        "Manual adjustments need a reason and record the operator"
        pool = Pool()
        Account = pool.get('retail.points.account')
        company = create_company()
        with set_company(company):
            member = self._member(company)
            account = Account.get_account(company, member)
            with self.assertRaises(UserError):
                Account.adjust(account, 10, "  ")
            line = Account.adjust(account, 10, "Goodwill")
            self.assertEqual(line.reason, "Goodwill")
            self.assertEqual(line.operator.id, Transaction().user)
            with self.assertRaises(UserError):
                Account.adjust(account, -11, "Too much")

    @with_transaction()
    def test_give_idempotent(self):
        "Points given by another module count once per origin"
        pool = Pool()
        Account = pool.get('retail.points.account')
        company = create_company()
        with set_company(company):
            member = self._member(company)
            account = self._account(company, member)
            origin = account.credit('adjust', 1, TODAY, reason="origin")
            first = Account.give(company, member, 20, origin, reason="top-up")
            again = Account.give(company, member, 20, origin, reason="top-up")
            self.assertEqual(first, again)
            self.assertEqual(Account(account.id).balance, 21)
            with self.assertRaises(UserError):
                Account.give(company, member, 0, origin)

    @unittest.skipIf(backend.name != 'postgresql',
        "needs concurrent transactions")
    @with_transaction()
    def test_concurrent_redeem(self):
        "Two tills spending the same points at once: one wins, never < 0"
        pool = Pool()
        Account = pool.get('retail.points.account')
        Line = pool.get('retail.points.line')
        transaction = Transaction()

        def setup():
            company = create_company()
            with set_company(company):
                member = self._member(company)
                account = self._account(company, member)
                account.credit('adjust', 100, TODAY, reason="start")
                return account.id, company.id
        account_id, company_id = locked(setup)

        barrier = threading.Barrier(2)
        results = []

        def spend():
            "What the dispatcher does: lock at start, retry, commit"
            with Transaction().start(DB_NAME, 1, context={
                        'company': company_id}) as t:
                extras, tries = {}, 0
                barrier.wait(timeout=10)
                while True:
                    try:
                        with t.new_transaction(**extras) as new:
                            try:
                                account = Account(account_id)
                                Account.lock([account])
                                account.debit('redeem', 80, TODAY)
                                time.sleep(0.3)  # hold the lock a while
                                new.commit()
                                results.append('ok')
                                return
                            except TransactionError as e:
                                new.rollback()
                                e.fix(extras)
                                continue
                    except backend.DatabaseOperationalError:
                        tries += 1
                        if tries > 20:
                            results.append('locked')
                            return
                        time.sleep(0.1)
                    except UserError:
                        results.append('refused')
                        return

        threads = [threading.Thread(target=spend) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(results.count('ok'), 1, results)
        self.assertEqual(len(results), 2, results)
        with transaction.new_transaction():
            lines = Line.search([('account', '=', account_id)])
            self.assertEqual(sum(ln.points for ln in lines), 20)
            self.assertTrue(all(ln.balance >= 0 for ln in lines))

del ModuleTestCase
