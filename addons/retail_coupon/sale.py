# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Promotions and coupons on POS sales, through Tryton's sale.promotion.

``sale.promotion`` knows how to match and price a ``sale.sale``.  A POS sale
is shown to it through two small adapters (``PricedSale``, ``PricedLine``)
with the attributes it reads (company, sale_date, price_list, currency, lines
with product, quantity, unit, unit_price, promotion).  The same promotion
records, conditions, formulas and coupons therefore price both kinds of sale.

The pipeline (``POSSale.retail_price``), always in this order:

1. base price: the member's tier price list, else the product's price, in
   the point's basis (tax included or not);
2. line promotions (kind *line*): Tryton's ``Promotion.apply``, each formula
   on the base price, the lowest price wins (priority breaks ties);
3. tier discount (kind *tier*): formula with ``tier_discount`` on the price
   after step 2, skipped on lines whose promotion says so;
4. 满减 (kind *spend*): the highest step reached on the lines it covers,
   spread over them in proportion to their amounts;
5. coupons: free product, then line price (percent), then spend (amount).

Each step keeps a note per line; order-level steps also give an adjustment.
"""
import json
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, fields
from trytond.modules.product import price_digits, round_price
from trytond.modules.retail_member.tools import (
    clears_on_modification,
    extends_transition,
    format_money,
)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.rpc import RPC
from trytond.transaction import Transaction, without_check_access

from .exceptions import CouponError

ZERO = Decimal(0)
# what the pricing reads of a sale itself (its lines and coupons are
# watched on their own models)
PRICED_SALE_FIELDS = {
    'company', 'point', 'date', 'member', 'lines', 'coupons'}
KIND_ORDER = {'free': 0, 'line': 1, 'tier': 1, 'spend': 2}


class _CouponLink:
    "What sale_promotion_coupon reads of a sale's coupon number"
    def __init__(self, number):
        self.coupon = number.coupon
        self.number = number


class PricedLine:
    "A POS line as sale.promotion sees a sale.line"
    type = 'line'
    retail_adapter = True

    def __init__(self, line, product, quantity, base_price, currency,
            tier_discount):
        self.pos_line = line
        self.product = product
        self.quantity = quantity
        self.unit = product.sale_uom
        self.currency = currency
        self.product_price = base_price
        self.base_price = base_price
        self.unit_price = base_price
        self.original_unit_price = base_price
        self.promotion = None
        self.exclusive = False
        self.retail_formula_price = base_price
        self.retail_tier_discount = tier_discount
        self.notes = []
        self.discounts = []  # (label, amount) of order-level steps
        self._category_ids = None

    def retail_category_ids(self):
        "The ids of the product's categories and of their parents"
        if self._category_ids is None:
            ids = set()
            for category in self.product.categories_all:
                while category and category.id not in ids:
                    ids.add(category.id)
                    category = category.parent
            self._category_ids = ids
        return self._category_ids

    @property
    def amount(self):
        return self.currency.round(
            Decimal(str(self.quantity)) * self.unit_price)

    @property
    def base_amount(self):
        return self.currency.round(
            Decimal(str(self.quantity)) * self.base_price)

    def set_amount(self, amount):
        "Set the unit price that gives amount"
        self.unit_price = round_price(
            amount / Decimal(str(self.quantity)), rounding=ROUND_HALF_EVEN)


class PricedSale:
    "A POS sale as sale.promotion sees a sale.sale"
    retail_adapter = True
    id = None

    def __init__(self, company, date, member, lines, numbers):
        self.company = company
        self.currency = company.currency
        self.sale_date = date
        self.party = member
        self.member = member
        tier = member.member_tier if member else None
        self.tier = tier if tier and tier.active else None
        self.price_list = self.tier.price_list if self.tier else None
        self.lines = lines
        self.coupons = [_CouponLink(n) for n in numbers]

    @property
    def total_amount(self):
        return sum((ln.base_amount for ln in self.lines), ZERO)

    untaxed_amount = total_amount

    def retail_pattern(self, promotion):
        "The pattern of promotion.match(), as Promotion.get_pattern"
        pool = Pool()
        Currency = pool.get('currency.currency')
        Uom = pool.get('product.uom')
        # matched on the promotion's kept facts (Promotion.match)
        pattern = {'retail_adapter': True}
        facts = promotion.retail_facts()
        if facts['currency']:
            pattern['amount'] = Currency.compute(
                self.currency, self.total_amount,
                Currency(facts['currency']))
        if facts['unit']:
            unit = Uom(facts['unit'])
            quantity = 0
            for line in self.lines:
                if promotion.is_valid_sale_line(line):
                    quantity += Uom.compute_qty(
                        line.unit, line.quantity, unit)
            pattern['quantity'] = quantity
        if self.coupons and facts['coupons']:
            pattern['coupons'] = [c.coupon.id for c in self.coupons]
        if self.member:
            pattern['retail_member'] = self.member
        pattern['retail_date'] = self.sale_date
        return pattern


def sale_total(sale):
    "The total of a POS sale from its lines (never a cached value)"
    return sum((ln.gross_amount for ln in sale.lines), ZERO)


def _spread(lines, discount):
    """Take discount off lines in proportion to their amounts;
    return [(line, share)] (the last line takes the rounding)"""
    if not lines:
        return []
    currency = lines[0].currency
    total = sum((ln.amount for ln in lines), ZERO)
    discount = min(discount, total)
    if not total or discount <= 0:
        return []
    shares, done, cumul = [], ZERO, ZERO
    for line in lines:
        cumul += line.amount
        target = currency.round(discount * cumul / total)
        share = target - done
        done = target
        if share:
            line.set_amount(line.amount - share)
            shares.append((line, share))
    return shares


def _priced_memo():
    """The ids of the open sales priced in this transaction and unchanged
    since: a change of their lines, coupons, member, date or till, or of a
    member's tier, forgets them (on_modification)"""
    transaction = Transaction()
    memo = getattr(transaction, '_retail_priced', None)
    if memo is None:
        memo = transaction._retail_priced = set()
    return memo


def forget_priced():
    "Forget every sale priced in the transaction (see _priced_memo)"
    _priced_memo().clear()


ForgetPricedMixin = clears_on_modification(forget_priced,
    "Any change of these records may change a sale's pricing")


class POSSale(metaclass=PoolMeta):
    __name__ = 'sale.point.sale'

    coupons = fields.Many2Many(
        'sale.point.sale-retail.coupon', 'sale', 'coupon', "Coupons",
        domain=[
            ('company', '=', Eval('company', -1)),
            ('member', '=', Eval('member', -1)),
            ],
        states={
            'readonly': Eval('state') != 'open',
            },
        help="The member's coupons used on this sale.")
    coupon_refund_of = fields.Many2One(
        'sale.point.sale', "Refund of", ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ('state', 'in', ['done', 'posted']),
            ],
        states={
            'readonly': Eval('state') != 'open',
            },
        help="The sale this return refunds: its coupons are given back "
        "or revoked.")
    issued_coupons = fields.One2Many(
        'retail.coupon', 'origin', "Issued Coupons", readonly=True)
    retail_adjustments = fields.Text("Adjustments Data", readonly=True)
    promotion_adjustments = fields.Function(
        fields.Text("Order Adjustments"), 'get_promotion_adjustments')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__rpc__.update({
                'apply_retail_promotions': RPC(
                    readonly=False, instantiate=0),
                'retail_quote': RPC(readonly=True),
                'coupon_receipt': RPC(readonly=True, instantiate=0),
                })

    @classmethod
    def copy(cls, sales, default=None):
        default = {} if default is None else default.copy()
        default.setdefault('coupons')
        default.setdefault('coupon_refund_of')
        default.setdefault('issued_coupons')
        default.setdefault('retail_adjustments')
        return super().copy(sales, default=default)

    # Pricing

    @classmethod
    def _retail_base_price(cls, point, product, quantity, member, date,
            price_list=None, known=None):
        """The unit price before promotions, in the point's basis.
        known: (gross price used, list price used, customer taxes) of the
        product in the point's company, when the caller has read them"""
        pool = Pool()
        Tax = pool.get('account.tax')
        with Transaction().set_context(company=point.company.id):
            if known is not None:
                gross, untaxed, taxes = known
                taxes = list(taxes)
            else:
                taxes = list(product.customer_taxes_used)
                gross = (product.gross_price_used
                    if point.tax_included else None)
                untaxed = product.list_price_used
            if not point.tax_included:
                gross = None
            member_price = None
            if price_list:
                with Transaction().set_context(
                        customer=member.id if member else None,
                        date=date):
                    member_price = price_list.compute(
                        product, quantity or 0, product.sale_uom)
        digits = Decimal(1) / 10 ** price_digits[1]

        def to_basis(price, tax_included):
            if price is None:
                return None
            if point.tax_included and not tax_included:
                amount = sum(t['amount'] for t in Tax.compute(
                        taxes, price, 1, date=date))
                return (price + amount).quantize(digits)
            if not point.tax_included and tax_included:
                return round_price(Tax.reverse_compute(price, taxes, date=date))
            return price

        if gross is not None:
            price = gross
        else:
            price = to_basis(untaxed, False)
        base = price
        if member_price is not None:
            base = to_basis(member_price, price_list.tax_included)
        price = round_price(price if price is not None else ZERO)
        base = round_price(base if base is not None else ZERO)
        return price, base, taxes

    @classmethod
    def retail_price(cls, point, date, member, items, coupons,
            check=True, known=None):
        """Price items [(line or None, product, quantity)] of a sale at point
        with coupons (retail.coupon) for member (known: {product id:
        (gross price used, list price used, taxes)} the caller has read).
        Return (lines (PricedLine), adjustments [(label, amount)],
        coupon amounts {coupon: amount})."""
        pool = Pool()
        Promotion = pool.get('sale.promotion')
        Lang = pool.get('ir.lang')
        lang = Lang.get()
        company = point.company
        currency = company.currency

        def money(value):
            return format_money(lang, value, currency, digits=currency.digits)

        tier = member.member_tier if member else None
        tier = tier if tier and tier.active else None
        price_list = tier.price_list if tier else None
        lines = []
        for line, product, quantity in items:
            price, base, _ = cls._retail_base_price(
                point, product, quantity, member, date, price_list,
                known=(known or {}).get(product.id))
            pline = PricedLine(
                line, product, quantity, base, currency,
                tier.discount if tier else ZERO)
            pline.product_price = price
            if base != price:
                pline.notes.append(gettext(
                        'retail_coupon.msg_note_member_price',
                        price=money(base), list_price=money(price)))
            lines.append(pline)
        numbers = [c.number for c in coupons]
        sale = PricedSale(company, date, member, lines, numbers)

        promotions = list(Promotion.get_promotions(sale))
        coupon_promotions = {c.template.promotion for c in coupons}
        auto = [p for p in promotions if p not in coupon_promotions
            and not p.retail_facts()['coupons']]

        def key(p):
            return (-p.retail_priority, p.id)

        # 2. line prices: Tryton's own apply, the lowest price wins; the
        # preferred promotion is applied last to win ties
        for promotion in sorted(
                (p for p in auto if p.retail_kind == 'line'),
                key=key, reverse=True):
            promotion.apply(sale)
        for line in lines:
            if line.promotion:
                line.exclusive = line.promotion.retail_exclusive
                line.notes.append(gettext(
                        'retail_coupon.msg_note_promotion',
                        promotion=line.promotion.retail_label(),
                        old=money(line.base_price),
                        new=money(line.unit_price)))

        # 3. tier discount
        if tier:
            done = set()
            for promotion in sorted(
                    (p for p in auto if p.retail_kind == 'tier'), key=key):
                for line in lines:
                    if line in done or line.exclusive:
                        continue
                    if (line.promotion
                            and line.promotion.retail_no_tier_discount):
                        continue
                    if not promotion.is_valid_sale_line(line):
                        continue
                    line.retail_formula_price = line.unit_price
                    context = promotion.get_context_formula(line)
                    new = promotion.get_unit_price(**context)
                    if new is not None and new < line.unit_price:
                        old = line.unit_price
                        line.unit_price = round_price(new)
                        done.add(line)
                        line.notes.append(gettext(
                                'retail_coupon.msg_note_tier',
                                tier=tier.rec_name,
                                promotion=promotion.retail_label(),
                                old=money(old), new=money(line.unit_price)))

        adjustments = []

        def order_level(promotion, eligible, discount, label):
            shares = _spread(eligible, discount)
            total = sum((s for _, s in shares), ZERO)
            for line, share in shares:
                line.discounts.append((label, -share))
                line.notes.append(gettext(
                        'retail_coupon.msg_note_share',
                        label=label, amount=money(-share)))
            if total:
                adjustments.append((label, -total))
            return total

        # 4. 满减
        for promotion in sorted(
                (p for p in auto if p.retail_kind == 'spend'), key=key):
            eligible = [ln for ln in lines if not ln.exclusive
                and promotion.is_valid_sale_line(ln)]
            base = sum((ln.amount for ln in eligible), ZERO)
            step = promotion.retail_step(base)
            if step:
                label = gettext(
                    'retail_coupon.msg_adjust_spend',
                    promotion=promotion.retail_label(),
                    threshold=money(step.threshold),
                    discount=money(step.discount))
                order_level(promotion, eligible, step.discount, label)

        # 5. coupons
        coupon_amounts = {}
        if coupons and check:
            cls._retail_check_stacking(coupons)
        for coupon in sorted(coupons, key=lambda c: (
                    KIND_ORDER[c.template.promotion.retail_kind], c.code)):
            promotion = coupon.template.promotion
            eligible = [ln for ln in lines if not ln.exclusive
                and promotion.is_valid_sale_line(ln)]
            base = sum((ln.amount for ln in eligible), ZERO)
            if check:
                if not eligible:
                    raise CouponError(gettext(
                            'retail_coupon.msg_coupon_not_applicable',
                            code=coupon.code, coupon=coupon.name))
                minimum = promotion.retail_minimum
                if base < minimum:
                    raise CouponError(gettext(
                            'retail_coupon.msg_coupon_min_spend',
                            code=coupon.code, coupon=coupon.name,
                            minimum=money(minimum), amount=money(base),
                            missing=money(minimum - base)))
                if (promotion not in promotions
                        or not promotion.retail_match(member, date)):
                    raise CouponError(gettext(
                            'retail_coupon.msg_coupon_conditions',
                            code=coupon.code, coupon=coupon.name))
            label = gettext(
                'retail_coupon.msg_adjust_coupon',
                coupon=coupon.name, code=coupon.code)
            amount = ZERO
            kind = promotion.retail_kind
            if kind == 'free':
                line = max(eligible, key=lambda ln: (ln.unit_price, -id(ln)))
                quantity = min(
                    promotion.retail_free_quantity or 1, line.quantity)
                free = currency.round(
                    Decimal(str(quantity)) * line.unit_price)
                amount = order_level(promotion, [line], free, label)
            elif kind in {'line', 'tier'}:
                for line in eligible:
                    line.retail_formula_price = line.unit_price
                    context = promotion.get_context_formula(line)
                    new = promotion.get_unit_price(**context)
                    if new is not None and new < line.unit_price:
                        old_amount = line.amount
                        line.unit_price = round_price(new)
                        share = old_amount - line.amount
                        line.discounts.append((label, -share))
                        line.notes.append(gettext(
                                'retail_coupon.msg_note_share',
                                label=label, amount=money(-share)))
                        amount += share
                if amount:
                    adjustments.append((label, -amount))
            elif kind == 'spend':
                step = promotion.retail_step(base)
                if step:
                    amount = order_level(
                        promotion, eligible, step.discount, label)
            if check and not amount:
                raise CouponError(gettext(
                        'retail_coupon.msg_coupon_not_applicable',
                        code=coupon.code, coupon=coupon.name))
            coupon_amounts[coupon] = amount
        return lines, adjustments, coupon_amounts

    @classmethod
    def _retail_check_stacking(cls, coupons):
        templates = defaultdict(list)
        for coupon in coupons:
            templates[coupon.template].append(coupon)
        for template, t_coupons in templates.items():
            if len(t_coupons) > 1:
                raise CouponError(gettext(
                        'retail_coupon.msg_coupon_same_template',
                        coupon=template.rec_name,
                        codes=', '.join(c.code for c in t_coupons)))
        if len(coupons) > 1:
            for coupon in coupons:
                if not coupon.template.retail_stackable:
                    raise CouponError(gettext(
                            'retail_coupon.msg_coupon_not_stackable',
                            code=coupon.code, coupon=coupon.name))

    @classmethod
    def _retail_result(cls, currency, lines, adjustments, coupon_amounts):
        "The quote dict of priced lines"
        result_lines = []
        for line in lines:
            result_lines.append({
                    'line_id': line.pos_line.id if line.pos_line else None,
                    'product_id': line.product.id,
                    'quantity': line.quantity,
                    'base_unit_price': line.base_price,
                    'unit_price': line.unit_price,
                    'amount': line.amount,
                    'discount': currency.round(
                        Decimal(str(line.quantity)) * line.product_price)
                    - line.amount,
                    'promotion_id': (
                        line.promotion.id if line.promotion else None),
                    'notes': list(line.notes),
                    })
        total = sum((ln['amount'] for ln in result_lines), ZERO)
        explain = []
        for line in lines:
            for note in line.notes:
                explain.append(f'{line.product.rec_name}: {note}')
        for label, amount in adjustments:
            explain.append(f'{label}: {amount}')
        return {
            'lines': result_lines,
            'adjustments': [
                {'label': label, 'amount': amount}
                for label, amount in adjustments],
            'coupons': [{
                    'id': c.id, 'code': c.code, 'name': c.name,
                    'amount': a} for c, a in coupon_amounts.items()],
            'total': total,
            'discount_total': sum(
                (ln['discount'] for ln in result_lines), ZERO),
            'explain': explain,
            }

    @classmethod
    def retail_quote(cls, point, member, lines, coupons=None, date=None):
        """Price a cart without writing anything.
        lines: [{product_id, quantity}], coupons: codes"""
        point, coupons, priced, adjustments, amounts = cls.retail_price_cart(
            point, member, lines, coupons=coupons, date=date)
        return cls._retail_result(
            point.company.currency, priced, adjustments, amounts)

    @classmethod
    def retail_price_cart(cls, point, member, lines, coupons=None,
            date=None, known=None):
        """Price a cart (see retail_quote); return (point, coupons,
        lines (PricedLine), adjustments, coupon amounts) for a caller
        that writes the sale itself (retail_values, retail_priced).
        point and member may be records (their fields read already),
        known: as retail_price"""
        pool = Pool()
        Point = pool.get('sale.point')
        Party = pool.get('party.party')
        Product = pool.get('product.product')
        Coupon = pool.get('retail.coupon')
        Date = pool.get('ir.date')
        # a caller's records keep what it read of them
        if not isinstance(point, Point):
            point = Point(int(point))
        if member and not isinstance(member, Party):
            member = Party(int(member))
        member = member or None
        if not date:
            with Transaction().set_context(company=point.company.id):
                date = Date.today()
        elif isinstance(date, str):
            import datetime as dt
            date = dt.date.fromisoformat(date)
        coupon_ids = Coupon.find_codes(
            coupons or [], member.id if member else None, point.company.id,
            date=date)
        with without_check_access():
            coupons = Coupon.browse(coupon_ids)
            items = []
            # one list: each field of the products is read once for all
            products = Product.browse(
                [int(value['product_id']) for value in lines])
            for value, product in zip(lines, products):
                quantity = float(value['quantity'])
                if quantity > 0:
                    items.append((None, product, quantity))
            priced, adjustments, amounts = cls.retail_price(
                point, date, member, items, coupons, known=known)
        return point, coupons, priced, adjustments, amounts

    @classmethod
    def retail_values(cls, priced, adjustments):
        """The values apply_retail_promotions writes for a pricing:
        (sale values, [line values] in the order of priced), prices aside"""
        data = json.dumps(
            [[label, str(amount)] for label, amount in adjustments],
            ensure_ascii=False) if adjustments else None
        return {'retail_adjustments': data}, [{
                'base_unit_price': pline.base_price,
                'promotion': pline.promotion.id if pline.promotion else None,
                'promotion_notes': '\n'.join(pline.notes) or None,
                } for pline in priced]

    @classmethod
    def retail_priced(cls, sales):
        """Record that the open sales are priced as they stand: their
        transition to done prices them again only if what the pricing reads
        (member and tier, date, till, coupons, lines) or what it wrote on
        the lines changed since, in this transaction.  A module writing
        these with its own SQL calls forget_priced()."""
        _priced_memo().update(s.id for s in sales)

    @classmethod
    def apply_retail_promotions(cls, sales):
        "Re-price the lines of open sales; return their quote dicts"
        pool = Pool()
        Line = pool.get('sale.point.sale.line')
        Tax = pool.get('account.tax')
        results = []
        to_save, sales_to_save = [], []
        # Keep the caller's instances: the lines priced here are the ones
        # they hold, so nothing downstream (do, points) reads stale prices
        sales = [s if isinstance(s, cls) else cls(s) for s in sales]
        for sale in sales:
            if sale.state != 'open':
                results.append(None)
                continue
            coupons = list(sale.coupons)
            for coupon in coupons:
                coupon.check_usable(sale.member, sale=sale)
            items = [(ln, ln.product, ln.quantity) for ln in sale.lines
                if ln.quantity and ln.quantity > 0
                and not ln.paid_in_advance()]
            with without_check_access():
                priced, adjustments, amounts = cls.retail_price(
                    sale.point, sale.date, sale.member, items, coupons)
            digits = Decimal(1) / 10 ** Line.unit_gross_price.digits[1]
            sale_values, line_values = cls.retail_values(priced, adjustments)
            for pline, values in zip(priced, line_values):
                line = pline.pos_line
                taxes = line.taxes
                if sale.point.tax_included:
                    gross = pline.unit_price
                    untaxed = round_price(Tax.reverse_compute(
                            gross, taxes, date=sale.date))
                else:
                    untaxed = pline.unit_price
                    amount = sum(t['amount'] for t in Tax.compute(
                            taxes, untaxed, 1, date=sale.date))
                    gross = (untaxed + amount).quantize(digits)
                notes = values['promotion_notes']
                promotion = pline.promotion
                if (line.unit_gross_price != gross
                        or line.unit_list_price != untaxed
                        or line.base_unit_price != pline.base_price
                        or line.promotion != promotion
                        or (line.promotion_notes or None) != notes):
                    line.unit_gross_price = gross
                    line.unit_list_price = untaxed
                    line.unit_price = (
                        gross if sale.point.tax_included else untaxed)
                    line.amount = pline.amount
                    line.base_unit_price = pline.base_price
                    line.promotion = promotion
                    line.promotion_notes = notes
                    to_save.append(line)
            data = sale_values['retail_adjustments']
            if sale.retail_adjustments != data:
                sale.retail_adjustments = data
                sales_to_save.append(sale)
            results.append(cls._retail_result(
                    sale.company.currency, priced, adjustments, amounts))
        if to_save:
            Line.save(to_save)
            for sale in sales:
                sale.total = sale_total(sale)
        if sales_to_save:
            cls.save(sales_to_save)
        cls.retail_priced([s for s in sales if s.state == 'open'])
        return results

    @classmethod
    def on_modification(cls, mode, sales, field_names=None):
        super().on_modification(mode, sales, field_names=field_names)
        if mode != 'write' or not field_names or (
                PRICED_SALE_FIELDS.intersection(field_names)):
            _priced_memo().difference_update(s.id for s in sales)

    def get_retail_adjustments(self):
        "The order-level adjustments of the last pricing: [(label, amount)]"
        return [(label, Decimal(amount))
            for label, amount in json.loads(self.retail_adjustments or '[]')]

    def get_promotion_adjustments(self, name):
        pool = Pool()
        Lang = pool.get('ir.lang')
        lang = Lang.get()
        return '\n'.join(
            f'{label}: {format_money(lang, amount, self.currency)}'
            for label, amount in self.get_retail_adjustments()) or None

    # Workflow

    @classmethod
    @extends_transition('done')
    def do(cls, sales):
        pool = Pool()
        Coupon = pool.get('retail.coupon')
        memo = _priced_memo()
        cls.apply_retail_promotions([s for s in sales if s.state == 'open'
                and s.id not in memo])
        super().do(sales)
        for sale in sales:
            if sale.coupons:
                Coupon.use(list(sale.coupons), sale)
        cls._retail_issue_coupons(sales)
        cls._retail_refund_coupons(sales)

    @classmethod
    def _retail_issue_coupons(cls, sales):
        pool = Pool()
        Campaign = pool.get('retail.coupon.campaign')
        with without_check_access():
            by_company = defaultdict(list)
            for sale in sales:
                if sale.member and not sale.coupon_refund_of:
                    by_company[sale.company].append(sale)
            for company, c_sales in by_company.items():
                campaigns = Campaign.search([
                        ('company', '=', company.id),
                        ('kind', '=', 'spend'),
                        ])
                for campaign in campaigns:
                    for sale in c_sales:
                        campaign.issue_for_sale(sale)

    @classmethod
    def _retail_refunds(cls, original):
        return cls.search([
                ('coupon_refund_of', '=', original.id),
                ('state', 'in', ['done', 'posted']),
                ])

    @classmethod
    def _retail_refund_coupons(cls, sales):
        pool = Pool()
        Coupon = pool.get('retail.coupon')
        Configuration = pool.get('retail.coupon.configuration')
        config = Configuration(1)
        for sale in sales:
            original = sale.coupon_refund_of
            if not original:
                continue
            with without_check_access():
                refunds = cls._retail_refunds(original)
                if sale not in refunds:
                    refunds.append(sale)
                # used coupons given back
                used = Coupon.search([
                        ('used_sale', '=', original.id),
                        ('state', '=', 'used'),
                        ])
                if used and config.refund_coupons != 'never':
                    if (config.refund_coupons == 'any'
                            or cls._retail_fully_refunded(original, refunds)):
                        Coupon.give_back(used, sale)
                # unused coupons issued by the original revoked
                net = sale_total(original) + sum(
                    (sale_total(r) for r in refunds), ZERO)
                issued = Coupon.search([
                        ('origin', '=', str(original)),
                        ('state', '=', 'available'),
                        ])
                to_revoke = [c for c in issued
                    if not c.campaign or c.campaign.kind != 'spend'
                    or net < c.campaign.threshold]
                Coupon.revoke(to_revoke)

    @classmethod
    def _retail_fully_refunded(cls, original, refunds):
        sold = defaultdict(float)
        for line in original.lines:
            if line.quantity > 0:
                sold[line.product] += line.quantity
        for refund in refunds:
            for line in refund.lines:
                if line.quantity < 0 and line.product in sold:
                    sold[line.product] += line.quantity
        return all(q <= 1e-9 for q in sold.values())

    def get_coupon_receipt(self):
        pool = Pool()
        Coupon = pool.get('retail.coupon')
        Use = pool.get('retail.coupon.use')
        with without_check_access():
            returned = Use.search([('return_sale', '=', self.id)])
            revoked = []
            if self.coupon_refund_of:
                revoked = Coupon.search([
                        ('origin', '=', str(self.coupon_refund_of)),
                        ('state', '=', 'revoked'),
                        ])
            lines = [{
                    'line_id': ln.id,
                    'product_id': ln.product.id,
                    'base_unit_price': ln.base_unit_price,
                    'unit_price': ln.unit_price,
                    'notes': (ln.promotion_notes or '').splitlines(),
                    } for ln in self.lines]
            return {
                'lines': lines,
                'adjustments': [{'label': label, 'amount': amount}
                    for label, amount in self.get_retail_adjustments()],
                'used': [{'code': c.code, 'name': c.name}
                    for c in self.coupons],
                'issued': [{
                        'code': c.code, 'name': c.name,
                        'valid_until': (c.valid_until.isoformat()
                            if c.valid_until else None)}
                    for c in self.issued_coupons if c.state != 'revoked'],
                'returned': [{'code': u.coupon.code, 'name': u.coupon.name}
                    for u in returned],
                'revoked': [{'code': c.code, 'name': c.name}
                    for c in revoked],
                }

    @classmethod
    def coupon_receipt(cls, sales):
        return [s.get_coupon_receipt() for s in sales]


class POSSaleLine(ForgetPricedMixin, metaclass=PoolMeta):
    __name__ = 'sale.point.sale.line'

    base_unit_price = fields.Numeric(
        "Base Unit Price", digits=price_digits, readonly=True,
        help="The price before promotions: the member price "
        "or the product's price.")
    promotion = fields.Many2One(
        'sale.promotion', "Promotion", readonly=True, ondelete='RESTRICT')
    promotion_notes = fields.Text("Promotion Notes", readonly=True)

    @classmethod
    def copy(cls, lines, default=None):
        default = {} if default is None else default.copy()
        default.setdefault('promotion_notes')
        return super().copy(lines, default=default)


class POSSale_Coupon(ForgetPricedMixin, ModelSQL):
    __name__ = 'sale.point.sale-retail.coupon'
    sale = fields.Many2One(
        'sale.point.sale', "Sale", required=True, ondelete='CASCADE')
    coupon = fields.Many2One(
        'retail.coupon', "Coupon", required=True, ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('sale')
