# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The POS API as Python: every HTTP route of routes.py calls one class
method of ``retail.pos.api`` inside one transaction, as the cashier's user
with the till's company and the cashier's language.

Other modules extend ``retail.pos.api`` (``[register retail_count_card]``
and ``[register retail_coupon]`` in tryton.cfg): the ``_member_extras``,
``_quote_line``, ``_quote_adjust``, ``_before_payments`` and
``_catalog_extra`` hooks."""
import datetime as dt
import json
import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from sql import Literal, Null
from sql.aggregate import Count, Max, Sum
from sql.conditionals import Coalesce
from sql.functions import CurrentTimestamp

from trytond.cache import Cache
from trytond.config import config
from trytond.i18n import gettext
from trytond.model import Model
from trytond.modules.product import round_price
from trytond.modules.retail_member.exchange import IN_MAX, bulk_create
from trytond.modules.retail_wallet.wallet import PIN_GRANT_MINUTES
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.tools import timezone as tz
from trytond.transaction import Transaction, without_check_access

from .exceptions import PosError, pos_error

ZERO = Decimal(0)
UUID_RE = re.compile(r'^[0-9A-Za-z][0-9A-Za-z\-_:]{7,63}$')
CATALOG_OVERLAP = dt.timedelta(seconds=60)


def money(value, currency):
    "The money string of the contract: the currency's digits"
    value = currency.round(Decimal(value or 0))
    return str(value.quantize(Decimal(1).scaleb(-currency.digits)))


def parse_money(value, currency, field):
    try:
        amount = Decimal(str(value))
        valid = (isinstance(value, (str, int)) and not isinstance(value, bool)
            and amount.is_finite() and abs(amount) < 10 ** 12
            and amount == currency.round(amount))
    except (ArithmeticError, TypeError, ValueError):
        valid = False
    if not valid:
        raise pos_error('msg_bad_amount', 'invalid_amount', field=field,
            value=str(value)[:20])
    return amount


def parse_int(value, field, minimum=None, maximum=2 ** 31 - 1):
    if (isinstance(value, bool) or not isinstance(value, int)
            or value > maximum):
        raise pos_error('msg_bad_value', 'invalid_request', field=field)
    if minimum is not None and value < minimum:
        raise pos_error('msg_bad_value', 'invalid_request', field=field)
    return value


def parse_quantity(value, field):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise pos_error('msg_bad_quantity', 'invalid_quantity', field=field)
    quantity = float(value)
    if not (0 < quantity <= 100000) or round(quantity, 3) != quantity:
        raise pos_error('msg_bad_quantity', 'invalid_quantity', field=field)
    return quantity


def _decimal(value):
    "A NUMERIC column read without its type (SQLite) as a Decimal"
    if isinstance(value, bytes):
        value = value.decode()
    return Decimal(str(value))


def _money_or_none(value, currency):
    return money(value, currency) if value is not None else None


def _text(msg_id, **variables):
    return gettext('retail_pos.' + msg_id, **variables)


def _qty(quantity):
    return ('%g' % quantity) if quantity != int(quantity) else str(
        int(quantity))


class PosAPI(Model):
    "POS API"
    __name__ = 'retail.pos.api'
    # what the quote checks and shows of a product, by product and language
    _product_facts = Cache('retail_pos.product_facts', context=False)
    # the ids of a product's customer taxes, by product and company
    _product_taxes = Cache('retail_pos.product_taxes', context=False)
    # a line's list and gross unit prices, by till's tax mode, taxes, price
    # and date
    _line_prices = Cache('retail_pos.line_prices', context=False)
    # what a quote and a receipt show of a tier, a payment method or a
    # shop, by record and language (a translated name is a query of its
    # own, a tier's or a method's fields a read at every checkout)
    _display_facts = Cache('retail_pos.display_facts', context=False)

    # ------------------------------------------------------------ sign-in
    @classmethod
    def login(cls, data):
        pool = Pool()
        Cashier = pool.get('retail.pos.cashier')
        Token = pool.get('retail.pos.token')
        Point = pool.get('sale.point')
        User = pool.get('res.user')
        if not isinstance(data, dict):
            raise pos_error('msg_bad_request', 'invalid_request')
        badge = data.get('badge')
        cashier = None
        if badge:
            if not isinstance(badge, str):
                raise pos_error('msg_bad_value', 'invalid_request',
                    field='badge')
            cashiers = Cashier.search([('badge', '=', badge.strip())],
                limit=2)
            if len(cashiers) == 1:
                cashier, = cashiers
            if not cashier:
                raise pos_error('msg_unknown_badge', 'invalid_credentials',
                    401)
            if cashier.locked_until and cashier.locked_until > dt.datetime.now():
                raise pos_error('msg_cashier_locked', 'cashier_locked', 403,
                    minutes=15)
        else:
            login, pin = data.get('login'), data.get('pin')
            if not isinstance(login, str) or not login:
                raise pos_error('msg_bad_value', 'invalid_request',
                    field='login')
            if not isinstance(pin, str) or not pin:
                raise pos_error('msg_bad_value', 'invalid_request',
                    field='pin')
            users = User.search([('login', '=', login)], limit=1)
            if users:
                cashiers = Cashier.search([('user', '=', users[0].id)],
                    limit=1)
                cashier = cashiers[0] if cashiers else None
            if not cashier:
                raise pos_error('msg_wrong_login', 'invalid_credentials', 401)
            cashier.check_pin(pin)
        point = None
        point_id = data.get('point_id')
        if point_id is not None:
            parse_int(point_id, 'point_id', 1)
            points = Point.search([
                    ('id', '=', point_id),
                    ('company', '=', cashier.company.id),
                    ], limit=1)
            if not points:
                raise pos_error('msg_unknown_point', 'point_not_found', 404,
                    field='point_id')
            point, = points
        elif cashier.default_point:
            point = cashier.default_point
        else:
            points = Point.search([('company', '=', cashier.company.id)],
                order=[('id', 'ASC')], limit=1)
            if not points:
                raise pos_error('msg_unknown_point', 'point_not_found', 404,
                    field='point_id')
            point, = points
        token = Token.issue(cashier, point)
        return {
            'token': token,
            'user': cls._user(cashier),
            'point': {'id': point.id, 'name': point.name},
            }

    @classmethod
    def logout(cls, token_record):
        Token = Pool().get('retail.pos.token')
        Token.delete([token_record])
        return {}

    @classmethod
    def _user(cls, cashier):
        return {
            'id': cashier.user.id,
            'name': cashier.name,
            'language': cashier.language or 'zh_CN',
            }

    # ------------------------------------------------------------ config
    @classmethod
    def config(cls, cashier, point):
        pool = Pool()
        Method = pool.get('sale.point.payment.method')
        company = point.company
        currency = company.currency
        methods = Method.search([('company', '=', company.id)])
        shop = getattr(point, 'shop', None)
        Employee = pool.get('company.employee')
        with without_check_access():
            staff = Employee.search([('company', '=', company.id)],
                order=[('party.name', 'ASC'), ('id', 'ASC')], limit=200)
            staff = [{'id': e.id, 'name': e.rec_name} for e in staff]
        return {
            'company': {'id': company.id, 'name': company.rec_name},
            'currency': {
                'code': currency.code,
                'symbol': currency.symbol or currency.code,
                'digits': currency.digits,
                },
            'point': {
                'id': point.id, 'name': point.name,
                'shop': shop.name if shop else None,
                'tax_included': bool(point.tax_included),
                # the float moves between drawer and safe are booked: the
                # opening count is checked, the closing keeps a float
                'float_booked': bool(point.retail_pos_float_type),
                },
            'payment_methods': [{
                    'id': m.id, 'name': m.name, 'kind': m.get_pos_kind(),
                    } for m in methods],
            'session': cls._session_info(cls._open_session(point)),
            'user': cls._user(cashier),
            # who can be named on a line for commission
            'staff': staff,
            # a cashier's discount on a line (off when promotions price
            # the sale: retail_coupon)
            'line_discount': True,
            # the hardware proxy runs on the till's own machine
            'hw_proxy': {'url': config.get(
                    'retail_pos', 'hw_proxy_url',
                    default='http://127.0.0.1:8400')},
            }

    # ------------------------------------------------------------ session
    @classmethod
    def _open_session(cls, point):
        Session = Pool().get('sale.point.cash.session')
        return Session.find_open(point)

    @classmethod
    def _session_info(cls, session):
        if not session:
            return None
        opened = session.retail_pos_opened_at or session.create_date
        return {
            'id': session.id,
            'state': session.state,
            'opened_at': cls._local_time(session.point, opened).isoformat()
            if opened else None,
            }

    @classmethod
    def _local_time(cls, point, stamp=None):
        """A stored time (naive UTC, as Tryton keeps them; None: now) on
        the wall clock of the till's company, to the second: what a receipt
        and a handover report print (a server runs in UTC, a shop in
        Shanghai eight hours ahead)"""
        if stamp is None:
            stamp = dt.datetime.now()  # trytond's processes run in UTC
        zone = cls._facts(point.company,
            lambda c: {'timezone': c.timezone})['timezone']
        if zone:
            stamp = stamp.replace(tzinfo=dt.timezone.utc).astimezone(
                tz.get_tzinfo(zone)).replace(tzinfo=None)
        return stamp.replace(microsecond=0)

    @classmethod
    def _methods_amounts(cls, point, values, name):
        Method = Pool().get('sale.point.payment.method')
        currency = point.company.currency
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise pos_error('msg_bad_value', 'invalid_request', field=name)
        result = {}
        for key, value in values.items():
            field = '%s.%s' % (name, key)
            try:
                method_id = int(key)
            except ValueError:
                raise pos_error('msg_unknown_method', 'method_not_found',
                    field=field) from None
            methods = Method.search([
                    ('id', '=', method_id),
                    ('company', '=', point.company.id),
                    ], limit=1)
            if not methods:
                raise pos_error('msg_unknown_method', 'method_not_found',
                    field=field)
            amount = parse_money(value, currency, field)
            if amount < 0:
                raise pos_error('msg_bad_amount', 'invalid_amount',
                    field=field, value=value)
            result[methods[0]] = amount
        return result

    @classmethod
    def _reason(cls, data, field='reason'):
        "The cashier's reason of data (stripped, None if empty)"
        reason = (data or {}).get(field)
        if reason is None:
            return None
        if not isinstance(reason, str) or len(reason.strip()) > 200:
            raise pos_error('msg_bad_value', 'invalid_request', field=field)
        return reason.strip() or None

    @classmethod
    def session_open(cls, cashier, point, data):
        """Open the till's session with the float counted per method.

        With a float transfer type on the till, the cash counted is checked
        against the cash the previous shift left (the session's start
        amount): a difference needs the cashier's reason, and the float is
        booked as a transfer from the safe so that the session's cash is
        the drawer's"""
        pool = Pool()
        Session = pool.get('sale.point.cash.session')
        Transfer = pool.get('sale.point.cash.transfer')
        currency = point.company.currency
        floats = cls._methods_amounts(
            point, (data or {}).get('float'), 'float')
        reason = cls._reason(data)
        session = cls._open_session(point)
        if session and session.retail_pos_opened_at:
            raise pos_error('msg_session_already_open', 'session_open', 409)
        if not session:
            session = Session.get_current(point)
        float_type = point.retail_pos_float_type
        if float_type:
            counted = sum((a for m, a in floats.items() if m.cash), ZERO)
            expected = session.start_amount or ZERO
            difference = counted - expected
            # a till's first session has nothing to be checked against
            if difference and session.previous_session and not reason:
                raise pos_error('msg_float_difference', 'float_difference',
                    409, field='reason',
                    counted=money(counted, currency),
                    expected=money(expected, currency),
                    difference=money(difference, currency))
            if difference:
                Transfer.save([Transfer(point=point, session=session,
                            type=float_type, amount=difference)])
            session.retail_pos_float_difference = difference
            session.retail_pos_float_reason = reason if difference else None
        session.retail_pos_opened_by = cashier.user
        session.retail_pos_opened_at = dt.datetime.now()
        session.retail_pos_float = json.dumps(
            {str(m.id): str(a) for m, a in floats.items()})
        session.save()
        return {'session': cls._session_info(session)}

    @classmethod
    def _current_session(cls, point):
        session = cls._open_session(point)
        if not session:
            raise pos_error('msg_no_session', 'no_session', 409)
        return session

    @classmethod
    def session_report(cls, cashier, point, counted=None, session=None,
            receipt=True):
        "receipt=False: the caller builds the printable receipt itself"
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        Payment = pool.get('sale.point.payment')
        Method = pool.get('sale.point.payment.method')
        Topup = pool.get('retail.wallet.topup')
        if session is None:
            session = cls._current_session(point)
        currency = point.company.currency
        cursor = Transaction().connection.cursor()
        sale = Sale.__table__()
        payment = Payment.__table__()
        query = payment.join(sale, condition=payment.sale == sale.id).select(
            payment.method, Sum(payment.amount),
            where=(sale.retail_pos_session == session.id)
            & sale.state.in_(['done', 'posted']),
            group_by=[payment.method])
        cursor.execute(*query)
        expected = defaultdict(Decimal)
        for method_id, amount in cursor:
            expected[method_id] += Decimal(str(amount or 0))
        # the cash of the till's other sales (rung in Tryton's back office)
        # is in the drawer too: as in Tryton's balance of the session
        cursor.execute(*payment.join(sale,
                condition=payment.sale == sale.id).select(
                payment.method, Sum(payment.amount),
                where=(payment.session == session.id)
                & ((sale.retail_pos_session != session.id)
                    | (sale.retail_pos_session == Null)),
                group_by=[payment.method]))
        for method_id, amount in cursor:
            expected[method_id] += Decimal(str(amount or 0))
        cursor.execute(*sale.select(
                Count(sale.id),
                where=(sale.retail_pos_session == session.id)
                & sale.state.in_(['done', 'posted'])
                & (sale.retail_pos_refund_of == Null)))
        sales_count, = cursor.fetchone()
        refunds = Sale.search([
                ('retail_pos_session', '=', session.id),
                ('state', 'in', ['done', 'posted']),
                ('retail_pos_refund_of', '!=', None),
                ])
        topups = Topup.search([
                ('point', '=', point.id),
                ('state', '=', 'done'),
                ('create_date', '>=', session.retail_pos_opened_at
                    or session.create_date),
                ])
        for topup in topups:
            expected[topup.payment_method.id] += topup.amount
        floats = json.loads(session.retail_pos_float or '{}')
        for method_id, amount in floats.items():
            expected[int(method_id)] += Decimal(amount)
        counted = counted or {}
        methods = Method.search([('company', '=', point.company.id)])
        cash_ids = sorted(m.id for m in methods if m.cash)
        if point.retail_pos_float_type and cash_ids:
            # the float is booked: the drawer holds the session's cash as
            # Tryton counts it (its start and balance: every cash payment
            # and transfer, a manager's drop to the safe or a top-up rung
            # before the opening too); what the lines above do not explain
            # goes to the first cash method
            drawer = (session.start_amount or ZERO) + session.balance
            expected[cash_ids[0]] += drawer - sum(
                (expected[i] for i in cash_ids), ZERO)
        lines = []
        for method in methods:
            exp = currency.round(expected.get(method.id, ZERO))
            cnt = counted.get(method)
            if not exp and cnt is None:
                continue
            lines.append({
                    'method_id': method.id,
                    'name': method.name,
                    'kind': method.get_pos_kind(),
                    'float': money(Decimal(floats.get(str(method.id), 0)),
                        currency),
                    'expected': money(exp, currency),
                    'counted': money(cnt, currency)
                    if cnt is not None else None,
                    'difference': money(cnt - exp, currency)
                    if cnt is not None else None,
                    })
        report = {
            'session': cls._session_info(session),
            'point': {'id': point.id, 'name': point.name},
            'cashier': cashier.name,
            'printed_at': cls._local_time(point).isoformat(),
            'methods': lines,
            'sales_count': sales_count,
            'refunds_count': len(refunds),
            'refunds_total': money(
                sum((r.total for r in refunds), ZERO), currency),
            'topups_count': len(topups),
            'topups_total': money(
                sum((t.amount for t in topups), ZERO), currency),
            # the opening count was checked against the start amount (the
            # previous session's end) when its difference was recorded
            'float_expected': money(session.start_amount or ZERO, currency)
            if session.retail_pos_float_difference is not None else None,
            'float_difference': _money_or_none(
                session.retail_pos_float_difference, currency),
            'float_reason': session.retail_pos_float_reason,
            'kept': None,
            'handed_in': None,
            }
        if receipt:
            report['receipt'] = cls._report_receipt(report, point, currency)
        return report

    @classmethod
    def _report_receipt(cls, report, point, currency):
        rows = []
        payments = []
        for line in report['methods']:
            payments.append({'label': line['name'] + ' '
                    + _text('msg_rc_expected'), 'amount': line['expected']})
            if line['counted'] is not None:
                payments.append({'label': line['name'] + ' '
                        + _text('msg_rc_counted'), 'amount': line['counted']})
                payments.append({'label': line['name'] + ' '
                        + _text('msg_rc_difference'),
                        'amount': line['difference']})
        if report.get('cash_difference_booked') is not None:
            payments.append({'label': _text('msg_rc_difference_booked'),
                    'amount': report['cash_difference_booked']})
        if report.get('kept') is not None:
            payments.append({'label': _text('msg_rc_kept'),
                    'amount': report['kept']})
            payments.append({'label': _text('msg_rc_handed_in'),
                    'amount': report['handed_in']})
        if report.get('float_expected') is not None:
            rows.append([_text('msg_rc_float_expected'),
                    report['float_expected']])
            rows.append([_text('msg_rc_float_difference'),
                    report['float_difference']])
            if report.get('float_reason'):
                rows.append([_text('msg_rc_float_reason'),
                        report['float_reason']])
        rows.append([_text('msg_rc_sales_count'), str(report['sales_count'])])
        rows.append([_text('msg_rc_refunds'), '%s / %s' % (
                    report['refunds_count'], report['refunds_total'])])
        rows.append([_text('msg_rc_topups'), '%s / %s' % (
                    report['topups_count'], report['topups_total'])])
        return {
            'header': {'title': _text('msg_rc_handover'),
                'lines': [point.company.rec_name]},
            'meta': [
                [_text('msg_rc_point'), point.name],
                [_text('msg_rc_cashier'), report['cashier']],
                [_text('msg_rc_opened'),
                    (report['session'] or {}).get('opened_at') or ''],
                [_text('msg_rc_printed'), report['printed_at']],
                ],
            'lines': [],
            'payments': payments,
            'member': {'title': _text('msg_rc_summary'), 'rows': rows},
            'footer': [_text('msg_rc_signature')],
            'currency_symbol': cls._symbol(currency),
            }

    @classmethod
    def session_close(cls, cashier, point, data):
        pool = Pool()
        Session = pool.get('sale.point.cash.session')
        Transfer = pool.get('sale.point.cash.transfer')
        session = cls._current_session(point)
        currency = point.company.currency
        counted = cls._methods_amounts(
            point, (data or {}).get('counted'), 'counted')
        kept = cls._methods_amounts(point, (data or {}).get('kept'), 'kept')
        kept = {m: a for m, a in kept.items() if m.cash}
        handed_in = None
        if kept:
            # the float left for the next shift, the rest handed in: booked
            # as a transfer to the safe, so that the next opening expects
            # what was kept
            if not point.retail_pos_float_type:
                raise pos_error('msg_float_type_missing', 'invalid_request',
                    field='kept')
            counted_cash = sum((a for m, a in counted.items() if m.cash),
                ZERO)
            kept_cash = sum(kept.values(), ZERO)
            if kept_cash > counted_cash:
                raise pos_error('msg_kept_exceeds', 'invalid_amount',
                    field='kept', kept=money(kept_cash, currency),
                    counted=money(counted_cash, currency))
            handed_in = counted_cash - kept_cash
        # its receipt once the difference is booked
        report = cls.session_report(cashier, point, counted=counted,
            session=session, receipt=False)
        # the cash counted minus the cash expected since the opening count
        # (the float, cash sales and top-ups): the shift's over or short
        differences = [Decimal(line['difference'])
            for line in report['methods']
            if line['kind'] == 'cash' and line['difference'] is not None]
        booked = None
        if differences and point.retail_pos_difference_type:
            booked = sum(differences, ZERO)
            if booked:
                Transfer.save([Transfer(point=point, session=session,
                            type=point.retail_pos_difference_type,
                            amount=booked)])
                session = Session(session.id)
        report['cash_difference_booked'] = (
            money(booked, currency) if booked is not None else None)
        if handed_in is not None:
            if handed_in:
                Transfer.save([Transfer(point=point, session=session,
                            type=point.retail_pos_float_type,
                            amount=-handed_in)])
                session = Session(session.id)
            session.retail_pos_float_kept = sum(kept.values(), ZERO)
            report['kept'] = money(session.retail_pos_float_kept, currency)
            report['handed_in'] = money(handed_in, currency)
        report['receipt'] = cls._report_receipt(report, point, currency)
        # Tryton's close checks that the end amount is the start amount and
        # the session's cash (payments and transfers, the difference among
        # them); the counted amounts are the handover report's
        session.end_amount = session.start_amount + session.balance
        session.retail_pos_closed_by = cashier.user
        session.retail_pos_closed_at = dt.datetime.now()
        session.retail_pos_report = json.dumps(report)
        session.save()
        Session.close([session])
        report['session']['state'] = 'closed'
        return {'report': report}

    # ------------------------------------------------------------ catalogue
    @classmethod
    def catalog(cls, cashier, point, since=None):
        pool = Pool()
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        Identifier = pool.get('product.identifier')
        GrossPrice = pool.get('product.gross_price')
        ListPrice = pool.get('product.list_price')
        Uom = pool.get('product.uom')
        Category = pool.get('product.category')
        TemplateCategory = pool.get('product.template-product.category')
        Translation = pool.get('ir.translation')
        Tier = pool.get('retail.member.tier')
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        company = point.company
        currency = company.currency
        language = transaction.language

        start = None
        if since:
            try:
                start = dt.datetime.fromisoformat(str(since))
                if start.tzinfo or start.year < 2000:
                    start = None
            except (ValueError, OverflowError):
                start = None
        full = start is None

        product = Product.__table__()
        template = Template.__table__()
        identifier = Identifier.__table__()
        gross = GrossPrice.__table__()
        gross_t = GrossPrice.__table__()
        lprice = ListPrice.__table__()
        uom = Uom.__table__()
        tcat = TemplateCategory.__table__()
        trans = Translation.__table__()

        def stamp(table):
            return Coalesce(table.write_date, table.create_date)

        # The cursor: the latest change of anything the catalogue shows
        cursor.execute(*product.select(Max(stamp(product))))
        stamps = [cursor.fetchone()[0]]
        for table in [template, identifier, gross, lprice]:
            cursor.execute(*table.select(Max(stamp(table))))
            stamps.append(cursor.fetchone()[0])
        stamps = [dt.datetime.fromisoformat(s) if isinstance(s, str) else s
            for s in stamps if s]
        latest = max(stamps) if stamps else dt.datetime(2000, 1, 1)

        from_ = (product
            .join(template, condition=product.template == template.id)
            .join(gross, 'LEFT', condition=(gross.product == product.id)
                & (gross.company == company.id))
            .join(gross_t, 'LEFT', condition=(gross_t.template == template.id)
                & (gross_t.product == Null) & (gross_t.company == company.id))
            .join(lprice, 'LEFT', condition=(lprice.template == template.id)
                & (lprice.company == company.id))
            .join(uom, 'LEFT', condition=template.sale_uom == uom.id)
            .join(trans, 'LEFT', condition=(trans.res_id == template.id)
                & (trans.name == 'product.template,name')
                & (trans.type == 'model') & (trans.lang == language)
                & (trans.value != '') & (trans.value != Null)))
        where = Literal(True)
        if not full:
            since_ = start - CATALOG_OVERLAP
            changed_templates = identifier.select(
                identifier.product, where=stamp(identifier) > since_)
            where = ((stamp(product) > since_) | (stamp(template) > since_)
                | (Coalesce(stamp(gross), since_) > since_)
                | (Coalesce(stamp(gross_t), since_) > since_)
                | (Coalesce(stamp(lprice), since_) > since_)
                | product.id.in_(changed_templates))
        columns = [
            product.id, Coalesce(trans.value, template.name),
            product.code, template.type, template.id,
            Coalesce(gross.gross_price, gross_t.gross_price),
            lprice.list_price, uom.symbol,
            product.active & template.active & template.salable,
            ]
        extra = cls._catalog_columns(template)
        columns.extend(c for _, c in extra)
        cursor.execute(*from_.select(*columns, where=where,
                order_by=[product.id]))
        rows = cursor.fetchall()

        ids = [r[0] for r in rows]
        barcodes = defaultdict(list)
        categories_of = {}
        if ids:
            for sub in range(0, len(ids), 5000):
                chunk = ids[sub:sub + 5000]
                cursor.execute(*identifier.select(
                        identifier.product, identifier.code,
                        where=identifier.product.in_(chunk),
                        order_by=[identifier.id]))
                for product_id, code in cursor:
                    barcodes[product_id].append(code)
            template_ids = sorted({r[4] for r in rows})
            for sub in range(0, len(template_ids), 5000):
                chunk = template_ids[sub:sub + 5000]
                cursor.execute(*tcat.select(
                        tcat.template, Max(tcat.category),
                        where=tcat.template.in_(chunk),
                        group_by=[tcat.template]))
                categories_of.update(dict(cursor))

        products, removed = [], []
        tax_included = point.tax_included
        for row in rows:
            (product_id, name, code, type_, template_id, gross_price,
                list_price, unit, active) = row[:9]
            if not active:
                if not full:
                    removed.append(product_id)
                continue
            price = gross_price if tax_included else list_price
            if price is None:
                price = list_price if tax_included else None
            if price is None:
                continue
            item = {
                'id': product_id,
                'name': name,
                'code': code,
                'barcodes': barcodes.get(product_id, []),
                'category_id': categories_of.get(template_id),
                'price': money(_decimal(price), currency),
                'unit': unit or '',
                'kind': 'service' if type_ == 'service' else 'goods',
                }
            for (key, _), value in zip(extra, row[9:]):
                item[key] = value
            products.append(item)

        categories = [{
                'id': c.id, 'name': c.name,
                'parent_id': c.parent.id if c.parent else None,
                } for c in Category.search([])]
        tiers = [{
                'id': t.id, 'name': t.name, 'code': t.code,
                'discount': str(t.discount or ZERO),
                } for t in Tier.search([('company', '=', company.id)])]
        return {
            'cursor': latest.isoformat(),
            'full': full,
            'products': products,
            'categories': categories,
            'removed': removed,
            'tiers': tiers,
            'promotions': cls._catalog_promotions(point),
            }

    @classmethod
    def _catalog_columns(cls, template):
        "[(key, SQL column of product_template)] added to each product"
        return []

    @classmethod
    def _catalog_promotions(cls, point):
        return []

    # ------------------------------------------------------------ members
    @classmethod
    def _symbol(cls, currency):
        symbol = currency.symbol or currency.code
        # ￥ (U+FFE5) prints in GB18030 printers, ¥ does not
        return '￥' if symbol in {'¥', 'CN¥'} else symbol

    @classmethod
    def identify(cls, cashier, point, code):
        Card = Pool().get('retail.member.card')
        if not code or not isinstance(code, str):
            raise pos_error('msg_bad_value', 'invalid_request', field='code')
        try:
            member, card = Card.identify(code, point.company.id)
        except PosError:
            raise
        except Exception as exception:
            from trytond.exceptions import UserError
            if isinstance(exception, UserError):
                raise PosError(exception.message, code='member_not_found',
                    status=404, field='code') from None
            raise
        return cls.member_summary(member, point, card=card)

    @classmethod
    def search_members(cls, cashier, point, q):
        Party = Pool().get('party.party')
        q = (q or '').strip()
        if len(q) < 2:
            raise pos_error('msg_search_short', 'invalid_request', field='q')
        domain = [
            ('is_member', '=', True),
            ('member_company', '=', point.company.id),
            ]
        if q.isdigit():
            domain.append(['OR',
                    ('member_mobile', 'like', '%' + q),
                    ('member_number', 'like', '%' + q)])
        else:
            domain.append(('name', 'ilike', '%' + q + '%'))
        members = Party.search(domain, limit=20, order=[('id', 'ASC')])
        return {'members': [cls._member_lite(m) for m in members]}

    @classmethod
    def _member_lite(cls, member, point=None):
        "point: the till, whose company's active member is read in one query"
        pool = Pool()
        Party = pool.get('party.party')
        Tier = pool.get('retail.member.tier')
        facts = Party.member_facts(point.company.id, [member.id]).get(
            member.id) if point else None
        if facts:
            tier = Tier(facts.tier) if facts.tier is not None else None
            number, name, mobile = facts.number, facts.name, \
                facts.mobile_masked
        else:
            tier = member.member_tier
            number, name, mobile = member.member_number, member.name, \
                member.member_mobile_masked
        facts = cls.tier_facts(tier) if tier else None
        return {
            'id': member.id,
            'number': number,
            'name': name,
            'mobile_masked': mobile,
            'tier': {'id': tier.id, 'name': facts['name'],
                'discount': facts['discount']} if tier else None,
            }

    @classmethod
    def member_summary(cls, member, point, card=None):
        pool = Pool()
        Account = pool.get('retail.points.account')
        Configuration = pool.get('retail.points.configuration')
        Wallet = pool.get('retail.wallet')
        company = point.company
        currency = company.currency
        summary = cls._member_lite(member, point)
        account = Account.get_account(company, member, create=False)
        balance = available = 0
        if account:
            # the two figures shown, without the ORM's Function fields
            # (which compute the account's four others with them)
            amounts = Account.get_amounts([account], ['balance', 'available'])
            balance = amounts['balance'][account.id]
            available = amounts['available'][account.id]
        settings = Configuration.get_settings(company)
        summary['points'] = {
            'balance': balance,
            'available': available,
            'value': money(settings.points_value(max(available, 0), currency),
                currency),
            }
        wallet = Wallet.find(member, company,
            shop=getattr(point, 'shop', None))
        if wallet:
            # the ledger's sums in one query (the balances' Function
            # fields read the wallet for its currency: the company's)
            principal, bonus, _ = Wallet._ledger_sums([wallet.id])[wallet.id]
            principal, bonus = currency.round(principal), currency.round(bonus)
            summary['wallet'] = {
                'balance': money(principal + bonus, currency),
                'principal': money(principal, currency),
                'bonus': money(bonus, currency),
                'has_pin': bool(wallet.get_pin_hash()),
                }
        else:
            summary['wallet'] = None
        if card is None:
            # the first active card in the order of member.member_cards
            # (Card._order), without reading every card of the member: one
            # plain query (the ORM's search read all its fields)
            table = pool.get('retail.member.card').__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.select(table.id, table.number,
                    where=(table.party == member.id)
                    & (table.state == 'active'),
                    order_by=[table.issue_date.desc, table.id.desc],
                    limit=1))
            row = cursor.fetchone()
            summary['card'] = {'number': row[1], 'state': 'active',
                'id': row[0]} if row else None
        else:
            summary['card'] = {'number': card.number, 'state': card.state,
                'id': card.id}
        summary['count_cards'] = []
        summary['coupons'] = []
        cls._member_extras(member, point, summary)
        return summary

    @classmethod
    def _member_extras(cls, member, point, summary):
        "Fill count_cards and coupons of the summary (extension modules)"
        pass

    # ------------------------------------------------------------ quote
    @classmethod
    def _cart_member(cls, point, cart):
        pool = Pool()
        Party = pool.get('party.party')
        Card = pool.get('retail.member.card')
        Tier = pool.get('retail.member.tier')
        card = None
        member = None
        if cart.get('card_code'):
            if not isinstance(cart['card_code'], str):
                raise pos_error('msg_bad_value', 'invalid_request',
                    field='card_code')
            from trytond.exceptions import UserError
            try:
                member, card = Card.identify(
                    cart['card_code'], point.company.id)
            except UserError as exception:
                raise PosError(exception.message, code='member_not_found',
                    status=404, field='card_code') from None
        if cart.get('member_id') is not None:
            member_id = parse_int(cart['member_id'], 'member_id', 1)
            # an active member of the till's company: one plain query (the
            # ORM's search cost a millisecond; the record reads itself)
            facts = Party.member_facts(point.company.id, [member_id])
            if member_id not in facts or (member and member.id != member_id):
                raise pos_error('msg_member_not_found', 'member_not_found',
                    404, field='member_id')
            member = Party(member_id)
            # the quote prices by the tier: told, not read with every eager
            # field of the party (the record never saved by the request)
            tier = facts[member_id].tier
            member._values = member._record(
                member_tier=Tier(tier) if tier is not None else None)
        return member, card

    @classmethod
    def _cart_lines(cls, point, cart):
        Product = Pool().get('product.product')
        lines = cart.get('lines')
        if not isinstance(lines, list) or not lines:
            raise pos_error('msg_empty_cart', 'empty_cart', field='lines')
        if len(lines) > 500:
            raise pos_error('msg_bad_value', 'invalid_request', field='lines')
        result = []
        ids = []
        for i, line in enumerate(lines):
            field = 'lines[%d]' % i
            if not isinstance(line, dict):
                raise pos_error('msg_bad_value', 'invalid_request',
                    field=field)
            product_id = parse_int(line.get('product_id'),
                field + '.product_id', 1)
            quantity = parse_quantity(line.get('quantity'),
                field + '.quantity')
            discount = line.get('discount_percent') or 0
            if (isinstance(discount, bool)
                    or not isinstance(discount, (int, float))
                    or not 0 <= discount <= 100):
                raise pos_error('msg_bad_discount', 'invalid_discount',
                    field=field + '.discount_percent')
            staff = line.get('staff_ids') or []
            if (not isinstance(staff, list) or len(staff) > 10
                    or not all(isinstance(s, int)
                        and not isinstance(s, bool) and 0 < s < 2 ** 31
                        for s in staff)):
                raise pos_error('msg_bad_value', 'invalid_request',
                    field=field + '.staff_ids')
            ids.append(product_id)
            result.append({
                    'index': i, 'product_id': product_id,
                    'quantity': quantity,
                    'discount_percent': Decimal(str(discount)),
                    'staff_ids': list(dict.fromkeys(staff)),
                    'count_card_id': line.get('count_card_id'),
                    })
        # the active products of the cart in one plain query: the ORM's
        # search (no record rule applies to products) parsed its domain for
        # a tenth of a quote
        product = Product.__table__()
        cursor = Transaction().connection.cursor()
        found = []
        for sub_ids in grouped_slice(sorted(set(ids)), IN_MAX):
            cursor.execute(*product.select(product.id,
                    where=product.id.in_(list(sub_ids))
                    & (product.active == Literal(True))))
            found.extend(i for i, in cursor)
        # browsed together: what is read of one is read of all
        products = {p.id: p for p in Product.browse(found)}
        facts = cls.product_facts(products.values())
        for line in result:
            product = products.get(line['product_id'])
            fact = facts.get(line['product_id'])
            if not product or not fact['salable'] or not fact['active']:
                raise pos_error('msg_unknown_product', 'product_not_found',
                    404, field='lines[%d].product_id' % line['index'])
            digits = fact['digits']
            if round(line['quantity'], digits) != line['quantity']:
                raise pos_error('msg_quantity_digits', 'invalid_quantity',
                    field='lines[%d].quantity' % line['index'],
                    product=fact['name'], unit=fact['unit'], digits=digits)
            line['product'] = product
            line['name'] = fact['name']
        cls._prefetch_prices(point, products.values())
        return result

    @classmethod
    def _facts(cls, record, compute):
        """compute(record) kept by (model, id, language) across requests;
        a change of a tier, a payment method, a shop or a company (its
        time zone) empties the cache
        (pos.DisplayFactsMixin), in every server process at once on
        PostgreSQL with [cache] clean_timeout = 0 (scripts/run.sh)"""
        key = (record.__name__, record.id, Transaction().language)
        facts = cls._display_facts.get(key)
        if facts is None:
            facts = cls._display_facts.set(key, compute(record))
        return facts

    @classmethod
    def tier_facts(cls, tier):
        "{name, discount (str), price_list (id or None)} of a member tier"
        return cls._facts(tier, lambda t: {
                'name': t.name,
                'discount': str(t.discount or ZERO),
                'price_list': t.price_list.id if t.price_list else None,
                })

    @classmethod
    def method_facts(cls, method):
        "{name, kind, cash} of a payment method"
        return cls._facts(method, lambda m: {
                'name': m.name,
                'kind': m.get_pos_kind(),
                'cash': bool(m.cash),
                })

    @classmethod
    def shop_name(cls, shop):
        return cls._facts(shop, lambda s: {'name': s.name})['name']

    @classmethod
    def product_taxes(cls, products):
        """{product id: its customer taxes} in the context's company, kept
        across requests as product_facts (emptied also by a change of a
        product category or an account, where the taxes come from)"""
        pool = Pool()
        Tax = pool.get('account.tax')
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        Category = pool.get('product.category')
        company = Transaction().context.get('company')
        ids_of = {}
        todo = []
        for product in products:
            ids = cls._product_taxes.get((product.id, company))
            if ids is None:
                todo.append(product)
            else:
                ids_of[product.id] = ids
        if todo:
            # a product's taxes are its accounting category's (account_
            # product): the categories are few, their taxes kept by
            # category, a product's category found in one query for all
            # (the ORM read each product, template and category)
            product, template = Product.__table__(), Template.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*product.join(template,
                    condition=product.template == template.id
                    ).select(product.id, template.account_category,
                    where=product.id.in_([p.id for p in todo])))
            category_of = dict(cursor)
            for product in todo:
                category = category_of.get(product.id)
                if category is not None:
                    key = ('category', category, company)
                    ids = cls._product_taxes.get(key)
                    if ids is None:
                        ids = cls._product_taxes.set(key, [t.id
                                for t in Category(category
                                    ).customer_taxes_used])
                else:
                    # without a category: from its revenue account, as
                    # account_product says
                    ids = [t.id for t in product.customer_taxes_used]
                ids_of[product.id] = cls._product_taxes.set(
                    (product.id, company), ids)
        # one browse: the taxes' fields are read once for every product
        taxes = {t.id: t for t in Tax.browse(
                list({i for ids in ids_of.values() for i in ids}))}
        return {p: [taxes[i] for i in ids] for p, ids in ids_of.items()}

    @classmethod
    def product_facts(cls, products):
        """{product id: {name, salable, active, digits, unit}}: what a quote
        checks and shows of each product, in the request's language.

        Kept across requests: the ORM reads them through the Function
        fields of the product, its template and its unit, about a tenth of
        a checkout's time.  Any change of a product, template or unit
        empties the cache (ProductFactsMixin): at once in this process, in
        the others at their next synchronisation of Tryton's caches (as
        Tryton's own caches, ``[cache] clean_timeout``).  The price is
        never kept: _prefetch_prices reads it each time."""
        language = Transaction().language
        result = {}
        for product in products:
            key = (product.id, language)
            facts = cls._product_facts.get(key)
            if facts is None:
                unit = product.sale_uom
                facts = cls._product_facts.set(key, {
                        'name': product.rec_name,
                        'salable': bool(product.salable),
                        'active': bool(product.template.active),
                        'digits': unit.digits,
                        'unit': unit.rec_name,
                        })
            result[product.id] = facts
        return result

    @classmethod
    def _price_cache(cls):
        """{(point id, product id): shelf price} of the transaction (and
        under (point id, product id, 'raw'): gross price used, list price
        used)"""
        transaction = Transaction()
        prices = getattr(transaction, '_retail_pos_prices', None)
        if prices is None:
            prices = transaction._retail_pos_prices = {}
        return prices

    @classmethod
    def _raw_prices(cls, point, products):
        """{product id: (gross price used, list price used)} of products
        in the point's company, as the product's Function fields give them
        """
        prices = cls._price_cache()
        cls._prefetch_prices(point, [p for p in products
                if (point.id, p.id, 'raw') not in prices])
        return {p.id: prices[(point.id, p.id, 'raw')] for p in products}

    @classmethod
    def _prefetch_prices(cls, point, products):
        """Read the shelf unit prices of products (gross on a tax included
        till, else the list price) in one query into the cache of _price:
        the company multi-value reads of Tryton cost a few queries each"""
        pool = Pool()
        Product = pool.get('product.product')
        GrossPrice = pool.get('product.gross_price')
        ListPrice = pool.get('product.list_price')
        transaction = Transaction()
        prices = cls._price_cache()
        ids = [p.id for p in products
            if (point.id, p.id, 'raw') not in prices]
        if not ids:
            return
        company = point.company.id
        product = Product.__table__()
        gross_p, gross_t = GrossPrice.__table__(), GrossPrice.__table__()
        list_p, list_t = ListPrice.__table__(), ListPrice.__table__()
        # a variant's own price first, else its template's
        query = (product
            .join(gross_p, 'LEFT', condition=(gross_p.product == product.id)
                & (gross_p.company == company))
            .join(gross_t, 'LEFT',
                condition=(gross_t.template == product.template)
                & (gross_t.product == Null) & (gross_t.company == company))
            .join(list_p, 'LEFT', condition=(list_p.product == product.id)
                & (list_p.company == company))
            .join(list_t, 'LEFT',
                condition=(list_t.template == product.template)
                & (list_t.product == Null) & (list_t.company == company))
            .select(product.id,
                Coalesce(gross_p.gross_price, gross_t.gross_price),
                Coalesce(list_p.list_price, list_t.list_price),
                where=product.id.in_(ids)))
        cursor = transaction.connection.cursor()
        cursor.execute(*query)
        for product_id, gross, listed in cursor:
            gross = _decimal(gross) if gross is not None else None
            listed = _decimal(listed) if listed is not None else None
            price = listed
            if point.tax_included and gross is not None:
                price = gross
            prices[(point.id, product_id)] = price
            prices[(point.id, product_id, 'raw')] = (gross, listed)

    @classmethod
    def _price(cls, point, product):
        """The shelf unit price, read once per product and request (the
        quote and the receipt both need it)"""
        key = (point.id, product.id)
        prices = cls._price_cache()
        if key not in prices:
            cls._prefetch_prices(point, [product])
        return prices.get(key)

    @classmethod
    def _quote_line(cls, point, member, line, date):
        "Price one cart line: shelf price, member price, cashier discount"
        pool = Pool()
        currency = point.company.currency
        product = line['product']
        quantity = line['quantity']
        base = cls._price(point, product)
        if base is None:
            raise pos_error('msg_no_price', 'no_price',
                field='lines[%d].product_id' % line['index'],
                product=product.rec_name)
        unit = base
        notes = []
        tier = getattr(member, 'member_tier', None) if member else None
        tier = cls.tier_facts(tier) if tier else None
        discount = Decimal(tier['discount']) if tier else ZERO
        if tier and tier['price_list'] and product.list_price_used:
            PriceList = pool.get('product.price_list')
            with Transaction().set_context(
                    company=point.company.id, date=date):
                listed = PriceList(tier['price_list']).compute(
                    product, quantity, product.sale_uom)
            if listed is not None and listed < product.list_price_used:
                unit = round_price(
                    base * listed / product.list_price_used)
                notes.append(_text('msg_note_member_price',
                        tier=tier['name']))
        elif discount:
            unit = round_price(base * (1 - discount))
            notes.append(_text('msg_note_tier_discount', tier=tier['name'],
                    discount=(discount * 100).normalize()))
        if line['discount_percent']:
            unit = round_price(unit * (1 - line['discount_percent'] / 100))
            notes.append(_text('msg_note_discount',
                    discount=line['discount_percent'].normalize()))
        amount = currency.round(unit * Decimal(str(quantity)))
        regular = currency.round(base * Decimal(str(quantity)))
        return {
            'product_id': product.id,
            'name': line.get('name') or product.rec_name,
            'quantity': quantity,
            'list_price': base,
            'unit_price': unit,
            'amount': amount,
            'discount': regular - amount,
            'notes': notes,
            'staff_ids': line['staff_ids'],
            'count_card_id': line.get('count_card_id'),
            'product': product,
            'index': line['index'],
            }

    @classmethod
    def _quote_adjust(cls, point, member, cart, quote):
        "Promotions and coupons of the whole cart (extension modules)"
        pass

    @classmethod
    def _quote(cls, point, cart):
        Date = Pool().get('ir.date')
        if not isinstance(cart, dict):
            raise pos_error('msg_bad_request', 'invalid_request')
        member, card = cls._cart_member(point, cart)
        with Transaction().set_context(company=point.company.id):
            date = Date.today()
        lines = [cls._quote_line(point, member, line, date)
            for line in cls._cart_lines(point, cart)]
        quote = {
            'member': member, 'card': card, 'date': date,
            'lines': lines, 'adjustments': [], 'explain': [],
            }
        coupons = cart.get('coupons') or []
        if not isinstance(coupons, list):
            raise pos_error('msg_bad_value', 'invalid_request',
                field='coupons')
        cls._quote_adjust(point, member, cart, quote)
        if coupons and not quote.get('coupons_applied'):
            raise pos_error('msg_coupons_unavailable', 'coupon_invalid',
                field='coupons[0]')
        # adjustments already spread over the lines are only shown
        quote['total'] = sum((ln['amount'] for ln in lines), ZERO) + sum(
            (a['amount'] for a in quote['adjustments']
                if not a.get('spread')), ZERO)
        return quote

    @classmethod
    def _points_to_earn(cls, point, member, quote):
        pool = Pool()
        Rule = pool.get('retail.points.rule')
        Configuration = pool.get('retail.points.configuration')
        Tax = pool.get('account.tax')
        if not member:
            return 0
        settings = Configuration.get_settings(point.company)
        items = []
        for line in quote['lines']:
            if line.get('count_card_id'):
                continue
            base = line['amount']
            if settings.earn_base != 'taxed' and point.tax_included:
                with Transaction().set_context(company=point.company.id):
                    taxes = line['product'].customer_taxes_used
                unit = Tax.reverse_compute(line['unit_price'], taxes,
                    date=quote['date'])
                base = point.company.currency.round(
                    unit * Decimal(str(line['quantity'])))
            items.append(('line%d' % line['index'], line['product'], base))
        earning = Rule.compute_earning(
            point.company, member, quote['date'], items)
        return earning.points

    @classmethod
    def quote(cls, cashier, point, cart):
        currency = point.company.currency
        quote = cls._quote(point, cart)
        member = quote['member']
        explain = list(quote['explain'])
        for line in quote['lines']:
            if line['discount']:
                explain.append('%s: %s' % (line['name'],
                        '; '.join(line['notes'])))
        return {
            'lines': [{
                    'product_id': ln['product_id'],
                    'name': ln['name'],
                    'quantity': ln['quantity'],
                    'list_price': money(ln['list_price'], currency),
                    'unit_price': money(ln['unit_price'], currency),
                    'amount': money(ln['amount'], currency),
                    'discount': money(ln['discount'], currency),
                    'notes': ln['notes'],
                    } for ln in quote['lines']],
            'adjustments': [{'label': a['label'],
                    'amount': money(a['amount'], currency)}
                for a in quote['adjustments']],
            'total': money(quote['total'], currency),
            'points_to_earn': cls._points_to_earn(point, member, quote),
            'member': cls._member_lite(member, point) if member else None,
            'explain': explain,
            }

    # ------------------------------------------------------------ requests
    @classmethod
    def _begin(cls, kind, cashier, point, data):
        """Return (checkout record, stored result or None).

        The row is inserted first: a concurrent request with the same UUID
        waits on the unique index and is retried to find the result."""
        Checkout = Pool().get('retail.pos.checkout')
        if not isinstance(data, dict):
            raise pos_error('msg_bad_request', 'invalid_request')
        uuid = data.get('uuid')
        if not isinstance(uuid, str) or not UUID_RE.match(uuid):
            raise pos_error('msg_bad_uuid', 'invalid_uuid', field='uuid')
        digest = Checkout.request_digest(
            {k: v for k, v in data.items() if k != 'uuid'})
        # a plain query: the ORM's search reads every column of the row
        table = Checkout.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.id, table.request_hash,
                table.kind, table.result, where=table.uuid == uuid))
        existing = cursor.fetchone()
        if existing:
            checkout_id, request_hash, stored_kind, result = existing
            if request_hash != digest or stored_kind != kind or not result:
                raise pos_error('msg_uuid_reused', 'uuid_reused', 409,
                    field='uuid')
            return Checkout(checkout_id), json.loads(result)
        # one INSERT (the ORM would read the row back): the values are the
        # request's, checked above, and the unique index refuses a second
        # row for the UUID
        checkout_id, = bulk_create(Checkout, [{
                    'uuid': uuid, 'kind': kind, 'request_hash': digest,
                    'point': point.id, 'cashier': cashier.id,
                    }])
        return Checkout(checkout_id), None

    @classmethod
    def _finish(cls, checkout, result, start, sale=None, topup=None):
        """Store the result for a replay and the sale or top-up it made,
        with one UPDATE: the row is the request's own, inserted by _begin
        in this transaction, and the ORM's write would read it back twice
        and validate it"""
        Checkout = Pool().get('retail.pos.checkout')
        transaction = Transaction()
        table = Checkout.__table__()
        duration = int((dt.datetime.now() - start).total_seconds() * 1000)
        transaction.connection.cursor().execute(*table.update(
                [table.result, table.duration, table.sale, table.topup,
                    table.write_uid, table.write_date],
                [json.dumps(result, default=str), duration,
                    sale.id if sale else None, topup.id if topup else None,
                    transaction.user, CurrentTimestamp()],
                where=table.id == checkout.id))
        return result

    @classmethod
    def _method(cls, point, method_id, field, methods=None):
        """The active payment method method_id of the till's company.
        methods: what _methods found for the request's payments"""
        method_id = parse_int(method_id, field, 1)
        if methods is None:
            methods = cls._methods(point, [{'method_id': method_id}])
        if method_id not in methods:
            raise pos_error('msg_unknown_method', 'method_not_found',
                field=field)
        return methods[method_id]

    @classmethod
    def _methods(cls, point, payments):
        """{id: method} of the active methods of the till's company that
        payments name, in one plain query (the ORM's search cost a
        millisecond a payment); the records read their fields together"""
        Method = Pool().get('sale.point.payment.method')
        # in the payments' order: a record reads the fields of those after
        # it in its list
        ids = list(dict.fromkeys(
                p.get('method_id') for p in payments if isinstance(p, dict)))
        ids = [i for i in ids
            if isinstance(i, int) and not isinstance(i, bool)
            and 0 < i < 2 ** 31]
        if not ids:
            return {}
        table = Method.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.id,
                where=table.id.in_(ids)
                & (table.company == point.company.id)
                & (table.active == Literal(True))))
        found = {i for i, in cursor}
        return {m.id: m for m in Method.browse(
                [i for i in ids if i in found])}

    @classmethod
    def _new_sale(cls, cashier, point, member, card, date, values=None):
        "values: of the sale, checked by the quote (extension modules)"
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        Session = pool.get('sale.point.cash.session')
        Employee = pool.get('company.employee')
        session = cls._open_session(point) or Session.get_current(point)
        context = Transaction().context
        if 'employee' in context:
            # the cashier's user's, set by the request (routes._call) with
            # its company
            employee = context['employee']
            employee = Employee(employee) if employee else None
        else:
            employee = cashier.user.employee
        if 'retail_pos_employee_company' in context:
            employee_company = context['retail_pos_employee_company']
        else:
            employee_company = employee.company.id if employee else None
        if employee and employee_company != point.company.id:
            # the ORM refuses it with the field's message
            sale = Sale(
                company=point.company, point=point, date=date,
                employee=employee, member=member, member_card=card,
                retail_pos_session=session, state='open', **(values or {}))
            sale.save()
            return sale
        # numbered now, as sale_point's do would in this transaction (its
        # save then writes nothing): the till's own strict sequence, locked
        # in place until the commit, a failure giving the number back
        Sale.lock_sequences([point.sequence])
        with Transaction().set_context(company=point.company.id):
            number = Sale.take_number(point.sequence)
        # the request checked the rest of what the ORM would validate: the
        # till of the cashier's token and its company, the member of the
        # company and the card of that member (_cart_member); one INSERT
        sale_id, = bulk_create(Sale, [dict(values or {}, **{
                    'number': number,
                    'company': point.company.id, 'point': point.id,
                    'date': date,
                    'employee': employee.id if employee else None,
                    'member': member.id if member else None,
                    'member_card': card.id if card else None,
                    'retail_pos_session': session.id if session else None,
                    'state': 'open',
                    })])
        return Sale(sale_id)

    @classmethod
    def _save_lines(cls, sale, point, lines, checked=None, date=None,
            new=False):
        """lines: [(product, quantity, unit price, staff ids, extra values)]
        checked: [values the quote checked] of each line (extension modules)
        date: the sale's, when the caller has it
        new: the sale has no line nor payment yet (its amounts are then
        told, not read back)
        """
        pool = Pool()
        Line = pool.get('sale.point.sale.line')
        Sale = pool.get('sale.point.sale')
        Staff = pool.get('retail.commission.line.staff')
        Employee = pool.get('company.employee')
        Product = pool.get('product.product')
        with Transaction().set_context(company=point.company.id):
            taxes_of = cls.product_taxes(
                Product.browse({int(ln[0]) for ln in lines}))
        vlist = []
        if date is None:
            date = sale.date
        for product, quantity, unit, _, values in lines:
            listed, gross = cls.line_prices(
                point, unit, taxes_of[product.id], date)
            vlist.append(dict(values, sale=sale, product=product,
                    quantity=quantity, unit_list_price=listed,
                    unit_gross_price=gross))
        if any(values for *_, values in lines):
            # refunds link their original lines: Tryton checks those
            records = [Line(**v) for v in vlist]
            Line.save(records)
        else:
            # the values come from the quote, which checked the products
            # (salable, active, the unit's decimals) and priced them: one
            # INSERT without the per-record validation of the ORM, the
            # database enforcing the rest
            rows = [dict(v, **c, sale=sale.id, product=v['product'].id)
                for v, c in zip(vlist, checked or [{}] * len(vlist))]
            records = Line.browse(bulk_create(Line, rows))
            if new:
                Sale.remember_amounts(sale, point, [
                        (r.id, v['quantity'], v['unit_list_price'],
                            v['unit_gross_price'])
                        for r, v in zip(records, rows)])
        staff = []
        for record, (_, _, _, staff_ids, _) in zip(records, lines):
            if not staff_ids:
                continue
            employees = Employee.search([
                    ('id', 'in', staff_ids),
                    ('company', '=', point.company.id),
                    ])
            if len(employees) != len(staff_ids):
                raise pos_error('msg_unknown_staff', 'staff_not_found',
                    field='lines[%d].staff_ids' % records.index(record))
            share = (Decimal(1) / len(staff_ids)).quantize(Decimal('0.0001'))
            for i, employee_id in enumerate(staff_ids):
                value = share if i < len(staff_ids) - 1 else (
                    Decimal(1) - share * (len(staff_ids) - 1))
                staff.append(Staff(line=record, employee=employee_id,
                        share=value, requested=False))
        if staff:
            Staff.save(staff)
        return records

    @classmethod
    def line_prices(cls, point, unit, taxes, date):
        """(list price, gross price) of a line priced unit on the till:
        the taxes taken out of a gross price (till with taxes included) or
        added to a list price, as sale_point does.

        Kept across requests (the ORM read the taxes at every checkout):
        a change of a tax empties the cache (pos.Tax) as it does the
        product facts'."""
        Tax = Pool().get('account.tax')
        key = (bool(point.tax_included), tuple(t.id for t in taxes),
            str(unit), date.isoformat())
        cached = cls._line_prices.get(key)
        if cached is not None:
            return tuple(Decimal(v) for v in cached)
        if point.tax_included:
            gross = unit
            listed = round_price(Tax.reverse_compute(unit, taxes, date=date))
        else:
            listed = unit
            tax = sum((t['amount'] for t in Tax.compute(
                            taxes, unit, 1, date=date)), ZERO)
            gross = round_price(unit + tax)
        cls._line_prices.set(key, (str(listed), str(gross)))
        return listed, gross

    @classmethod
    def _before_payments(cls, sale, quote, cart):
        "Hook after the lines are saved (count cards, coupons)"
        pass

    @classmethod
    def _add_payments(cls, sale, point, payments, data, total, uuid):
        """Create the payments of a sale: non-cash exactly, cash tendered
        with change (or the change stored in the wallet)"""
        pool = Pool()
        Payment = pool.get('sale.point.payment')
        Sale = pool.get('sale.point.sale')
        Session = pool.get('sale.point.cash.session')
        Configuration = pool.get('retail.points.configuration')
        currency = point.company.currency
        if not isinstance(payments, list):
            raise pos_error('msg_bad_value', 'invalid_request',
                field='payments')
        settings = None
        due = total
        # the lines and payments told by _save_lines, if the hooks changed
        # neither since: the payments made here are then told too
        told = Sale.told_amounts(sale)
        created = []

        def save(records):
            # the values were checked here (method of the company, amount,
            # points and their value, which the points' processing checks
            # again): one INSERT without the ORM's validation, which would
            # read the method, the session and the payment back; a cash
            # payment gets the till's current session as sale_point's
            # preprocess_values gives it (which read the sale for its till)
            if records:
                for values in records:
                    if cls.method_facts(methods[values['method']])['cash']:
                        values['session'] = Session.get_current(point).id
                created.extend(zip(
                        bulk_create(Payment, records, preprocess=False),
                        (v['amount'] for v in records)))
            return []
        cash = []
        described = []
        records = []
        methods = cls._methods(point, payments)
        for i, payment in enumerate(payments):
            field = 'payments[%d]' % i
            if not isinstance(payment, dict):
                raise pos_error('msg_bad_value', 'invalid_request',
                    field=field)
            method = cls._method(point, payment.get('method_id'),
                field + '.method_id', methods)
            kind = cls.method_facts(method)['kind']
            if kind == 'count_card':
                # the count-card payment follows the redeemed lines
                continue
            if kind == 'points':
                points = parse_int(payment.get('points'), field + '.points',
                    1)
                if not sale.member:
                    raise pos_error('msg_points_no_member', 'member_required',
                        field=field)
                if settings is None:
                    settings = Configuration.get_settings(point.company)
                amount = settings.points_value(points, currency)
                if amount > due:
                    raise pos_error('msg_overpayment', 'overpayment',
                        field=field + '.points')
                records.append({'sale': sale.id, 'method': method.id,
                        'amount': amount, 'points': points})
                due -= amount
                described.append((method, amount, None))
                continue
            amount = parse_money(payment.get('amount'), currency,
                field + '.amount')
            if amount <= 0:
                raise pos_error('msg_bad_amount', 'invalid_amount',
                    field=field + '.amount', value=payment.get('amount'))
            if kind == 'cash':
                cash.append((method, amount))
                continue
            if amount > due:
                raise pos_error('msg_overpayment', 'overpayment',
                    field=field + '.amount')
            if kind == 'wallet':
                if not sale.member:
                    raise pos_error('msg_wallet_no_member', 'member_required',
                        field=field)
                pin = payment.get('pin')
                if pin is not None and not isinstance(pin, str):
                    raise pos_error('msg_bad_value', 'invalid_request',
                        field=field + '.pin')
                records = save(records)
                created.append((Sale.add_wallet_payment([sale], amount,
                            pin=pin, request_key='%s:%d' % (uuid, i),
                            pin_request=uuid, method=method), amount))
            else:
                reference = payment.get('reference')
                if reference is not None and (
                        not isinstance(reference, str)
                        or len(reference) > 64):
                    raise pos_error('msg_bad_value', 'invalid_request',
                        field=field + '.reference')
                records.append({'sale': sale.id, 'method': method.id,
                        'amount': amount})
            due -= amount
            described.append((method, amount, payment.get('reference')))
        change = ZERO
        if cash:
            received = sum((a for _, a in cash), ZERO)
            change = received - due
            if change < 0:
                raise pos_error('msg_amount_to_pay', 'amount_to_pay',
                    field='payments', amount=money(-change, currency))
            method = cash[0][0]
            to_wallet = bool(data.get('change_to_wallet')) and change > 0
            paid = received if to_wallet else due
            if paid:
                records.append({'sale': sale.id, 'method': method.id,
                        'amount': paid})
            described.append((method, received, None))
            due = ZERO
            if to_wallet:
                if not sale.member:
                    raise pos_error('msg_wallet_no_member', 'member_required',
                        field='change_to_wallet')
                records = save(records)
                created.append((Sale.add_wallet_payment([sale], -change,
                            request_key='%s:change' % uuid), -change))
        save(records)
        if told is not None:
            Sale.remember_amounts(sale, point, told[0],
                sorted(told[1] + created))
        if due != 0:
            raise pos_error('msg_amount_to_pay', 'amount_to_pay',
                field='payments', amount=money(due, currency))
        return change, described, bool(data.get('change_to_wallet'))

    @classmethod
    def wallet_pin(cls, cashier, point, data):
        """Check the member's payment PIN at the PIN pad, for the sale
        data['uuid'] and at most data['amount'] of stored value: the
        checkout of that sale then needs no PIN.  A wrong PIN is told at the
        pad (and counts towards the lock-out) instead of failing the
        checkout, and the checkout skips the key derivation."""
        pool = Pool()
        Wallet = pool.get('retail.wallet')
        if not isinstance(data, dict):
            raise pos_error('msg_bad_request', 'invalid_request')
        uuid = data.get('uuid')
        if not isinstance(uuid, str) or not UUID_RE.match(uuid):
            raise pos_error('msg_bad_uuid', 'invalid_uuid', field='uuid')
        member, _ = cls._cart_member(point, {
                'member_id': parse_int(data.get('member_id'), 'member_id', 1)})
        currency = point.company.currency
        amount = parse_money(data.get('amount'), currency, 'amount')
        if amount <= 0:
            raise pos_error('msg_bad_amount', 'invalid_amount',
                field='amount', value=data.get('amount'))
        pin = data.get('pin')
        if not isinstance(pin, str) or not pin or len(pin) > 64:
            raise pos_error('msg_bad_value', 'invalid_request', field='pin')
        wallet = Wallet.find(member, point.company,
            shop=getattr(point, 'shop', None))
        if not wallet:
            raise pos_error('msg_no_wallet', 'wallet_invalid', 422,
                field='member_id')
        if amount > wallet.balance:
            raise pos_error('msg_pin_over_balance', 'insufficient_balance',
                409, field='amount',
                balance=money(wallet.balance, currency))
        wallet.verify_pin(pin, request=uuid, amount=amount)
        return {'verified': True, 'amount': money(amount, currency),
            'minutes': PIN_GRANT_MINUTES}

    @classmethod
    def _process(cls, sale):
        Sale = Pool().get('sale.point.sale')
        sale = Sale(sale.id)
        if sale.amount_to_pay:
            raise pos_error('msg_amount_to_pay', 'amount_to_pay',
                field='payments',
                amount=money(sale.amount_to_pay, sale.currency))
        Sale.process([sale])
        sale = Sale(sale.id)
        if sale.state != 'done':
            raise pos_error('msg_amount_to_pay', 'amount_to_pay',
                field='payments',
                amount=money(sale.amount_to_pay, sale.currency))
        return sale

    @classmethod
    def checkout(cls, cashier, point, data):
        start = dt.datetime.now()
        checkout, stored = cls._begin('sale', cashier, point, data)
        if stored is not None:
            return stored
        quote = cls._quote(point, data)
        member, card = quote['member'], quote['card']
        sale = cls._new_sale(cashier, point, member, card, quote['date'],
            quote.get('sale_values'))
        lines = []
        for ln in quote['lines']:
            values = {}
            lines.append((ln['product'], ln['quantity'], ln['unit_price'],
                    ln['staff_ids'], values))
        cls._save_lines(sale, point, lines,
            [ln.get('record_values') or {} for ln in quote['lines']],
            date=quote['date'], new=True)
        cls._before_payments(sale, quote, data)
        # what is left once the count cards paid their services
        total = sale.__class__(sale.id).amount_to_pay
        change, described, to_wallet = cls._add_payments(
            sale, point, data.get('payments') or [], data, total,
            data['uuid'])
        sale = cls._process(sale)
        result = cls._sale_result(sale, point, cashier, change, described,
            to_wallet, quote)
        return cls._finish(checkout, result, start, sale=sale)

    @classmethod
    def _sale_result(cls, sale, point, cashier, change, described,
            to_wallet, quote=None):
        currency = point.company.currency
        member = sale.member
        summary = cls.member_summary(member, point, card=sale.member_card) \
            if member else None
        return {
            'sale': {
                'id': sale.id,
                'number': sale.number,
                'total': money(sale.total, currency),
                'change': money(change, currency),
                'change_to_wallet': to_wallet,
                },
            'receipt': cls.build_receipt(sale, point, cashier, change,
                described, to_wallet, summary, names={
                    ln['product_id']: ln['name']
                    for ln in (quote or {}).get('lines', [])}),
            'member': summary,
            }

    # ------------------------------------------------------------ receipt
    @classmethod
    def build_receipt(cls, sale, point, cashier, change, described,
            to_wallet, summary, reprint=False, names=None):
        "names: {product id: name} the quote has already read"
        currency = point.company.currency
        names = names or {}
        lines = []
        discount = ZERO
        cls._prefetch_prices(point, [ln.product for ln in sale.lines])
        for line in sale.lines:
            unit = line.unit_price
            regular = cls._price(point, line.product)
            note = cls._receipt_line_note(line)
            if (note is None and regular is not None and unit < regular
                    and line.quantity > 0):
                saved = currency.round(
                    (regular - unit) * Decimal(str(line.quantity)))
                discount += saved
                note = _text('msg_rc_saved', amount=money(saved, currency))
            lines.append({
                    'name': names.get(line.product.id)
                    or line.product.rec_name,
                    'qty': _qty(line.quantity),
                    'unit_price': money(unit, currency),
                    'amount': money(line.amount, currency),
                    **({'note': note} if note else {}),
                    })
        totals = []
        if discount:
            totals.append({'label': _text('msg_rc_discount'),
                    'amount': money(-discount, currency)})
        totals.append({'label': _text('msg_rc_total'),
                'amount': money(sale.total, currency),
                'bold': True, 'big': True})
        payments = []
        if described:
            for method, amount, reference in described:
                label = cls.method_facts(method)['name']
                if reference:
                    label += ' ' + reference[-6:]
                payments.append({'label': label,
                        'amount': money(amount, currency)})
            for payment in cls._receipt_added_payments(sale):
                payments.append({
                        'label': cls.method_facts(payment.method)['name'],
                        'amount': money(payment.amount, currency)})
        else:
            for payment in sale.payments:
                payments.append({
                        'label': cls.method_facts(payment.method)['name'],
                        'amount': money(payment.amount, currency)})
        if change:
            payments.append({'label': _text(
                        'msg_rc_change_wallet' if to_wallet
                        else 'msg_rc_change'),
                    'amount': money(change, currency)})
        shop = getattr(point, 'shop', None)
        title, cashier_name = cls._receipt_names(point, cashier)
        meta = [
            [_text('msg_rc_number'), sale.number or ''],
            [_text('msg_rc_date'),
                cls._local_time(point, sale.create_date).isoformat(' ')],
            [_text('msg_rc_point'), point.name],
            [_text('msg_rc_cashier'), cashier_name],
            ]
        if sale.retail_pos_refund_of:
            meta.append([_text('msg_rc_refund_of'),
                    sale.retail_pos_refund_of.number or ''])
        receipt = {
            'header': {
                'title': title,
                'lines': [cls.shop_name(shop)] if shop else [],
                },
            'meta': meta,
            'lines': lines,
            'totals': totals,
            'payments': payments,
            'barcode': {'type': 'CODE128', 'data': sale.number or ''},
            'footer': [_text('msg_rc_thanks')],
            'currency_symbol': cls._symbol(currency),
            }
        if sale.retail_pos_refund_of:
            receipt['header']['lines'].append(_text('msg_rc_refund'))
        if summary:
            receipt['member'] = cls._receipt_member(sale, summary)
        if reprint:
            receipt['header']['lines'].insert(0, _text('msg_rc_reprint'))
        return receipt

    @classmethod
    def _receipt_names(cls, point, cashier):
        """(the company's name, the cashier's name) of a receipt in one
        query: the company's is its party's name (its rec_name), the
        cashier's its user's name else login (Cashier.get_name).  Through
        the ORM the party (23 fields) and the cashier were read at every
        checkout."""
        pool = Pool()
        Company = pool.get('company.company')
        Party = pool.get('party.party')
        Cashier = pool.get('retail.pos.cashier')
        User = pool.get('res.user')
        company, party = Company.__table__(), Party.__table__()
        table, user = Cashier.__table__(), User.__table__()
        cursor = Transaction().connection.cursor()
        query = company.join(party, condition=company.party == party.id)
        columns = [party.name]
        if cashier:
            query = query.join(table, condition=table.id == cashier.id
                ).join(user, condition=table.user == user.id)
            columns += [user.name, user.login]
        cursor.execute(*query.select(*columns,
                where=company.id == point.company.id))
        row = cursor.fetchone()
        title = row[0] or point.company.rec_name
        return title, (row[1] or row[2]) if cashier else ''

    @classmethod
    def _receipt_line_note(cls, line):
        "The note under a receipt line instead of its saving (or None)"
        return None

    @classmethod
    def _receipt_added_payments(cls, sale):
        "Payments the checkout added itself, not in the request"
        return []

    @classmethod
    def _receipt_member(cls, sale, summary):
        rows = [[_text('msg_rc_member'), '%s %s' % (
                    summary['name'], summary.get('mobile_masked') or '')]]
        if summary.get('card'):
            number = summary['card']['number']
            rows.append([_text('msg_rc_card'),
                    '*' * max(len(number) - 4, 0) + number[-4:]])
        # the balance is the summary's: the receipt needs the movements
        points = sale.get_points_receipt(totals=False)
        if points.get('earned'):
            rows.append([_text('msg_rc_points_earned'),
                    str(points['earned'])])
        if points.get('spent'):
            rows.append([_text('msg_rc_points_spent'), str(points['spent'])])
        if points.get('restored') or points.get('reversed'):
            rows.append([_text('msg_rc_points_refund'), str(
                        points.get('restored', 0)
                        - points.get('reversed', 0))])
        rows.append([_text('msg_rc_points_balance'),
                str(summary['points']['balance'])])
        if summary.get('wallet'):
            rows.append([_text('msg_rc_wallet_balance'),
                    summary['wallet']['balance']])
        for card in summary.get('count_cards') or []:
            for service in card.get('services') or []:
                left = service.get('uses_left')
                rows.append(['%s %s' % (card.get('name') or '',
                            service.get('name') or ''),
                        _text('msg_rc_uses_left', uses=left)
                        if left is not None else '∞'])
        return {'title': _text('msg_rc_member_title'), 'rows': rows}

    @classmethod
    def receipt(cls, cashier, point, sale_id):
        pool = Pool()
        if not 0 < sale_id < 2 ** 31:
            raise pos_error('msg_sale_not_found', 'sale_not_found', 404)
        Sale = pool.get('sale.point.sale')
        Checkout = pool.get('retail.pos.checkout')
        sales = Sale.search([
                ('id', '=', sale_id),
                ('company', '=', point.company.id),
                ('state', 'in', ['done', 'posted']),
                ], limit=1)
        if not sales:
            raise pos_error('msg_sale_not_found', 'sale_not_found', 404)
        sale, = sales
        checkouts = Checkout.search([('sale', '=', sale.id)], limit=1)
        if checkouts and checkouts[0].result:
            receipt = json.loads(checkouts[0].result)['receipt']
            receipt['header']['lines'].insert(0, _text('msg_rc_reprint'))
            return {'receipt': receipt}
        summary = cls.member_summary(sale.member, sale.point) \
            if sale.member else None
        return {'receipt': cls.build_receipt(sale, sale.point, cashier,
                ZERO, None, False, summary, reprint=True)}

    # ------------------------------------------------------------ refund
    @classmethod
    def refund(cls, cashier, point, data):
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        Line = pool.get('sale.point.sale.line')
        Payment = pool.get('sale.point.payment')
        Date = pool.get('ir.date')
        start = dt.datetime.now()
        checkout, stored = cls._begin('refund', cashier, point, data)
        if stored is not None:
            return stored
        currency = point.company.currency
        domain = [
            ('company', '=', point.company.id),
            ('state', 'in', ['done', 'posted']),
            ('retail_pos_refund_of', '=', None),
            ]
        if data.get('sale_id') is not None:
            domain.append(('id', '=', parse_int(data['sale_id'], 'sale_id',
                        1)))
        elif isinstance(data.get('sale_number'), str):
            domain.append(('number', '=', data['sale_number']))
        else:
            raise pos_error('msg_bad_value', 'invalid_request',
                field='sale_number')
        originals = Sale.search(domain, limit=1)
        if not originals:
            raise pos_error('msg_sale_not_found', 'sale_not_found', 404,
                field='sale_number' if data.get('sale_id') is None
                else 'sale_id')
        original, = originals
        sold = {ln.id: ln for ln in original.lines if ln.quantity > 0}
        returned = defaultdict(float)
        for ln in Line.search([
                    ('points_origin_line', 'in', list(sold)),
                    ('sale.state', 'in', ['done', 'posted']),
                    ]):
            returned[ln.points_origin_line.id] += -ln.quantity
        requested = data.get('lines')
        todo = []
        if requested is None:
            for line in sold.values():
                left = line.quantity - returned[line.id]
                if left > 0:
                    todo.append((line, left))
        else:
            if not isinstance(requested, list) or not requested:
                raise pos_error('msg_bad_value', 'invalid_request',
                    field='lines')
            for i, item in enumerate(requested):
                field = 'lines[%d]' % i
                if not isinstance(item, dict):
                    raise pos_error('msg_bad_value', 'invalid_request',
                        field=field)
                line_id = parse_int(item.get('line_id'), field + '.line_id',
                    1)
                if line_id not in sold:
                    raise pos_error('msg_line_not_found', 'line_not_found',
                        404, field=field + '.line_id')
                line = sold[line_id]
                quantity = parse_quantity(
                    item.get('quantity', line.quantity), field + '.quantity')
                todo.append((line, quantity))
        if not todo:
            raise pos_error('msg_nothing_to_refund', 'refund_exceeds')
        for i, (line, quantity) in enumerate(todo):
            if quantity > line.quantity - returned[line.id] + 1e-9:
                raise pos_error('msg_refund_exceeds', 'refund_exceeds',
                    field='lines[%d].quantity' % i, product=line.product.rec_name,
                    quantity=_qty(line.quantity - returned[line.id]))
            returned[line.id] += quantity
        card = original.member_card
        if card and card.state != 'active':
            card = None
        with Transaction().set_context(company=point.company.id):
            date = Date.today()
        sale = cls._new_sale(cashier, point, original.member, card, date)
        sale.retail_pos_refund_of = original
        for key, value in cls._refund_sale_values(original).items():
            setattr(sale, key, value)
        sale.save()
        lines = []
        for line, quantity in todo:
            values = {
                'points_origin_line': line,
                'commission_returned_line': line,
                }
            values.update(cls._refund_line_values(line))
            lines.append((line.product, -quantity, line.unit_price, [],
                    values))
        cls._save_lines(sale, point, lines)
        sale = Sale(sale.id)
        total = sale.total  # negative
        gross_sold = sum((ln.gross_amount for ln in sold.values()), ZERO)
        # Returned share of the original sale, cumulative
        share_back = sum((
                ln.gross_amount * Decimal(str(min(returned[ln.id],
                                ln.quantity))) / Decimal(str(ln.quantity))
                for ln in sold.values()), ZERO)
        share = share_back / gross_sold if gross_sold else ZERO
        this_share = -total / gross_sold if gross_sold else ZERO
        described = []
        refunded = ZERO
        # Wallet and points go back where they came from
        for payment in original.payments:
            if payment.amount <= 0:
                continue
            if payment.method.retail_wallet and payment.wallet_lines:
                wallet_line = [w for w in payment.wallet_lines
                    if w.kind != 'refund'][0]
                amount = currency.round(payment.amount * this_share)
                amount = min(amount, -total - refunded)
                if amount > 0:
                    Sale.add_wallet_payment([sale], -amount,
                        request_key='%s:wallet%d' % (data['uuid'],
                            payment.id),
                        refund_of=wallet_line)
                    refunded += amount
                    described.append((payment.method, -amount, None))
            elif payment.method.retail_points and (payment.points or 0) > 0:
                points = cls._points_back(payment, share)
                if points > 0:
                    settings = pool.get(
                        'retail.points.configuration').get_settings(
                        point.company)
                    amount = settings.points_value(points, currency)
                    Payment.save([Payment(sale=sale, method=payment.method,
                                amount=-amount, points=-points)])
                    refunded += amount
                    described.append((payment.method, -amount, None))
        rest = -total - refunded
        requested_payments = data.get('payments') or []
        if not isinstance(requested_payments, list):
            raise pos_error('msg_bad_value', 'invalid_request',
                field='payments')
        records = []
        for i, payment in enumerate(requested_payments):
            field = 'payments[%d]' % i
            if not isinstance(payment, dict):
                raise pos_error('msg_bad_value', 'invalid_request',
                    field=field)
            method = cls._method(point, payment.get('method_id'),
                field + '.method_id')
            if method.get_pos_kind() in {'wallet', 'points', 'count_card'}:
                raise pos_error('msg_refund_method', 'invalid_method',
                    field=field + '.method_id')
            amount = parse_money(payment.get('amount'), currency,
                field + '.amount')
            if amount <= 0 or amount > rest:
                raise pos_error('msg_bad_amount', 'invalid_amount',
                    field=field + '.amount', value=payment.get('amount'))
            records.append(Payment(sale=sale, method=method, amount=-amount))
            described.append((method, -amount, None))
            rest -= amount
        if rest > 0:
            cash = [m for m in pool.get('sale.point.payment.method').search([
                        ('company', '=', point.company.id),
                        ('cash', '=', True)], limit=1)]
            if not cash:
                raise pos_error('msg_amount_to_pay', 'amount_to_pay',
                    field='payments', amount=money(rest, currency))
            records.append(Payment(sale=sale, method=cash[0], amount=-rest))
            described.append((cash[0], -rest, None))
        if records:
            Payment.save(records)
        sale = cls._process(sale)
        result = cls._sale_result(sale, point, cashier, ZERO, described,
            False)
        return cls._finish(checkout, result, start, sale=sale)

    @classmethod
    def _refund_sale_values(cls, original):
        "Values of the refund sale of original (extension modules)"
        return {}

    @classmethod
    def _refund_line_values(cls, line):
        "Values of the return line of line (extension modules)"
        return {}

    @classmethod
    def _points_back(cls, payment, share):
        "Points the refund gives back for points payment (as retail_points)"
        PointsLine = Pool().get('retail.points.line')
        redeems = PointsLine.search([
                ('origin', '=', str(payment)),
                ('kind', '=', 'redeem'),
                ])
        total = 0
        for redeem in redeems:
            previous = PointsLine.search([
                    ('reversed', '=', redeem.id),
                    ('kind', '=', 'refund'),
                    ])
            share_ = max(min(Decimal(share), Decimal(1)), ZERO)
            target = int((Decimal(-redeem.points) * share_).quantize(
                    Decimal(1), rounding=ROUND_HALF_UP))
            total += max(target - sum(ln.points for ln in previous), 0)
        return total

    # ------------------------------------------------------------ top-up
    @classmethod
    def topup(cls, cashier, point, data):
        pool = Pool()
        Topup = pool.get('retail.wallet.topup')
        Party = pool.get('party.party')
        Plan = pool.get('retail.wallet.topup.plan')
        Wallet = pool.get('retail.wallet')
        start = dt.datetime.now()
        checkout, stored = cls._begin('topup', cashier, point, data)
        if stored is not None:
            return stored
        currency = point.company.currency
        member_id = parse_int(data.get('member_id'), 'member_id', 1)
        members = Party.search([
                ('id', '=', member_id),
                ('is_member', '=', True),
                ('member_company', '=', point.company.id),
                ], limit=1)
        if not members:
            raise pos_error('msg_member_not_found', 'member_not_found', 404,
                field='member_id')
        member, = members
        amount = parse_money(data.get('amount'), currency, 'amount')
        if amount <= 0:
            raise pos_error('msg_bad_amount', 'invalid_amount',
                field='amount', value=data.get('amount'))
        method = cls._method(point, data.get('method_id'), 'method_id')
        if method.get_pos_kind() in {'wallet', 'points', 'count_card'}:
            raise pos_error('msg_refund_method', 'invalid_method',
                field='method_id')
        values = {
            'company': point.company.id,
            'member': member.id,
            'point': point.id,
            'payment_method': method.id,
            'amount': amount,
            'request_key': data['uuid'],
            'employee': cashier.user.employee.id
            if cashier.user.employee else None,
            }
        cards = [c for c in member.member_cards if c.state == 'active']
        if cards:
            values['card'] = cards[0].id
        if data.get('plan_id') is not None:
            plan_id = parse_int(data['plan_id'], 'plan_id', 1)
            plans = Plan.search([('id', '=', plan_id),
                    ('company', '=', point.company.id)], limit=1)
            if not plans:
                raise pos_error('msg_bad_value', 'invalid_request',
                    field='plan_id')
            values['plan'] = plan_id
        else:
            topup = Topup(**{k: v for k, v in values.items()
                    if k in {'company', 'member', 'amount'}})
            topup.on_change_amount()
            if getattr(topup, 'plan', None):
                values['plan'] = topup.plan.id
        topup = Topup(Topup.submit(values))
        if data.get('pin_new'):
            pin = data['pin_new']
            if not isinstance(pin, str):
                raise pos_error('msg_bad_value', 'invalid_request',
                    field='pin_new')
            wallet = Wallet(topup.wallet.id)
            if wallet.get_pin_hash():
                raise pos_error('msg_pin_exists', 'pin_exists',
                    field='pin_new')
            wallet.change_pin(pin)
        summary = cls.member_summary(member, point)
        receipt = cls._topup_receipt(topup, point, cashier, summary)
        result = {
            'topup': {
                'id': topup.id,
                'number': topup.number,
                'amount': money(topup.amount, currency),
                'bonus': money(topup.bonus or ZERO, currency),
                },
            'receipt': receipt,
            'member': summary,
            }
        return cls._finish(checkout, result, start, topup=topup)

    @classmethod
    def _topup_receipt(cls, topup, point, cashier, summary):
        currency = point.company.currency
        shop = getattr(point, 'shop', None)
        totals = [{'label': _text('msg_rc_topup_amount'),
                'amount': money(topup.amount, currency),
                'bold': True, 'big': True}]
        if topup.bonus:
            totals.append({'label': _text('msg_rc_topup_bonus'),
                    'amount': money(topup.bonus, currency)})
        rows = [[_text('msg_rc_member'), '%s %s' % (
                    summary['name'], summary.get('mobile_masked') or '')]]
        if summary.get('wallet'):
            rows.append([_text('msg_rc_wallet_balance'),
                    summary['wallet']['balance']])
        return {
            'header': {'title': point.company.rec_name,
                'lines': ([shop.name] if shop else [])
                + [_text('msg_rc_topup')]},
            'meta': [
                [_text('msg_rc_number'), topup.number or ''],
                [_text('msg_rc_date'),
                    cls._local_time(point, topup.create_date).isoformat(' ')],
                [_text('msg_rc_point'), point.name],
                [_text('msg_rc_cashier'), cashier.name],
                ],
            'lines': [],
            'totals': totals,
            'payments': [{'label': topup.payment_method.name,
                    'amount': money(topup.amount, currency)}],
            'member': {'title': _text('msg_rc_member_title'), 'rows': rows},
            'barcode': {'type': 'CODE128', 'data': topup.number or ''},
            'footer': [_text('msg_rc_thanks')],
            'currency_symbol': cls._symbol(currency),
            }


class PosAPICountCard(metaclass=PoolMeta):
    "Count cards in the POS API (retail_count_card activated)"
    __name__ = 'retail.pos.api'

    @classmethod
    def _member_extras(cls, member, point, summary):
        super()._member_extras(member, point, summary)
        CountCard = Pool().get('retail.count.card')
        summary['count_cards'] = [{
                'id': c['id'], 'number': c.get('number'),
                'name': c.get('name'),
                'valid_until': c.get('valid_until'),
                'services': [{
                        'product_id': s['product_id'],
                        'name': s.get('name'),
                        'uses_left': s.get('uses_left'),
                        } for s in c.get('services') or []],
                } for c in CountCard.member_summary(member.id)]

    @classmethod
    def _quote_line(cls, point, member, line, date):
        """A service taken on a count card is checked against the card now
        and costs the customer nothing: the card pays it at checkout (a
        service sold only on cards has no shelf price)"""
        CountCard = Pool().get('retail.count.card')
        card_id = line.get('count_card_id')
        if card_id is None:
            return super()._quote_line(point, member, line, date)
        field = 'lines[%d].count_card_id' % line['index']
        cards = CountCard.search(
            [('id', '=', parse_int(card_id, field, 1))], limit=1)
        if not cards:
            raise pos_error('msg_bad_value', 'invalid_request', field=field)
        card, = cards
        product = line['product']
        service = card.check_redeem(
            product, line['quantity'], member, date)
        return {
            'product_id': product.id,
            'name': line.get('name') or product.rec_name,
            'quantity': line['quantity'],
            'list_price': service.unit_value,
            'unit_price': service.unit_value,
            'amount': ZERO,
            'discount': ZERO,
            'notes': [_text('msg_note_count_card', card=card.number or '')],
            'staff_ids': line['staff_ids'],
            'count_card_id': card.id,
            'product': product,
            'index': line['index'],
            }

    @classmethod
    def _receipt_line_note(cls, line):
        if line.paid_in_advance() and line.count_card:
            return _text('msg_note_count_card',
                card=line.count_card.number or '')
        return super()._receipt_line_note(line)

    @classmethod
    def _receipt_added_payments(cls, sale):
        return super()._receipt_added_payments(sale) + [
            p for p in sale.payments if p.method.count_card]

    @classmethod
    def _catalog_columns(cls, template):
        columns = super()._catalog_columns(template)
        if hasattr(template, 'count_card_template'):
            columns.append(('count_card_template_id',
                    template.count_card_template))
        return columns

    @classmethod
    def _before_payments(cls, sale, quote, cart):
        pool = Pool()
        Line = pool.get('sale.point.sale.line')
        Sale = pool.get('sale.point.sale')
        super()._before_payments(sale, quote, cart)
        todo = []
        for record, line in zip(sorted(sale.lines, key=lambda r: r.id),
                quote['lines']):
            card_id = line.get('count_card_id')
            if card_id:
                parse_int(card_id, 'lines[%d].count_card_id'
                    % line['index'], 1)
                record.count_card = card_id
                todo.append(record)
        if todo:
            Line.save(todo)
            Sale.apply_count_cards([Sale(sale.id)])

    @classmethod
    def _refund_sale_values(cls, original):
        "Values of the refund sale of original (extension modules)"
        return {}

    @classmethod
    def _refund_line_values(cls, line):
        values = super()._refund_line_values(line)
        if getattr(line, 'count_card', None):
            values['count_card'] = line.count_card
        return values


class PosAPICoupon(metaclass=PoolMeta):
    "Promotions and coupons in the POS API (retail_coupon activated)"
    __name__ = 'retail.pos.api'

    @classmethod
    def _member_extras(cls, member, point, summary):
        super()._member_extras(member, point, summary)
        Coupon = Pool().get('retail.coupon')
        summary['coupons'] = [{
                'id': c['id'], 'code': c.get('code'), 'name': c.get('name'),
                'valid_until': c.get('valid_until'),
                'description': c.get('description'),
                } for c in Coupon.member_summary(member.id)]

    @classmethod
    def config(cls, cashier, point):
        result = super().config(cashier, point)
        # the promotions price every line: the till offers no line
        # discount (a sale queued offline with one would never sync)
        result['line_discount'] = False
        return result

    @classmethod
    def _quote_adjust(cls, point, member, cart, quote):
        "retail_coupon prices the cart: promotions, member price, coupons"
        Sale = Pool().get('sale.point.sale')
        super()._quote_adjust(point, member, cart, quote)
        # the lines were checked by _cart_lines already
        for i, line in enumerate(cart['lines']):
            if line.get('discount_percent'):
                # the promotions re-price the sale when it is done
                raise pos_error('msg_discount_with_promotions',
                    'invalid_discount',
                    field='lines[%d].discount_percent' % i)
        codes = [c for c in cart.get('coupons') or []
            if isinstance(c, str) and c.strip()]
        # the lines a count card pays are not promoted
        lines = [ln for ln in quote['lines'] if not ln.get('count_card_id')]
        # the prices and taxes the quote's lines read already
        products = [ln['product'] for ln in lines]
        with Transaction().set_context(company=point.company.id):
            taxes = cls.product_taxes(products)
        known = {p: raw + (taxes[p],)
            for p, raw in cls._raw_prices(point, products).items()}
        _, coupons, priced, adjustments, amounts = Sale.retail_price_cart(
            point, member,
            [{'product_id': ln['product_id'], 'quantity': ln['quantity']}
                for ln in lines],
            coupons=codes, date=quote['date'], known=known)
        currency = point.company.currency
        result = Sale._retail_result(currency, priced, adjustments, amounts)
        # the checkout writes this pricing with the sale and its lines, as
        # apply_retail_promotions would (retail_priced spares do another)
        sale_values, line_values = Sale.retail_values(priced, adjustments)
        for line, values, pline in zip(lines, line_values, result['lines']):
            line['unit_price'] = Decimal(pline['unit_price'])
            line['amount'] = currency.round(Decimal(pline['amount']))
            regular = currency.round(
                line['list_price'] * Decimal(str(line['quantity'])))
            line['discount'] = regular - line['amount']
            line['notes'] = list(pline.get('notes') or [])
            line['record_values'] = values
        quote['adjustments'].extend({
                'label': a['label'], 'amount': Decimal(a['amount']),
                'spread': True} for a in result.get('adjustments') or [])
        quote['explain'].extend(result.get('explain') or [])
        quote['sale_values'] = sale_values
        quote['coupon_ids'] = [c.id for c in coupons]
        quote['coupons_applied'] = True

    @classmethod
    def _before_payments(cls, sale, quote, cart):
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        SaleCoupon = pool.get('sale.point.sale-retail.coupon')
        super()._before_payments(sale, quote, cart)
        if quote.get('coupon_ids'):
            # found for the sale's member and company, and checked usable,
            # by the quote
            bulk_create(SaleCoupon, [{'sale': sale.id, 'coupon': c}
                    for c in quote['coupon_ids']])
        # the quote priced the cart and the checkout wrote its prices,
        # promotions and adjustments with the sale and its lines
        Sale.retail_priced([sale])

    @classmethod
    def _refund_sale_values(cls, original):
        values = super()._refund_sale_values(original)
        values['coupon_refund_of'] = original
        return values
