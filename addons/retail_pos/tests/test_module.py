# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
import os
import uuid
from decimal import Decimal
from unittest.mock import patch

from trytond.exceptions import UserError
from trytond.modules.product import round_price
from trytond.modules.retail_pos.exceptions import PosError
from trytond.modules.retail_pos.tests.tools import (
    CASHIER_PIN,
    MEMBER_PIN,
    context_of,
    give_points,
    setup_pos,
)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction


def new_uuid():
    return str(uuid.uuid4())


class RetailPosTestCase(ModuleTestCase):
    "Test Retail POS module"
    module = 'retail_pos'

    # helpers
    def _env(self, **kw):
        env = setup_pos(**kw)
        transaction = Transaction()
        # for the rest of the test's transaction
        transaction.context = dict(transaction.context, **context_of(env))
        # as the routes do: the cashier's user, no access checks
        transaction.user = env['user'].id
        return env

    def _api(self):
        return Pool().get('retail.pos.api')

    def _cart(self, env, lines=None, **values):
        products = env['products']
        cart = {
            'uuid': new_uuid(),
            'lines': lines or [
                {'product_id': products[1].id, 'quantity': 2},
                {'product_id': products[2].id, 'quantity': 1},
                ],
            }
        cart.update(values)
        return cart

    def _sell_cash(self, env):
        "Check out the default cart, paid in cash with change"
        cart = self._cart(env, payments=[
                {'method_id': env['methods']['cash'].id, 'amount': '500.00'}])
        return self._api().checkout(env['cashier'], env['point'], cart)

    def _transfer_type(self, env, name):
        "A cash transfer type of the company (an expense account)"
        pool = Pool()
        Account = pool.get('account.account')
        Journal = pool.get('account.journal')
        TransferType = pool.get('sale.point.cash.transfer.type')
        account, = Account.search([('type.expense', '=', True)], limit=1)
        journal, = Journal.search([('type', '=', 'cash')], limit=1)
        type_ = TransferType(name=name, journal=journal, account=account,
            company=env['company'])
        type_.save()
        return type_

    def _sale_count(self):
        Sale = Pool().get('sale.point.sale')
        return Sale.search_count([])

    # tests
    @with_transaction()
    def test_login_pin_badge_and_lockout(self):
        "Cashier signs in by PIN or badge; wrong PINs lock the sign-in"
        env = self._env()
        API = self._api()
        Token = Pool().get('retail.pos.token')
        result = API.login({'login': env['user'].login, 'pin': CASHIER_PIN})
        self.assertEqual(result['point']['id'], env['point'].id)
        token = Token.check(result['token'])
        self.assertEqual(token.cashier, env['cashier'])
        self.assertNotEqual(token.token_hash, result['token'])
        self.assertTrue(env['cashier'].pin_hash.startswith('$argon2id$'))
        result = API.login({'badge': env['cashier'].badge})
        self.assertTrue(Token.check(result['token']))
        self.assertIsNone(Token.check('not-a-token'))
        with self.assertRaises(PosError) as cm:
            API.login({'login': env['user'].login, 'pin': '0000'})
        self.assertEqual(cm.exception.code, 'wrong_pin')
        self.assertEqual(cm.exception.status, 401)

    @with_transaction()
    def test_token_of_expired_or_inactive_cashier_refused(self):
        "A token runs as its cashier's user; expired or deactivated: refused"
        env = self._env()
        API = self._api()
        pool = Pool()
        Token = pool.get('retail.pos.token')
        Cashier = pool.get('retail.pos.cashier')
        User = pool.get('res.user')
        Lang = pool.get('ir.lang')
        english, = Lang.search([('code', '=', 'en')])
        User.write([env['user']], {'language': english.id})
        secret = API.login(
            {'login': env['user'].login, 'pin': CASHIER_PIN})['token']
        found = Token.authenticate(secret)
        self.assertEqual(
            (found.cashier, found.point, found.user, found.company,
                found.employee, found.language, found.employee_company),
            (env['cashier'].id, env['point'].id, env['user'].id,
                env['company'].id, env['employee'].id, 'en',
                env['company'].id))
        token, = Token.search([('id', '=', found.token)])
        Token.write([token], {
                'expires': dt.datetime.now() - dt.timedelta(minutes=1)})
        self.assertIsNone(Token.authenticate(secret))
        self.assertIsNone(Token.check(secret))
        Token.write([token], {
                'expires': dt.datetime.now() + dt.timedelta(hours=1)})
        self.assertTrue(Token.check(secret))
        Cashier.write([env['cashier']], {'active': False})
        self.assertIsNone(Token.authenticate(secret))

    @with_transaction()
    def test_sale_numbers_follow_the_till_sequence(self):
        "Sales are numbered from the till's sequence: prefix, padding, next"
        env = self._env()
        Sequence = Pool().get('ir.sequence.strict')
        sequence = env['point'].sequence
        Sequence.write([sequence], {
                'prefix': 'T${year}-', 'padding': 5, 'number_next': 41})
        year = dt.date.today().year

        def sell():
            return self._sell_cash(env)
        first = sell()
        self.assertEqual(first['sale']['number'], 'T%s-00041' % year)
        self.assertEqual(first['receipt']['barcode']['data'],
            'T%s-00041' % year)
        self.assertEqual(sell()['sale']['number'], 'T%s-00042' % year)
        self.assertEqual(Sequence(sequence.id).number_next, 43)
        # a sequence of another type still numbers the sales
        Sequence.write([sequence], {
                'type': 'decimal timestamp', 'prefix': 'D'})
        number = sell()['sale']['number']
        self.assertTrue(number.startswith('D') and number[1:].isdigit())

    @with_transaction()
    def test_receipt_names_the_cashier(self):
        "The receipt names the company and the cashier's user, else login"
        env = self._env()
        User = Pool().get('res.user')

        def cashier_on_receipt():
            return self._sell_cash(env)['receipt']['meta'][3][1]
        User.write([env['user']], {'name': "Han Meimei"})
        self.assertEqual(cashier_on_receipt(), "Han Meimei")
        User.write([env['user']], {'name': None})
        self.assertEqual(cashier_on_receipt(), env['user'].login)
        # the receipt's title is the company's name
        Party = Pool().get('party.party')
        Party.write([env['company'].party], {'name': "好运来服饰"})
        self.assertEqual(
            self._sell_cash(env)['receipt']['header']['title'], "好运来服饰")

    @with_transaction()
    def test_receipt_time_on_the_shop_clock(self):
        "Receipts and the handover print the company's local time, not the server's UTC"
        pool = Pool()
        Company = pool.get('company.company')
        Sale = pool.get('sale.point.sale')
        env = self._env()
        API = self._api()
        Company.write([env['company']], {'timezone': 'Asia/Shanghai'})
        result = self._sell_cash(env)
        sale = Sale(result['sale']['id'])
        meta = dict(result['receipt']['meta'])
        printed = dt.datetime.fromisoformat(meta['Date'])
        self.assertEqual(printed,
            (sale.create_date + dt.timedelta(hours=8)).replace(microsecond=0))
        report = API.session_report(env['cashier'], env['point'])
        printed = dt.datetime.fromisoformat(report['printed_at'])
        self.assertLess(abs(printed - dt.datetime.utcnow()
                - dt.timedelta(hours=8)), dt.timedelta(minutes=5))
        # a company without a time zone prints UTC
        Company.write([env['company']], {'timezone': None})
        result = self._sell_cash(env)
        sale = Sale(result['sale']['id'])
        printed = dt.datetime.fromisoformat(
            dict(result['receipt']['meta'])['Date'])
        self.assertEqual(printed, sale.create_date.replace(microsecond=0))

    @with_transaction()
    def test_checkout_reprices_and_replays(self):
        "Client prices are ignored; the same UUID returns the first result"
        env = self._env()
        API = self._api()
        Sale = Pool().get('sale.point.sale')
        products = env['products']
        cart = self._cart(env, member_id=env['member'].id)
        cart['lines'][0]['unit_price'] = '0.01'
        cart['total'] = '0.02'
        cart['payments'] = [
            {'method_id': env['methods']['cash'].id, 'amount': '200.00'}]
        first = API.checkout(env['cashier'], env['point'], cart)
        expected = (
            (products[1].gross_price_used * Decimal('0.95')).quantize(
                Decimal('0.0001')) * 2
            + (products[2].gross_price_used * Decimal('0.95')).quantize(
                Decimal('0.0001'))).quantize(Decimal('0.01'))
        self.assertEqual(Decimal(first['sale']['total']), expected)
        self.assertEqual(Decimal(first['sale']['change']),
            Decimal('200.00') - expected)
        sale = Sale(first['sale']['id'])
        self.assertEqual(sale.state, 'done')
        self.assertEqual(sale.member, env['member'])
        self.assertEqual(sum(p.amount for p in sale.payments), expected)
        count = self._sale_count()
        again = API.checkout(env['cashier'], env['point'], cart)
        self.assertEqual(again, first)
        self.assertEqual(self._sale_count(), count)
        changed = dict(cart, payments=[{
                    'method_id': env['methods']['cash'].id,
                    'amount': '300.00'}])
        with self.assertRaises(PosError) as cm:
            API.checkout(env['cashier'], env['point'], changed)
        self.assertEqual(cm.exception.code, 'uuid_reused')
        # the receipt has the lines, the total and the member
        receipt = first['receipt']
        self.assertEqual(len(receipt['lines']), 2)
        self.assertEqual(receipt['barcode']['data'], sale.number)
        self.assertIn('member', receipt)

    @with_transaction()
    def test_quantity_decimals_of_the_unit(self):
        "A product sold by the unit takes whole quantities, and says so"
        env = self._env()
        API = self._api()
        product = env['products'][1]
        self.assertEqual(product.sale_uom.digits, 0)
        for quantity in [1.5, 0, -2, 'two', True]:
            cart = self._cart(env, lines=[
                    {'product_id': product.id, 'quantity': quantity}])
            cart['payments'] = [{'method_id': env['methods']['cash'].id,
                    'amount': '1000.00'}]
            for call in [API.quote, API.checkout]:
                with self.assertRaises(PosError) as cm:
                    call(env['cashier'], env['point'], cart)
                self.assertEqual(cm.exception.code, 'invalid_quantity')
                self.assertEqual(cm.exception.field, 'lines[0].quantity')
        with self.assertRaises(PosError) as cm:
            API.quote(env['cashier'], env['point'], self._cart(env, lines=[
                        {'product_id': product.id, 'quantity': 1.5}]))
        self.assertIn(product.rec_name, cm.exception.message)
        self.assertIn('0', cm.exception.message)
        self.assertEqual(self._sale_count(), 0)
        # three units are fine
        cart = self._cart(env, lines=[
                {'product_id': product.id, 'quantity': 3}])
        cart['payments'] = [{'method_id': env['methods']['cash'].id,
                'amount': '1000.00'}]
        result = API.checkout(env['cashier'], env['point'], cart)
        self.assertEqual(result['receipt']['lines'][0]['qty'], '3')

    @with_transaction()
    def test_sale_totals_as_sale_point(self):
        "The totals read from SQL are sale_point's, to the half cent"
        env = self._env()
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        Line = pool.get('sale.point.sale.line')
        Payment = pool.get('sale.point.payment')
        products = env['products']
        sale = Sale(company=env['company'], point=env['point'],
            employee=env['employee'])
        sale.save()
        # half cents round to even: 0.125 down, -0.135 away from zero
        Line.save([
                Line(sale=sale, product=products[1], quantity=1,
                    unit_list_price=Decimal('0.1100'),
                    unit_gross_price=Decimal('0.1250')),
                Line(sale=sale, product=products[2], quantity=2,
                    unit_list_price=Decimal('0.0550'),
                    unit_gross_price=Decimal('0.0625')),
                Line(sale=sale, product=products[3], quantity=-3,
                    unit_list_price=Decimal('0.0400'),
                    unit_gross_price=Decimal('0.0450')),
                ])
        Payment.save([Payment(sale=sale, method=env['methods']['card'],
                    amount=Decimal('0.05'))])
        sale = Sale(sale.id)
        read, = Sale.read([sale.id],
            ['total', 'total_tax', 'amount_paid', 'amount_to_pay'])
        self.assertEqual(read['total'], sale.on_change_with_total())
        self.assertEqual(read['total_tax'], sale.on_change_with_total_tax())
        self.assertEqual(read['amount_paid'], Decimal('0.05'))
        self.assertEqual(read['amount_to_pay'],
            sale.on_change_with_amount_to_pay())
        # 0.12 + 0.12 - 0.14
        self.assertEqual(read['total'], Decimal('0.10'))
        self.assertEqual(sale.lines[0].currency, env['company'].currency)
        self.assertTrue(env['point'].tax_included)
        lines = Line.read([ln.id for ln in sale.lines],
            ['unit_price', 'amount', 'unit_gross_price'])
        self.assertEqual(
            [(ln['unit_price'], ln['amount']) for ln in lines],
            [(ln['unit_gross_price'], amount) for ln, amount in zip(lines, [
                        Decimal('0.12'), Decimal('0.12'), Decimal('-0.14')])])
        self.assertEqual(sale.currency, env['company'].currency)

    @with_transaction()
    def test_sale_lines_and_payments_follow_changes(self):
        "A sale's lines and payments, read once, show every change"
        from trytond.modules.retail_member.exchange import bulk_create
        env = self._env()
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        Line = pool.get('sale.point.sale.line')
        Payment = pool.get('sale.point.payment')
        products = env['products']
        sale, other = Sale.create([{'company': env['company'].id,
                    'point': env['point'].id,
                    'employee': env['employee'].id}] * 2)

        def line(product, sale=sale):
            return Line(sale=sale, product=product, quantity=1,
                unit_list_price=Decimal('10'),
                unit_gross_price=Decimal('10'))
        self.assertEqual(sale.lines, ())
        first = line(products[1])
        first.save()
        self.assertEqual(Sale(sale.id).lines, (first,))
        # the lines the amounts have read, in the order of the One2Many
        third = line(products[3])
        third.save()
        self.assertEqual(Sale(sale.id).total, Decimal('20'))
        self.assertEqual(Sale(sale.id).lines, (first, third))
        Line.delete([third])
        self.assertEqual(Sale(sale.id).lines, (first,))
        # the same record after a change of its lines
        self.assertEqual(sale.lines, (first,))
        self.assertEqual(sale.total, Decimal('10'))
        second, = Line.browse(bulk_create(Line, [{'sale': sale.id,
                        'product': products[2].id, 'quantity': 1,
                        'unit_list_price': Decimal('5'),
                        'unit_gross_price': Decimal('5')}]))
        self.assertEqual(set(sale.lines), {first, second})
        self.assertEqual((sale.total, sale.amount_to_pay),
            (Decimal('15'), Decimal('15')))
        Line.write([first], {'sale': other.id})
        self.assertEqual(sale.lines, (second,))
        self.assertEqual(other.lines, (first,))
        self.assertEqual((sale.total, other.total),
            (Decimal('5'), Decimal('10')))
        self.assertEqual(Line(second.id).amount, Decimal('5'))
        Line.write([second], {'quantity': 3})
        self.assertEqual(Line(second.id).amount, Decimal('15'))
        self.assertEqual(sale.total, Decimal('15'))
        # the lines' amounts the sale's have computed follow too
        self.assertEqual(
            [(ln.unit_price, ln.amount) for ln in Line.browse(
                    [first, second])],
            [(Decimal('10'), Decimal('10')), (Decimal('5'), Decimal('15'))])
        payment = Payment(sale=sale, method=env['methods']['card'],
            amount=Decimal('5'))
        self.assertEqual(sale.payments, ())
        payment.save()
        self.assertEqual(sale.payments, (payment,))
        self.assertEqual(
            (sale.amount_paid, sale.amount_to_pay, sale.currency),
            (Decimal('5'), Decimal('10'), env['company'].currency))
        Payment.delete([payment])
        self.assertEqual(sale.payments, ())
        self.assertEqual(sale.amount_to_pay, Decimal('15'))
        Line.delete([second])
        self.assertEqual(sale.lines, ())
        self.assertEqual((sale.total, sale.amount_to_pay),
            (Decimal('0'), Decimal('0')))
        # a value set on the record and not saved is its own
        sale.lines = [line(products[3])]
        self.assertEqual(len(sale.lines), 1)
        self.assertIsNone(sale.lines[0].id)

    @with_transaction()
    def test_mixed_payments_with_change(self):
        "Bank card, then cash with change; an underpaid sale is refused"
        env = self._env()
        API = self._api()
        Sale = Pool().get('sale.point.sale')
        product = env['products'][1]
        price = product.gross_price_used
        cart = self._cart(env, lines=[
                {'product_id': product.id, 'quantity': 3}])
        total = price * 3
        cart['payments'] = [
            {'method_id': env['methods']['card'].id, 'amount': '10.00',
                'reference': '123456'},
            {'method_id': env['methods']['cash'].id, 'amount': str(
                    (total - 10 + 5).quantize(Decimal('0.01')))},
            ]
        result = API.checkout(env['cashier'], env['point'], cart)
        self.assertEqual(Decimal(result['sale']['change']), Decimal('5.00'))
        sale = Sale(result['sale']['id'])
        amounts = sorted((p.method.name, p.amount) for p in sale.payments)
        self.assertEqual(amounts, [
                ('Bank Card', Decimal('10.00')),
                ('Cash', total - 10)])
        short = self._cart(env, lines=[
                {'product_id': product.id, 'quantity': 3}])
        short['payments'] = [
            {'method_id': env['methods']['cash'].id, 'amount': '1.00'}]
        with self.assertRaises(PosError) as cm:
            API.checkout(env['cashier'], env['point'], short)
        self.assertEqual(cm.exception.code, 'amount_to_pay')
        over = self._cart(env, lines=[
                {'product_id': product.id, 'quantity': 1}])
        over['payments'] = [
            {'method_id': env['methods']['card'].id, 'amount': '999.00'}]
        with self.assertRaises(PosError) as cm:
            API.checkout(env['cashier'], env['point'], over)
        self.assertEqual(cm.exception.code, 'overpayment')
        self.assertEqual(cm.exception.field, 'payments[0].amount')
        # a method that does not exist or was deactivated is refused
        Method = Pool().get('sale.point.payment.method')
        card = env['methods']['card']
        for method_id in [card.id + 10000, card.id]:
            if method_id == card.id:
                Method.write([card], {'active': False})
            cart = self._cart(env, lines=[
                    {'product_id': product.id, 'quantity': 1}])
            cart['payments'] = [{'method_id': method_id,
                    'amount': str(price.quantize(Decimal('0.01')))}]
            with self.assertRaises(PosError) as cm:
                API.checkout(env['cashier'], env['point'], cart)
            self.assertEqual(cm.exception.code, 'method_not_found')
            self.assertEqual(cm.exception.field, 'payments[0].method_id')

    @with_transaction()
    def test_wallet_payment_and_wrong_pin(self):
        "Wallet pays with the PIN; a wrong PIN writes no ledger line"
        env = self._env()
        API = self._api()
        wallet = env['wallet']
        product = env['products'][1]
        cart = self._cart(env, member_id=env['member'].id, lines=[
                {'product_id': product.id, 'quantity': 1}])
        total = (product.gross_price_used * Decimal('0.95')).quantize(
            Decimal('0.01'))
        lines_before = len(wallet.lines)
        bad = dict(cart, payments=[{
                    'method_id': env['methods']['wallet'].id,
                    'amount': str(total), 'pin': '0000'}])
        with self.assertRaises(UserError):
            API.checkout(env['cashier'], env['point'], bad)
        wallet = wallet.__class__(wallet.id)
        self.assertEqual(len(wallet.lines), lines_before)
        self.assertEqual(wallet.balance, Decimal('500'))

        good = self._cart(env, member_id=env['member'].id, lines=[
                {'product_id': product.id, 'quantity': 1}])
        good['payments'] = [{'method_id': env['methods']['wallet'].id,
                'amount': str(total), 'pin': MEMBER_PIN}]
        result = API.checkout(env['cashier'], env['point'], good)
        wallet = wallet.__class__(wallet.id)
        self.assertEqual(wallet.balance, Decimal('500') - total)
        self.assertEqual(result['member']['wallet']['balance'],
            str(Decimal('500') - total))

    @with_transaction()
    def test_wallet_payment_refused_on_closed_books(self):
        "A wallet payment is refused on a closed account or journal period"
        pool = Pool()
        Account = pool.get('account.account')
        JournalPeriod = pool.get('account.journal.period')
        Payment = pool.get('sale.point.payment')
        env = self._env()
        API = self._api()
        product = env['products'][1]
        total = (product.gross_price_used * Decimal('0.95')).quantize(
            Decimal('0.01'))

        def pay():
            cart = self._cart(env, member_id=env['member'].id, lines=[
                    {'product_id': product.id, 'quantity': 1}])
            cart['payments'] = [{'method_id': env['methods']['wallet'].id,
                    'amount': str(total), 'pin': MEMBER_PIN}]
            return API.checkout(env['cashier'], env['point'], cart)
        Account.write([env['liability']], {'closed': True})
        with self.assertRaises(UserError) as cm:
            pay()
        self.assertIn(env['liability'].rec_name, cm.exception.message)
        Account.write([env['liability']], {'closed': False})
        sale = pool.get('sale.point.sale')(pay()['sale']['id'])
        move, = [p.wallet_move for p in sale.payments]
        self.assertEqual(move.state, 'draft')
        self.assertEqual(
            [(ln.account, ln.debit, ln.credit) for ln in sorted(
                    move.lines, key=lambda ln: ln.debit)],
            [(env['methods']['wallet'].account, 0, total),
                (env['liability'], total, 0)])
        journal_period, = JournalPeriod.search([
                ('journal', '=', move.journal.id),
                ('period', '=', move.period.id),
                ])
        JournalPeriod.write([journal_period], {'state': 'closed'})
        with self.assertRaises(UserError) as cm:
            pay()
        self.assertIn(journal_period.rec_name, cm.exception.message)
        self.assertEqual(len(Payment.search([
                        ('sale.member', '=', env['member'].id),
                        ('wallet_move', '!=', None),
                        ])), 1)

    @with_transaction()
    def test_wallet_pin_at_the_pad(self):
        """The PIN checked at the PIN pad pays that sale, up to its amount,
        for ten minutes; a wrong PIN is refused at the pad"""
        pool = Pool()
        Wallet = pool.get('retail.wallet')
        env = self._env()
        API = self._api()
        wallet = env['wallet']
        product = env['products'][1]
        total = (product.gross_price_used * Decimal('0.95')).quantize(
            Decimal('0.01'))
        wallet_method = env['methods']['wallet'].id

        def pad(cart, amount, pin=MEMBER_PIN):
            return API.wallet_pin(env['cashier'], env['point'], {
                    'uuid': cart['uuid'], 'member_id': env['member'].id,
                    'amount': str(amount), 'pin': pin})

        def cart(amount=total):
            return self._cart(env, member_id=env['member'].id,
                lines=[{'product_id': product.id, 'quantity': 1}],
                payments=[{'method_id': wallet_method,
                        'amount': str(amount)}])

        wrong = cart()
        with self.assertRaises(UserError):
            pad(wrong, total, pin='0000')
        with self.assertRaises(UserError):
            API.checkout(env['cashier'], env['point'], wrong)
        with self.assertRaises(PosError) as cm:
            pad(cart(), Decimal('501'))
        self.assertEqual(cm.exception.code, 'insufficient_balance')

        # checked for less than the sale pays
        short = cart()
        self.assertEqual(pad(short, total - 1)['verified'], True)
        with self.assertRaises(UserError):
            API.checkout(env['cashier'], env['point'], short)
        # too long ago
        late = cart()
        pad(late, total)
        later = Wallet._now() + dt.timedelta(minutes=11)
        with patch.object(Wallet, '_now', staticmethod(lambda: later)):
            with self.assertRaises(UserError):
                API.checkout(env['cashier'], env['point'], late)
        self.assertEqual(Wallet(wallet.id).balance, Decimal('500'))

        good = cart()
        answer = pad(good, total)
        self.assertEqual(answer['amount'], str(total))
        # the PIN pays its sale only
        with self.assertRaises(UserError):
            API.checkout(env['cashier'], env['point'], cart())
        result = API.checkout(env['cashier'], env['point'], good)
        self.assertEqual(Wallet(wallet.id).balance, Decimal('500') - total)
        self.assertEqual(result['member']['wallet']['balance'],
            str(Decimal('500') - total))

    @with_transaction()
    def test_points_payment_and_award(self):
        "Points pay part of the sale and the sale earns points"
        env = self._env()
        API = self._api()
        Account = Pool().get('retail.points.account')
        member = env['member']
        give_points(env, member, 1000)
        product = env['products'][4]
        cart = self._cart(env, member_id=member.id, lines=[
                {'product_id': product.id, 'quantity': 2}])
        quote = API.quote(env['cashier'], env['point'], cart)
        total = Decimal(quote['total'])
        self.assertGreater(quote['points_to_earn'], 0)
        cart['payments'] = [
            {'method_id': env['methods']['points'].id, 'points': 500},
            {'method_id': env['methods']['cash'].id,
                'amount': str(total - Decimal('5.00'))},
            ]
        result = API.checkout(env['cashier'], env['point'], cart)
        account = Account.get_account(env['company'], member)
        earned = Pool().get('sale.point.sale')(
            result['sale']['id']).get_points_receipt()['earned']
        self.assertGreater(earned, 0)
        self.assertEqual(account.balance, 1000 - 500 + earned)
        self.assertEqual(result['member']['points']['balance'],
            account.balance)

    @with_transaction()
    def test_sale_with_points_frozen_in_its_transaction(self):
        "A sale that earned points keeps its lines, even in its transaction"
        from trytond.modules.retail_points.exceptions import LedgerAccessError
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        Line = pool.get('sale.point.sale.line')
        env = self._env()
        cart = self._cart(env, member_id=env['member'].id, payments=[
                {'method_id': env['methods']['cash'].id, 'amount': '500.00'}])
        result = self._api().checkout(env['cashier'], env['point'], cart)
        sale = Sale(result['sale']['id'])
        self.assertTrue(sale.get_points_receipt(totals=False)['earned'])
        Sale.open([sale])
        line = Sale(sale.id).lines[0]
        with self.assertRaises(LedgerAccessError):
            Line.write([line], {'quantity': 5})

    @with_transaction()
    def test_refund_reverses_effects(self):
        "A full refund gives back wallet and points and reverses commission"
        pool = Pool()
        env = self._env()
        API = self._api()
        Account = pool.get('retail.points.account')
        Scheme = pool.get('retail.commission.scheme')
        CommissionLine = pool.get('retail.commission.line')
        Sale = pool.get('sale.point.sale')
        scheme = Scheme(name="Base", company=env['company'],
            start_date=dt.date.today() - dt.timedelta(days=30),
            rules=[{'kind': 'sale', 'method': 'percent',
                    'rate': Decimal('0.10')}])
        scheme.save()
        Scheme.approve([scheme])
        member = env['member']
        give_points(env, member, 1000)
        product = env['products'][4]
        cart = self._cart(env, member_id=member.id, lines=[
                {'product_id': product.id, 'quantity': 2,
                    'staff_ids': [env['employee'].id]}])
        total = Decimal(API.quote(env['cashier'], env['point'],
                cart)['total'])
        cart['payments'] = [
            {'method_id': env['methods']['points'].id, 'points': 300},
            {'method_id': env['methods']['wallet'].id, 'amount': '10.00',
                'pin': MEMBER_PIN},
            {'method_id': env['methods']['cash'].id,
                'amount': str(total - Decimal('13.00'))},
            ]
        sold = API.checkout(env['cashier'], env['point'], cart)
        sale = Sale(sold['sale']['id'])
        self.assertTrue(CommissionLine.search(
                [('sale_line.sale', '=', sale.id)]))
        wallet = env['wallet'].__class__(env['wallet'].id)
        self.assertEqual(wallet.balance, Decimal('490'))
        refund = API.refund(env['cashier'], env['point'], {
                'uuid': new_uuid(), 'sale_number': sale.number})
        self.assertEqual(Decimal(refund['sale']['total']), -total)
        wallet = wallet.__class__(wallet.id)
        self.assertEqual(wallet.balance, Decimal('500'))
        account = Account.get_account(env['company'], member)
        self.assertEqual(account.balance, 1000)
        commission = sum(c.amount for c in CommissionLine.search([
                    ('employee', '=', env['employee'].id)]))
        self.assertEqual(commission, 0)
        # nothing left to refund
        with self.assertRaises(PosError) as cm:
            API.refund(env['cashier'], env['point'], {
                    'uuid': new_uuid(), 'sale_number': sale.number})
        self.assertEqual(cm.exception.code, 'refund_exceeds')

        # the cron posts both; the goods given back go to the storage
        # location (the till has no return location), the wallet moves
        # booked as drafts at done are posted with the sales
        self.assertEqual(Sale.retail_pos_post_batch(), 2)
        back = Sale(refund['sale']['id'])
        self.assertEqual(back.state, 'posted')
        move, = back.lines[0].moves
        self.assertEqual(move.to_location, env['point'].storage_location)
        self.assertEqual(move.state, 'done')
        wallet_moves = [p.wallet_move for s in [sale, back]
            for p in Sale(s.id).payments if p.wallet_move]
        self.assertEqual(len(wallet_moves), 2)
        self.assertEqual({m.state for m in wallet_moves}, {'posted'})

    @with_transaction()
    def test_session_handover_report(self):
        "Open with a float, sell, report by method, close with counts"
        env = self._env()
        API = self._api()
        cash = env['methods']['cash']
        card = env['methods']['card']
        opened = API.session_open(env['cashier'], env['point'],
            {'float': {str(cash.id): '200.00'}})
        self.assertEqual(opened['session']['state'], 'open')
        product = env['products'][1]
        price = product.gross_price_used
        for method in [cash, card]:
            cart = self._cart(env, lines=[
                    {'product_id': product.id, 'quantity': 1}])
            cart['payments'] = [{'method_id': method.id,
                    'amount': str(price)}]
            API.checkout(env['cashier'], env['point'], cart)
        report = API.session_report(env['cashier'], env['point'])
        by_method = {m['method_id']: m for m in report['methods']}
        self.assertEqual(Decimal(by_method[cash.id]['expected']),
            Decimal('200.00') + price)
        self.assertEqual(Decimal(by_method[card.id]['expected']), price)
        self.assertEqual(report['sales_count'], 2)
        closed = API.session_close(env['cashier'], env['point'], {
                'counted': {str(cash.id): str(Decimal('199.00') + price),
                    str(card.id): str(price)}})['report']
        by_method = {m['method_id']: m for m in closed['methods']}
        self.assertEqual(by_method[cash.id]['difference'], '-1.00')
        # no cash difference type on the till: shown, not booked
        self.assertIsNone(closed['cash_difference_booked'])
        self.assertEqual(closed['session']['state'], 'closed')
        self.assertTrue(closed['receipt']['payments'])
        with self.assertRaises(PosError) as cm:
            API.session_report(env['cashier'], env['point'])
        self.assertEqual(cm.exception.code, 'no_session')

    @with_transaction()
    def test_session_close_books_the_cash_difference(self):
        "The cashier's over or short is booked as a cash transfer, then posted"
        env = self._env()
        API = self._api()
        pool = Pool()
        Transfer = pool.get('sale.point.cash.transfer')
        Session = pool.get('sale.point.cash.session')
        cash = env['methods']['cash']
        point = env['point']
        over_short = self._transfer_type(env, "Cash over and short")
        expense = over_short.account
        point.retail_pos_difference_type = over_short
        point.save()

        def sell_and_close(counted):
            API.session_open(env['cashier'], point,
                {'float': {str(cash.id): '100.00'}})
            product = env['products'][1]
            price = product.gross_price_used
            cart = self._cart(env, lines=[
                    {'product_id': product.id, 'quantity': 1}])
            cart['payments'] = [{'method_id': cash.id, 'amount': str(price)}]
            API.checkout(env['cashier'], point, cart)
            session = API._current_session(point)
            report = API.session_close(env['cashier'], point, {
                    'counted': {str(cash.id): str(counted + price)}})
            return Session(session.id), report['report']

        # 2.50 short: the drawer holds the float and the sale, less 2.50
        session, report = sell_and_close(Decimal('97.50'))
        self.assertEqual(report['cash_difference_booked'], '-2.50')
        self.assertIn({'label': 'Cash difference booked', 'amount': '-2.50'},
            report['receipt']['payments'])
        transfer, = Transfer.search([('session', '=', session.id)])
        self.assertEqual(
            (transfer.type, transfer.amount), (over_short, Decimal('-2.50')))
        self.assertEqual(session.state, 'closed')
        self.assertEqual(session.end_amount - session.start_amount,
            session.balance)
        # posted with the session: cash credited, over and short debited
        Session.post([session])
        transfer = Transfer(transfer.id)
        self.assertEqual(transfer.state, 'posted')
        lines = {ln.account: (ln.debit, ln.credit)
            for ln in transfer.move.lines}
        self.assertEqual(lines[expense], (Decimal('2.50'), Decimal(0)))
        self.assertEqual(lines[cash.account], (Decimal(0), Decimal('2.50')))

        # counted right: nothing to book
        session, report = sell_and_close(Decimal('100.00'))
        self.assertEqual(report['cash_difference_booked'], '0.00')
        self.assertEqual(Transfer.search([('session', '=', session.id)]), [])
        self.assertEqual(session.state, 'closed')

    @with_transaction()
    def test_session_float_kept_and_checked_at_opening(self):
        """With a float transfer type, the closing keeps a float and hands
        in the rest; the next opening expects what was kept and wants a
        reason for a difference, which is booked"""
        env = self._env()
        API = self._api()
        pool = Pool()
        Transfer = pool.get('sale.point.cash.transfer')
        Session = pool.get('sale.point.cash.session')
        cash = env['methods']['cash']
        point = env['point']
        safe = self._transfer_type(env, "Safe")
        point.retail_pos_float_type = safe
        point.save()
        self.assertTrue(
            API.config(env['cashier'], point)['point']['float_booked'])

        # the till's first session: nothing to check, the float comes in
        API.session_open(env['cashier'], point,
            {'float': {str(cash.id): '200.00'}})
        first = API._current_session(point)
        transfer, = Transfer.search([('session', '=', first.id)])
        self.assertEqual(transfer.amount, Decimal('200.00'))
        price = env['products'][1].gross_price_used
        cart = self._cart(env, lines=[
                {'product_id': env['products'][1].id, 'quantity': 1}])
        cart['payments'] = [{'method_id': cash.id, 'amount': str(price)}]
        API.checkout(env['cashier'], point, cart)
        # a cash sale rung in Tryton's back office on the till: its cash is
        # in the drawer and in the session, so the handover expects it
        Sale = pool.get('sale.point.sale')
        Line = pool.get('sale.point.sale.line')
        Payment = pool.get('sale.point.payment')
        office = Sale(company=env['company'], point=point,
            employee=env['employee'])
        office.save()
        product = env['products'][1]
        Line.save([Line(sale=office, product=product, quantity=1,
                    unit_list_price=product.list_price_used,
                    unit_gross_price=product.gross_price_used)])
        office = Sale(office.id)
        Payment.save([Payment(sale=office, method=cash,
                    amount=office.amount_to_pay)])
        Sale.process([office])
        self.assertEqual(Sale(office.id).state, 'done')
        report = API.session_report(env['cashier'], point)
        expected, = [m['expected'] for m in report['methods']
            if m['method_id'] == cash.id]
        self.assertEqual(Decimal(expected), Decimal('200.00') + 2 * price)
        # a manager's drop of 20.00 to the safe, recorded in Tryton mid-shift
        Transfer.save([Transfer(point=point, session=first, type=safe,
                    amount=Decimal('-20.00'))])
        report = API.session_report(env['cashier'], point)
        expected, = [m['expected'] for m in report['methods']
            if m['method_id'] == cash.id]
        self.assertEqual(Decimal(expected), Decimal('180.00') + 2 * price)
        price *= 2
        counted = {str(cash.id): str(Decimal('180.00') + price)}
        # more kept than counted, or kept on a till without the type
        with self.assertRaises(PosError) as cm:
            API.session_close(env['cashier'], point, {'counted': counted,
                    'kept': {str(cash.id): '9999.00'}})
        self.assertEqual(
            (cm.exception.code, cm.exception.field),
            ('invalid_amount', 'kept'))
        report = API.session_close(env['cashier'], point, {
                'counted': counted,
                'kept': {str(cash.id): '150.00'}})['report']
        self.assertEqual(report['kept'], '150.00')
        self.assertEqual(Decimal(report['handed_in']),
            Decimal('30.00') + price)
        self.assertIn({'label': 'Cash handed in',
                'amount': report['handed_in']},
            report['receipt']['payments'])
        first = Session(first.id)
        self.assertEqual(first.state, 'closed')
        # the drawer holds what was kept
        self.assertEqual(first.end_amount, Decimal('150.00'))
        self.assertEqual(first.retail_pos_float_kept, Decimal('150.00'))

        # 10.00 less than was kept: refused without a reason
        with self.assertRaises(PosError) as cm:
            API.session_open(env['cashier'], point,
                {'float': {str(cash.id): '140.00'}})
        self.assertEqual(
            (cm.exception.code, cm.exception.field, cm.exception.status),
            ('float_difference', 'reason', 409))
        self.assertIn('150.00', cm.exception.message)
        self.assertIn('-10.00', cm.exception.message)
        second = API._open_session(point)
        self.assertIsNone(second.retail_pos_opened_at)
        self.assertEqual(Transfer.search([('session', '=', second.id)]), [])
        with self.assertRaises(PosError) as cm:
            API.session_open(env['cashier'], point, {
                    'float': {str(cash.id): '140.00'}, 'reason': 42})
        self.assertEqual(cm.exception.code, 'invalid_request')
        API.session_open(env['cashier'], point, {
                'float': {str(cash.id): '140.00'},
                'reason': " 找零备用金少了 10 元 "})
        second = Session(second.id)
        self.assertEqual(second.start_amount, Decimal('150.00'))
        self.assertEqual(second.retail_pos_float_difference,
            Decimal('-10.00'))
        self.assertEqual(second.retail_pos_float_reason,
            "找零备用金少了 10 元")
        transfer, = Transfer.search([('session', '=', second.id)])
        self.assertEqual(
            (transfer.type, transfer.amount), (safe, Decimal('-10.00')))
        report = API.session_report(env['cashier'], point)
        self.assertEqual(
            (report['float_expected'], report['float_difference'],
                report['float_reason']),
            ('150.00', '-10.00', "找零备用金少了 10 元"))
        self.assertIn(['Reason', "找零备用金少了 10 元"],
            report['receipt']['member']['rows'])
        # the same count as kept opens without a question
        report = API.session_close(env['cashier'], point, {
                'counted': {str(cash.id): '140.00'},
                'kept': {str(cash.id): '140.00'}})['report']
        self.assertEqual(report['handed_in'], '0.00')
        API.session_open(env['cashier'], point,
            {'float': {str(cash.id): '140.00'}})
        third = API._current_session(point)
        self.assertEqual(third.retail_pos_float_difference, Decimal(0))
        self.assertEqual(Transfer.search([('session', '=', third.id)]), [])

        # no float type: a float kept cannot be handed in
        point.retail_pos_float_type = None
        point.save()
        with self.assertRaises(PosError) as cm:
            API.session_close(env['cashier'], point, {
                    'counted': {str(cash.id): '140.00'},
                    'kept': {str(cash.id): '100.00'}})
        self.assertEqual(
            (cm.exception.code, cm.exception.field),
            ('invalid_request', 'kept'))

    @with_transaction()
    def test_catalog_full_and_delta(self):
        "The full catalogue lists every salable product; a delta the changed"
        env = self._env()
        API = self._api()
        Template = Pool().get('product.template')
        full = API.catalog(env['cashier'], env['point'])
        self.assertTrue(full['full'])
        ids = {p['id'] for p in full['products']}
        self.assertEqual(ids, {p.id for p in env['products']})
        first = full['products'][0]
        self.assertEqual(len(first['barcodes']), 1)
        self.assertIn(first['kind'], {'goods', 'service'})
        delta = API.catalog(env['cashier'], env['point'],
            since=(dt.datetime.fromisoformat(full['cursor'])
                + dt.timedelta(hours=1)).isoformat())
        self.assertFalse(delta['full'])
        self.assertEqual(delta['products'], [])
        product = env['products'][0]
        Template.write([product.template], {'active': False})
        delta = API.catalog(env['cashier'], env['point'],
            since=(dt.datetime.now() - dt.timedelta(minutes=5)).isoformat())
        self.assertIn(product.id, delta['removed'])

    @with_transaction()
    def test_catalog_delta_each_change(self):
        "A delta has the products changed by name, price or barcode only"
        pool = Pool()
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        Identifier = pool.get('product.identifier')
        env = self._env()
        API = self._api()
        # the catalogue as it was yesterday
        yesterday = dt.datetime.now() - dt.timedelta(days=1)
        cursor = Transaction().connection.cursor()
        for name in ['product.product', 'product.template',
                'product.identifier', 'product.list_price',
                'product.gross_price']:
            table = pool.get(name).__table__()
            cursor.execute(*table.update(
                    [table.create_date, table.write_date],
                    [yesterday, None]))
        since = (dt.datetime.now() - dt.timedelta(hours=1)).isoformat()
        delta = API.catalog(env['cashier'], env['point'], since=since)
        self.assertEqual((delta['products'], delta['removed']), ([], []))

        renamed, repriced, regrossed, scanned, recoded = env['products'][1:6]
        Template.write([renamed.template], {'name': "Renamed"})
        Template.write([repriced.template], {'list_price': Decimal('77')})
        Template.write([regrossed.template], {'gross_price': Decimal('88')})
        Identifier.create([{'product': scanned.id, 'type': 'ean',
                    'code': '6900000000991'}])
        Product.write([recoded], {'suffix_code': 'X'})
        delta = API.catalog(env['cashier'], env['point'], since=since)
        changed = {p['id']: p for p in delta['products']}
        self.assertEqual(set(changed), {
                renamed.id, repriced.id, regrossed.id, scanned.id,
                recoded.id})
        self.assertEqual(changed[renamed.id]['name'], "Renamed")
        self.assertEqual(changed[regrossed.id]['price'], '88.00')
        self.assertIn('6900000000991', changed[scanned.id]['barcodes'])

    @with_transaction()
    def test_identify_and_summary(self):
        "A member is identified by card, phone or QR with a summary"
        env = self._env()
        API = self._api()
        summary = API.identify(env['cashier'], env['point'],
            env['card'].number)
        self.assertEqual(summary['id'], env['member'].id)
        self.assertEqual(summary['wallet']['balance'], '500.00')
        self.assertTrue(summary['wallet']['has_pin'])
        self.assertEqual(summary['tier']['name'], 'Gold')
        self.assertNotIn('13800000000', str(summary))
        summary = API.identify(env['cashier'], env['point'],
            'HY:' + env['card'].number)
        self.assertEqual(summary['id'], env['member'].id)
        with self.assertRaises(PosError) as cm:
            API.identify(env['cashier'], env['point'], 'nobody')
        self.assertEqual(cm.exception.code, 'member_not_found')
        self.assertEqual(cm.exception.status, 404)

    @with_transaction()
    def test_member_chosen_by_search_shows_card_and_tier(self):
        """A member chosen from the search (no card scanned) is shown with
        the masked mobile, the tier and the newest active card, on the
        quote and on the receipt of the checkout"""
        pool = Pool()
        Card = pool.get('retail.member.card')
        Party = pool.get('party.party')
        Tier = pool.get('retail.member.tier')
        env = self._env()
        API = self._api()
        member = env['member']
        older, = Card.create([{'number': '8811000001', 'party': member.id,
                    'company': env['company'].id,
                    'issue_date': dt.date(2020, 1, 1)}])
        newest, = Card.create([{'number': '8811000002', 'party': member.id,
                    'company': env['company'].id,
                    'issue_date': dt.date(2099, 1, 1)}])
        Card.write([newest], {'state': 'lost'})
        platinum, = Tier.create([{'name': "Platinum", 'code': 'PLAT',
                    'rank': 2, 'company': env['company'].id,
                    'discount': Decimal('0.10')}])
        quote = API.quote(env['cashier'], env['point'],
            self._cart(env, member_id=member.id))
        self.assertEqual(quote['member']['mobile_masked'], '138****0000')
        self.assertEqual(quote['member']['number'], 'M00000')
        self.assertEqual(quote['member']['tier']['name'], 'Gold')
        cart = self._cart(env, member_id=member.id, payments=[
                {'method_id': env['methods']['cash'].id,
                    'amount': '500.00'}])
        # the tier changed after the quote: the receipt shows the new one
        Party.write([member], {'member_tier': platinum.id})
        result = API.checkout(env['cashier'], env['point'], cart)
        summary = result['member']
        self.assertEqual(summary['name'], "Member 0")
        self.assertEqual(summary['mobile_masked'], '138****0000')
        self.assertEqual(summary['tier']['name'], 'Platinum')
        # the lost card is not shown: the newest active one is (the
        # member's first card, issued today)
        self.assertEqual(summary['card']['number'], env['card'].number)
        Card.write([env['card']], {'state': 'lost'})
        result = API.checkout(env['cashier'], env['point'],
            dict(cart, uuid=new_uuid()))
        self.assertEqual(result['member']['card']['number'], older.number)

    @with_transaction()
    def test_cart_member_is_an_active_member_of_the_company(self):
        "A cart's member must be an active member of the till's company"
        Party = Pool().get('party.party')
        env = self._env()
        API = self._api()
        quote = API.quote(env['cashier'], env['point'],
            self._cart(env, member_id=env['member'].id))
        self.assertEqual(quote['member']['id'], env['member'].id)
        stranger, = Party.create([{'name': "Walk-in"}])
        inactive, = Party.copy([env['member']], {'active': False})
        for party in [stranger, env['company'].party, inactive]:
            with self.assertRaises(PosError) as cm:
                API.quote(env['cashier'], env['point'],
                    self._cart(env, member_id=party.id))
            self.assertEqual(
                (cm.exception.code, cm.exception.field),
                ('member_not_found', 'member_id'))

    @with_transaction()
    def test_product_facts_follow_changes(self):
        "A renamed or unsalable product is seen by the next quote"
        pool = Pool()
        Template = pool.get('product.template')
        env = self._env()
        API = self._api()
        product = env['products'][1]
        cart = self._cart(env, lines=[
                {'product_id': product.id, 'quantity': 1}])
        quote = API.quote(env['cashier'], env['point'], cart)
        self.assertEqual(quote['lines'][0]['name'], product.rec_name)
        Template.write([product.template], {'name': "Renamed Tea"})
        quote = API.quote(env['cashier'], env['point'], cart)
        self.assertIn("Renamed Tea", quote['lines'][0]['name'])
        Template.write([product.template], {'salable': False})
        with self.assertRaises(PosError) as cm:
            API.quote(env['cashier'], env['point'], cart)
        self.assertEqual(cm.exception.code, 'product_not_found')
        Template.write([product.template], {'salable': True})
        quote = API.quote(env['cashier'], env['point'], cart)
        self.assertEqual(len(quote['lines']), 1)

    @with_transaction()
    def test_product_taxes_follow_changes(self):
        "A sale line's untaxed price follows a change of its category's taxes"
        pool = Pool()
        Category = pool.get('product.category')
        Sale = pool.get('sale.point.sale')
        env = self._env()
        API = self._api()
        product = env['products'][1]

        def sell():
            cart = self._cart(env, lines=[
                    {'product_id': product.id, 'quantity': 1}])
            cart['payments'] = [{'method_id': env['methods']['cash'].id,
                    'amount': '1000.00'}]
            result = API.checkout(env['cashier'], env['point'], cart)
            line, = Sale(result['sale']['id']).lines
            return line
        line = sell()
        self.assertEqual(line.unit_list_price,
            round_price(line.unit_gross_price / Decimal('1.13')))
        # a new rate of the tax prices the next line
        Tax = pool.get('account.tax')
        Tax.write([env['tax']], {'rate': Decimal('0.06')})
        line = sell()
        self.assertEqual(line.unit_list_price,
            round_price(line.unit_gross_price / Decimal('1.06')))
        category = product.template.account_category
        Category.write([category], {'customer_taxes': [
                    ('remove', [env['tax'].id])]})
        line = sell()
        self.assertEqual(line.unit_list_price, line.unit_gross_price)
        # moved to a category with the tax: taxed again
        Template = pool.get('product.template')
        taxed = Category(name="Taxed Goods", accounting=True,
            account_revenue=category.account_revenue,
            customer_taxes=[env['tax']])
        taxed.save()
        Template.write([product.template], {'account_category': taxed.id})
        line = sell()
        self.assertEqual(line.unit_list_price,
            round_price(line.unit_gross_price / Decimal('1.06')))

    @with_transaction()
    def test_tier_method_and_shop_shown_as_they_are_now(self):
        "A tier, payment method or shop changed in the back office is seen by the next sale"
        pool = Pool()
        Tier = pool.get('retail.member.tier')
        Method = pool.get('sale.point.payment.method')
        Shop = pool.get('retail.shop')
        env = self._env()
        API = self._api()
        product = env['products'][1]
        cash = env['methods']['cash']

        def sell():
            cart = self._cart(env, member_id=env['member'].id, lines=[
                    {'product_id': product.id, 'quantity': 1}])
            quote = API.quote(env['cashier'], env['point'], cart)
            cart['payments'] = [{'method_id': cash.id,
                    'amount': quote['total']}]
            result = API.checkout(env['cashier'], env['point'], cart)
            return quote, result['receipt']
        quote, receipt = sell()
        shelf = Decimal(quote['lines'][0]['list_price'])
        self.assertEqual(quote['member']['tier']['name'], "Gold")
        cent = Decimal('0.01')
        self.assertEqual(Decimal(quote['lines'][0]['unit_price']),
            round_price(shelf * Decimal('0.95')).quantize(cent))
        self.assertEqual(receipt['payments'][0]['label'], "Cash")
        self.assertEqual(receipt['header']['lines'], ["Main Street"])

        Tier.write([env['tier']], {
                'name': "Gold Plus", 'discount': Decimal('0.2')})
        Method.write([cash], {'name': "Cash Drawer"})
        Shop.write([env['point'].shop], {'name': "High Street"})
        quote, receipt = sell()
        self.assertEqual(quote['member']['tier']['name'], "Gold Plus")
        self.assertEqual(Decimal(quote['lines'][0]['unit_price']),
            round_price(shelf * Decimal('0.8')).quantize(cent))
        self.assertIn("Gold Plus", quote['lines'][0]['notes'][0])
        self.assertEqual(receipt['payments'][0]['label'], "Cash Drawer")
        self.assertEqual(receipt['header']['lines'], ["High Street"])

    @with_transaction()
    def test_errors_translated(self):
        "Errors are structured and in the cashier's language"
        pool = Pool()
        env = self._env()
        API = self._api()
        Lang = pool.get('ir.lang')
        Translation = pool.get('ir.translation')
        zh, = Lang.search([('code', '=', 'zh_CN')])
        Lang.write([zh], {'translatable': True})
        po = os.path.join(os.path.dirname(os.path.dirname(__file__)),
            'locale', 'zh_CN.po')
        Translation.translation_import('zh_CN', 'retail_pos', po)
        cart = self._cart(env)
        cart['lines'] = []
        with self.assertRaises(PosError) as cm:
            API.checkout(env['cashier'], env['point'], cart)
        self.assertEqual(cm.exception.code, 'empty_cart')
        self.assertEqual(cm.exception.field, 'lines')
        self.assertEqual(cm.exception.message, "The cart is empty.")
        cart['uuid'] = new_uuid()
        with Transaction().set_context(language='zh_CN'):
            with self.assertRaises(PosError) as cm:
                API.checkout(env['cashier'], env['point'], cart)
        self.assertEqual(cm.exception.message, "购物车为空。")

    @with_transaction()
    def test_topup_and_reprint(self):
        "A top-up credits the wallet once; a reprint is marked"
        env = self._env()
        API = self._api()
        request = {'uuid': new_uuid(), 'member_id': env['member'].id,
            'amount': '100.00', 'method_id': env['methods']['cash'].id}
        result = API.topup(env['cashier'], env['point'], request)
        self.assertEqual(result['member']['wallet']['balance'], '600.00')
        again = API.topup(env['cashier'], env['point'], request)
        self.assertEqual(again, result)
        wallet = env['wallet'].__class__(env['wallet'].id)
        self.assertEqual(wallet.balance, Decimal('600'))
        product = env['products'][1]
        cart = self._cart(env, lines=[
                {'product_id': product.id, 'quantity': 1}])
        cart['payments'] = [{'method_id': env['methods']['cash'].id,
                'amount': str(product.gross_price_used)}]
        sold = API.checkout(env['cashier'], env['point'], cart)
        reprint = API.receipt(env['cashier'], env['point'],
            sold['sale']['id'])['receipt']
        self.assertEqual(reprint['header']['lines'][0], 'REPRINT')

    @with_transaction()
    def test_post_batch(self):
        "Done sales are posted afterwards in batches"
        env = self._env()
        API = self._api()
        Sale = Pool().get('sale.point.sale')
        product = env['products'][1]
        for _ in range(2):
            cart = self._cart(env, lines=[
                    {'product_id': product.id, 'quantity': 1}])
            cart['payments'] = [{'method_id': env['methods']['cash'].id,
                    'amount': str(product.gross_price_used)}]
            API.checkout(env['cashier'], env['point'], cart)
        self.assertEqual(Sale.retail_pos_post_batch(), 2)
        self.assertEqual({s.state for s in Sale.search([])}, {'posted'})


del ModuleTestCase
