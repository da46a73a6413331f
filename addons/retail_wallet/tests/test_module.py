# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
from decimal import Decimal
from unittest.mock import patch

from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import CompanyTestMixin, create_company, set_company
from trytond.modules.retail_wallet.exceptions import (
    InsufficientBalanceError,
    LedgerAccessError,
    PINError,
    WalletAmountError,
    WalletError,
)
from trytond.modules.retail_wallet.topup import add_months
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, ModuleTestCase, with_transaction
from trytond.transaction import Transaction


def create_wallet(company, principal=Decimal(0), bonus=Decimal(0)):
    pool = Pool()
    Party = pool.get('party.party')
    Wallet = pool.get('retail.wallet')
    member, = Party.create([{
                'name': "Han Meimei",
                'is_member': True,
                'member_company': company.id,
                }])
    wallet = Wallet.find(member, company, create=True)
    if principal:
        wallet.post_line('topup', principal=principal)
    if bonus:
        wallet.post_line('bonus', bonus=bonus)
    return wallet


class RetailWalletTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Retail Wallet module"
    module = 'retail_wallet'

    # As in retail_member: member_company says whose member a party is, it
    # does not own the party record.
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

    @with_transaction()
    def test_ledger_balance_and_audit_trail(self):
        "The balance is the sum of the lines; before/after chain up"
        company = create_company()
        with set_company(company):
            wallet = create_wallet(company, Decimal('100'), Decimal('20'))
            wallet.spend(Decimal('30'), origin=None)
            self.assertEqual(
                (wallet.principal, wallet.bonus, wallet.balance),
                (Decimal('70'), Decimal('20'), Decimal('90')))
            lines = sorted(wallet.lines, key=lambda x: x.sequence)
            self.assertEqual([x.sequence for x in lines], [1, 2, 3])
            for previous, line in zip(lines, lines[1:]):
                self.assertEqual(line.principal_before, previous.principal_after)
                self.assertEqual(line.bonus_before, previous.bonus_after)

    @with_transaction()
    def test_shop_wallet_found_first(self):
        "A member pays from the shop's own wallet, else the chain-wide one"
        pool = Pool()
        Wallet = pool.get('retail.wallet')
        Shop = pool.get('retail.shop')
        Config = pool.get('retail.wallet.configuration')
        company = create_company()
        with set_company(company):
            member, = pool.get('party.party').create([{
                        'name': "Han Meimei", 'is_member': True,
                        'member_company': company.id}])
            here, there = Shop.create([
                    {'name': "Here", 'code': 'H', 'company': company.id},
                    {'name': "There", 'code': 'T', 'company': company.id}])
            Config.create([{'company': company.id, 'wallet_scope': 'shop'}])
            own = Wallet.find(member, company, shop=here, create=True)
            self.assertEqual(own.shop, here)
            chain = Wallet.find(member, company, create=True)
            self.assertEqual(chain.shop, None)
            self.assertNotEqual(own, chain)
            # a new transaction's memo: the rows decide
            Transaction()._retail_wallets_found = {}
            self.assertEqual(Wallet.find(member, company, shop=here), own)
            self.assertEqual(Wallet.find(member, company, shop=there), chain)
            self.assertEqual(Wallet.find(member, company), chain)
            Wallet.write([chain], {'state': 'closed'})
            self.assertIsNone(Wallet.find(member, company, shop=there))
            self.assertEqual(Wallet.find(member, company, shop=here), own)

    @with_transaction()
    def test_ledger_tampering_refused(self):
        "A line changed behind the ledger's back stops every new line"
        pool = Pool()
        Line = pool.get('retail.wallet.line')
        company = create_company()
        with set_company(company):
            wallet = create_wallet(company, Decimal('100'), Decimal('20'))
            wallet.spend(Decimal('30'), origin=None)
            line = Line.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*line.update([line.principal],
                    [line.principal + 1],
                    where=(line.wallet == wallet.id) & (line.sequence == 1)))
            for post in [
                    lambda: wallet.spend(Decimal('1'), origin=None),
                    lambda: wallet.post_line(
                        'topup', principal=Decimal('5'))]:
                with self.assertRaisesRegex(WalletError, 'does not match'):
                    post()
            self.assertEqual(len(wallet.lines), 3)

    @with_transaction()
    def test_ledger_immutable(self):
        "Even the system cannot write, delete or copy a ledger line"
        pool = Pool()
        Line = pool.get('retail.wallet.line')
        company = create_company()
        with set_company(company):
            wallet = create_wallet(company, Decimal('100'))
            line, = wallet.lines
            with self.assertRaises(LedgerAccessError):
                Line.write([line], {'principal': Decimal('1000')})
            with self.assertRaises(LedgerAccessError):
                Line.delete([line])
            with self.assertRaises(AccessError):
                Line.copy([line])
            self.assertEqual(wallet.balance, Decimal('100'))

    @with_transaction()
    def test_request_key_idempotent(self):
        "The same request key changes the balance once"
        company = create_company()
        with set_company(company):
            wallet = create_wallet(company, Decimal('100'))
            first = wallet.spend(Decimal('10'), origin=None, request_key='k1')
            again = wallet.spend(Decimal('10'), origin=None, request_key='k1')
            self.assertEqual(first, again)
            self.assertEqual(wallet.balance, Decimal('90'))
            with self.assertRaises(WalletError):
                wallet.post_line(
                    'topup', principal=Decimal('5'), request_key='k1')

    @with_transaction()
    def test_bad_amounts(self):
        "Zero, negative, too many decimals and overspending are refused"
        company = create_company()
        with set_company(company):
            wallet = create_wallet(company, Decimal('100'))
            for amount, error in [
                    (Decimal(0), WalletAmountError),
                    (Decimal('-5'), WalletAmountError),
                    (Decimal('1.005'), WalletAmountError),
                    (Decimal('100.01'), InsufficientBalanceError),
                    ]:
                with self.subTest(amount=amount):
                    with self.assertRaises(error):
                        wallet.spend(amount, origin=None)
            self.assertEqual(len(wallet.lines), 1)
            self.assertEqual(wallet.balance, Decimal('100'))

    @with_transaction()
    def test_spending_order(self):
        "Principal first, bonus first and proportional splits"
        pool = Pool()
        Configuration = pool.get('retail.wallet.configuration')
        company = create_company()
        with set_company(company):
            wallet = create_wallet(company, Decimal('80'), Decimal('20'))
            config = Configuration(company=company)
            config.save()
            for order, expected in [
                    ('principal_first', (Decimal('50'), Decimal('0'))),
                    ('bonus_first', (Decimal('30'), Decimal('20'))),
                    ('proportional', (Decimal('40.00'), Decimal('10.00'))),
                    ]:
                config.spending_order = order
                config.save()
                with self.subTest(order=order):
                    self.assertEqual(
                        wallet.split_spending(Decimal('50')), expected)
            config.spending_order = 'proportional'
            config.save()
            principal, bonus = wallet.split_spending(Decimal('0.01'))
            self.assertEqual(principal + bonus, Decimal('0.01'))
            self.assertEqual(
                wallet.split_spending(Decimal('100')),
                (Decimal('80'), Decimal('20')))

    @with_transaction()
    def test_pin_lockout(self):
        "5 wrong PINs lock for 30 minutes; the lock expires; reset clears"
        pool = Pool()
        Wallet = pool.get('retail.wallet')
        company = create_company()
        with set_company(company):
            wallet = create_wallet(company, Decimal('100'))
            with self.assertRaises(PINError):
                wallet.change_pin('12ab')
            wallet.change_pin('246810')
            self.assertTrue(wallet.get_pin_hash().startswith('$argon2id$'))
            self.assertNotIn('246810', wallet.get_pin_hash())
            wallet.verify_pin('246810')
            start = dt.datetime(2030, 1, 1, 12, 0)
            with patch.object(Wallet, '_now', staticmethod(lambda: start)):
                for _ in range(5):
                    with self.assertRaises(PINError):
                        wallet.verify_pin('000000')
                with self.assertRaises(PINError):
                    # locked: even the right PIN is refused
                    wallet.verify_pin('246810')
            later = start + dt.timedelta(minutes=31)
            with patch.object(Wallet, '_now', staticmethod(lambda: later)):
                wallet.verify_pin('246810')
                for _ in range(5):
                    with self.assertRaises(PINError):
                        wallet.verify_pin('000000')
                Wallet.reset_pin([wallet])
                self.assertFalse(Wallet(wallet.id).has_pin)
                self.assertFalse(Wallet(wallet.id).pin_locked)

    @with_transaction()
    def test_refund_parts(self):
        "Refunds return principal and bonus in the proportions spent"
        pool = Pool()
        Payment = pool.get('sale.point.payment')
        company = create_company()
        with set_company(company):
            wallet = create_wallet(company, Decimal('10'), Decimal('90'))
            original = wallet.post_line(
                'payment', Decimal('-10'), Decimal('-30'))
            self.assertEqual(
                Payment.refund_parts(original, Decimal('20')),
                (Decimal('5.00'), Decimal('15.00')))
            wallet.post_line('refund', Decimal('5'), Decimal('15'),
                refund_of=original)
            self.assertEqual(
                Payment.refund_parts(original, Decimal('20')),
                (Decimal('5.00'), Decimal('15.00')))
            with self.assertRaises(InsufficientBalanceError):
                Payment.refund_parts(original, Decimal('20.01'))

    def test_add_months(self):
        "Monthly instalments keep the day or use the last of the month"
        self.assertEqual(
            add_months(dt.date(2026, 1, 31), 1), dt.date(2026, 2, 28))
        self.assertEqual(
            add_months(dt.date(2026, 11, 15), 3), dt.date(2027, 2, 15))


del ModuleTestCase
