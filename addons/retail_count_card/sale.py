# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from collections import defaultdict
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import fields
from trytond.modules.product import round_price
from trytond.modules.retail_member.tools import extends_transition
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.rpc import RPC
from trytond.transaction import without_check_access

from .exceptions import CountCardConfigurationError, CountCardError


def card_template(product):
    "The count card template sold by product (or None)"
    if product:
        return product.template.count_card_template


class POSPaymentMethod(metaclass=PoolMeta):
    __name__ = 'sale.point.payment.method'

    count_card = fields.Boolean(
        "Count Card",
        states={'invisible': Eval('cash', False)},
        help="Pays the lines redeemed from count cards; its account should "
        "be the deferred revenue account of the count card templates.")

    @classmethod
    def default_count_card(cls):
        return False

    @classmethod
    def validate_fields(cls, methods, field_names):
        super().validate_fields(methods, field_names)
        for method in methods:
            if method.count_card and method.cash:
                raise CountCardConfigurationError(gettext(
                        'retail_count_card.msg_method_cash',
                        method=method.rec_name))


class POSPayment(metaclass=PoolMeta):
    __name__ = 'sale.point.payment'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # A returned redemption gives uses back: a negative count card
        # payment.  Extend (not replace) the negative amount rule of
        # sale_point and of the other modules.
        domain = []
        for clause in cls.method.domain:
            if isinstance(clause, If):
                clause = If(clause._condition,
                    ['OR', clause._then_statement,
                        ('count_card', '=', True)],
                    clause._else_statement)
            domain.append(clause)
        cls.method.domain = domain

    def get_account_move_lines(self):
        """A count card payment debits the deferred revenue account of the
        card of each redeemed line by the line's amount"""
        pool = Pool()
        Line = pool.get('account.move.line')
        if not self.method.count_card:
            return super().get_account_move_lines()
        amounts = defaultdict(Decimal)
        for line in self.sale.lines:
            if line.count_card and not card_template(line.product):
                account = line.count_card.template.deferred_account
                amounts[account] += line.gross_amount
        difference = self.amount - sum(amounts.values(), Decimal(0))
        if difference:
            amounts[self.method.account] += difference
        lines = []
        for account, amount in amounts.items():
            if not amount:
                continue
            line = Line(account=account, origin=self)
            if amount > 0:
                line.debit, line.credit = amount, Decimal(0)
            else:
                line.debit, line.credit = Decimal(0), -amount
            lines.append(line)
        return lines


class POSSaleLine(metaclass=PoolMeta):
    __name__ = 'sale.point.sale.line'

    count_card = fields.Many2One(
        'retail.count.card', "Count Card", ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        states={'readonly': Eval('sale_state') != 'open'},
        help="Redeem the line from this card (one use per unit); on a "
        "returned card sale, the card to refund.")
    count_card_lines = fields.One2Many(
        'retail.count.card.line', 'origin', "Count Card Ledger",
        readonly=True)
    count_cards_issued = fields.One2Many(
        'retail.count.card', 'origin', "Count Cards Issued", readonly=True)

    def paid_in_advance(self):
        return super().paid_in_advance() or (
            (self.quantity or 0) > 0 and self.count_card_price() is not None)

    @property
    def taxes(self):
        # The sale of a card is a prepayment: tax is due on each use.
        if card_template(self.product):
            return []
        return super().taxes

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default else {}
        default.setdefault('count_card_lines')
        default.setdefault('count_cards_issued')
        return super().copy(lines, default=default)

    def get_account_move_lines(self):
        lines = super().get_account_move_lines()
        template = card_template(self.product)
        if template:
            for line in lines:
                line.account = template.deferred_account
        return lines

    def count_card_price(self):
        "Gross unit price of a count card line (None: not priced by card)"
        if not self.count_card:
            return None
        if card_template(self.product):
            if self.quantity < 0:
                return self.count_card.refund_amount()
            return None
        service = self.count_card.find_service(self.product)
        if service:
            return service.unit_value


class POSSale(metaclass=PoolMeta):
    __name__ = 'sale.point.sale'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__rpc__.update({
                'apply_count_cards': RPC(readonly=False, instantiate=0),
                'count_card_receipt': RPC(instantiate=0),
                })

    @classmethod
    def apply_count_cards(cls, sales):
        """Price the redeemed lines at the card's unit value and the
        returned card sales at the refund, and set the one count card
        payment of each open sale to the redeemed amount (idempotent)."""
        pool = Pool()
        Line = pool.get('sale.point.sale.line')
        Payment = pool.get('sale.point.payment')
        Method = pool.get('sale.point.payment.method')
        Tax = pool.get('account.tax')
        to_save, payments_save, payments_delete = [], [], []
        for sale in sales:
            if sale.state != 'open':
                continue
            redeemed = Decimal(0)
            member = getattr(sale, 'member', None)
            for line in sale.lines:
                if (line.count_card and line.quantity > 0
                        and not card_template(line.product)
                        and not line.count_card_lines):
                    # clear errors before the customer pays the rest
                    line.count_card.check_redeem(
                        line.product, line.quantity, member, sale.date)
                price = line.count_card_price()
                if price is None:
                    continue
                list_price = round_price(Tax.reverse_compute(
                        price, line.taxes, date=sale.date))
                if (line.unit_gross_price != price
                        or line.unit_list_price != list_price):
                    line.unit_gross_price = price
                    line.unit_list_price = list_price
                    to_save.append(line)
                if not card_template(line.product):
                    redeemed += line.gross_amount
            existing = [p for p in sale.payments if p.method.count_card]
            if redeemed:
                if existing:
                    payment = existing.pop(0)
                else:
                    methods = Method.search([
                            ('company', '=', sale.company.id),
                            ('count_card', '=', True),
                            ], limit=1)
                    if not methods:
                        raise CountCardConfigurationError(gettext(
                                'retail_count_card.msg_no_payment_method'))
                    payment = Payment(sale=sale, method=methods[0])
                if getattr(payment, 'amount', None) != redeemed:
                    payment.amount = redeemed
                    payments_save.append(payment)
            payments_delete.extend(existing)
        Line.save(to_save)
        Payment.save(payments_save)
        Payment.delete(payments_delete)

    @classmethod
    @extends_transition('done')
    def do(cls, sales):
        cls.apply_count_cards(sales)
        super().do(sales)
        for sale in sales:
            sale.process_count_cards()

    def process_count_cards(self):
        "Write the count card ledgers of the done sale (idempotent)"
        for line in self.lines:
            template = card_template(line.product)
            if not template and not line.count_card:
                continue
            member = getattr(self, 'member', None)
            if not member:
                raise CountCardError(gettext(
                        'retail_count_card.msg_sale_no_member',
                        sale=self.rec_name))
            quantity = line.quantity
            if quantity != int(quantity):
                raise CountCardError(gettext(
                        'retail_count_card.msg_use_quantity',
                        quantity=quantity))
            if template and quantity > 0:
                self._issue_count_cards(line, template, member)
            elif template:
                self._refund_count_card(line, member)
            elif quantity > 0:
                line.count_card.redeem(line.product, quantity, member,
                    self.date, origin=line,
                    request_key='pos-line:%s:use' % line.id)
            elif quantity < 0:
                line.count_card.give_back(line.product, -quantity, member,
                    self.date, origin=line,
                    request_key='pos-line:%s:return' % line.id)

    def _issue_count_cards(self, line, template, member):
        pool = Pool()
        Card = pool.get('retail.count.card')
        with without_check_access():
            issued = Card.search([('origin', '=', str(line))])
        price = self.currency.round(line.gross_amount / Decimal(
                str(line.quantity)))
        for i in range(len(issued), int(line.quantity)):
            Card.issue(template, member, price, self.date, origin=line,
                shop=getattr(self.point, 'shop', None),
                request_key='pos-line:%s:%s' % (line.id, i))

    def _refund_count_card(self, line, member):
        card = line.count_card
        if not card or line.quantity != -1:
            raise CountCardError(gettext(
                    'retail_count_card.msg_refund_card_required',
                    line=line.rec_name))
        with without_check_access():
            if any(x.kind == 'refund' for x in line.count_card_lines):
                return
        if card.party != member:
            raise CountCardError(gettext(
                    'retail_count_card.msg_card_other_member',
                    card=card.number, member=member.rec_name))
        refund = -line.gross_amount
        if refund != card.refund_amount():
            raise CountCardError(gettext(
                    'retail_count_card.msg_refund_amount',
                    card=card.number, amount=card.refund_amount()))
        card.close('refund', 'refunded', self.date, origin=line,
            request_key='pos-line:%s:refund' % line.id, refund=refund)

    @classmethod
    def count_card_receipt(cls, sales):
        """Uses redeemed by the done sale and the uses left, for the
        receipt: [{card_id, number, product_id, name, uses, uses_left}]"""
        result = []
        with without_check_access():
            for sale in sales:
                for line in sale.lines:
                    for ledger in line.count_card_lines:
                        if ledger.kind not in {'use', 'return'}:
                            continue
                        service = ledger.service
                        result.append({
                                'card_id': ledger.card.id,
                                'number': ledger.card.number,
                                'product_id': service.product.id,
                                'name': service.product.rec_name,
                                'uses': -ledger.uses,
                                'uses_left': service.uses_left,
                                })
        return result
