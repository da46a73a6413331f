# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
"""Sales reports over the POS sales (sale.point.sale) that are done or
posted: by period, by hour of day, by product (ranking), by category, by
payment method, members against walk-ins.

Amounts are what the customer paid: quantity x unit gross price (tax
included) rounded per line, as sale_point's own gross amount; refunds are
sales with a negative amount.  A ticket is a sale whose amount is zero or
more (customer flow); the average ticket is sales / tickets.

These amounts are stored when a sale is done: the ticket's totals on the
sale, each line's amounts with its sale's date and point on the line, so
that a report over a year adds up stored columns of one table."""
from sql import Literal, Null, Window
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case, Coalesce

from trytond import backend
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .common import ExcelMixin, Inline, as_date, hour_of_day, report_context

SALE_STATES = ['done', 'posted']


def to_decimal(expression):
    "expression as an exact number to divide (no integer division)"
    if backend.name == 'sqlite':
        return expression * Literal(1.0)
    return expression.cast('NUMERIC')


def divide(numerator, denominator, digits):
    "numerator / denominator rounded, NULL when the denominator is 0"
    from sql.functions import Round
    return Case(
        (Coalesce(denominator, Literal(0)) == Literal(0), Null),
        else_=Round(to_decimal(numerator) / denominator, digits))


def line_amounts(line, digits):
    "(gross, untaxed) of a POS line, rounded as sale_point does"
    from sql.functions import Round
    quantity = to_decimal(line.quantity)
    return (Round(quantity * line.unit_gross_price, digits),
        Round(quantity * line.unit_list_price, digits))


class POSSale(metaclass=PoolMeta):
    __name__ = 'sale.point.sale'

    # The ticket's totals, stored when the sale is done: every ticket report
    # (by period, hour, customer, member, staff) adds them up instead of
    # summing a million lines; rounded per line in SQL as line_amounts does
    report_amount = Monetary(
        "Report Amount", currency='currency', digits='currency',
        readonly=True,
        help="The total tax included, stored when the sale is done.")
    report_untaxed = Monetary(
        "Report Untaxed", currency='currency', digits='currency',
        readonly=True,
        help="The total without tax, stored when the sale is done.")

    @classmethod
    def __register__(cls, module):
        pool = Pool()
        Line = pool.get('sale.point.sale.line')
        table_h = cls.__table_handler__(module)
        fill = not table_h.column_exist('report_amount')
        super().__register__(module)
        # the lines' columns come after (registered next): then the lines
        # fill both (a database older than both)
        if fill and Line.__table_handler__(module).column_exist(
                'report_date'):
            cls._store_report_amounts(cls._reported_ids())

    @classmethod
    def _reported_ids(cls):
        "The ids of the sales done or posted (those the reports count)"
        cursor = Transaction().connection.cursor()
        sale = cls.__table__()
        cursor.execute(*sale.select(
                sale.id, where=sale.state.in_(SALE_STATES)))
        return [i for i, in cursor]

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('report_amount')
        default.setdefault('report_untaxed')
        return super().copy(sales, default=default)

    @classmethod
    def do(cls, sales):
        super().do(sales)
        cls._store_report_amounts([s.id for s in sales])

    @classmethod
    def open(cls, sales):
        # a sale opened again is no longer counted by the line reports
        # (the ticket reports filter on the state); done again, it is
        # stored anew
        pool = Pool()
        Line = pool.get('sale.point.sale.line')
        super().open(sales)
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        for sub in grouped_slice([s.id for s in sales], 1000):
            cursor.execute(*line.update(
                    [line.report_date, line.report_point,
                        line.report_amount, line.report_untaxed],
                    [Null, Null, Null, Null],
                    where=line.sale.in_(list(sub))))

    @classmethod
    def _store_report_amounts(cls, ids):
        """Store on each line of the sales its date, point and amounts, then
        on each sale the sum of its lines; one UPDATE each per 1000 sales"""
        pool = Pool()
        Line = pool.get('sale.point.sale.line')
        Company = pool.get('company.company')
        cursor = Transaction().connection.cursor()
        sale = cls.__table__()
        by_digits = {}
        for sub in grouped_slice(ids, 1000):
            cursor.execute(*sale.select(sale.id, sale.company,
                    where=sale.id.in_(list(sub))))
            for id_, company in cursor.fetchall():
                by_digits.setdefault(company, []).append(id_)
        for company, company_ids in by_digits.items():
            digits = Company(company).currency.digits
            for sub in grouped_slice(company_ids, 1000):
                sub = list(sub)
                line = Line.__table__()
                gross, untaxed = line_amounts(line, digits)
                cursor.execute(*line.update(
                        [line.report_date, line.report_point,
                            line.report_amount, line.report_untaxed],
                        [sale.select(sale.date, where=sale.id == line.sale),
                            sale.select(
                                sale.point, where=sale.id == line.sale),
                            gross, untaxed],
                        where=line.sale.in_(sub)))
                line = Line.__table__()
                cursor.execute(*sale.update(
                        [sale.report_amount, sale.report_untaxed],
                        [line.select(Sum(line.report_amount),
                                where=line.sale == sale.id),
                            line.select(Sum(line.report_untaxed),
                                where=line.sale == sale.id)],
                        where=sale.id.in_(sub)))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # every report restricts done/posted sales of a company by date;
        # member reports go through the member's sales by date
        cls._sql_indexes.update({
                Index(t, (t.company, Index.Range()),
                    (t.date, Index.Range()),
                    where=t.state.in_(SALE_STATES)),
                Index(t, (t.member, Index.Range()),
                    (t.date, Index.Range()),
                    where=t.state.in_(SALE_STATES) & (t.member != Null)),
                })


class POSSaleLine(metaclass=PoolMeta):
    __name__ = 'sale.point.sale.line'

    # The line's sale date and point and its amounts, stored when the sale
    # is done (NULL otherwise): the product and category rankings add up
    # the lines of a period without joining a million sales
    report_date = fields.Date("Report Date", readonly=True)
    report_point = fields.Many2One(
        'sale.point', "Report Point", readonly=True)
    report_amount = fields.Numeric(
        "Report Amount", digits=(16, 4), readonly=True,
        help="The amount tax included, stored when the sale is done.")
    report_untaxed = fields.Numeric(
        "Report Untaxed", digits=(16, 4), readonly=True,
        help="The amount without tax, stored when the sale is done.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.report_point, Index.Range()),
                (t.report_date, Index.Range()),
                where=t.report_date != Null))

    @classmethod
    def __register__(cls, module):
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        table_h = cls.__table_handler__(module)
        fill = not table_h.column_exist('report_date')
        super().__register__(module)
        if fill:
            # the lines of the sales done before the module was updated
            Sale._store_report_amounts(Sale._reported_ids())

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default is not None else {}
        for name in ['report_date', 'report_point', 'report_amount',
                'report_untaxed']:
            default.setdefault(name)
        return super().copy(lines, default=default)


class SaleReportMixin(ExcelMixin):
    __slots__ = ()

    currency = fields.Many2One('currency.currency', "Currency")

    @classmethod
    def _tables(cls):
        pool = Pool()
        return {
            'sale': pool.get('sale.point.sale').__table__(),
            'line': pool.get('sale.point.sale.line').__table__(),
            'point': pool.get('sale.point').__table__(),
            'party': pool.get('party.party').__table__(),
            }

    @classmethod
    def _sale_from(cls, tables, ctx):
        sale, point = tables['sale'], tables['point']
        from_ = sale.join(point, condition=sale.point == point.id)
        if ctx['tier']:
            party = tables['party']
            from_ = from_.join(party, condition=sale.member == party.id)
        return from_

    @classmethod
    def _sale_where(cls, tables, ctx):
        sale, point = tables['sale'], tables['point']
        where = ((sale.company == ctx['company'])
            & sale.state.in_(SALE_STATES)
            & (sale.date >= ctx['from_date'])
            & (sale.date <= ctx['to_date']))
        if ctx['shop']:
            where &= point.shop == ctx['shop']
        if ctx['employee']:
            where &= sale.employee == ctx['employee']
        if ctx['tier']:
            where &= tables['party'].member_tier == ctx['tier']
        return where

    @classmethod
    def _currency(cls, ctx):
        pool = Pool()
        Company = pool.get('company.company')
        if ctx['company'] >= 0:
            return Company(ctx['company']).currency.id

    @classmethod
    def _tickets(cls, ctx):
        "One row per sale with its amounts"
        tables = cls._tables()
        sale = tables['sale']
        # the totals stored at done (a sale without lines has none)
        return cls._sale_from(tables, ctx).select(
            sale.id.as_('sale'),
            sale.date.as_('date'),
            sale.member.as_('member'),
            sale.employee.as_('employee'),
            sale.create_date.as_('create_date'),
            sale.report_amount.as_('amount'),
            sale.report_untaxed.as_('untaxed'),
            where=cls._sale_where(tables, ctx)
            & (sale.report_amount != Null))


class TicketMixin(SaleReportMixin):
    "Aggregates over tickets"
    __slots__ = ()

    tickets = fields.Integer("Tickets",
        help="The number of sales (refunds excluded).")
    sales = Monetary("Sales", currency='currency', digits='currency',
        help="The amount of the tickets (tax included).")
    refunds = fields.Integer("Refunds")
    refund_amount = Monetary(
        "Refund Amount", currency='currency', digits='currency')
    revenue = Monetary("Net Revenue", currency='currency', digits='currency',
        help="Sales less refunds, tax included.")
    revenue_untaxed = Monetary(
        "Net Revenue (Untaxed)", currency='currency', digits='currency')
    average_ticket = Monetary(
        "Average Ticket", currency='currency', digits='currency')
    member_tickets = fields.Integer("Member Tickets")
    member_revenue = Monetary(
        "Member Revenue", currency='currency', digits='currency')
    walk_in_revenue = Monetary(
        "Walk-in Revenue", currency='currency', digits='currency')
    member_share = fields.Numeric("Member Share", digits=(16, 4),
        help="The part of the net revenue from members (0.25 = 25%).")

    _excel_fields = ['tickets', 'sales', 'refunds', 'refund_amount',
        'revenue', 'revenue_untaxed', 'average_ticket', 'member_tickets',
        'member_revenue', 'walk_in_revenue', 'member_share']

    @classmethod
    def _ticket_columns(cls, t, ctx):
        digits = ctx['digits']
        is_ticket = t.amount >= Literal(0)
        tickets = Count(Case((is_ticket, Literal(1))))
        sales = Sum(Case((is_ticket, t.amount), else_=Literal(0)))
        revenue = Sum(t.amount)
        member_revenue = Sum(
            Case((t.member != Null, t.amount), else_=Literal(0)))
        return [
            Literal(cls._currency(ctx)).as_('currency'),
            tickets.as_('tickets'),
            sales.as_('sales'),
            Count(Case((~is_ticket, Literal(1)))).as_('refunds'),
            Sum(Case((~is_ticket, -t.amount), else_=Literal(0))
                ).as_('refund_amount'),
            revenue.as_('revenue'),
            Sum(t.untaxed).as_('revenue_untaxed'),
            divide(sales, tickets, digits).as_('average_ticket'),
            Count(Case((is_ticket & (t.member != Null), Literal(1)))
                ).as_('member_tickets'),
            member_revenue.as_('member_revenue'),
            Sum(Case((t.member == Null, t.amount), else_=Literal(0))
                ).as_('walk_in_revenue'),
            divide(member_revenue, revenue, 4).as_('member_share'),
            ]


class SalePeriod(TicketMixin, ModelSQL, ModelView):
    "Sales by Period"
    __name__ = 'retail.report.sale.period'
    __string__ = "Sales by Period"

    date = fields.Date("Date")

    _excel_fields = ['date'] + TicketMixin._excel_fields
    _excel_chart = ('line', 'date', ['revenue'])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        ctx = report_context()
        t = cls._tickets(ctx)
        date = as_date(t.date, ctx['period'])
        return t.select(
            Min(t.sale).as_('id'),
            date.as_('date'),
            *cls._ticket_columns(t, ctx),
            group_by=[date])


class SaleHour(TicketMixin, ModelSQL, ModelView):
    "Sales by Hour of Day"
    __name__ = 'retail.report.sale.hour'
    __string__ = "Sales by Hour of Day"

    hour = fields.Integer("Hour",
        help="The hour of the day the sale was created (company time zone).")

    _excel_fields = ['hour'] + TicketMixin._excel_fields
    _excel_chart = ('bar', 'hour', ['tickets'])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('hour', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        ctx = report_context()
        t = cls._tickets(ctx)
        hour = hour_of_day(t.create_date, ctx['timezone'])
        return t.select(
            Min(t.sale).as_('id'),
            hour.as_('hour'),
            *cls._ticket_columns(t, ctx),
            group_by=[hour])


class SaleCustomer(TicketMixin, ModelSQL, ModelView):
    "Members and Walk-ins"
    __name__ = 'retail.report.sale.customer'
    __string__ = "Members and Walk-ins"

    customer = fields.Selection([
            ('member', "Member"),
            ('walk_in', "Walk-in"),
            ], "Customer")

    _excel_fields = ['customer'] + TicketMixin._excel_fields
    _excel_chart = ('pie', 'customer', ['revenue'])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('customer', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        ctx = report_context()
        t = cls._tickets(ctx)
        customer = Case(
            (t.member == Null, Inline('walk_in')), else_=Inline('member'))
        return t.select(
            Min(t.sale).as_('id'),
            customer.as_('customer'),
            *cls._ticket_columns(t, ctx),
            group_by=[customer])


class RankingMixin(SaleReportMixin):
    __slots__ = ()

    rank = fields.Integer("Rank")
    quantity = fields.Float("Quantity", digits=(16, 2))
    tickets = fields.Integer("Tickets",
        help="The number of sales with the item (refunds included).")
    revenue = Monetary("Net Revenue", currency='currency', digits='currency',
        help="Sales less refunds, tax included.")
    revenue_untaxed = Monetary(
        "Net Revenue (Untaxed)", currency='currency', digits='currency')
    share = fields.Numeric("Share", digits=(16, 4),
        help="The part of the net revenue of all items (0.25 = 25%).")

    _excel_fields = ['rank', 'quantity', 'tickets', 'revenue',
        'revenue_untaxed', 'share']

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('rank', 'ASC'), ('id', 'ASC')]

    @classmethod
    def _line_from_where(cls, tables, ctx):
        """The lines of the sales of the period from the amounts stored on
        them, joined to their sale only for the staff and tier filters"""
        line, point = tables['line'], tables['point']
        point_where = point.company == ctx['company']
        if ctx['shop']:
            point_where &= point.shop == ctx['shop']
        points = point.select(point.id, where=point_where)
        from_ = line
        where = (line.report_point.in_(points)
            & (line.report_date >= ctx['from_date'])
            & (line.report_date <= ctx['to_date']))
        if ctx['employee'] or ctx['tier']:
            sale = tables['sale']
            from_ = from_.join(sale, condition=line.sale == sale.id)
            if ctx['employee']:
                where &= sale.employee == ctx['employee']
            if ctx['tier']:
                party = tables['party']
                from_ = from_.join(
                    party, condition=sale.member == party.id)
                where &= party.member_tier == ctx['tier']
        return from_, where

    @classmethod
    def _ranking_columns(cls, tables, ctx):
        line = tables['line']
        revenue = Sum(line.report_amount)
        total = Sum(revenue, window=Window([]))
        return [
            Literal(cls._currency(ctx)).as_('currency'),
            cls._rank(revenue).as_('rank'),
            Sum(line.quantity).as_('quantity'),
            Count(line.sale, distinct=True).as_('tickets'),
            revenue.as_('revenue'),
            Sum(line.report_untaxed).as_('revenue_untaxed'),
            divide(revenue, total, 4).as_('share'),
            ]

    @classmethod
    def _rank(cls, revenue):
        from sql.functions import Rank
        return Rank(window=Window([], order_by=[revenue.desc]))


class SaleProduct(RankingMixin, ModelSQL, ModelView):
    "Product Ranking"
    __name__ = 'retail.report.sale.product'
    __string__ = "Product Ranking"

    product = fields.Many2One('product.product', "Product")

    _excel_fields = ['rank', 'product'] + RankingMixin._excel_fields[1:]
    _excel_chart = ('bar', 'product', ['revenue'])

    @classmethod
    def table_query(cls):
        ctx = report_context()
        tables = cls._tables()
        line = tables['line']
        from_, where = cls._line_from_where(tables, ctx)
        return from_.select(
            line.product.as_('id'),
            line.product.as_('product'),
            *cls._ranking_columns(tables, ctx),
            where=where,
            group_by=[line.product])


class SaleCategory(RankingMixin, ModelSQL, ModelView):
    "Sales by Category"
    __name__ = 'retail.report.sale.category'
    __string__ = "Sales by Category"

    category = fields.Many2One('product.category', "Category")

    _excel_fields = ['rank', 'category'] + RankingMixin._excel_fields[1:]
    _excel_chart = ('pie', 'category', ['revenue'])

    @classmethod
    def table_query(cls):
        pool = Pool()
        Product = pool.get('product.product')
        TemplateCategory = pool.get('product.template-product.category')
        ctx = report_context()
        tables = cls._tables()
        line = tables['line']
        product = Product.__table__()
        rel = TemplateCategory.__table__()
        from_, where = cls._line_from_where(tables, ctx)
        from_ = (from_
            .join(product, condition=line.product == product.id)
            .join(rel, condition=rel.template == product.template))
        return from_.select(
            rel.category.as_('id'),
            rel.category.as_('category'),
            *cls._ranking_columns(tables, ctx),
            where=where,
            group_by=[rel.category])


class SalePayment(SaleReportMixin, ModelSQL, ModelView):
    "Sales by Payment Method"
    __name__ = 'retail.report.sale.payment'
    __string__ = "Sales by Payment Method"

    method = fields.Many2One('sale.point.payment.method', "Payment Method")
    payments = fields.Integer("Payments")
    tickets = fields.Integer("Tickets",
        help="The number of sales paid (partly) with the method.")
    amount = Monetary("Amount", currency='currency', digits='currency',
        help="Payments less refunds paid back with the method.")
    share = fields.Numeric("Share", digits=(16, 4),
        help="The part of the amount of all methods (0.25 = 25%).")

    _excel_fields = ['method', 'payments', 'tickets', 'amount', 'share']
    _excel_chart = ('pie', 'method', ['amount'])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('amount', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Payment = pool.get('sale.point.payment')
        ctx = report_context()
        tables = cls._tables()
        sale = tables['sale']
        payment = Payment.__table__()
        from_ = cls._sale_from(tables, ctx).join(
            payment, condition=payment.sale == sale.id)
        amount = Sum(payment.amount)
        return from_.select(
            payment.method.as_('id'),
            payment.method.as_('method'),
            Literal(cls._currency(ctx)).as_('currency'),
            Count(payment.id).as_('payments'),
            Count(sale.id, distinct=True).as_('tickets'),
            amount.as_('amount'),
            divide(amount, Sum(amount, window=Window([])), 4).as_('share'),
            where=cls._sale_where(tables, ctx),
            group_by=[payment.method])
