# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
"""Points on sales.

``sale.sale``: points are awarded (and returns reversed) when the sale is
processed, i.e. once it is in *processing* or *done*; a confirmed sale can
still go back to draft, a processing one cannot.  A return sale (the Return
wizard copies the sale with negative quantities and the original as origin)
takes back the points of the returned products.

``sale.point.sale``: points are redeemed, awarded and reversed in ``do``
(open -> done).  A sale can be reopened (done -> open) and done again: the
database refuses a second earn or redeem line for the same origin, and the
lines of a sale with points can no longer be changed (return them instead).
"""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql import Null

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.modules.retail_member.exchange import IN_MAX
from trytond.modules.retail_member.tools import extends_transition
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.rpc import RPC
from trytond.tools import grouped_slice
from trytond.tools import timezone as tz
from trytond.transaction import Transaction

from .exceptions import LedgerAccessError, RedemptionError

ZERO = Decimal(0)


class LoyaltyMixin:
    "Award, redeem and reverse points for a sale document"
    __slots__ = ()

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__rpc__.update({
                'points_receipt': RPC(readonly=True, instantiate=0),
                })

    @classmethod
    def points_receipt(cls, documents):
        "Return the points receipt data of each document"
        return [d.get_points_receipt() for d in documents]

    # Adapter, implemented by each sale model

    def _points_member(self):
        raise NotImplementedError

    def _points_date(self):
        raise NotImplementedError

    def _points_earn_items(self):
        "[(key, product, base, gross)] of lines with a positive quantity"
        raise NotImplementedError

    def _points_payments(self):
        "[(payment, points, amount)] of points payments"
        return []

    def _points_returns(self):
        """[(key of original, original document, product, quantity, base)]
        of returned lines; key and original are None when unknown"""
        raise NotImplementedError

    def _points_original_items(self):
        "{key: (quantity, gross)} of the lines a return may refer to"
        raise NotImplementedError

    @classmethod
    def _points_returned(cls, original, current):
        "{key: quantity} returned from original by processed documents"
        raise NotImplementedError

    def _points_origins(self):
        return [self] + [p for p, _, _ in self._points_payments()]

    def _points_time(self):
        "The local time of the sale, for promotions with a time window"
        context = Transaction().context
        if context.get('retail_points_time'):
            return context['retail_points_time']
        zone = self.company.timezone
        now = dt.datetime.now(tz.get_tzinfo(zone) if zone else tz.SERVER)
        return now.time()

    @classmethod
    def process_points(cls, documents):
        "Lock the members' accounts and apply points to documents"
        pool = Pool()
        Account = pool.get('retail.points.account')
        todo = []
        for document in documents:
            member = document._points_member()
            if member:
                account = Account.get_account(document.company, member)
                todo.append((document, account))
        if not todo:
            return
        accounts = sorted({a for _, a in todo}, key=lambda a: a.id)
        Account.lock(accounts)
        with Transaction().set_context(_retail_points_processing=True):
            for document, account in todo:
                document._process_points(account)
        Account.update_tiers(accounts)

    def _process_points(self, account):
        pool = Pool()
        Line = pool.get('retail.points.line')
        Rule = pool.get('retail.points.rule')
        Configuration = pool.get('retail.points.configuration')
        settings = Configuration.get_settings(self.company)
        member = account.member
        date = self._points_date()
        origin = str(self)

        self._points_reverse_returns(account, date)
        self._points_check_refund_payments(settings)

        payments = self._points_payments()
        items = self._points_earn_items()
        if payments:
            self._points_check_payments(settings, payments, items)
        for payment, points, _ in payments:
            if Line.exists([str(payment)], 'redeem'):
                continue
            account.debit('redeem', points, date, origin=str(payment))

        if Line.exists([origin], 'earn'):
            return
        positive = sum((g for _, _, _, g in items if g > 0), ZERO)
        if not positive:
            return
        paid = sum((a for _, _, a in payments), ZERO)
        net = sum((g for _, _, _, g in items), ZERO) - paid
        factor = max(net, ZERO) / positive
        earning = Rule.compute_earning(
            self.company, member, date,
            [(k, p, b * factor) for k, p, b, _ in items],
            time=self._points_time())
        if earning.points > 0:
            account.credit(
                'earn', earning.points, date,
                lock_until=settings.lock_until(date),
                expiry_date=settings.expiry_date(date),
                origin=origin,
                base_amount=self.currency.round(earning.base),
                detail={k: str(v) for k, v in earning.raw.items()})

    def _points_refund_payments(self):
        "[(payment, points, amount)] of negative points payments"
        return []

    def _points_check_refund_payments(self, settings):
        """The money of points given back must leave by points payments:
        their amount must be the value of the points given back"""
        pool = Pool()
        Line = pool.get('retail.points.line')
        payments = self._points_refund_payments()
        if not payments and not self._points_returns():
            # points are given back only by the reversal of returns
            # (_points_reverse_returns): a sale without any has none
            return
        restored = sum(ln.points for ln in Line.search([
                    ('origin', '=', str(self)),
                    ('kind', '=', 'refund'),
                    ('points', '>', 0),
                    ]))
        if not restored and not payments:
            return
        value = settings.points_value(restored, self.currency)
        paid = -sum((a for _, _, a in payments), ZERO)
        points = -sum(p for _, p, _ in payments)
        if points != restored or paid != value:
            raise RedemptionError(gettext(
                    'retail_points.msg_points_refund_payment',
                    sale=self.rec_name, points=restored, amount=value))

    def _points_check_payments(self, settings, payments, items=None):
        "items: the _points_earn_items the caller has read"
        if items is None:
            items = self._points_earn_items()
        total = sum((g for _, _, _, g in items), ZERO)
        paid = sum((a for _, _, a in payments), ZERO)
        limit = self.currency.round(total * settings.redeem_max_share)
        if paid > limit:
            raise RedemptionError(gettext(
                    'retail_points.msg_points_payment_share',
                    sale=self.rec_name, amount=paid, limit=limit))
        for _, points, amount in payments:
            if points < (settings.redeem_minimum or 0):
                raise RedemptionError(gettext(
                        'retail_points.msg_points_payment_minimum',
                        points=points, minimum=settings.redeem_minimum))
            value = settings.points_value(points, self.currency)
            if amount != value:
                raise RedemptionError(gettext(
                        'retail_points.msg_points_payment_amount',
                        points=points, amount=amount, value=value))

    def _points_reverse_returns(self, account, date):
        pool = Pool()
        Line = pool.get('retail.points.line')
        Rule = pool.get('retail.points.rule')
        origin = str(self)
        by_original = defaultdict(list)
        unlinked = []
        for key, original, product, _, base in self._points_returns():
            if (original is not None
                    and original._points_member() == account.member):
                by_original[original].append(key)
            else:
                unlinked.append((origin, product, base))
        for original in by_original:
            returned = self._points_returned(original, self)
            items = original._points_original_items()
            earns = Line.search([
                    ('origin', '=', str(original)),
                    ('kind', '=', 'earn'),
                    ], limit=1)
            if earns:
                earn, = earns
                raw = {k: Decimal(v) for k, v in (earn.detail or {}).items()}
                total_raw = sum(raw.values(), ZERO)
                share = ZERO
                if total_raw:
                    for key, (quantity, _) in items.items():
                        if key in raw and quantity:
                            ratio = min(returned.get(key, 0), quantity)
                            share += (raw[key] / total_raw
                                * Decimal(str(ratio)) / Decimal(str(quantity)))
                account.reverse_earn(earn, share, date, origin=origin)
            redeems = Line.search([
                    ('origin', 'in', [
                            str(p) for p, _, _
                            in original._points_payments()]),
                    ('kind', '=', 'redeem'),
                    ])
            if redeems:
                total = sum((g for q, g in items.values() if g > 0), ZERO)
                back = ZERO
                for key, (quantity, gross) in items.items():
                    if quantity and gross > 0:
                        ratio = min(returned.get(key, 0), quantity)
                        back += (gross * Decimal(str(ratio))
                            / Decimal(str(quantity)))
                share = back / total if total else ZERO
                for redeem in redeems:
                    account.reverse_redeem(
                        redeem, share, date, origin=origin)
        if unlinked and not Line.search([
                    ('origin', '=', origin),
                    ('kind', '=', 'refund'),
                    ('reversed', '=', None),
                    ], limit=1):
            # Unknown original: take back what the return would earn now
            earning = Rule.compute_earning(
                self.company, account.member, date,
                [(k, p, b) for k, p, b in unlinked],
                time=self._points_time())
            if earning.points > 0:
                account.debit(
                    'refund', earning.points, date, allow_locked=True,
                    allow_debt=True, origin=origin,
                    base_amount=-self.currency.round(earning.base))

    def get_points_receipt(self, totals=True):
        """Return the points of the receipt: earned, spent, restored,
        reversed, and with totals the account's balance, available, debt,
        next expiry date and points"""
        pool = Pool()
        Account = pool.get('retail.points.account')
        return Account.receipt(
            self.company, self._points_member(), self._points_origins(),
            totals=totals)

    @classmethod
    def _points_check_frozen(cls, documents):
        "Refuse to change the lines of documents with points"
        pool = Pool()
        Line = pool.get('retail.points.line')
        if Transaction().context.get('_retail_points_processing'):
            return
        origins = []
        for document in documents:
            origins.extend(str(o) for o in document._points_origins())
        if Line.exists(origins):
            raise LedgerAccessError(gettext(
                    'retail_points.msg_sale_points_frozen',
                    sale=', '.join(d.rec_name for d in documents)))


def _tax_amount(line, quantity, unit_price, date):
    pool = Pool()
    Tax = pool.get('account.tax')
    taxes = Tax.compute(
        list(line.taxes or []), unit_price or ZERO, quantity or 0, date=date)
    return sum((t['amount'] for t in taxes), ZERO)


class Sale(LoyaltyMixin, metaclass=PoolMeta):
    __name__ = 'sale.sale'

    @classmethod
    @ModelView.button
    def process(cls, sales):
        super().process(sales)
        cls.process_points(
            [s for s in sales if s.state in {'processing', 'done'}])

    def _points_member(self):
        party = self.party
        if (party and getattr(party, 'is_member', False)
                and party.member_company in {None, self.company}):
            return party

    def _points_date(self):
        pool = Pool()
        Date = pool.get('ir.date')
        with Transaction().set_context(company=self.company.id):
            return Date.today()

    def _points_time(self):
        return None

    def _points_line_amounts(self, line):
        pool = Pool()
        Configuration = pool.get('retail.points.configuration')
        settings = Configuration.get_settings(self.company)
        untaxed = line.amount or ZERO
        gross = untaxed + self.currency.round(_tax_amount(
                line, line.quantity, line.unit_price,
                self.sale_date or self._points_date()))
        base = gross if settings.earn_base == 'taxed' else untaxed
        return base, gross

    def _points_earn_items(self):
        items = []
        for line in self.lines:
            if line.type != 'line' or not line.quantity or line.quantity < 0:
                continue
            base, gross = self._points_line_amounts(line)
            key = str(line.product) if line.product else str(line)
            items.append((key, line.product, base, gross))
        return items

    def _points_returns(self):
        pool = Pool()
        Sale = pool.get('sale.sale')
        original = self.origin if isinstance(self.origin, Sale) else None
        returns = []
        for line in self.lines:
            if line.type != 'line' or not line.quantity or line.quantity > 0:
                continue
            base, _ = self._points_line_amounts(line)
            key = str(line.product) if line.product else None
            returns.append((
                    key, original if key else None, line.product,
                    -line.quantity, -base))
        return returns

    def _points_original_items(self):
        items = defaultdict(lambda: [0, ZERO])
        for line in self.lines:
            if (line.type != 'line' or not line.quantity
                    or line.quantity < 0 or not line.product):
                continue
            _, gross = self._points_line_amounts(line)
            items[str(line.product)][0] += line.quantity
            items[str(line.product)][1] += gross
        return {k: tuple(v) for k, v in items.items()}

    @classmethod
    def _points_returned(cls, original, current):
        returns = cls.search([
                ('origin', '=', str(original)),
                ('state', 'in', ['processing', 'done']),
                ('id', '!=', current.id),
                ])
        returned = defaultdict(float)
        for sale in returns + [current]:
            for line in sale.lines:
                if (line.type == 'line' and line.product
                        and line.quantity and line.quantity < 0):
                    returned[str(line.product)] += -line.quantity
        return returned


class POSPaymentMethod(metaclass=PoolMeta):
    __name__ = 'sale.point.payment.method'

    retail_points = fields.Boolean(
        "Points",
        states={'invisible': Eval('cash', False)},
        help="Check to pay with the member's points.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        from trytond.model import Check
        t = cls.__table__()
        cls._sql_constraints += [
            ('retail_points_not_cash',
                Check(t, ~((t.cash == True) & (t.retail_points == True))),  # noqa: E712
                'retail_points.msg_points_method_cash'),
            ]

    @classmethod
    def default_retail_points(cls):
        return False


class POSPayment(metaclass=PoolMeta):
    __name__ = 'sale.point.payment'

    points = fields.Integer(
        "Points",
        domain=[If(Eval('retail_points', False),
                ('points', '!=', 0),
                ('points', '=', None))],
        states={
            'invisible': ~Eval('retail_points', False),
            'required': Eval('retail_points', False),
            'readonly': Eval('sale_state') != 'open',
            },
        help="The points the member spends; the amount follows.\n"
        "Negative on a return: the points given back.")
    retail_points = fields.Function(
        fields.Boolean("Points Method"), 'on_change_with_retail_points')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Points given back on a return are a negative points payment
        cls.method.domain = [
            ('company', '=', Eval('company', -1)),
            If(Eval('amount', 0) < 0,
                ['OR', ('cash', '=', True), ('retail_points', '=', True)],
                ()),
            ]

    @fields.depends('method')
    def on_change_with_retail_points(self, name=None):
        return bool(self.method and self.method.retail_points)

    @fields.depends('points', 'method', 'sale', '_parent_sale.company')
    def on_change_points(self):
        pool = Pool()
        Configuration = pool.get('retail.points.configuration')
        if (self.method and self.method.retail_points and self.points
                and self.sale and self.sale.company):
            settings = Configuration.get_settings(self.sale.company)
            self.amount = settings.points_value(
                self.points, self.sale.company.currency)

    @classmethod
    def validate_fields(cls, payments, field_names):
        pool = Pool()
        Configuration = pool.get('retail.points.configuration')
        super().validate_fields(payments, field_names)
        for payment in payments:
            if not payment.method.retail_points:
                continue
            sale = payment.sale
            if not sale.member:
                raise RedemptionError(gettext(
                        'retail_points.msg_points_payment_member',
                        sale=sale.rec_name))
            settings = Configuration.get_settings(sale.company)
            value = settings.points_value(payment.points or 0, sale.currency)
            if payment.amount != value:
                raise RedemptionError(gettext(
                        'retail_points.msg_points_payment_amount',
                        points=payment.points, amount=payment.amount,
                        value=value))
            if 0 < (payment.points or 0) < (settings.redeem_minimum or 0):
                raise RedemptionError(gettext(
                        'retail_points.msg_points_payment_minimum',
                        points=payment.points,
                        minimum=settings.redeem_minimum))

    @classmethod
    def check_modification(cls, mode, payments, values=None, external=False):
        pool = Pool()
        Line = pool.get('retail.points.line')
        super().check_modification(
            mode, payments, values=values, external=external)
        if mode in {'write', 'delete'}:
            if (mode == 'write'
                    and not ({'amount', 'points', 'method', 'sale'}
                        & set(values or {}))):
                return
            origins = [str(p) for p in payments if p.method.retail_points]
            if Line.exists(origins, 'redeem'):
                raise LedgerAccessError(gettext(
                        'retail_points.msg_points_payment_frozen'))


class POSSale(LoyaltyMixin, metaclass=PoolMeta):
    __name__ = 'sale.point.sale'

    @classmethod
    @extends_transition('done')
    def do(cls, sales):
        super().do(sales)
        cls.process_points(sales)

    def _points_member(self):
        return self.member

    def _points_date(self):
        return self.date

    def _points_amounts(self, line, earn_base=None):
        "earn_base: the configuration's, when the caller has it"
        pool = Pool()
        Configuration = pool.get('retail.points.configuration')
        if earn_base is None:
            earn_base = Configuration.get_settings(self.company).earn_base
        gross = line.gross_amount
        base = gross if earn_base == 'taxed' else line.untax_amount
        return base, gross

    def _points_earn_items(self):
        pool = Pool()
        Configuration = pool.get('retail.points.configuration')
        earn_base = Configuration.get_settings(self.company).earn_base
        items = []
        for line in self.lines:
            if line.paid_in_advance():
                continue
            if line.quantity and line.quantity > 0:
                base, gross = self._points_amounts(line, earn_base)
                items.append((str(line), line.product, base, gross))
        return items

    def _points_payments(self):
        return [(p, p.points, p.amount or ZERO) for p in self.payments
            if p.method.retail_points and (p.points or 0) > 0]

    def _points_refund_payments(self):
        return [(p, p.points, p.amount or ZERO) for p in self.payments
            if p.method.retail_points and (p.points or 0) < 0]

    def _points_returns(self):
        returns = []
        for line in self.lines:
            if not line.quantity or line.quantity > 0:
                continue
            original = line.points_origin_line
            if not original and self.member:
                original = line._points_match_original()
                if original:
                    line.points_origin_line = original
                    line.save()
            base, _ = self._points_amounts(line)
            returns.append((
                    str(original) if original else None,
                    original.sale if original else None,
                    line.product, -line.quantity, -base))
        return returns

    def _points_original_items(self):
        return {
            str(line): (line.quantity, line.gross_amount)
            for line in self.lines if line.quantity and line.quantity > 0}

    @classmethod
    def _points_returned(cls, original, current):
        pool = Pool()
        Line = pool.get('sale.point.sale.line')
        lines = Line.search([
                ('points_origin_line.sale', '=', original.id),
                ('sale.state', 'in', ['done', 'posted']),
                ('sale', '!=', current.id),
                ])
        returned = defaultdict(float)
        for line in lines + list(current.lines):
            if (line.points_origin_line and line.quantity
                    and line.quantity < 0
                    and line.points_origin_line.sale == original):
                returned[str(line.points_origin_line)] += -line.quantity
        return returned


class POSSaleLine(metaclass=PoolMeta):
    __name__ = 'sale.point.sale.line'

    points_origin_line = fields.Many2One(
        'sale.point.sale.line', "Returned Line", ondelete='RESTRICT',
        domain=[
            ('quantity', '>', 0),
            ('product', '=', Eval('product', -1)),
            ('sale.state', 'in', ['done', 'posted']),
            ('sale.company', '=', Eval('company', -1)),
            ],
        states={
            'invisible': Eval('quantity', 0) >= 0,
            'readonly': Eval('sale_state') != 'open',
            },
        help="The sold line this return gives back: its points are "
        "taken back and the points it consumed given back.")

    def _points_match_original(self):
        "The latest sold line of the member this return can refer to"
        pool = Pool()
        Line = pool.get('sale.point.sale.line')
        Sale = pool.get('sale.point.sale')
        candidates = Line.search([
                ('sale.member', '=', self.sale.member.id),
                ('sale.company', '=', self.sale.company.id),
                ('sale.state', 'in', ['done', 'posted']),
                ('product', '=', self.product.id),
                ('quantity', '>', 0),
                ], order=[('sale.date', 'DESC'), ('id', 'DESC')], limit=50)
        for candidate in candidates:
            returned = Sale._points_returned(candidate.sale, self.sale)
            if (candidate.quantity - returned.get(str(candidate), 0)
                    >= -self.quantity):
                return candidate

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        super().check_modification(
            mode, lines, values=values, external=external)
        if mode == 'write' and set(values or {}) <= {'points_origin_line'}:
            return
        if Transaction().context.get('_retail_points_processing'):
            return
        sales = cls._points_numbered_sales(lines)
        if sales and cls._points_any_line(sales):
            Sale._points_check_frozen(sales)

    @classmethod
    def _points_any_line(cls, sales):
        """Whether a points line comes from sales or their payments, in two
        queries: a checkout numbers its sale before it saves the lines, and
        _points_check_frozen reads the sale's payments through the ORM
        (four queries) to find nothing"""
        pool = Pool()
        Payment = pool.get('sale.point.payment')
        PointsLine = pool.get('retail.points.line')
        transaction = Transaction()
        # sales created in this transaction have a points line only if one
        # was created in it too: a checkout saving its lines asks nothing
        created = transaction.create_records
        if not created['retail.points.line']:
            new_sales = set(created['sale.point.sale'])
            if all(s.id in new_sales for s in sales):
                return False
        payment = Payment.__table__()
        cursor = transaction.connection.cursor()
        ids = [s.id for s in sales]
        origins = ['sale.point.sale,%d' % i for i in ids]
        for sub_ids in grouped_slice(ids, IN_MAX):
            cursor.execute(*payment.select(payment.id,
                    where=payment.sale.in_(list(sub_ids))))
            origins.extend('sale.point.payment,%d' % i for i, in cursor)
        return PointsLine.exists(origins)

    @classmethod
    def _points_numbered_sales(cls, lines):
        """The numbered sales of lines, in one query: reading each line and
        its sale through the ORM cost a checkout two reads of every field
        (the lines it creates belong to a sale without number)"""
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        line, sale = cls.__table__(), Sale.__table__()
        cursor = Transaction().connection.cursor()
        ids = set()
        for sub_ids in grouped_slice([ln.id for ln in lines], IN_MAX):
            cursor.execute(*line.join(sale, condition=line.sale == sale.id
                    ).select(sale.id,
                    where=line.id.in_(list(sub_ids))
                    & (sale.number != Null)))
            ids.update(i for i, in cursor)
        return Sale.browse(sorted(ids))

    @classmethod
    def copy(cls, lines, default=None):
        default = {} if default is None else default.copy()
        default.setdefault('points_origin_line')
        return super().copy(lines, default=default)


class PointsLine_POS(metaclass=PoolMeta):
    __name__ = 'retail.points.line'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + [
            'sale.point.sale', 'sale.point.payment']
