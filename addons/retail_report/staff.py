# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
"""Staff performance per employee and period: the sales and services the
employee performed and the commission earned (retail_commission's ledger),
with the POS sales the employee rang up as cashier."""
from sql import Literal, Union
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case

from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.retail_commission.commission import SALE_KINDS
from trytond.pool import Pool

from .common import as_date, report_context
from .sale import SaleReportMixin


class Staff(SaleReportMixin, ModelSQL, ModelView):
    "Staff Performance"
    __name__ = 'retail.report.staff'
    __string__ = "Staff Performance"

    employee = fields.Many2One('company.employee', "Employee")
    date = fields.Date("Date")
    sales = Monetary("Sales", currency='currency', digits='currency',
        help="The employee's share of the sales less returns "
        "(commission base).")
    services = fields.Float("Services", digits=(16, 2),
        help="Services performed (quantity x share).")
    commission = Monetary(
        "Commission", currency='currency', digits='currency')
    tickets = fields.Integer("Tickets as Cashier")
    cashier_revenue = Monetary(
        "Revenue as Cashier", currency='currency', digits='currency')

    _excel_fields = ['employee', 'date', 'sales', 'services', 'commission',
        'tickets', 'cashier_revenue']
    _excel_chart = ('bar', 'employee', ['sales', 'commission'])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'ASC'), ('commission', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Line = pool.get('retail.commission.line')
        SaleLine = pool.get('sale.point.sale.line')
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        ctx = report_context()
        tables = cls._tables()
        line = Line.__table__()
        product = Product.__table__()
        template = Template.__table__()
        zero = Literal(0)
        from_ = (line
            .join(product, 'LEFT', condition=line.product == product.id)
            .join(template, 'LEFT',
                condition=product.template == template.id))
        where = ((line.company == ctx['company'])
            & (line.date >= ctx['from_date'])
            & (line.date <= ctx['to_date']))
        if ctx['employee']:
            where &= line.employee == ctx['employee']
        if ctx['shop']:
            sale_line = SaleLine.__table__()
            sale, point = tables['sale'], tables['point']
            from_ = (from_
                .join(sale_line, condition=line.sale_line == sale_line.id)
                .join(sale, condition=sale_line.sale == sale.id)
                .join(point, condition=sale.point == point.id))
            where &= point.shop == ctx['shop']
        is_sale = line.kind.in_(list(SALE_KINDS))
        date = as_date(line.date, ctx['period'])
        commission = from_.select(
            Min(line.id * Literal(2)).as_('id'),
            line.employee.as_('employee'),
            date.as_('date'),
            Sum(Case((is_sale, line.base), else_=zero)).as_('sales'),
            Sum(Case((is_sale & (template.type == 'service'),
                        line.quantity * line.share), else_=zero)
                ).as_('services'),
            Sum(line.amount).as_('commission'),
            zero.as_('tickets'),
            zero.as_('cashier_revenue'),
            where=where,
            group_by=[line.employee, date])
        t = cls._tickets(ctx)
        tdate = as_date(t.date, ctx['period'])
        cashier = t.select(
            Min(t.sale * Literal(2) + Literal(1)).as_('id'),
            t.employee.as_('employee'),
            tdate.as_('date'),
            zero.as_('sales'), zero.as_('services'), zero.as_('commission'),
            Count(Case((t.amount >= zero, Literal(1)))).as_('tickets'),
            Sum(t.amount).as_('cashier_revenue'),
            where=t.employee != None,  # noqa: E711
            group_by=[t.employee, tdate])
        rows = Union(commission, cashier, all_=True)
        return rows.select(
            Min(rows.id).as_('id'),
            rows.employee, rows.date,
            Literal(cls._currency(ctx)).as_('currency'),
            Sum(rows.sales).as_('sales'),
            Sum(rows.services).as_('services'),
            Sum(rows.commission).as_('commission'),
            Sum(rows.tickets).as_('tickets'),
            Sum(rows.cashier_revenue).as_('cashier_revenue'),
            group_by=[rows.employee, rows.date])
