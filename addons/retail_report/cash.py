# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
"""Shift handover (交班) and daily close from sale_point's payments and
cash sessions.

A cash session is a shift of a point of sale.  Cash payments carry their
session; a payment by another method belongs to the session of its point
that was open when it was recorded (from the session's creation to the
creation of the next one).  Expected cash = start amount + cash payments +
cash transfers; counted = the end amount typed at closing."""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql import Literal, Null, Union
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case, Coalesce

from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.report import Report
from trytond.tools import grouped_slice
from trytond.tools import timezone as tz
from trytond.transaction import Transaction

from .common import ExcelMixin, report_context
from .sale import SALE_STATES


def utc_bounds(ctx):
    "The period as naive UTC timestamps [start, end) of the company's days"
    zone = tz.ZoneInfo(ctx['timezone'])

    def utc(date):
        local = dt.datetime.combine(date, dt.time(), tzinfo=zone)
        return local.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return (utc(ctx['from_date']),
        utc(ctx['to_date'] + dt.timedelta(days=1)))


def session_payments(session_where=None, since=None):
    """Rows (session, method, payment, amount) of the payments of the
    sessions: cash ones by their session, the others by the shift stored on
    them when they were recorded (see POSPayment).  since, the earliest
    opening of the sessions wanted, skips the payments made before it."""
    pool = Pool()
    Payment = pool.get('sale.point.payment')
    Sale = pool.get('sale.point.sale')
    Session = pool.get('sale.point.cash.session')
    payment = Payment.__table__()
    sale = Sale.__table__()
    session = Session.__table__()
    session_where = session_where or (lambda session: Literal(True))
    cash = payment.join(session, condition=payment.session == session.id
        ).select(
            session.id.as_('session'),
            payment.method.as_('method'),
            payment.id.as_('payment'),
            payment.amount.as_('amount'),
            where=session_where(session))
    where = ((payment.session == Null) & (sale.state != 'cancelled')
        & session_where(session))
    if since is not None:
        where &= payment.create_date >= since
    other = (payment
        .join(session, condition=payment.report_session == session.id)
        .join(sale, condition=payment.sale == sale.id)
        .select(
            session.id.as_('session'),
            payment.method.as_('method'),
            payment.id.as_('payment'),
            payment.amount.as_('amount'),
            where=where))
    return Union(cash, other, all_=True)


class POSCashSession(metaclass=PoolMeta):
    __name__ = 'sale.point.cash.session'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # the session open when a payment is recorded (POSPayment)
        cls._sql_indexes.add(
            Index(t, (t.point, Index.Range()), (t.create_date, Index.Range()),
                (t.id, Index.Range())))


class POSPayment(metaclass=PoolMeta):
    __name__ = 'sale.point.payment'

    # sale_point gives a session to cash payments only; the shift of any
    # other payment is the last session of its point opened at or before
    # it (a point's sessions follow each other), stored when the payment is
    # recorded so that the handover reports need not look it up for every
    # payment of a period
    report_session = fields.Many2One(
        'sale.point.cash.session', "Shift", readonly=True,
        help="The cash session open at the point when the payment was "
        "recorded.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.report_session, Index.Range()),
                where=t.session == Null))

    @classmethod
    def __register__(cls, module):
        table_h = cls.__table_handler__(module)
        fill = not table_h.column_exist('report_session')
        super().__register__(module)
        if fill:
            # payments recorded before the module was updated
            cls._store_report_session()

    @classmethod
    def copy(cls, payments, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('report_session')
        return super().copy(payments, default=default)

    @classmethod
    def create(cls, vlist):
        payments = super().create(vlist)
        cls._store_report_session([p.id for p in payments])
        return payments

    @classmethod
    def _store_report_session(cls, ids=None):
        "Store the shift of the payments (all when ids is None) in SQL"
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        Session = pool.get('sale.point.cash.session')
        cursor = Transaction().connection.cursor()
        payment = cls.__table__()
        sale = Sale.__table__()
        last = Session.__table__()
        opened = last.join(sale, condition=last.point == sale.point).select(
            last.id,
            where=(sale.id == payment.sale)
            & (last.create_date <= payment.create_date),
            order_by=[last.create_date.desc, last.id.desc],
            limit=1)
        where = payment.session == Null
        if ids is None:
            cursor.execute(*payment.update(
                    [payment.report_session], [opened], where=where))
            return
        for sub in grouped_slice(ids, 1000):
            cursor.execute(*payment.update(
                    [payment.report_session], [opened],
                    where=where & payment.id.in_(list(sub))))


class CashSessionMixin(ExcelMixin):
    __slots__ = ()

    @classmethod
    def _session_where(cls, ctx):
        pool = Pool()
        Point = pool.get('sale.point')
        point = Point.__table__()
        start, end = utc_bounds(ctx)
        shop_points = point.select(point.id,
            where=(point.company == ctx['company'])
            & ((point.shop == ctx['shop']) if ctx['shop']
                else Literal(True)))

        def where(session):
            return ((session.create_date >= start)
                & (session.create_date < end)
                & session.point.in_(shop_points))
        return where


class CashSession(CashSessionMixin, ModelSQL, ModelView):
    "Shift Handover"
    __name__ = 'retail.report.cash.session'
    __string__ = "Shift Handover"

    session = fields.Many2One('sale.point.cash.session', "Cash Session")
    point = fields.Many2One('sale.point', "Point of Sale")
    shop = fields.Many2One('retail.shop', "Shop")
    opened = fields.Timestamp("Opened")
    state = fields.Selection([
            ('open', "Open"),
            ('closed', "Closed"),
            ('posted', "Posted"),
            ], "State")
    start_amount = Monetary(
        "Start Amount", currency='currency', digits='currency')
    cash_payments = Monetary(
        "Cash Payments", currency='currency', digits='currency')
    transfers = Monetary(
        "Cash Transfers", currency='currency', digits='currency',
        help="Top-ups in cash, payouts and other moves of cash.")
    expected = Monetary(
        "Expected Cash", currency='currency', digits='currency')
    counted = Monetary("Counted Cash", currency='currency', digits='currency',
        help="The end amount typed at closing.")
    difference = Monetary(
        "Difference", currency='currency', digits='currency',
        help="Counted less expected.")
    payments = Monetary(
        "All Payments", currency='currency', digits='currency',
        help="The payments of the shift by every method.")
    currency = fields.Many2One('currency.currency', "Currency")

    _excel_fields = ['session', 'point', 'shop', 'opened', 'state',
        'start_amount', 'cash_payments', 'transfers', 'expected', 'counted',
        'difference', 'payments']

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('opened', 'DESC'), ('id', 'DESC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Session = pool.get('sale.point.cash.session')
        Point = pool.get('sale.point')
        Payment = pool.get('sale.point.payment')
        Transfer = pool.get('sale.point.cash.transfer')
        Company = pool.get('company.company')
        ctx = report_context()
        currency = (Company(ctx['company']).currency.id
            if ctx['company'] >= 0 else None)
        session = Session.__table__()
        previous = Session.__table__()
        point = Point.__table__()
        payment = Payment.__table__()
        transfer = Transfer.__table__()
        session_where = cls._session_where(ctx)
        since, _ = utc_bounds(ctx)
        # a payment of a session is not older than the session
        cash = payment.select(
            payment.session.as_('session'),
            Sum(payment.amount).as_('amount'),
            where=(payment.session != Null)
            & (payment.create_date >= since),
            group_by=[payment.session])
        moves = transfer.select(
            transfer.session.as_('session'),
            Sum(transfer.amount).as_('amount'),
            group_by=[transfer.session])
        rows = session_payments(session_where, since=since)
        everything = rows.select(
            rows.session, Sum(rows.amount).as_('amount'),
            group_by=[rows.session])
        zero = Literal(0)
        start = Coalesce(previous.end_amount, zero)
        expected = (start + Coalesce(cash.amount, zero)
            + Coalesce(moves.amount, zero))
        counted = Case((session.state.in_(['closed', 'posted']),
                session.end_amount), else_=Null)
        return (session
            .join(point, condition=session.point == point.id)
            .join(previous, 'LEFT',
                condition=session.previous_session == previous.id)
            .join(cash, 'LEFT', condition=cash.session == session.id)
            .join(moves, 'LEFT', condition=moves.session == session.id)
            .join(everything, 'LEFT',
                condition=everything.session == session.id)
            .select(
                session.id.as_('id'),
                session.id.as_('session'),
                session.point.as_('point'),
                point.shop.as_('shop'),
                session.create_date.as_('opened'),
                session.state.as_('state'),
                start.as_('start_amount'),
                Coalesce(cash.amount, zero).as_('cash_payments'),
                Coalesce(moves.amount, zero).as_('transfers'),
                expected.as_('expected'),
                counted.as_('counted'),
                (counted - expected).as_('difference'),
                Coalesce(everything.amount, zero).as_('payments'),
                Literal(currency).as_('currency'),
                where=session_where(session)))


class CashSessionMethod(CashSessionMixin, ModelSQL, ModelView):
    "Shift Payments by Method"
    __name__ = 'retail.report.cash.session.method'
    __string__ = "Shift Payments by Method"

    session = fields.Many2One('sale.point.cash.session', "Cash Session")
    method = fields.Many2One('sale.point.payment.method', "Payment Method")
    payments = fields.Integer("Payments")
    amount = Monetary("Amount", currency='currency', digits='currency')
    currency = fields.Many2One('currency.currency', "Currency")

    _excel_fields = ['session', 'method', 'payments', 'amount']
    _excel_chart = ('pie', 'method', ['amount'])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('session', 'DESC'), ('method', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Company = pool.get('company.company')
        ctx = report_context()
        currency = (Company(ctx['company']).currency.id
            if ctx['company'] >= 0 else None)
        rows = session_payments(
            cls._session_where(ctx), since=utc_bounds(ctx)[0])
        return rows.select(
            Min(rows.payment).as_('id'),
            rows.session, rows.method,
            Count(rows.payment).as_('payments'),
            Sum(rows.amount).as_('amount'),
            Literal(currency).as_('currency'),
            group_by=[rows.session, rows.method])


class DailyClose(ExcelMixin, ModelSQL, ModelView):
    "Daily Close"
    __name__ = 'retail.report.daily.close'
    __string__ = "Daily Close"

    date = fields.Date("Date")
    point = fields.Many2One('sale.point', "Point of Sale")
    method = fields.Many2One('sale.point.payment.method', "Payment Method")
    tickets = fields.Integer("Tickets")
    payments = fields.Integer("Payments")
    amount = Monetary("Amount", currency='currency', digits='currency')
    currency = fields.Many2One('currency.currency', "Currency")

    _excel_fields = ['date', 'point', 'method', 'tickets', 'payments',
        'amount']
    _excel_chart = ('bar', 'method', ['amount'])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('point', 'ASC'), ('method', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Payment = pool.get('sale.point.payment')
        Sale = pool.get('sale.point.sale')
        Point = pool.get('sale.point')
        Company = pool.get('company.company')
        ctx = report_context()
        currency = (Company(ctx['company']).currency.id
            if ctx['company'] >= 0 else None)
        payment = Payment.__table__()
        sale = Sale.__table__()
        point = Point.__table__()
        where = ((sale.company == ctx['company'])
            & sale.state.in_(SALE_STATES)
            & (sale.date >= ctx['from_date'])
            & (sale.date <= ctx['to_date']))
        if ctx['shop']:
            where &= point.shop == ctx['shop']
        if ctx['employee']:
            where &= sale.employee == ctx['employee']
        return (payment
            .join(sale, condition=payment.sale == sale.id)
            .join(point, condition=sale.point == point.id)
            .select(
                Min(payment.id).as_('id'),
                sale.date.as_('date'),
                sale.point.as_('point'),
                payment.method.as_('method'),
                Count(sale.id, distinct=True).as_('tickets'),
                Count(payment.id).as_('payments'),
                Sum(payment.amount).as_('amount'),
                Literal(currency).as_('currency'),
                where=where,
                group_by=[sale.date, sale.point, payment.method]))


def method_totals(session_ids):
    "{session id: [(method, payments, amount)]} of the sessions"
    pool = Pool()
    Method = pool.get('sale.point.payment.method')
    cursor = Transaction().connection.cursor()
    result = defaultdict(list)
    if not session_ids:
        return result
    Session = pool.get('sale.point.cash.session')
    session = Session.__table__()
    cursor.execute(*session.select(Min(session.create_date),
            where=fields.SQL_OPERATORS['in'](session.id, session_ids)))
    since, = cursor.fetchone()
    rows = session_payments(
        lambda session: fields.SQL_OPERATORS['in'](session.id, session_ids),
        since=since)
    query = rows.select(
        rows.session, rows.method, Count(rows.payment),
        Sum(rows.amount),
        group_by=[rows.session, rows.method])
    cursor.execute(*query)
    for session_id, method_id, count, amount in cursor:
        result[session_id].append(
            (Method(method_id), count, Decimal(str(amount or 0))))
    for lines in result.values():
        lines.sort(key=lambda row: row[0].name)
    return result


class HandoverReport(Report):
    "Shift Handover"
    __name__ = 'retail.report.cash.handover'
    __string__ = "Shift Handover"

    @classmethod
    def _get_records(cls, ids, model, data):
        Session = Pool().get('sale.point.cash.session')
        # printed from the cash sessions or from the handover report
        return Session.browse(ids)

    @classmethod
    def get_context(cls, records, header, data):
        pool = Pool()
        Date = pool.get('ir.date')
        context = super().get_context(records, header, data)
        context['methods'] = method_totals([r.id for r in records])
        context['today'] = Date.today()
        return context


class DailyCloseReport(Report):
    "Daily Close"
    __name__ = 'retail.report.daily.close.print'
    __string__ = "Daily Close"

    @classmethod
    def get_context(cls, records, header, data):
        pool = Pool()
        Date = pool.get('ir.date')
        context = super().get_context(records, header, data)
        days = defaultdict(lambda: defaultdict(list))
        totals = defaultdict(Decimal)
        for record in records:
            days[record.date][record.point].append(record)
            totals[record.date] += record.amount or Decimal(0)
        context['days'] = sorted(
            ((date, sorted(points.items(), key=lambda p: p[0].name),
                    totals[date])
                for date, points in days.items()),
            key=lambda d: d[0])
        context['today'] = Date.today()
        return context
