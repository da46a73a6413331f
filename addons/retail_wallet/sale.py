# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from decimal import Decimal

from sql import Literal

from trytond.i18n import gettext
from trytond.model import fields
from trytond.model.exceptions import AccessError
from trytond.modules.retail_member.exchange import bulk_create, write_links
from trytond.modules.retail_member.ledger import origin_exists
from trytond.modules.retail_member.tools import extends_transition
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.rpc import RPC
from trytond.transaction import Transaction, without_check_access

from .exceptions import InsufficientBalanceError, WalletConfigurationError, WalletError
from .wallet import Configuration_get, check_amount, new_request_key


class POSPaymentMethod(metaclass=PoolMeta):
    __name__ = 'sale.point.payment.method'

    retail_wallet = fields.Boolean(
        "Stored Value",
        states={'invisible': Eval('cash', False)},
        help="Pay from the member's wallet; the account must be the wallet "
        "clearing account of the stored value configuration.")

    @classmethod
    def default_retail_wallet(cls):
        return False

    @classmethod
    def validate_fields(cls, methods, field_names):
        super().validate_fields(methods, field_names)
        for method in methods:
            if method.retail_wallet and method.cash:
                raise WalletConfigurationError(gettext(
                        'retail_wallet.msg_method_wallet_cash',
                        method=method.rec_name))


class POSPayment(metaclass=PoolMeta):
    __name__ = 'sale.point.payment'

    wallet = fields.Many2One(
        'retail.wallet', "Wallet", readonly=True, ondelete='RESTRICT',
        states={'invisible': ~Eval('wallet')})
    wallet_authorized = fields.Boolean("Wallet Authorized", readonly=True)
    wallet_request_key = fields.Char(
        "Wallet Request Key", readonly=True,
        states={'invisible': ~Eval('wallet')})
    wallet_refund_of = fields.Many2One(
        'retail.wallet.line', "Refund Of", readonly=True,
        states={'invisible': ~Eval('wallet_refund_of')})
    wallet_lines = fields.One2Many(
        'retail.wallet.line', 'origin', "Wallet Lines", readonly=True,
        states={'invisible': ~Eval('wallet')})
    wallet_move = fields.Many2One(
        'account.move', "Wallet Move", readonly=True, ondelete='RESTRICT',
        states={'invisible': ~Eval('wallet_move')},
        help="Posted when the sale is done: the principal leaves the stored "
        "value liability at once, the clearing account waits for the POS "
        "posting.")
    wallet_pin = fields.Function(
        fields.Char("Payment PIN", strip=False,
            states={'invisible': ~Eval('wallet_method', False)}),
        'get_wallet_pin')
    wallet_method = fields.Function(
        fields.Boolean("Wallet Method"), 'on_change_with_wallet_method')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.domain = [
            ('company', '=', Eval('company', -1)),
            If(Eval('amount', 0) < 0,
                ['OR',
                    ('cash', '=', True),
                    ('retail_wallet', '=', True),
                    ],
                ()),
            ]

    @classmethod
    def default_wallet_authorized(cls):
        return False

    @fields.depends('method')
    def on_change_with_wallet_method(self, name=None):
        return bool(self.method and self.method.retail_wallet)

    def get_wallet_pin(self, name):
        return None

    @classmethod
    def copy(cls, payments, default=None):
        default = default.copy() if default else {}
        for name in ['wallet', 'wallet_authorized', 'wallet_request_key',
                'wallet_refund_of', 'wallet_lines', 'wallet_move']:
            default.setdefault(name)
        return super().copy(payments, default=default)

    @classmethod
    def check_modification(cls, mode, payments, values=None, external=False):
        super().check_modification(
            mode, payments, values=values, external=external)
        if mode in {'write', 'delete'}:
            if mode == 'write' and not (
                    {'sale', 'method', 'amount', 'wallet'} & set(values)):
                return
            with without_check_access():
                for payment in payments:
                    if payment.wallet_lines:
                        raise AccessError(gettext(
                                'retail_wallet.msg_payment_wallet_posted',
                                payment=payment.rec_name))

    def get_account_move_lines(self):
        pool = Pool()
        Line = pool.get('account.move.line')
        lines = super().get_account_move_lines()
        if (not self.method.retail_wallet or not self.wallet_lines
                or self.wallet_move):
            # booked at done: the POS posting clears the clearing account
            return lines
        # Payments done before the clearing account existed: the method's
        # account was the liability itself
        config = Configuration_get(self.sale.company)
        ledger = list(self.wallet_lines)
        principal = -sum(x.principal for x in ledger)
        bonus = -sum(x.bonus for x in ledger)
        lines = []
        for account, amount in [
                (self.method.account, principal),
                (config.require('bonus_account') if bonus else None, bonus),
                ]:
            if not amount:
                continue
            line = Line(account=account, origin=self)
            if self.sale.total >= 0:
                line.debit, line.credit = amount, Decimal(0)
            else:
                line.debit, line.credit = Decimal(0), -amount
            lines.append(line)
        return lines

    def process_wallet(self):
        "Write the ledger line of the wallet payment (idempotent)"
        WalletLine = Pool().get('retail.wallet.line')
        sale = self.sale
        if not self.method.retail_wallet or not self.amount:
            return
        if origin_exists(WalletLine, [self]):
            return
        if not self.wallet or not self.wallet_authorized:
            raise WalletError(gettext(
                    'retail_wallet.msg_payment_not_authorized',
                    payment=self.rec_name))
        config = Configuration_get(sale.company)
        liability = config.require('liability_account')
        clearing = config.require('clearing_account')
        if self.method.account != clearing or clearing == liability:
            raise WalletConfigurationError(gettext(
                    'retail_wallet.msg_method_account',
                    method=self.method.rec_name))
        wallet = self.wallet
        card = getattr(sale, 'member_card', None)
        if card:
            card.check_usable()
        member = getattr(sale, 'member', None)
        if member and member != wallet.party:
            raise WalletError(gettext(
                    'retail_wallet.msg_wallet_other_member',
                    wallet=wallet.rec_name, member=member.rec_name))
        key = self.wallet_request_key or 'pos-payment:%s' % self.id
        if self.amount > 0:
            line = wallet.spend(self.amount, origin=self, request_key=key,
                card=card, config=config)
        elif sale.total < 0:
            original = self.wallet_refund_of
            if not original or original.wallet != wallet:
                raise WalletError(gettext(
                        'retail_wallet.msg_refund_original',
                        payment=self.rec_name))
            wallet.__class__.lock([wallet])
            principal, bonus = self.refund_parts(original, -self.amount)
            line = wallet.post_line('refund', principal, bonus, origin=self,
                request_key=key, card=card, refund_of=original)
        else:
            # Change of a cash payment stored in the wallet (找零转存)
            cash = sum(p.amount for p in sale.payments
                if p.method.cash and p.amount > 0)
            if -self.amount > cash:
                raise WalletError(gettext(
                        'retail_wallet.msg_change_exceeds_cash',
                        amount=-self.amount, cash=cash))
            line = wallet.post_line('change', principal=-self.amount,
                origin=self, request_key=key, card=card)
        self.post_wallet_move(config, lines=[line])

    def post_wallet_move(self, config, lines=None):
        """Book the wallet part of the payment at once (idempotent):
        Dr liability principal, Dr bonus account bonus / Cr clearing amount
        for a payment, the reverse for a refund or stored change.

        The move stays a draft (draft lines count in the account balances)
        and is posted with the POS sale: posting takes the fiscal year's
        strict move number, one row every till would wait on.

        lines: the payment's ledger lines, as process_wallet has them (else
        they are searched)"""
        Line = Pool().get('retail.wallet.line')
        with without_check_access():
            if self.wallet_move:
                return
            if lines is None:
                lines = Line.search([('origin', '=', str(self))])
            principal = -sum((x.principal for x in lines), Decimal(0))
            bonus = -sum((x.bonus for x in lines), Decimal(0))
            if not principal and not bonus:
                return
            with Transaction().set_context(company=self.sale.company.id):
                move = config.create_move(self.sale.date, [
                        (config.require('liability_account'), principal),
                        (config.require('bonus_account') if bonus else None,
                            bonus),
                        (config.require('clearing_account'),
                            -(principal + bonus)),
                        ], self, description=self.sale.rec_name,
                    post=False)
            # the payment's own link to its move, set once: no check of a
            # modification watches it
            write_links(self.__class__, [self], {'wallet_move': move})

    @staticmethod
    def refund_parts(original, amount):
        """Return (principal, bonus) to give back for amount of the
        original payment line, in the proportions spent"""
        pool = Pool()
        Line = pool.get('retail.wallet.line')
        currency = original.currency
        with without_check_access():
            refunds = Line.search([('refund_of', '=', original.id)])
        spent_principal = -original.principal
        spent_bonus = -original.bonus
        done_principal = sum((r.principal for r in refunds), Decimal(0))
        done_bonus = sum((r.bonus for r in refunds), Decimal(0))
        left_principal = spent_principal - done_principal
        left_bonus = spent_bonus - done_bonus
        if amount > left_principal + left_bonus:
            raise InsufficientBalanceError(gettext(
                    'retail_wallet.msg_refund_exceeds',
                    amount=amount, left=left_principal + left_bonus))
        spent = spent_principal + spent_bonus
        bonus = currency.round(amount * spent_bonus / spent)
        bonus = min(max(bonus, amount - left_principal), left_bonus)
        return amount - bonus, bonus


class POSSale(metaclass=PoolMeta):
    __name__ = 'sale.point.sale'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__rpc__.update({
                'add_wallet_payment': RPC(
                    readonly=False, instantiate=0, result=int),
                })

    @classmethod
    @extends_transition('done')
    def do(cls, sales):
        super().do(sales)
        for sale in sales:
            for payment in sale.payments:
                payment.process_wallet()

    @classmethod
    @extends_transition('posted')
    def post(cls, sales):
        "Post the wallet moves booked at done with the sales"
        Move = Pool().get('account.move')
        super().post(sales)
        with without_check_access():
            moves = [p.wallet_move for s in cls.browse(sales)
                for p in s.payments
                if p.wallet_move and p.wallet_move.state == 'draft']
            if moves:
                Move.post(moves)

    def find_wallet(self):
        pool = Pool()
        Wallet = pool.get('retail.wallet')
        member = getattr(self, 'member', None)
        if not member:
            raise WalletError(gettext(
                    'retail_wallet.msg_sale_no_member', sale=self.rec_name))
        wallet = Wallet.find(member, self.company,
            shop=getattr(self.point, 'shop', None))
        if not wallet:
            raise WalletError(gettext(
                    'retail_wallet.msg_member_no_wallet',
                    member=member.rec_name))
        return wallet

    def authorize_wallet_payment(self, payment, pin, pin_request=None):
        """Check card, PIN and balance and bind the payment to the wallet.

        pin_request: the sale's UUID when the PIN was entered at the PIN pad
        for it (Wallet.verify_pin with request): no PIN is needed then if
        the sale's wallet payments stay within the amount it was entered
        for."""
        pool = Pool()
        Payment = pool.get('sale.point.payment')
        wallet = self.find_wallet()
        card = getattr(self, 'member_card', None)
        if card:
            card.check_usable()
        check_amount(payment.amount, self.currency, allow_negative=True)
        if payment.amount > 0:
            granted = False
            if pin is None and pin_request:
                # the sale's other wallet payments, in one plain query
                table = Payment.__table__()
                method = pool.get('sale.point.payment.method').__table__()
                cursor = Transaction().connection.cursor()
                cursor.execute(*table.join(method,
                        condition=table.method == method.id
                        ).select(table.amount,
                        where=(table.sale == self.id)
                        & (method.retail_wallet == Literal(True))
                        & (table.id != (payment.id or -1))))
                # the positive ones (SQLite stores amounts as text)
                amounts = [Decimal(str(a)) for a, in cursor if a is not None]
                spent = payment.amount + sum(
                    (a for a in amounts if a > 0), Decimal(0))
                granted = wallet.pin_granted(pin_request, spent)
            if not granted:
                wallet.verify_pin(pin)
            # the ledger's sums in one query (the balance's Function field
            # reads the wallet for its currency); its amounts are rounded
            principal, bonus, _ = wallet._ledger_sums([wallet.id])[wallet.id]
            if payment.amount > principal + bonus:
                raise InsufficientBalanceError(gettext(
                        'retail_wallet.msg_insufficient_balance',
                        wallet=wallet.rec_name, balance=principal + bonus,
                        amount=payment.amount))
        payment.wallet = wallet
        payment.wallet_authorized = True
        if not getattr(payment, 'wallet_request_key', None):
            payment.wallet_request_key = new_request_key()

    @classmethod
    def add_wallet_payment(cls, sales, amount, pin=None, request_key=None,
            refund_of=None, pin_request=None, method=None):
        """Add a wallet payment to the open sale (POS API).

        A request_key already used returns the existing payment; pin_request
        as in authorize_wallet_payment; method: the wallet payment method of
        the sale's company the till chose (else the first one)."""
        pool = Pool()
        Payment = pool.get('sale.point.payment')
        Method = pool.get('sale.point.payment.method')
        sale, = sales
        if request_key:
            # a retried request finds its payment: one plain query
            table = Payment.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.select(table.id,
                    where=table.wallet_request_key == request_key, limit=1))
            existing = cursor.fetchone()
            if existing:
                return existing[0]
        if sale.state != 'open':
            raise WalletError(gettext(
                    'retail_wallet.msg_sale_not_open', sale=sale.rec_name))
        if method is not None and (not method.retail_wallet
                or method.company != sale.company):
            method = None
        methods = [method] if method else Method.search([
                ('company', '=', sale.company.id),
                ('retail_wallet', '=', True),
                ], limit=1)
        if not methods:
            raise WalletConfigurationError(gettext(
                    'retail_wallet.msg_no_wallet_method'))
        amount = Decimal(str(amount))
        payment = Payment(sale=sale, method=methods[0], amount=amount,
            wallet_request_key=request_key)
        if refund_of is not None:
            payment.wallet_refund_of = refund_of
        sale.authorize_wallet_payment(payment, pin, pin_request=pin_request)
        # made here: the method of the sale's company, the amount and the
        # wallet checked by authorize_wallet_payment; one INSERT without
        # the ORM's validation, which would read them all back
        payment_id, = bulk_create(Payment, [{
                    'sale': sale.id,
                    'method': payment.method.id,
                    'amount': payment.amount,
                    'wallet': payment.wallet.id,
                    'wallet_authorized': True,
                    'wallet_request_key': payment.wallet_request_key,
                    'wallet_refund_of': (
                        int(refund_of) if refund_of is not None else None),
                    }])
        return payment_id


class POSPay(metaclass=PoolMeta):
    __name__ = 'sale.point.sale.pay'

    def transition_pay(self):
        if self.payment.method and self.payment.method.retail_wallet:
            self.record.authorize_wallet_payment(
                self.payment, self.payment.wallet_pin)
        return super().transition_pay()


class MemberCard(metaclass=PoolMeta):
    __name__ = 'retail.member.card'

    @classmethod
    def _replaced(cls, old_card, new_card):
        "The wallet belongs to the member; move it if the member changes"
        pool = Pool()
        Wallet = pool.get('retail.wallet')
        super()._replaced(old_card, new_card)
        if old_card.party == new_card.party or not new_card.party:
            return
        with without_check_access():
            wallets = Wallet.search([
                    ('party', '=', old_card.party.id),
                    ('state', '=', 'open'),
                    ])
        for wallet in wallets:
            target = Wallet.find(new_card.party, wallet.company,
                shop=wallet.shop, create=True)
            Wallet.transfer(wallet, target, origin=new_card)


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    wallets = fields.One2Many(
        'retail.wallet', 'party', "Wallets", readonly=True)

