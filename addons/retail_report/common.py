# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
"""The filters shared by every report, SQL helpers that work the same on
SQLite and PostgreSQL, and the Excel export of any report."""
import datetime as dt
import io
from decimal import Decimal

from sql import Expression, Literal, Null
from sql.conditionals import Case
from sql.functions import AtTimeZone, DateTrunc, Extract, Function, Round

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.report import Report
from trytond.tools import timezone as tz
from trytond.transaction import Transaction

from .exceptions import ReportError

EPOCH = dt.date(1970, 1, 1)
PERIODS = [
    ('day', "Day"),
    ('month', "Month"),
    ('year', "Year"),
    ]


class Inline(Expression):
    """A constant written into the SQL text instead of a parameter: an
    expression used both in SELECT and in GROUP BY must be the same text for
    PostgreSQL, and two parameters are never the same to it"""
    __slots__ = ('value',)

    def __init__(self, value):
        super().__init__()
        assert isinstance(value, (int, str)), value
        self.value = value

    def __str__(self):
        if isinstance(self.value, str):
            return "'%s'" % self.value.replace("'", "''")
        return str(int(self.value))

    @property
    def params(self):
        return ()


class JulianDay(Function):
    __slots__ = ()
    _function = 'JULIANDAY'


def day_number(column):
    "Days since 1970-01-01 of a date column, as an integer"
    if backend.name == 'sqlite':
        return (JulianDay(column) - Literal(2440587.5)).cast('INTEGER')
    return column - Literal(EPOCH)


def month_number(column):
    "Months since year 0 of a date column: year * 12 + month - 1"
    return (Extract('YEAR', column) * Inline(12)
        + Extract('MONTH', column) - Inline(1)).cast('INTEGER')


def as_date(column, period):
    "The first day of the period of a date column, as a date"
    if period == 'day':
        return column
    assert period in dict(PERIODS), period
    return fields.Date("Date").sql_cast(DateTrunc(Inline(period), column))


def hour_of_day(column, timezone):
    "The hour (0-23) in timezone of a UTC timestamp column"
    if backend.name == 'postgresql':
        return Extract('HOUR', AtTimeZone(
                AtTimeZone(column, Inline('UTC')), Inline(timezone))
            ).cast('INTEGER')
    # SQLite knows no time zones: shift by the zone's offset today
    # (exact for zones without daylight saving time, as China's)
    offset = dt.datetime.now(tz.ZoneInfo(timezone)).utcoffset()
    hours = int(offset.total_seconds() // 3600)
    return ((Extract('HOUR', column) + Inline(hours + 24)) % Inline(24)
        ).cast('INTEGER')


def money(expression, digits):
    return Round(expression, digits)


def ratio(numerator, denominator, digits=4):
    "numerator / denominator rounded, NULL when the denominator is 0"
    return Case(
        (denominator == Literal(0), Null),
        else_=Round(numerator * Literal(1.0) / denominator, digits))


def today():
    return Pool().get('ir.date').today()


def report_context():
    """The filters of the report context with their defaults:
    company, shop, from_date, to_date, period, tier, employee, currency
    digits and timezone"""
    pool = Pool()
    Company = pool.get('company.company')
    context = Transaction().context
    company_id = context.get('company') or -1
    to_date = context.get('to_date') or today()
    from_date = context.get('from_date') or to_date.replace(day=1)
    digits = 2
    timezone = 'UTC'
    if company_id >= 0:
        company = Company(company_id)
        digits = company.currency.digits
        timezone = company.timezone or 'UTC'
    return {
        'company': company_id,
        'shop': context.get('shop'),
        'from_date': from_date,
        'to_date': to_date,
        'period': context.get('period') or 'day',
        'tier': context.get('tier'),
        'employee': context.get('employee'),
        'digits': digits,
        'timezone': timezone,
        }


class Context(ModelView):
    "Retail Report Context"
    __name__ = 'retail.report.context'
    __string__ = "Retail Report Context"

    company = fields.Many2One('company.company', "Company", required=True)
    shop = fields.Many2One(
        'retail.shop', "Shop",
        domain=[('company', '=', Eval('company', -1))],
        help="Only the sales of the points of sale of this shop.")
    from_date = fields.Date(
        "From Date", required=True,
        domain=[If(Eval('to_date'),
                ('from_date', '<=', Eval('to_date', None)),
                ())])
    to_date = fields.Date(
        "To Date", required=True,
        domain=[If(Eval('from_date'),
                ('to_date', '>=', Eval('from_date', None)),
                ())])
    period = fields.Selection(PERIODS, "Period", required=True,
        help="The length of the rows of reports over time.")
    tier = fields.Many2One(
        'retail.member.tier', "Tier",
        domain=[('company', '=', Eval('company', -1))],
        help="Only members of this tier (their current tier).")
    employee = fields.Many2One(
        'company.employee', "Staff",
        domain=[('company', '=', Eval('company', -1))],
        help="Only the sales of this employee (the POS sale's employee); "
        "on staff reports only this employee.")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_from_date(cls):
        context = Transaction().context
        if context.get('from_date'):
            return context['from_date']
        return today().replace(day=1)

    @classmethod
    def default_to_date(cls):
        return Transaction().context.get('to_date') or today()

    @classmethod
    def default_period(cls):
        return Transaction().context.get('period') or 'day'


class ExcelMixin:
    "Report models listing the columns of their Excel export"
    __slots__ = ()
    # field names in the order of the sheet's columns
    _excel_fields = []
    # (kind, category field, [value fields]) for a chart in the sheet
    _excel_chart = None

    @classmethod
    def read(cls, ids, fields_names):
        """PostgreSQL sums integers into numeric and SQLite answers
        booleans as 0/1: give counts back as int (the client would show
        1.00 members) and flags as bool"""
        rows = super().read(ids, fields_names)
        integers = [n for n in fields_names
            if isinstance(cls._fields.get(n), fields.Integer)]
        booleans = [n for n in fields_names
            if isinstance(cls._fields.get(n), fields.Boolean)]
        for row in rows:
            for name in integers:
                if isinstance(row.get(name), Decimal):
                    row[name] = int(row[name])
            for name in booleans:
                if row.get(name) is not None:
                    row[name] = bool(row[name])
        return rows


class ReportExcel(Report):
    "Retail Report (Excel)"
    __name__ = 'retail.report.excel'
    __string__ = "Retail Report (Excel)"

    @classmethod
    def execute(cls, ids, data):
        pool = Pool()
        model = data.get('model')
        if not model or not issubclass(pool.get(model), ExcelMixin):
            raise ReportError(gettext(
                    'retail_report.msg_excel_model', model=model or ''))
        Model = pool.get(model)
        records = Model.browse(ids) if ids else Model.search([])
        content = cls.render_xlsx(Model, records)
        name = Model.__name__.replace('.', '_')
        return ('xlsx', content, False, name)

    @classmethod
    def _filters(cls):
        pool = Pool()
        Context = pool.get('retail.report.context')
        Company = pool.get('company.company')
        Shop = pool.get('retail.shop')
        Tier = pool.get('retail.member.tier')
        Employee = pool.get('company.employee')
        values = report_context()
        labels = Context.fields_get()
        rows = []
        for name, Target in [
                ('company', Company), ('shop', Shop), ('from_date', None),
                ('to_date', None), ('period', None), ('tier', Tier),
                ('employee', Employee)]:
            value = values.get(name)
            if value is None or value == -1:
                continue
            if Target:
                value = Target(value).rec_name
            elif name == 'period':
                value = dict(labels['period']['selection']).get(value)
            rows.append([labels[name]['string'], value])
        return rows

    @classmethod
    def render_xlsx(cls, Model, records):
        from openpyxl import Workbook
        from openpyxl.styles import Font
        names = Model._excel_fields
        labels = Model.fields_get(names)
        workbook = Workbook()
        sheet = workbook.active
        IrModel = Pool().get('ir.model')
        title = IrModel.get_name(Model.__name__)
        sheet.title = ''.join(
            c if c not in '[]:*?/\\' else ' ' for c in title)[:31]
        sheet.append([title])
        sheet['A1'].font = Font(bold=True, size=14)
        for row in cls._filters():
            sheet.append(row)
        sheet.append([])
        header_row = sheet.max_row + 1
        sheet.append([labels[n]['string'] for n in names])
        for cell in sheet[header_row]:
            cell.font = Font(bold=True)
        for record in records:
            sheet.append([
                    cls._cell(record, n, labels[n]) for n in names])
        last_row = sheet.max_row
        for index, name in enumerate(names, 1):
            letter = sheet.cell(row=header_row, column=index).column_letter
            sheet.column_dimensions[letter].width = max(
                12, len(labels[name]['string']) * 2)
        if Model._excel_chart and records:
            cls._add_chart(sheet, Model, names, labels, header_row, last_row)
        stream = io.BytesIO()
        workbook.save(stream)
        return stream.getvalue()

    @classmethod
    def _cell(cls, record, name, description):
        value = getattr(record, name)
        if description['type'] in {'many2one', 'reference'}:
            return value.rec_name if value else None
        if description['type'] == 'selection':
            selection = description['selection']
            if isinstance(selection, str):
                selection = getattr(record.__class__, selection)()
            return dict(selection).get(value, value)
        if isinstance(value, Decimal):
            return value
        return value

    @classmethod
    def _add_chart(cls, sheet, Model, names, labels, header_row, last_row):
        from openpyxl.chart import BarChart, LineChart, PieChart, Reference
        kind, category, values = Model._excel_chart
        chart = {'bar': BarChart, 'line': LineChart, 'pie': PieChart}[kind]()
        chart.title = sheet.title
        chart.width, chart.height = 24, 12
        cat_col = names.index(category) + 1
        for value in values:
            col = names.index(value) + 1
            data = Reference(sheet, min_col=col, min_row=header_row,
                max_row=last_row)
            chart.add_data(data, titles_from_data=True)
            if kind == 'pie':
                break
        chart.set_categories(Reference(sheet, min_col=cat_col,
                min_row=header_row + 1, max_row=last_row))
        anchor = sheet.cell(row=header_row, column=len(names) + 2)
        sheet.add_chart(chart, anchor.coordinate)
