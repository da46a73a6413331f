# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Real concurrent transactions on PostgreSQL: tills redeeming from one
count card at the same moment never use more than is left, and a request
replayed by several tills at once is booked once."""
import threading
import unittest

from trytond import backend
from trytond.modules.retail_count_card.exceptions import CountCardError
from trytond.modules.retail_member.tests.tools import run_in_transaction
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, drop_db

run = run_in_transaction


@unittest.skipUnless(backend.name == 'postgresql',
    "concurrency needs PostgreSQL")
class CountCardConcurrencyTestCase(unittest.TestCase):
    "Concurrent count card redemptions"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        activate_module(['retail_count_card'])

        def setup():
            from trytond.modules.company.tests import create_company, set_company
            from trytond.modules.retail_count_card.tests.test_module import Env
            company = create_company(name="Concurrency Co")
            with set_company(company):
                env = Env(company)
                card = env.issue(price='30')
                card.adjust_uses(card.services[0], -7, "three uses left")
                return (company.id, card.id, env.haircut.id, env.member.id)
        (cls.company_id, cls.card_id, cls.product_id,
            cls.member_id) = run(setup)

    @classmethod
    def tearDownClass(cls):
        drop_db()
        super().tearDownClass()

    def _context(self):
        return {'company': self.company_id}

    def _uses_left(self):
        def get():
            Card = Pool().get('retail.count.card')
            card = Card(self.card_id)
            return card.services[0].uses_left, len(card.lines)
        return run(get, self._context())

    def _redeem(self, key):
        def redeem():
            pool = Pool()
            Card = pool.get('retail.count.card')
            Product = pool.get('product.product')
            Party = pool.get('party.party')
            Date = pool.get('ir.date')
            return Card(self.card_id).redeem(Product(self.product_id), 1,
                Party(self.member_id), Date.today(), request_key=key).id
        return run(redeem, self._context())

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

    def test_1_no_overuse(self):
        "8 tills redeem one use from a card with 3 left: exactly 3 succeed"
        left, _ = self._uses_left()
        self.assertEqual(left, 3)

        def use(i):
            try:
                self._redeem('over-%s' % i)
                return 'used'
            except CountCardError:
                return 'refused'
        results = self._threads(use, 8)
        self.assertEqual(results.count('used'), 3)
        self.assertEqual(results.count('refused'), 5)
        left, _ = self._uses_left()
        self.assertEqual(left, 0)

    def test_2_replayed_request_booked_once(self):
        "The same request sent by 6 tills at once is booked once"
        def add():
            Card = Pool().get('retail.count.card')
            card = Card(self.card_id)
            card.adjust_uses(card.services[0], 5, "more uses")
        run(add, self._context())
        left, count = self._uses_left()
        results = self._threads(lambda i: self._redeem('replay-1'), 6)
        self.assertEqual(len(set(results)), 1)
        after, after_count = self._uses_left()
        self.assertEqual((after, after_count), (left - 1, count + 1))
