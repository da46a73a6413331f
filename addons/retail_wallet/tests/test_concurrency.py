# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Real concurrent transactions on PostgreSQL: terminals paying from one
wallet at the same moment never overspend, and a request replayed by
several terminals at once is booked once."""
import datetime as dt
import threading
import unittest
from decimal import Decimal

from trytond import backend
from trytond.modules.retail_member.tests.tools import run_in_transaction
from trytond.modules.retail_wallet.exceptions import InsufficientBalanceError
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, drop_db
from trytond.transaction import Transaction

run = run_in_transaction


@unittest.skipUnless(backend.name == 'postgresql',
    "concurrency needs PostgreSQL")
class WalletConcurrencyTestCase(unittest.TestCase):
    "Concurrent wallet payments"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # start from the cached template, never from a database left over
        drop_db()
        activate_module(['retail_wallet'])

        def setup():
            from trytond.modules.company.tests import create_company
            pool = Pool()
            Party = pool.get('party.party')
            Wallet = pool.get('retail.wallet')
            company = create_company(name="Concurrency Co")
            member, = Party.create([{
                        'name': "Concurrent Member",
                        'is_member': True,
                        'member_company': company.id,
                        }])
            with Transaction().set_context(company=company.id):
                wallet = Wallet.find(member, company, create=True)
            return company.id, wallet.id
        cls.company_id, cls.wallet_id = run(setup)

    @classmethod
    def tearDownClass(cls):
        # committed data must not leak into the other test cases
        drop_db()
        super().tearDownClass()

    def _context(self):
        return {'company': self.company_id}

    def _balance(self):
        def get():
            Wallet = Pool().get('retail.wallet')
            wallet = Wallet(self.wallet_id)
            return wallet.principal, wallet.bonus, len(wallet.lines)
        return run(get, self._context())

    def _top_up(self, amount):
        def post():
            Wallet = Pool().get('retail.wallet')
            Wallet(self.wallet_id).post_line('topup', principal=amount)
        run(post, self._context())

    def _threads(self, target, count):
        barrier = threading.Barrier(count)
        results = []
        lock = threading.Lock()

        def worker(i):
            barrier.wait()
            result = target(i)
            with lock:
                results.append(result)
        threads = [threading.Thread(target=worker, args=(i,))
            for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    def test_no_overspending(self):
        "8 terminals pay 30 from a balance of 100: exactly 3 succeed"
        principal, _, _ = self._balance()
        self._top_up(Decimal('100') - principal)

        def pay(i):
            def spend():
                Wallet = Pool().get('retail.wallet')
                Wallet(self.wallet_id).spend(
                    Decimal('30'), origin=None, request_key='over-%s' % i)
            try:
                run(spend, self._context())
                return 'paid'
            except InsufficientBalanceError:
                return 'refused'
        results = self._threads(pay, 8)
        self.assertEqual(results.count('paid'), 3)
        self.assertEqual(results.count('refused'), 5)
        principal, bonus, _ = self._balance()
        self.assertEqual(principal, Decimal('10'))

    def test_replayed_request_booked_once(self):
        "The same request sent by 6 terminals at once is booked once"
        principal, _, count = self._balance()
        self._top_up(Decimal('50'))

        def pay(i):
            def spend():
                Wallet = Pool().get('retail.wallet')
                return Wallet(self.wallet_id).spend(
                    Decimal('7'), origin=None, request_key='replay-1').id
            return run(spend, self._context())
        results = self._threads(pay, 6)
        self.assertEqual(len(set(results)), 1)
        after, _, after_count = self._balance()
        self.assertEqual(after, principal + Decimal('50') - Decimal('7'))
        self.assertEqual(after_count, count + 2)

    def test_database_refuses_negative_and_duplicates(self):
        "Without the lock the database itself refuses what must not happen"
        from trytond.model.exceptions import SQLConstraintError

        def insert(values):
            def create():
                Line = Pool().get('retail.wallet.line')
                Line.create([values])
            run(create, self._context())
        base = {
            'wallet': self.wallet_id, 'sequence': 10 ** 6, 'kind': 'payment',
            'principal': Decimal('-1'), 'bonus': Decimal(0),
            'principal_before': Decimal('0'), 'bonus_before': Decimal(0),
            'principal_after': Decimal('-1'), 'bonus_after': Decimal(0),
            'request_key': 'raw-1',
            }
        base['date'] = dt.date.today()
        with self.assertRaises((SQLConstraintError, backend.DatabaseIntegrityError)):
            insert(base)
        self._top_up(Decimal('1'))

        def first_key():
            Line = Pool().get('retail.wallet.line')
            line, = Line.search([('wallet', '=', self.wallet_id)],
                order=[('sequence', 'ASC')], limit=1)
            return line.request_key
        key = run(first_key, self._context())
        duplicate = dict(base, principal=Decimal('1'),
            principal_before=Decimal(0), principal_after=Decimal('1'),
            kind='adjustment', request_key=key, sequence=10 ** 6 + 1)
        with self.assertRaises((SQLConstraintError, backend.DatabaseIntegrityError)):
            insert(duplicate)

