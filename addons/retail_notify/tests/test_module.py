# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
from decimal import Decimal
from unittest.mock import patch

from trytond import backend
from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import CompanyTestMixin, set_company
from trytond.modules.retail_notify.exceptions import GatewayError, TemplateError
from trytond.modules.retail_notify.notify import placeholders, render
from trytond.modules.retail_notify.tests.tools import (
    HTTPProvider,
    SMTPServer,
    create_member,
    setup_company,
    setup_notify,
)
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, ModuleTestCase, with_transaction
from trytond.transaction import Transaction

# 2026-06-15 04:00 UTC = 12:00 in Shanghai (not quiet)
NOON = dt.datetime(2026, 6, 15, 4, 0)
# 2026-06-15 14:00 UTC = 22:00 in Shanghai (quiet until 09:00 = 01:00 UTC)
NIGHT = dt.datetime(2026, 6, 15, 14, 0)


class RetailNotifyTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Retail Notify module"
    module = 'retail_notify'

    @property
    def _skip_company_rule(self):
        # templates and providers without company are shared defaults
        return super()._skip_company_rule | {
            ('party.party', 'member_company'),
            ('retail.notify.template', 'company'),
            ('retail.notify.provider', 'company'),
            }

    def test_company_multivalue_context(self):
        "Test context of company multivalue target (but for members)"
        pool = Pool(DB_NAME)
        # member fields of the models of other modules this module extends
        hidden = [
            (pool.get('party.party'), 'member_company'),
            (pool.get('retail.points.expiry.warning'), 'member'),
            (pool.get('retail.wallet.topup'), 'member'),
            (pool.get('retail.member.tier.history'), 'member'),
            ]
        saved = [(Model, Model._fields) for Model, _ in hidden]
        try:
            for Model, name in hidden:
                Model._fields = {
                    k: v for k, v in Model._fields.items() if k != name}
            super().test_company_multivalue_context()
        finally:
            for Model, fields in saved:
                Model._fields = fields

    def setUp(self):
        super().setUp()
        self.smtp = SMTPServer().start()
        self.addCleanup(self.smtp.stop)

    def _messages(self, member, **domain):
        Message = Pool().get('retail.notify.message')
        return Message.search(
            [('member', '=', member.id)]
            + [(k, '=', v) for k, v in domain.items()],
            order=[('id', 'ASC')])

    def test_render_is_safe(self):
        "Templates only insert the values given, nothing else"
        self.assertEqual(
            render("余额{balance}", {'balance': '¥90.00'}), "余额¥90.00")
        self.assertEqual(render("{{literal}}", {}), "{literal}")
        for text in ["{member.__class__}", "{member[0]}", "{balance:>99}",
                "{balance!r}", "{}", "{0}"]:
            with self.assertRaises((KeyError, ValueError)):
                render(text, {'member': 'x', 'balance': '1'})
        self.assertEqual(
            placeholders("Hi {member}, {balance}"), {'member', 'balance'})

    @with_transaction()
    def test_template_placeholders_checked(self):
        "A template with an unknown or malformed placeholder is refused"
        Template = Pool().get('retail.notify.template')
        company = setup_company()
        with set_company(company):
            # (each in its own language: a refused save is rolled back by
            # the dispatcher, not here)
            for i, body in enumerate(["Balance {balanse}",
                        "Balance {balance", "{member.name}"]):
                template = Template(
                    company=company, event='wallet_payment', channel='sms',
                    language='x%s' % i, body=body)
                with self.assertRaises(TemplateError):
                    template.save()
            template = Template(
                company=company, event='wallet_payment', channel='sms',
                language='en', body="Paid {amount}, balance {balance}")
            template.save()

    @with_transaction()
    def test_quiet_hours(self):
        "Quiet hours are local time and may cross midnight"
        company = setup_company()
        with set_company(company):
            config = setup_notify(
                company, quiet_start=dt.time(21), quiet_end=dt.time(9))
            self.assertIsNone(config.hold_until(NOON))
            self.assertEqual(
                config.hold_until(NIGHT), dt.datetime(2026, 6, 16, 1, 0))
            # 02:00 in Shanghai: until 09:00 the same day
            self.assertEqual(
                config.hold_until(dt.datetime(2026, 6, 15, 18, 0)),
                dt.datetime(2026, 6, 16, 1, 0))
            # service notices are not held unless configured
            self.assertIsNone(config.hold_until(NIGHT, marketing=False))
            config.quiet_scope = 'all'
            self.assertIsNotNone(config.hold_until(NIGHT, marketing=False))

    @with_transaction()
    def test_wallet_notices_in_member_language(self):
        "A wallet change and a payment: one notice each, balance, language"
        pool = Pool()
        Wallet = pool.get('retail.wallet')
        Message = pool.get('retail.notify.message')
        Outbox = pool.get('retail.notify.fake.outbox')
        company = setup_company()
        with set_company(company), patch.object(Message, '_now', lambda: NOON):
            setup_notify(company)
            li = create_member(company, "李雷", lang='zh_CN')
            lucy = create_member(
                company, "Lucy", lang='en', mobile='+8613800000002',
                email='lucy@example.com')
            for member in [li, lucy]:
                wallet = Wallet.find(member, company, create=True)
                wallet.post_line('topup', principal=Decimal('100'))
                wallet.spend(Decimal('30'), origin=None)

            zh = self._messages(li)
            self.assertEqual(
                sorted((m.event, m.channel) for m in zh),
                sorted([('wallet_change', 'email'), ('wallet_change', 'sms'),
                        ('wallet_payment', 'email'),
                        ('wallet_payment', 'sms')]))
            self.assertEqual({m.state for m in zh}, {'queued'})
            self.assertEqual({m.language for m in zh}, {'zh_CN'})
            payment_sms, = self._messages(
                li, event='wallet_payment', channel='sms')
            self.assertIn("储值余额¥70.00", payment_sms.body)
            self.assertIn("消费¥30.00", payment_sms.body)
            en_payment, = self._messages(
                lucy, event='wallet_payment', channel='email')
            self.assertEqual(en_payment.language, 'en')
            self.assertIn("Balance: ¥70.00", en_payment.body)

            Message.send(self._messages(li) + self._messages(lucy))
            self.assertEqual(
                {m.state for m in self._messages(li)}, {'sent'})
            received = self.smtp.received()
            self.assertEqual(len(received), 4)
            subjects = {to: [] for to, _, _ in received}
            for to, subject, _ in received:
                subjects[to].append(subject)
            self.assertIn("储值消费¥30.00", subjects['member@example.com'])
            self.assertIn(
                "Payment of ¥30.00 from your stored value",
                subjects['lucy@example.com'])
            sms = Outbox.search([('recipient', '=', '+8613800000001')])
            self.assertEqual(len(sms), 2)
            self.assertTrue(all('【' in s.text for s in sms))

            # sending again sends nothing more
            Message.send(self._messages(li))
            self.assertEqual(len(self.smtp.received()), 4)
            self.assertEqual(
                len(Outbox.search([('recipient', '=', '+8613800000001')])),
                2)

    @with_transaction()
    def test_never_twice(self):
        "The same event creates one message per channel, enforced by the DB"
        pool = Pool()
        Message = pool.get('retail.notify.message')
        company = setup_company()
        with set_company(company), patch.object(Message, '_now', lambda: NOON):
            setup_notify(company, sms=False)
            member = create_member(company, "Lucy")
            first = Message.notify(
                'tier_upgrade', member, 'test:1', {'tier': 'Gold'})
            self.assertEqual(len(first), 1)
            self.assertEqual(
                Message.notify(
                    'tier_upgrade', member, 'test:1', {'tier': 'Gold'}),
                [])
            message, = first
            table = Message.__table__()
            cursor = Transaction().connection.cursor()
            with self.assertRaises(backend.DatabaseIntegrityError):
                cursor.execute(*table.insert(
                        [table.company, table.member, table.event,
                            table.event_key, table.channel, table.state,
                            table.attempts],
                        [[company.id, member.id, 'tier_upgrade', 'test:1',
                                'email', 'queued', 0]]))

    @with_transaction()
    def test_consent(self):
        "Marketing needs consent per channel; notices can be turned off"
        pool = Pool()
        Message = pool.get('retail.notify.message')
        company = setup_company()
        with set_company(company), patch.object(Message, '_now', lambda: NOON):
            setup_notify(company)
            agrees = create_member(
                company, "Agrees", consent_sms=True, consent_email=False,
                birth_date=dt.date(1990, 6, 15))
            refuses = create_member(
                company, "Refuses", mobile='+8613800000003',
                email='refuses@example.com', birth_date=dt.date(1985, 6, 15),
                notice_sms=False)
            create_member(
                company, "Other Day", mobile='+8613800000004',
                consent_sms=True, birth_date=dt.date(1985, 6, 16))
            Message.birthday_cron(date=dt.date(2026, 6, 15))
            self.assertEqual(
                [(m.channel, m.state, m.skip_reason)
                    for m in self._messages(agrees)],
                [('email', 'skipped', 'consent'), ('sms', 'queued', None)])
            self.assertEqual(
                {(m.state, m.skip_reason) for m in self._messages(refuses)},
                {('skipped', 'consent')})
            skipped = self._messages(refuses)[0]
            self.assertIsNone(skipped.body)
            self.assertEqual(
                Message.search([('event', '=', 'birthday')], count=True), 4)
            # the cron again the same day (or year) greets nobody twice
            Message.birthday_cron(date=dt.date(2026, 6, 15))
            self.assertEqual(
                Message.search([('event', '=', 'birthday')], count=True), 4)

            # service notices: the member turned SMS notices off
            Message.notify('tier_upgrade', refuses, 'tier:1', {'tier': 'Gold'})
            self.assertEqual(
                {(m.channel, m.state, m.skip_reason)
                    for m in self._messages(refuses, event='tier_upgrade')},
                {('email', 'queued', None), ('sms', 'skipped', 'opted_out')})

    @with_transaction()
    def test_birthday_leap_day(self):
        "Members born on 29 February are greeted on 28 February"
        pool = Pool()
        Message = pool.get('retail.notify.message')
        company = setup_company()
        with set_company(company), patch.object(Message, '_now', lambda: NOON):
            setup_notify(company, email=False)
            member = create_member(
                company, "Leap", consent_sms=True,
                birth_date=dt.date(2000, 2, 29))
            Message.birthday_cron(date=dt.date(2027, 2, 28))
            self.assertEqual(len(self._messages(member)), 1)

    @with_transaction()
    def test_quiet_hours_defer(self):
        "A message during quiet hours is held, then sent after them"
        pool = Pool()
        Message = pool.get('retail.notify.message')
        Outbox = pool.get('retail.notify.fake.outbox')
        company = setup_company()
        with set_company(company):
            setup_notify(
                company, email=False,
                quiet_start=dt.time(21), quiet_end=dt.time(9))
            member = create_member(
                company, "Night", consent_sms=True,
                birth_date=dt.date(1990, 6, 15))
            with patch.object(Message, '_now', lambda: NIGHT):
                Message.birthday_cron(date=dt.date(2026, 6, 15))
                message, = self._messages(member)
                self.assertEqual(
                    message.scheduled_at, dt.datetime(2026, 6, 16, 1, 0))
                Message.send([message])
                Message.send_due()
                self.assertEqual(message.state, 'queued')
                self.assertEqual(Outbox.search([], count=True), 0)
            with patch.object(
                    Message, '_now', lambda: dt.datetime(2026, 6, 16, 1, 1)):
                Message.send_due()
            message, = self._messages(member)
            self.assertEqual(message.state, 'sent')
            self.assertEqual(Outbox.search([], count=True), 1)

    @with_transaction()
    def test_smtp_failure_retried(self):
        "A refused e-mail is retried with back-off and then sent once"
        pool = Pool()
        Message = pool.get('retail.notify.message')
        company = setup_company()
        with set_company(company):
            setup_notify(company, sms=False, retry_delay=5, max_attempts=3)
            member = create_member(company, "Lucy")
            self.smtp.fail = 1
            with patch.object(Message, '_now', lambda: NOON):
                message, = Message.notify(
                    'tier_upgrade', member, 'tier:1', {'tier': 'Gold'})
                Message.send([message])
            self.assertEqual(
                (message.state, message.attempts), ('queued', 1))
            self.assertIn('451', message.last_error)
            self.assertEqual(
                message.scheduled_at, NOON + dt.timedelta(minutes=5))
            self.assertEqual(self.smtp.received(), [])
            later = NOON + dt.timedelta(minutes=6)
            with patch.object(Message, '_now', lambda: later):
                Message.send_due()
                Message.send_due()
            self.assertEqual(
                (message.state, message.attempts), ('sent', 2))
            self.assertEqual(len(self.smtp.received()), 1)

    @with_transaction()
    def test_send_due_sends_each_once(self):
        "The cron sends more than one batch and no e-mail twice"
        pool = Pool()
        Message = pool.get('retail.notify.message')
        company = setup_company()
        with set_company(company), patch.object(Message, '_now', lambda: NOON):
            setup_notify(company, sms=False)
            member = create_member(company, "Lucy")
            for i in range(105):
                Message.notify(
                    'tier_upgrade', member, 'tier:%s' % i, {'tier': 'Gold'})
            Message.send_due()
            self.assertEqual(
                Message.search([('state', '=', 'sent')], count=True), 105)
            self.assertEqual(len(self.smtp.received()), 105)

    @with_transaction()
    def test_failed_after_max_attempts(self):
        "After the last attempt the message is failed; retry queues it"
        pool = Pool()
        Message = pool.get('retail.notify.message')
        Provider = pool.get('retail.notify.provider')
        company = setup_company()
        with set_company(company):
            config = setup_notify(
                company, email=False, max_attempts=2, retry_delay=1)
            Provider.write([config.sms_provider], {'fake_fail': True})
            member = create_member(company, "Lucy")
            now = NOON
            with patch.object(Message, '_now', lambda: now):
                message, = Message.notify(
                    'tier_upgrade', member, 'tier:1', {'tier': 'Gold'})
                Message.send([message])
                now = NOON + dt.timedelta(hours=1)
                Message.send([message])
            self.assertEqual((message.state, message.attempts), ('failed', 2))
            Provider.write([config.sms_provider], {'fake_fail': False})
            with patch.object(Message, '_now', lambda: now):
                Message.retry([message])
                Message.send([message])
            self.assertEqual(message.state, 'sent')

    @with_transaction()
    def test_http_provider(self):
        "The HTTP adapter posts JSON with the key and reads the message id"
        pool = Pool()
        Message = pool.get('retail.notify.message')
        Provider = pool.get('retail.notify.provider')
        Configuration = pool.get('retail.notify.configuration')
        server = HTTPProvider().start()
        self.addCleanup(server.stop)
        company = setup_company()
        with set_company(company), patch.object(Message, '_now', lambda: NOON):
            provider = Provider(
                name="HTTP", channel='sms', type='http', url=server.url,
                api_key='secret', sender='Huiyuan')
            provider.save()
            Configuration.create([{
                        'company': company.id, 'sms_provider': provider.id}])
            member = create_member(company, "Lucy")
            message, = Message.notify(
                'tier_upgrade', member, 'tier:1', {'tier': 'Gold'})
            Message.send([message])
            self.assertEqual(message.state, 'sent')
            self.assertEqual(message.provider_message_id, 'msg-1')
            request, = server.requests
            self.assertEqual(request['to'], '+8613800000001')
            self.assertIn('Gold', request['text'])
            self.assertEqual(
                server.headers[0]['Authorization'], 'Bearer secret')

            server.status = 500
            with self.assertRaises(GatewayError):
                provider.send('+8613800000001', 'hello')

    @with_transaction()
    def test_points_expiry_and_tier_upgrade(self):
        "Points expiry warnings and tier upgrades become notices"
        pool = Pool()
        Message = pool.get('retail.notify.message')
        Account = pool.get('retail.points.account')
        Line = pool.get('retail.points.line')
        Tier = pool.get('retail.member.tier')
        Party = pool.get('party.party')
        company = setup_company()
        today = dt.date(2026, 6, 15)
        with set_company(company), patch.object(Message, '_now', lambda: NOON):
            setup_notify(company, email=False)
            member = create_member(company, "李雷", lang='zh_CN')
            account = Account.get_account(company, member)
            Account.lock([account])
            for points in [40, 60]:
                account.credit(
                    'adjust', points, today, reason="test",
                    expiry_date=today + dt.timedelta(days=10))
            Line.expire_points(date=today)
            message, = self._messages(member, event='points_expiry')
            self.assertIn("100积分", message.body)

            silver, gold = Tier.create([
                    {'company': company.id, 'name': "Silver", 'code': 'S',
                        'rank': 10},
                    {'company': company.id, 'name': "Gold", 'code': 'G',
                        'rank': 20},
                    ])
            Party.write([member], {'member_tier': silver.id})
            self.assertEqual(self._messages(member, event='tier_upgrade'), [])
            with Transaction().set_context(_retail_tier_reason='upgrade'):
                Party.write([member], {'member_tier': gold.id})
            message, = self._messages(member, event='tier_upgrade')
            self.assertIn("升级为Gold", message.body)

    @with_transaction()
    def test_bodies_hidden_from_cashiers(self):
        "Cashiers and accountants see the log but not the bodies"
        pool = Pool()
        Message = pool.get('retail.notify.message')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        company = setup_company()
        with set_company(company), patch.object(Message, '_now', lambda: NOON):
            setup_notify(company, sms=False)
            member = create_member(company, "Lucy")
            message, = Message.notify(
                'tier_upgrade', member, 'tier:1', {'tier': 'Gold'})
            users = {}
            for group in ['cashier', 'manager']:
                user = User(
                    login=group, name=group, companies=[company],
                    company=company, groups=[ModelData.get_id(
                            'retail_member', 'group_retail_%s' % group)])
                user.save()
                users[group] = user
            for group, can_read in [('cashier', False), ('manager', True)]:
                with Transaction().set_user(users[group].id), \
                        Transaction().set_context(_check_access=True):
                    record, = Message.read(
                        [message.id], ['state', 'event'])
                    self.assertEqual(record['state'], 'queued')
                    if can_read:
                        record, = Message.read([message.id], ['body'])
                        self.assertIn('Gold', record['body'])
                    else:
                        with self.assertRaises(AccessError):
                            Message.read([message.id], ['body'])
                    with self.assertRaises(AccessError):
                        Message.write([message], {'state': 'sent'})



del ModuleTestCase
