# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Notifications of count cards (with retail_count_card and retail_coupon)"
import datetime as dt
from unittest.mock import patch

from trytond.modules.company.tests import set_company
from trytond.modules.retail_notify.tests.tools import setup_company, setup_notify
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction

NOON = dt.datetime(2026, 6, 15, 4, 0)


class RetailNotifyExtrasTestCase(ModuleTestCase):
    "Test Retail Notify module with count cards and coupons"
    module = 'retail_notify'
    extras = ['retail_count_card', 'retail_coupon']

    @with_transaction()
    def test_count_card_use_and_expiry(self):
        "A count card use tells the uses left; its expiry is warned"
        from trytond.modules.retail_count_card.tests.test_module import Env
        pool = Pool()
        Message = pool.get('retail.notify.message')
        Party = pool.get('party.party')
        Lang = pool.get('ir.lang')
        Card = pool.get('retail.count.card')
        company = setup_company()
        with set_company(company), patch.object(Message, '_now', lambda: NOON):
            env = Env(company)
            setup_notify(company, email=False)
            zh, = Lang.search([('code', '=', 'zh_CN')])
            Party.write([env.member], {
                    'member_mobile': '+8613800000009', 'lang': zh.id})
            card = env.issue()
            card.redeem(env.haircut, 3, env.member, env.today)
            message, = Message.search([('event', '=', 'count_card_use')])
            self.assertEqual(message.member, env.member)
            self.assertIn("10 Haircuts", message.body)
            self.assertIn("剩余7次", message.body)

            service, = card.services
            Card.expire_due(date=service.valid_until - dt.timedelta(days=1))
            message, = Message.search([('event', '=', 'count_card_expiry')])
            self.assertIn("剩余7次", message.body)


del ModuleTestCase
