# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
"""Promotions and coupons (retail_coupon): the discounts given by
promotion with the coupons used, and the coupons outstanding in the
liabilities."""
from sql import Literal, Null, Union
from sql.aggregate import Count, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Round

from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta

from .common import report_context
from .liability import null
from .sale import SaleReportMixin, to_decimal


class SalePromotion(SaleReportMixin, ModelSQL, ModelView):
    "Promotions and Coupons"
    __name__ = 'retail.report.sale.promotion'
    __string__ = "Promotions and Coupons"

    promotion = fields.Many2One('sale.promotion', "Promotion")
    lines = fields.Integer("Lines")
    tickets = fields.Integer("Tickets")
    list_amount = Monetary(
        "Before Promotions", currency='currency', digits='currency',
        help="Quantity x price before promotions (member or product "
        "price).")
    revenue = Monetary("Net Revenue", currency='currency', digits='currency')
    cost = Monetary("Cost", currency='currency', digits='currency',
        help="The discount given: before promotions less net revenue.")
    coupons = fields.Integer("Coupons Used")

    _excel_fields = ['promotion', 'lines', 'tickets', 'list_amount',
        'revenue', 'cost', 'coupons']
    _excel_chart = ('bar', 'promotion', ['cost'])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('cost', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Use = pool.get('retail.coupon.use')
        Coupon = pool.get('retail.coupon')
        PromotionCoupon = pool.get('sale.promotion.coupon')
        ctx = report_context()
        digits = ctx['digits']
        tables = cls._tables()
        sale, line, point = tables['sale'], tables['line'], tables['point']
        price = Case((point.tax_included, line.unit_gross_price),
            else_=line.unit_list_price)
        quantity = to_decimal(line.quantity)
        base = Coalesce(line.base_unit_price, price)
        zero = Literal(0)
        lines = cls._sale_from(tables, ctx).join(
            line, condition=line.sale == sale.id).select(
                line.promotion.as_('promotion'),
                Count(line.id).as_('lines'),
                Count(sale.id, distinct=True).as_('tickets'),
                Sum(Round(quantity * base, digits)).as_('list_amount'),
                Sum(Round(quantity * price, digits)).as_('revenue'),
                zero.as_('coupons'),
                where=cls._sale_where(tables, ctx)
                & ((line.promotion != Null) | (base != price)),
                group_by=[line.promotion])
        use = Use.__table__()
        coupon = Coupon.__table__()
        template = PromotionCoupon.__table__()
        tables = cls._tables()
        sale = tables['sale']
        coupons = (cls._sale_from(tables, ctx)
            .join(use, condition=use.sale == sale.id)
            .join(coupon, condition=use.coupon == coupon.id)
            .join(template, condition=coupon.template == template.id)
            .select(
                template.promotion.as_('promotion'),
                zero.as_('lines'), zero.as_('tickets'),
                zero.as_('list_amount'), zero.as_('revenue'),
                Count(use.id).as_('coupons'),
                where=cls._sale_where(tables, ctx)
                & (use.state == 'used'),
                group_by=[template.promotion]))
        rows = Union(lines, coupons, all_=True)
        list_amount = Sum(rows.list_amount)
        revenue = Sum(rows.revenue)
        return rows.select(
            Coalesce(rows.promotion + Literal(1), Literal(1)).as_('id'),
            rows.promotion.as_('promotion'),
            Literal(cls._currency(ctx)).as_('currency'),
            Sum(rows.lines).as_('lines'),
            Sum(rows.tickets).as_('tickets'),
            list_amount.as_('list_amount'),
            revenue.as_('revenue'),
            (list_amount - revenue).as_('cost'),
            Sum(rows.coupons).as_('coupons'),
            group_by=[rows.promotion])


class Liability(metaclass=PoolMeta):
    __name__ = 'retail.report.liability'

    @classmethod
    def _queries(cls, ctx):
        return super()._queries(ctx) + [cls._coupon_query(ctx)]

    @classmethod
    def _coupon_query(cls, ctx):
        "Coupons available now and valid at the end of the period"
        pool = Pool()
        Coupon = pool.get('retail.coupon')
        Party = pool.get('party.party')
        coupon = Coupon.__table__()
        party = Party.__table__()
        where = ((coupon.company == ctx['company'])
            & (coupon.state == 'available')
            & ((coupon.valid_until == Null)
                | (coupon.valid_until >= ctx['to_date'])))
        from_ = coupon
        if ctx['shop']:
            from_ = coupon.join(party, condition=coupon.member == party.id)
            where &= party.member_shop == ctx['shop']
        return from_.select(
            Literal(5).as_('id'),
            Literal('coupon').as_('kind'),
            Count(coupon.member, distinct=True).as_('holders'),
            Count(coupon.id).as_('quantity'),
            null('NUMERIC').as_('amount'),
            null('INTEGER').as_('account'),
            null('NUMERIC').as_('account_balance'),
            where=where)
