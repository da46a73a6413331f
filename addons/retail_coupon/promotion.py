# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What Tryton's sale.promotion lacks for a Chinese shop, added to it.

The promotion stays Tryton's: company, dates, price list, amount and
quantity conditions, products, categories, coupons and the formula checked
by ``simple_eval``.  Added: a kind (line price, tier discount, 满减 spend X
save Y with steps, free product), a priority, member-only / tier / member-day
conditions, and whether a line price excludes further discounts.  The kinds
other than *line price* only apply to POS sales (see ``sale.py``); on a
``sale.sale`` Tryton's own flow applies the *line price* promotions.
"""
from collections import namedtuple
from decimal import Decimal

from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.retail_member.tools import clears_on_modification
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import PromotionError

# a 满减 step as the pricing uses it
Step = namedtuple('Step', ['threshold', 'discount'])

WEEKDAYS = [
    ('0', "Monday"),
    ('1', "Tuesday"),
    ('2', "Wednesday"),
    ('3', "Thursday"),
    ('4', "Friday"),
    ('5', "Saturday"),
    ('6', "Sunday"),
    ]


class Promotion(metaclass=PoolMeta):
    __name__ = 'sale.promotion'
    _retail_line_facts = Cache(
        'sale.promotion.retail_line_facts', context=False)
    _retail_facts = Cache('sale.promotion.retail_facts', context=False)
    _retail_labels = Cache('sale.promotion.retail_labels', context=False)

    retail_kind = fields.Selection([
            ('line', "Line Price"),
            ('tier', "Tier Discount"),
            ('spend', "Spend X Save Y"),
            ('free', "Free Product"),
            ], "Kind", required=True,
        help="Line Price: the formula sets the unit price of the lines.\n"
        "Tier Discount: the formula (with tier_discount) applies after "
        "the line prices, to members of a tier.\n"
        "Spend X Save Y: the steps take an amount off the order.\n"
        "Free Product: the products become free (coupons).")
    retail_priority = fields.Integer(
        "Priority", required=True,
        help="The higher first; among line prices the lowest price wins "
        "and the priority breaks ties.")
    retail_description = fields.Char(
        "Description", translate=True,
        help="Shown to the cashier and the member.")
    retail_steps = fields.One2Many(
        'sale.promotion.step', 'promotion', "Steps",
        states={
            'invisible': Eval('retail_kind') != 'spend',
            },
        help="Spend at least the threshold to save the amount; "
        "the highest step reached applies.")
    retail_free_quantity = fields.Float(
        "Free Quantity",
        states={
            'invisible': Eval('retail_kind') != 'free',
            'required': Eval('retail_kind') == 'free',
            },
        domain=['OR',
            ('retail_free_quantity', '=', None),
            ('retail_free_quantity', '>', 0),
            ])
    retail_members_only = fields.Boolean(
        "Members Only", help="Check to apply only to sales with a member.")
    retail_tiers = fields.Many2Many(
        'sale.promotion-retail.member.tier', 'promotion', 'tier', "Tiers",
        domain=[('company', '=', Eval('company', -1))],
        help="Apply only to members of these tiers (none: any).")
    retail_weekdays = fields.MultiSelection(
        WEEKDAYS, "Member Days (Week)",
        help="Apply only on these days of the week (none: every day).")
    retail_month_day = fields.Integer(
        "Member Day (Month)",
        domain=['OR',
            ('retail_month_day', '=', None),
            [('retail_month_day', '>=', 1), ('retail_month_day', '<=', 31)],
            ],
        help="Apply only on this day of the month; "
        "with week days too, either day qualifies.")
    retail_exclusive = fields.Boolean(
        "Exclusive",
        states={
            'invisible': Eval('retail_kind') != 'line',
            },
        help="Lines priced by this promotion take no further discount "
        "(tier discount, spend X save Y, coupons).")
    retail_no_tier_discount = fields.Boolean(
        "No Tier Discount",
        states={
            'invisible': Eval('retail_kind') != 'line',
            },
        help="Lines priced by this promotion do not get the tier discount.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.formula.help += (
            '\n- tier_discount: the discount rate of the member\'s tier'
            '\n  (0.05 for 5%, 0 without tier)')

    @classmethod
    def default_retail_kind(cls):
        return 'line'

    @classmethod
    def default_retail_priority(cls):
        return 0

    @classmethod
    def default_retail_members_only(cls):
        return False

    @classmethod
    def default_retail_exclusive(cls):
        return False

    @classmethod
    def default_retail_no_tier_discount(cls):
        return True

    @classmethod
    def default_formula(cls):
        return 'unit_price'

    @fields.depends('retail_kind', 'formula')
    def on_change_retail_kind(self):
        if self.retail_kind == 'tier':
            self.formula = 'unit_price * (1 - tier_discount)'
            self.retail_members_only = True
        elif self.retail_kind in {'spend', 'free'}:
            self.formula = 'unit_price'
        if self.retail_kind == 'free' and not self.retail_free_quantity:
            self.retail_free_quantity = 1

    @classmethod
    def validate_fields(cls, promotions, field_names):
        super().validate_fields(promotions, field_names)
        cls.check_retail_kind(promotions, field_names)

    @classmethod
    def check_retail_kind(cls, promotions, field_names=None):
        if field_names and not (field_names & {
                    'retail_kind', 'retail_steps', 'products'}):
            return
        for promotion in promotions:
            if promotion.retail_kind == 'spend' and not promotion.retail_steps:
                raise PromotionError(gettext(
                        'retail_coupon.msg_promotion_no_step',
                        promotion=promotion.rec_name))
            if promotion.retail_kind == 'free' and not promotion.products:
                raise PromotionError(gettext(
                        'retail_coupon.msg_promotion_free_products',
                        promotion=promotion.rec_name))

    def get_context_formula(self, sale_line):
        price = getattr(sale_line, 'retail_formula_price', None)
        if price is not None:
            # A POS line: priced by the adapter in the point's basis
            context = {'names': {'unit_price': price}}
        else:
            context = super().get_context_formula(sale_line)
        names = context['names']
        names['tier_discount'] = getattr(
            sale_line, 'retail_tier_discount', None) or Decimal(0)
        return context

    @classmethod
    def on_modification(cls, mode, promotions, field_names=None):
        super().on_modification(mode, promotions, field_names=field_names)
        cls.clear_retail_facts()

    @classmethod
    def clear_retail_facts(cls):
        cls._retail_line_facts.clear()
        cls._retail_facts.clear()
        cls._retail_labels.clear()

    def retail_facts(self):
        """What a POS sale's matching reads of the promotion: its amount and
        quantity conditions, coupons, member, tier and member-day
        conditions and 满减 steps, kept across requests as
        retail_line_facts (the tiers, week days, coupons and steps cost a
        query each, per request).  Emptied by any change of a promotion, its
        steps, tiers, coupons, products or categories."""
        facts = self._retail_facts.get(self.id)
        if facts is None:
            facts = self._retail_facts.set(self.id, {
                    'currency': self.currency.id if self.currency else None,
                    'amount': self.amount,
                    'unit': self.unit.id if self.unit else None,
                    'quantity': self.quantity,
                    'coupons': sorted(c.id for c in self.coupons),
                    'members_only': bool(self.retail_members_only),
                    'tiers': sorted(t.id for t in self.retail_tiers),
                    'weekdays': sorted(self.retail_weekdays or []),
                    'month_day': self.retail_month_day,
                    'steps': [(s.threshold, s.discount)
                        for s in self.retail_steps],
                    })
        return facts

    def retail_line_facts(self):
        """(unit category id, product ids, category ids) that
        is_valid_sale_line checks of a POS line, kept across requests: the
        promotion's products and categories cost three queries each time
        they are read.  Emptied by any change of a promotion or of the
        products and categories it lists (at once in this process, in the
        others at Tryton's cache synchronisation)."""
        facts = self._retail_line_facts.get(self.id)
        if facts is None:
            facts = self._retail_line_facts.set(self.id, (
                    self.unit.category.id if self.unit else None,
                    sorted(p.id for p in self.products),
                    sorted(c.id for c in self.categories)))
        return facts

    def is_valid_sale_line(self, line):
        if not getattr(line, 'retail_adapter', False):
            return super().is_valid_sale_line(line)
        # Tryton's checks, on the facts kept across requests
        if line.quantity <= 0 or line.unit_price <= 0:
            return False
        unit_category, products, categories = self.retail_line_facts()
        if (unit_category is not None
                and line.unit.category.id != unit_category):
            return False
        if products and line.product.id not in products:
            return False
        if categories and not line.retail_category_ids().intersection(
                categories):
            return False
        return True

    @classmethod
    def get_promotions(cls, sale, pattern=None):
        retail = getattr(sale, 'retail_adapter', False)
        for promotion in super().get_promotions(sale, pattern=pattern):
            # sale.sale keeps Tryton's own flow: line prices only
            if retail or promotion.retail_kind == 'line':
                yield promotion

    def get_pattern(self, sale):
        if getattr(sale, 'retail_adapter', False):
            pattern = sale.retail_pattern(self)
        else:
            pattern = super().get_pattern(sale)
            party = getattr(sale, 'party', None)
            if party and getattr(party, 'is_member', False):
                pattern['retail_member'] = party
            pattern['retail_date'] = sale.sale_date
        return pattern

    def match(self, pattern):
        pattern = pattern.copy()
        member = pattern.pop('retail_member', None)
        date = pattern.pop('retail_date', None)
        if not self.retail_match(member, date):
            return False
        if pattern.pop('retail_adapter', False):
            return self._retail_match_pattern(pattern)
        return super().match(pattern)

    def _retail_match_pattern(self, pattern):
        """The matching of sale_promotion and sale_promotion_coupon (the
        coupons, the least amount and quantity) on the kept facts, for the
        pattern of a POS sale (PricedSale.retail_pattern)"""
        facts = self.retail_facts()
        if facts['coupons'] and not set(pattern.get('coupons', [])
                ).intersection(facts['coupons']):
            return False
        if 'quantity' in pattern and (
                facts['quantity'] or 0) > pattern['quantity']:
            return False
        if 'amount' in pattern:
            amount, least = pattern['amount'], facts['amount'] or 0
            sign = Decimal(1).copy_sign
            if (sign(least) * sign(amount) >= 0
                    and abs(least) > abs(amount)):
                return False
        return True

    def retail_match(self, member, date):
        "Check the member, tier and member-day conditions"
        facts = self.retail_facts()
        if (facts['members_only'] or facts['tiers']) and not member:
            return False
        if facts['tiers']:
            # a tier deactivated since the facts were kept matches no more
            # (the promotion's tiers are its active ones)
            tier = getattr(member, 'member_tier', None)
            if not tier or not tier.active or tier.id not in facts['tiers']:
                return False
        if facts['weekdays'] or facts['month_day']:
            if not date:
                date = Pool().get('ir.date').today()
            days = []
            if facts['weekdays']:
                days.append(str(date.weekday()) in facts['weekdays'])
            if facts['month_day']:
                days.append(date.day == facts['month_day'])
            if not any(days):
                return False
        return True

    def retail_step(self, amount):
        "The highest step reached by amount, or None: (threshold, discount)"
        reached = [s for s in self.retail_facts()['steps']
            if s[0] <= amount]
        if reached:
            return Step(*max(reached))

    @property
    def retail_minimum(self):
        "The least amount to spend for the promotion to apply"
        steps = self.retail_facts()['steps']
        if self.retail_kind == 'spend' and steps:
            return min(s[0] for s in steps)
        return self.amount or Decimal(0)

    def retail_label(self):
        "The name shown to the cashier and the member, kept as the facts"
        key = (self.id, Transaction().language)
        label = self._retail_labels.get(key)
        if label is None:
            label = self._retail_labels.set(
                key, self.retail_description or self.rec_name)
        return label

    @classmethod
    def copy(cls, promotions, default=None):
        default = {} if default is None else default.copy()
        default.setdefault('retail_steps.promotion')
        return super().copy(promotions, default=default)


_FactsClearMixin = clears_on_modification(
    lambda: Pool().get('sale.promotion').clear_retail_facts(),
    "A change of what a promotion lists empties its kept facts")


class PromotionStep(_FactsClearMixin, ModelSQL, ModelView):
    __name__ = 'sale.promotion.step'
    promotion = fields.Many2One(
        'sale.promotion', "Promotion", required=True, ondelete='CASCADE')
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')
    threshold = Monetary(
        "Threshold", currency='currency', digits='currency', required=True,
        domain=[('threshold', '>', 0)])
    discount = Monetary(
        "Amount Off", currency='currency', digits='currency', required=True,
        domain=[
            ('discount', '>', 0),
            ('discount', '<=', Eval('threshold', 0)),
            ])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('promotion')
        cls._order.insert(0, ('threshold', 'ASC'))

    @fields.depends('promotion', '_parent_promotion.company')
    def on_change_with_currency(self, name=None):
        if self.promotion and self.promotion.company:
            return self.promotion.company.currency
        company = Transaction().context.get('company')
        if company:
            return Pool().get('company.company')(company).currency

    def get_rec_name(self, name):
        return gettext(
            'retail_coupon.msg_step_name',
            threshold=self.threshold, discount=self.discount)


class Promotion_Tier(_FactsClearMixin, ModelSQL):
    __name__ = 'sale.promotion-retail.member.tier'
    promotion = fields.Many2One(
        'sale.promotion', "Promotion", required=True, ondelete='CASCADE')
    tier = fields.Many2One(
        'retail.member.tier', "Tier", required=True, ondelete='CASCADE')


class PromotionCoupon(_FactsClearMixin, metaclass=PoolMeta):
    "A coupon of a promotion, used as the template of member coupons"
    __name__ = 'sale.promotion.coupon'

    retail_name = fields.Char(
        "Coupon Name", translate=True,
        help="The name of the member coupons (default: the promotion).")
    retail_valid_days = fields.Integer(
        "Valid Days",
        domain=['OR',
            ('retail_valid_days', '=', None),
            ('retail_valid_days', '>', 0),
            ],
        help="Member coupons are valid N days from issue "
        "(empty: the dates of the promotion).")
    retail_per_member_limit = fields.Integer(
        "Per Member Limit", required=True,
        domain=[('retail_per_member_limit', '>=', 0)],
        help="How many coupons of this template one member may receive "
        "(0: no limit). Revoked coupons do not count.")
    retail_stackable = fields.Boolean(
        "Stackable",
        help="Check if the coupon combines with other stackable coupons "
        "on one sale.")

    @classmethod
    def default_retail_per_member_limit(cls):
        return 0

    @classmethod
    def default_retail_stackable(cls):
        return False

    @classmethod
    def default_number_of_use(cls):
        # a member coupon is used once
        return 1

    def get_rec_name(self, name):
        if self.retail_name:
            return self.retail_name
        return super().get_rec_name(name)

    @classmethod
    def search_rec_name(cls, name, clause):
        return ['OR',
            super().search_rec_name(name, clause),
            ('retail_name', *clause[1:]),
            ]


class Translation(_FactsClearMixin, metaclass=PoolMeta):
    "A promotion's name or description translated anew"
    __name__ = 'ir.translation'


class Promotion_Product(_FactsClearMixin, metaclass=PoolMeta):
    __name__ = 'sale.promotion-product.product'


class Promotion_ProductCategory(_FactsClearMixin, metaclass=PoolMeta):
    __name__ = 'sale.promotion-product.category'
