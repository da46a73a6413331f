# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal

from sql.functions import CurrentTimestamp

from trytond.model import fields
from trytond.model.modelstorage import local_cache
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .exchange import forget_records
from .ledger import lock_in_place
from .tools import clears_on_modification, extends_transition, transaction_dict

AMOUNT_FIELDS = [
    'total_tax', 'total', 'amount_paid', 'amount_to_pay', 'currency']
LINE_AMOUNT_FIELDS = ['unit_price', 'amount', 'currency']
# the One2Many of a sale read once per transaction while unchanged
CHILDREN = {'lines', 'payments'}
MEMO_FIELDS = CHILDREN | set(AMOUNT_FIELDS)
# ids per query (SQLite takes at most 999 parameters)
IN_MAX = 500


def _round(amount, rounding):
    "Round as currency.round does (half even); no rounding: as is"
    if not rounding:
        return amount
    return Pool().get('currency.currency')._round(
        amount, rounding, ROUND_HALF_EVEN)


def _decimal(value):
    if value is None:
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _amounts_memo():
    """{sale id: its amounts} computed in this transaction.

    A sale's amounts change only with its lines and payments (its company
    does not change): every creation, write or deletion of either empties
    the memo (AmountsMemoMixin), and the sales' amounts are computed again
    when next read.  A record's own cache is emptied by every write of any
    record: a checkout read the same amounts six times."""
    return transaction_dict('_retail_sale_amounts')


def _children_memo(transaction):
    """{(record cache, sale id, 'lines' or 'payments'): records} read in
    this transaction.

    In a transaction that writes, Tryton keeps no One2Many value: each
    access to sale.lines or sale.payments searches them again (two queries),
    and every module processing a done sale reads both (a checkout read
    them a dozen times).  They change only when a line or a payment is
    created, written or deleted, which empties the memo as it does the
    amounts (AmountsMemoMixin).  The records are kept per record cache (a
    user and the context keys of Tryton's own cache)."""
    return transaction_dict('_retail_sale_children', transaction)


def _line_amounts_memo():
    """{line id: its unit price, amount and currency} computed in this
    transaction, forgotten with the sales' amounts (a line's amount depends
    on its own values, its sale's till and company, which do not change
    once the sale has lines)"""
    return transaction_dict('_retail_line_amounts')


def _line_amounts(quantity, unit_list, unit_gross, point_id, tax_included,
        currency_id, rounding):
    "sale_point's unit price and amount of a line, and its currency"
    unit = None
    if point_id:
        unit = unit_gross if tax_included else unit_list
        unit = _decimal(unit) if unit is not None else None
    amount = Decimal(str(quantity or 0)) * (unit or Decimal(0))
    return {
        'unit_price': unit,
        'amount': _round(amount, _decimal(rounding)),
        'currency': currency_id,
        }


def forget_amounts():
    transaction = Transaction()
    transaction._retail_sale_amounts = {}
    transaction._retail_sale_children = {}
    transaction._retail_line_amounts = {}
    # what remember_amounts was told no longer holds
    transaction._retail_sale_told = {}


def _sale_amounts(lines, paid, rounding, currency_id):
    """A sale's amounts from its lines [(quantity, unit list price, unit
    gross price)] and the sum of its payments: each line's untaxed and
    gross amounts rounded to the currency (half even), the tax their
    difference"""
    total = tax = Decimal(0)
    for quantity, unit_list, unit_gross in lines:
        quantity = Decimal(str(quantity or 0))
        gross = _round(quantity * _decimal(unit_gross), rounding)
        untaxed = _round(quantity * _decimal(unit_list), rounding)
        total += gross
        tax += _round(gross - untaxed, rounding)
    return {
        'total_tax': tax,
        'total': total,
        'amount_paid': paid,
        'amount_to_pay': total - paid,
        'currency': currency_id,
        }


class AmountsMemoMixin(clears_on_modification(forget_amounts,
            "The lines and payments of a sale: their changes forget its "
            "amounts and the memo of sale.lines and sale.payments")):
    __slots__ = ()

    @classmethod
    def on_delete(cls, records):
        # on_modification('delete') runs before the rows go
        actions = super().on_delete(records)
        return actions + [forget_amounts] if records else actions


class POS(metaclass=PoolMeta):
    __name__ = 'sale.point'
    shop = fields.Many2One(
        'retail.shop', "Shop", ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))],
        help="The shop where the point of sale stands.")


class POSSale(metaclass=PoolMeta):
    __name__ = 'sale.point.sale'
    member = fields.Many2One(
        'party.party', "Member", ondelete='RESTRICT',
        domain=[
            ('is_member', '=', True),
            ('member_company', '=', Eval('company', -1)),
            ],
        states={
            'readonly': Eval('state') != 'open',
            },
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    member_card = fields.Many2One(
        'retail.member.card', "Member Card", ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            If(Eval('member'),
                ('party', '=', Eval('member', -1)),
                ()),
            ],
        states={
            'readonly': Eval('state') != 'open',
            })

    @classmethod
    def __setup__(cls):
        super().__setup__()
        for name in AMOUNT_FIELDS:
            getattr(cls, name).getter = 'get_amounts'

    def __getattr__(self, name):
        # the stored lines and payments, read once (_children_memo), and
        # the amounts known to the memo of get_amounts (without the ORM's
        # read of them); a value set on the record and not saved is its own
        if (name not in MEMO_FIELDS or self.id is None or self.id < 0
                or self._transaction.readonly
                or self._context.get('_datetime')):
            return super().__getattr__(name)
        try:
            return self._values[name]
        except (KeyError, TypeError):
            pass
        if name in AMOUNT_FIELDS:
            amounts = getattr(
                self._transaction, '_retail_sale_amounts', {}).get(self.id)
            if amounts is None:
                return super().__getattr__(name)
            value = amounts[name]
            if name == 'currency' and value is not None:
                value = Pool().get('currency.currency')(value)
            return value
        memo = _children_memo(self._transaction)
        key = (id(self._transaction_cache), self.id, name)
        try:
            return memo[key]
        except KeyError:
            value = memo[key] = super().__getattr__(name)
            return value

    @classmethod
    def get_amounts(cls, sales, names):
        """The currency and totals of stored sales in three queries (the
        currency alone in one).

        sale_point computes them with on_change_with_*, through the ORM:
        the lines, each line's currency, the payments, a read each.  The
        sale's validation needs them after every write of a sale (three
        times per checkout), so they were a fifth of a checkout.  The
        figures are the same: each line's untaxed and gross amounts
        rounded to the currency (half even), the tax their difference."""
        pool = Pool()
        Line = pool.get('sale.point.sale.line')
        Payment = pool.get('sale.point.payment')
        Company = pool.get('company.company')
        Currency = pool.get('currency.currency')
        Point = pool.get('sale.point')
        cursor = Transaction().connection.cursor()
        sale, line, payment = (
            cls.__table__(), Line.__table__(), Payment.__table__())
        company, currency = Company.__table__(), Currency.__table__()
        point = Point.__table__()
        currencies, factor, points = {}, {}, {}
        line_memo = _line_amounts_memo()
        lines = defaultdict(list)
        paid = defaultdict(Decimal)
        children = defaultdict(list)
        amounts = set(names) != {'currency'}
        memo = _amounts_memo()
        known = {s.id: memo[s.id] for s in sales if s.id in memo}
        todo = [s for s in sales if s.id not in known]
        for sub_ids in grouped_slice(todo, IN_MAX):
            ids = [int(s) for s in sub_ids]
            cursor.execute(*sale
                .join(company, condition=sale.company == company.id)
                .join(currency, condition=company.currency == currency.id)
                .join(point, 'LEFT', condition=sale.point == point.id)
                .select(sale.id, currency.id, currency.rounding, point.id,
                    point.tax_included,
                    where=sale.id.in_(ids)))
            for (sale_id, currency_id, rounding, point_id,
                    tax_included) in cursor:
                currencies[sale_id] = currency_id
                factor[sale_id] = _decimal(rounding)
                points[sale_id] = (point_id, tax_included)
            if not amounts:
                continue
            # in the order of the One2Many (the target's, by id)
            cursor.execute(*line.select(line.sale, line.id, line.quantity,
                    line.unit_list_price, line.unit_gross_price,
                    where=line.sale.in_(ids), order_by=line.id))
            for sale_id, line_id, quantity, unit_list, unit_gross in cursor:
                lines[sale_id].append((quantity, unit_list, unit_gross))
                children[sale_id, 'lines'].append(line_id)
                # the lines' own amounts, which the receipt and the points
                # ask for next (POSSaleLine.get_amounts)
                line_memo[line_id] = _line_amounts(quantity, unit_list,
                    unit_gross, *points[sale_id], currencies[sale_id],
                    factor[sale_id])
            cursor.execute(*payment.select(payment.sale, payment.id,
                    payment.amount,
                    where=payment.sale.in_(ids), order_by=payment.id))
            for sale_id, payment_id, amount in cursor:
                paid[sale_id] += _decimal(amount)
                children[sale_id, 'payments'].append(payment_id)
        result = {n: {} for n in names}
        for record in sales:
            if record.id in known:
                for name in names:
                    result[name][record.id] = known[record.id][name]
                continue
            values = _sale_amounts(lines[record.id], paid[record.id],
                factor.get(record.id), currencies.get(record.id))
            if amounts and record.id in currencies:
                memo[record.id] = values
                cls._memo_children(record, children)
            for name in names:
                result[name][record.id] = values[name]
        return result

    @classmethod
    def remember_amounts(cls, sale, point, lines, payments=()):
        """Tell get_amounts the amounts of sale, whose lines [(id,
        quantity, unit list price, unit gross price)] and payments [(id,
        amount)] the caller has just inserted from these values (all of the
        sale's, in the order of their ids): what get_amounts would read
        back with three queries, twice a checkout.  point: the sale's till
        (its company's currency rounds).  Any other change of the sale's
        lines or payments forgets it (AmountsMemoMixin)."""
        currency = point.company.currency
        rounding = _decimal(currency.rounding)
        line_memo = _line_amounts_memo()
        for line_id, quantity, unit_list, unit_gross in lines:
            line_memo[line_id] = _line_amounts(quantity, unit_list,
                unit_gross, point.id, point.tax_included, currency.id,
                rounding)
        _amounts_memo()[sale.id] = _sale_amounts(
            [ln[1:] for ln in lines],
            sum((_decimal(a) for _, a in payments), Decimal(0)),
            rounding, currency.id)
        cls._memo_children(sale, {
                (sale.id, 'lines'): [ln[0] for ln in lines],
                (sale.id, 'payments'): [p[0] for p in payments],
                })
        transaction_dict('_retail_sale_told')[sale.id] = (
            list(lines), list(payments))

    @classmethod
    def told_amounts(cls, sale):
        """(lines, payments) told by remember_amounts, if no change of any
        sale's lines or payments came since (else None)"""
        return transaction_dict('_retail_sale_told').get(sale.id)

    @staticmethod
    def _memo_children(record, children):
        """Keep the lines and payments get_amounts has just read as the
        values of record.lines and record.payments (_children_memo): the
        amounts and the children are forgotten together, so the processing
        that follows reads neither One2Many again"""
        pool = Pool()
        memo = _children_memo(record._transaction)
        cache = record._transaction_cache
        for name, Model in [
                ('lines', pool.get('sale.point.sale.line')),
                ('payments', pool.get('sale.point.payment'))]:
            # siblings as the ORM makes them: one id list and one local
            # cache, so reading a field of one reads it for all
            ids = children[record.id, name]
            kwargs = {'_ids': ids, '_transaction_cache': cache,
                '_local_cache': local_cache(Model, record._transaction),
                '_transaction': record._transaction}
            memo.setdefault((id(cache), record.id, name),
                tuple(Model(i, **kwargs) for i in ids))

    @fields.depends('member_card', 'member')
    def on_change_member_card(self):
        if self.member_card:
            self.member = self.member_card.party

    @fields.depends('member', 'member_card')
    def on_change_member(self):
        if self.member_card and self.member_card.party != self.member:
            self.member_card = None

    @classmethod
    def check_member_cards(cls, sales):
        "Refuse a card reported lost or frozen while the sale was open"
        for sale in sales:
            if sale.member_card:
                sale.member_card.check_usable()

    @classmethod
    def lock_number_sequences(cls, sales):
        """Lock the strict sequences that number the sales where they are
        used, waiting for the holder.

        sale_point's do takes them with Tryton's lock, which inside a
        running transaction can only ask for the whole transaction to be
        started again with the rows locked first: every sale was then
        processed twice."""
        cls.lock_sequences({s.point.sequence for s in sales if not s.number})

    @classmethod
    def lock_sequences(cls, sequences):
        "Lock the strict sequences in place (see lock_number_sequences)"
        Sequence = Pool().get('ir.sequence.strict')

        def mark(records):
            # SQLite has one writer at a time: the rows need no lock
            if records:
                locked = getattr(Transaction(), '_locked_records', None)
                if locked is not None:
                    locked[Sequence._table].update(int(r) for r in records)
        lock_in_place(Sequence, sequences, mark)

    @classmethod
    def take_number(cls, sequence):
        """Return the next number of a strict sequence that lock_sequences
        locked, in one query (two without UPDATE ... RETURNING).

        sequence.get() reads the sequence (17 fields) twice and writes it
        through the ORM: a tenth of the checkout of a sale.  The number is
        the one Tryton's incremental sequence gives; the other types go
        through it."""
        pool = Pool()
        Sequence = pool.get('ir.sequence.strict')
        transaction = Transaction()
        table = Sequence.__table__()
        cursor = transaction.connection.cursor()
        number = table.number_next_internal - table.number_increment
        columns = [number, table.padding, table.prefix, table.suffix]
        # one query where the database returns the updated row
        returning = transaction.database.has_returning()
        cursor.execute(*table.update(
                [table.number_next_internal, table.write_uid,
                    table.write_date],
                [table.number_next_internal + table.number_increment,
                    transaction.user, CurrentTimestamp()],
                where=(table.id == sequence.id)
                & (table.type == 'incremental'),
                returning=columns if returning else None))
        if returning:
            row = cursor.fetchone()
            updated = row is not None
        else:
            updated = cursor.rowcount == 1
        if not updated:
            return sequence.get()
        forget_records(Sequence, [sequence])
        if not returning:
            cursor.execute(*table.select(*columns,
                    where=table.id == sequence.id))
            row = cursor.fetchone()
        number, padding, prefix, suffix = row
        return (f'{Sequence._process(prefix)}{number:0>{padding}d}'
            f'{Sequence._process(suffix)}')

    @classmethod
    @extends_transition('done')
    def do(cls, sales):
        cls.check_member_cards(sales)
        cls.lock_number_sequences(sales)
        super().do(sales)


class POSSaleLine(AmountsMemoMixin, metaclass=PoolMeta):
    __name__ = 'sale.point.sale.line'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        for name in LINE_AMOUNT_FIELDS:
            getattr(cls, name).getter = 'get_amounts'

    @classmethod
    def get_amounts(cls, lines, names):
        """The unit price, amount and currency of stored lines in one query.

        sale_point reads them line by line through the sale, its point and
        its company; receipts, points and reports ask for them after every
        write.  The figures are sale_point's: the gross unit price on a till
        with taxes included (else the list price), the amount rounded to
        the currency (half even)."""
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        Point = pool.get('sale.point')
        Company = pool.get('company.company')
        Currency = pool.get('currency.currency')
        line, sale, point = (
            cls.__table__(), Sale.__table__(), Point.__table__())
        company, currency = Company.__table__(), Currency.__table__()
        cursor = Transaction().connection.cursor()
        result = {n: {} for n in names}
        # the memo holds the present values, not those of a past _datetime
        memo = ({} if Transaction().context.get('_datetime')
            else _line_amounts_memo())
        todo = []
        for record in lines:
            values = memo.get(record.id)
            if values is None:
                todo.append(record)
                continue
            for name in names:
                result[name][record.id] = values[name]
        for sub_ids in grouped_slice(todo, IN_MAX):
            cursor.execute(*line
                .join(sale, condition=line.sale == sale.id)
                .join(point, 'LEFT', condition=sale.point == point.id)
                .join(company, condition=sale.company == company.id)
                .join(currency, condition=company.currency == currency.id)
                .select(line.id, line.quantity, line.unit_list_price,
                    line.unit_gross_price, point.id, point.tax_included,
                    currency.id, currency.rounding,
                    where=line.id.in_([int(r) for r in sub_ids])))
            for (line_id, quantity, unit_list, unit_gross, point_id,
                    tax_included, currency_id, rounding) in cursor:
                values = memo[line_id] = _line_amounts(quantity, unit_list,
                    unit_gross, point_id, tax_included, currency_id,
                    rounding)
                for name in names:
                    result[name][line_id] = values[name]
        return result

    def paid_in_advance(self):
        """Whether a balance bought earlier pays the line (a count card's
        service): it takes no promotion and earns no points, the purchase
        of the balance did"""
        return False

    @property
    def to_location(self):
        """Goods given back go to the return location or, as sale_point's
        help text promises, to the storage location when it is empty
        (sale_point 8.0 left the move without a destination and the posting
        of the refund failed)"""
        location = super().to_location
        if location is None and self.quantity < 0:
            location = self.sale.point.storage_location
        return location


class POSPayment(AmountsMemoMixin, metaclass=PoolMeta):
    __name__ = 'sale.point.payment'
