# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
"""Commission schemes (versioned) and the append-only commission ledger.

A scheme version is a set of rules in force from its start date until the
start of the next approved version of the same company.  Approved versions
are never edited: a new version replaces them.  Every commission earned,
reversed or granted is a ``retail.commission.line``; nothing changes a line
once written except its link to a statement.
"""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql import Null
from sql.operators import Equal

from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import Exclude, Index, ModelSQL, ModelView, Workflow, fields, sequence_ordered
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction, without_check_access

from .exceptions import CommissionAccessError, CommissionError, SchemeValidationError

ZERO = Decimal(0)
ONE = Decimal(1)

KINDS = [
    ('sale', "Sale"),
    ('refund', "Refund"),
    ('card_open', "Card Opening"),
    ('topup', "Top-up"),
    ('wallet_spend', "Stored Value Spent"),
    ('tier', "Tiered Bonus"),
    ]
RULE_KINDS = [k for k in KINDS if k[0] not in {'refund', 'tier'}]
# kinds that count as sales performance (base of the tiered rates)
SALE_KINDS = {'sale', 'refund'}


def product_categories(product):
    "The ids of the categories of product and of their parents"
    categories = set()
    for category in (product.categories_all if product else []):
        while category and category.id not in categories:
            categories.add(category.id)
            category = category.parent
    return categories


class RuleData:
    "An approved rule as plain data (approved rules never change)"
    __slots__ = ('id', 'kind', 'product', 'category', 'role', 'assignment',
        'customer', 'method', 'rate', 'amount')

    def __init__(self, rule):
        self.id = rule.id
        for name in ['kind', 'assignment', 'customer', 'method', 'rate',
                'amount']:
            setattr(self, name, getattr(rule, name))
        for name in ['product', 'category', 'role']:
            value = getattr(rule, name)
            setattr(self, name, value.id if value else None)

    def match(self, pattern):
        if self.kind != pattern['kind']:
            return False
        product = pattern.get('product')
        if self.product and self.product != (product.id if product else None):
            return False
        if self.category:
            categories = pattern.get('categories')
            if callable(categories):
                categories = categories()
            elif categories is None:
                categories = product_categories(product)
            if self.category not in categories:
                return False
        role = pattern.get('role')
        if self.role and self.role != (role.id if role else None):
            return False
        if self.assignment != 'any':
            if (self.assignment == 'requested') != bool(
                    pattern.get('requested')):
                return False
        if self.customer != 'any':
            if (self.customer == 'member') != bool(pattern.get('member')):
                return False
        return True

    def get_amount(self, base, quantity):
        if self.method == 'percent':
            return base * (self.rate or ZERO)
        return (self.amount or ZERO) * Decimal(str(quantity or 0))


class SchemeData:
    """An approved scheme version as plain data, shared by the transactions
    of the process (approved versions never change)"""
    __slots__ = ('id', 'start_date', 'base_amount', 'exclude_special_price',
        'rules')

    def __init__(self, scheme):
        self.id = scheme.id
        self.start_date = scheme.start_date
        self.base_amount = scheme.base_amount
        self.exclude_special_price = scheme.exclude_special_price
        self.rules = tuple(RuleData(r) for r in scheme.rules)

    def __int__(self):
        return self.id

    def compute(self, kind, base, quantity, currency, product=None,
            role=None, requested=False, member=False, special_price=False,
            categories=None):
        if (kind == 'sale' and special_price
                and self.exclude_special_price):
            return None, ZERO
        pattern = {
            'kind': kind,
            'product': product,
            'role': role,
            'requested': requested,
            'member': member,
            'categories': categories,
            }
        for rule in self.rules:
            if rule.match(pattern):
                return rule, rule.get_amount(base, quantity)
        return None, ZERO


class SchemeCache:
    """The approved versions of each company (kept between transactions in
    a Tryton cache cleared when a version is approved) and the categories
    of the products of a batch (two queries for the batch)"""

    _versions = Cache('retail.commission.scheme.versions', context=False)

    def __init__(self):
        self._categories = {}
        self._parents = None
        self.pending = []  # products whose categories may be needed
        self.regular_prices = {}

    @classmethod
    def clear(cls):
        cls._versions.clear()

    def versions(self, company):
        pool = Pool()
        Scheme = pool.get('retail.commission.scheme')
        versions = self._versions.get(company.id)
        if versions is None:
            with without_check_access():
                schemes = Scheme.search([
                        ('company', '=', company.id),
                        ('state', '=', 'approved'),
                        ], order=[('start_date', 'DESC')])
                versions = [SchemeData(s) for s in schemes]
            self._versions.set(company.id, versions)
        return versions

    def in_force(self, company, date):
        for scheme in self.versions(company):
            if scheme.start_date <= date:
                return scheme

    def prefetch_categories(self, products):
        "Read the categories of products with their parents (SQL)"
        pool = Pool()
        Category = pool.get('product.category')
        TemplateCategory = pool.get('product.template-product.category.all')
        cursor = Transaction().connection.cursor()
        todo = {p.template.id: p.id for p in products
            if p and p.id not in self._categories}
        if not todo:
            return
        if self._parents is None:
            category = Category.__table__()
            cursor.execute(*category.select(category.id, category.parent))
            self._parents = dict(cursor)
        relation = TemplateCategory.__table__()
        for product_id in todo.values():
            self._categories[product_id] = set()
        cursor.execute(*relation.select(
                relation.template, relation.category,
                where=relation.template.in_(list(todo))))
        for template_id, category_id in cursor:
            categories = self._categories[todo[template_id]]
            while category_id and category_id not in categories:
                categories.add(category_id)
                category_id = self._parents.get(category_id)

    def categories(self, product):
        if not product:
            return set()
        if product.id not in self._categories:
            self.prefetch_categories(self.pending + [product])
            self.pending = []
        return self._categories[product.id]


class Role(ModelSQL, ModelView):
    "Staff Role"
    __name__ = 'retail.commission.role'

    company = fields.Many2One(
        'company.company', "Company", required=True, ondelete='CASCADE')
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code")
    active = fields.Boolean("Active")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_active(cls):
        return True


class Employee(metaclass=PoolMeta):
    __name__ = 'company.employee'

    commission_role = fields.Many2One(
        'retail.commission.role', "Commission Role", ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))],
        help="The role whose commission rules apply to the employee.")


class Scheme(Workflow, ModelSQL, ModelView):
    "Commission Scheme Version"
    __name__ = 'retail.commission.scheme'

    _states = {'readonly': Eval('state') != 'draft'}

    company = fields.Many2One(
        'company.company', "Company", required=True, ondelete='RESTRICT',
        states=_states)
    name = fields.Char("Name", required=True, states=_states)
    start_date = fields.Date(
        "Effective Date", required=True, states=_states,
        help="The version is in force from this date until the next "
        "approved version starts.")
    end_date = fields.Function(
        fields.Date("End Date"), 'get_end_date')
    previous = fields.Many2One(
        'retail.commission.scheme', "Replaces", readonly=True,
        ondelete='RESTRICT')
    base_amount = fields.Selection([
            ('untaxed', "Without Tax"),
            ('taxed', "With Tax"),
            ], "Base Amount", required=True, states=_states,
        help="The line amount percentages apply to.")
    exclude_special_price = fields.Boolean(
        "Exclude Special Price", states=_states,
        help="Lines sold below the product's regular price (special or "
        "member price) earn no sale commission.")
    tier_mode = fields.Selection([
            ('whole', "Whole Amount"),
            ('progressive', "Progressive"),
            ], "Tier Mode", required=True, states=_states,
        help="Whole amount: the rate of the highest tier reached applies to "
        "the whole period's sales.\n"
        "Progressive: each tier's rate applies to the part of the sales "
        "within it.")
    rules = fields.One2Many(
        'retail.commission.scheme.rule', 'scheme', "Rules", states=_states)
    tiers = fields.One2Many(
        'retail.commission.scheme.tier', 'scheme', "Tiers", states=_states)
    state = fields.Selection([
            ('draft', "Draft"),
            ('approved', "Approved"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)
    approved_by = fields.Many2One('res.user', "Approved By", readonly=True)
    approved_at = fields.DateTime("Approved At", readonly=True)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('approved_start_unique',
                Exclude(t, (t.company, Equal), (t.start_date, Equal),
                    where=t.state == 'approved'),
                'retail_commission.msg_scheme_overlap_date'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.company, Index.Range()),
                (t.start_date, Index.Range()),
                where=t.state == 'approved'))
        cls._order.insert(0, ('start_date', 'DESC'))
        cls._transitions |= {
            ('draft', 'approved'),
            ('draft', 'cancelled'),
            ('cancelled', 'draft'),
            }
        cls._buttons.update({
                'approve': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') != 'cancelled',
                    'icon': 'tryton-undo',
                    'depends': ['state'],
                    },
                'new_version': {
                    'invisible': Eval('state') != 'approved',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_base_amount(cls):
        return 'untaxed'

    @classmethod
    def default_tier_mode(cls):
        return 'whole'

    @classmethod
    def default_exclude_special_price(cls):
        return False

    def get_rec_name(self, name):
        return '%s (%s)' % (self.name, self.start_date)

    @classmethod
    def get_end_date(cls, schemes, name):
        result = {}
        for scheme in schemes:
            result[scheme.id] = None
            if scheme.state != 'approved':
                continue
            nexts = cls.search([
                    ('company', '=', scheme.company.id),
                    ('state', '=', 'approved'),
                    ('start_date', '>', scheme.start_date),
                    ], order=[('start_date', 'ASC')], limit=1)
            if nexts:
                result[scheme.id] = (
                    nexts[0].start_date - dt.timedelta(days=1))
        return result

    @classmethod
    def in_force(cls, company, date):
        "The approved version of company in force at date, or None"
        with without_check_access():
            schemes = cls.search([
                    ('company', '=', company.id),
                    ('state', '=', 'approved'),
                    ('start_date', '<=', date),
                    ], order=[('start_date', 'DESC')], limit=1)
        return schemes[0] if schemes else None

    @classmethod
    def check_modification(cls, mode, schemes, values=None, external=False):
        super().check_modification(
            mode, schemes, values=values, external=external)
        if mode == 'delete':
            for scheme in schemes:
                if scheme.state == 'approved':
                    raise CommissionAccessError(gettext(
                            'retail_commission.msg_scheme_approved_delete',
                            scheme=scheme.rec_name))
        elif mode == 'write':
            fields_ = set(values or {}) - {
                'state', 'approved_by', 'approved_at'}
            for scheme in schemes:
                if scheme.state == 'approved' and fields_:
                    raise CommissionAccessError(gettext(
                            'retail_commission.msg_scheme_approved_edit',
                            scheme=scheme.rec_name))

    @classmethod
    def copy(cls, schemes, default=None):
        default = default.copy() if default else {}
        default.setdefault('state', 'draft')
        default.setdefault('approved_by')
        default.setdefault('approved_at')
        default.setdefault('previous')
        return super().copy(schemes, default=default)

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, schemes):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, schemes):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('approved')
    def approve(cls, schemes):
        pool = Pool()
        Line = pool.get('retail.commission.line')
        for scheme in schemes:
            if not scheme.rules and not scheme.tiers:
                raise SchemeValidationError(gettext(
                        'retail_commission.msg_scheme_empty',
                        scheme=scheme.rec_name))
            with without_check_access():
                same = cls.search([
                        ('company', '=', scheme.company.id),
                        ('state', '=', 'approved'),
                        ('start_date', '=', scheme.start_date),
                        ('id', '!=', scheme.id),
                        ], limit=1)
                later = Line.search([
                        ('company', '=', scheme.company.id),
                        ('date', '>=', scheme.start_date),
                        ('kind', '!=', 'tier'),
                        ], limit=1)
            if same:
                raise SchemeValidationError(gettext(
                        'retail_commission.msg_scheme_overlap',
                        scheme=scheme.rec_name, other=same[0].rec_name))
            if later:
                # Commission already computed under another version
                raise SchemeValidationError(gettext(
                        'retail_commission.msg_scheme_backdated',
                        scheme=scheme.rec_name, date=later[0].date))
        cls.write(schemes, {
                'approved_by': Transaction().user,
                'approved_at': dt.datetime.now(),
                })
        SchemeCache.clear()

    @classmethod
    @ModelView.button
    def new_version(cls, schemes):
        "Copy the approved versions into drafts that will replace them"
        pool = Pool()
        Date = pool.get('ir.date')
        today = Date.today()
        for scheme in schemes:
            start = max(today, scheme.start_date) + dt.timedelta(days=1)
            cls.copy([scheme], default={
                    'start_date': start,
                    'previous': scheme.id,
                    })

    def compute(self, kind, base, quantity, currency, product=None,
            role=None, requested=False, member=False, special_price=False,
            categories=None):
        """Return (rule, amount) of the first rule matching, amount is the
        commission for the whole base and quantity (not rounded)"""
        if (kind == 'sale' and special_price
                and self.exclude_special_price):
            return None, ZERO
        pattern = {
            'kind': kind,
            'product': product,
            'role': role,
            'requested': requested,
            'member': member,
            'categories': categories,
            }
        for rule in self.rules:
            if rule.match(pattern):
                return rule, rule.get_amount(base, quantity)
        return None, ZERO

    def tier_amount(self, base):
        "Return (rate, amount) of the tiered bonus for the period's base"
        tiers = sorted(self.tiers, key=lambda t: t.threshold)
        if base <= 0 or not tiers:
            return ZERO, ZERO
        if self.tier_mode == 'whole':
            reached = [t for t in tiers if t.threshold <= base]
            if not reached:
                return ZERO, ZERO
            rate = reached[-1].rate
            return rate, base * rate
        amount = ZERO
        rate = ZERO
        for tier, upper in zip(tiers, tiers[1:] + [None]):
            if base <= tier.threshold:
                break
            top = base if upper is None else min(base, upper.threshold)
            amount += (top - tier.threshold) * tier.rate
            rate = tier.rate
        return rate, amount


class SchemeDraftMixin:
    "Rules and tiers of an approved scheme version are frozen"
    __slots__ = ()

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        for record in records:
            if record.scheme.state != 'draft':
                raise CommissionAccessError(gettext(
                        'retail_commission.msg_scheme_approved_edit',
                        scheme=record.scheme.rec_name))


class SchemeRule(
        SchemeDraftMixin, sequence_ordered(), ModelSQL, ModelView):
    "Commission Scheme Rule"
    __name__ = 'retail.commission.scheme.rule'

    scheme = fields.Many2One(
        'retail.commission.scheme', "Scheme", required=True,
        ondelete='CASCADE')
    company = fields.Function(
        fields.Many2One('company.company', "Company"),
        'on_change_with_company')
    kind = fields.Selection(RULE_KINDS, "Kind", required=True)
    product = fields.Many2One(
        'product.product', "Product", ondelete='RESTRICT',
        states={'invisible': Eval('kind') != 'sale'})
    category = fields.Many2One(
        'product.category', "Category", ondelete='RESTRICT',
        states={'invisible': Eval('kind') != 'sale'},
        help="Matches products of the category or of its sub-categories.")
    role = fields.Many2One(
        'retail.commission.role', "Role", ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))])
    assignment = fields.Selection([
            ('any', "Any"),
            ('requested', "Requested"),
            ('assigned', "Assigned"),
            ], "Assignment", required=True,
        help="Requested: the customer asked for the employee.\n"
        "Assigned: the shop assigned the employee.")
    customer = fields.Selection([
            ('any', "Any"),
            ('member', "Member"),
            ('walk_in', "Walk-in"),
            ], "Customer", required=True)
    method = fields.Selection([
            ('percent', "Percentage"),
            ('fixed', "Fixed per Unit"),
            ], "Method", required=True)
    rate = fields.Numeric(
        "Rate", digits=(16, 4),
        domain=[If(Eval('method') == 'percent',
                [('rate', '>=', 0), ('rate', '<=', 1)],
                [])],
        states={
            'invisible': Eval('method') != 'percent',
            'required': Eval('method') == 'percent',
            },
        help="The part of the base amount, e.g. 0.05 for 5%.")
    amount = Monetary(
        "Amount per Unit", currency='currency', digits='currency',
        domain=[If(Eval('method') == 'fixed', [('amount', '>=', 0)], [])],
        states={
            'invisible': Eval('method') != 'fixed',
            'required': Eval('method') == 'fixed',
            })
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('scheme')

    @classmethod
    def default_kind(cls):
        return 'sale'

    @classmethod
    def default_assignment(cls):
        return 'any'

    @classmethod
    def default_customer(cls):
        return 'any'

    @classmethod
    def default_method(cls):
        return 'percent'

    @fields.depends('scheme', '_parent_scheme.company')
    def on_change_with_company(self, name=None):
        return self.scheme.company if self.scheme else None

    @fields.depends('scheme', '_parent_scheme.company')
    def on_change_with_currency(self, name=None):
        if self.scheme and self.scheme.company:
            return self.scheme.company.currency

    def match(self, pattern):
        if self.kind != pattern['kind']:
            return False
        product = pattern.get('product')
        if self.product and self.product != product:
            return False
        if self.category:
            categories = pattern.get('categories')
            if callable(categories):
                categories = categories()
            elif categories is None:
                categories = product_categories(product)
            if self.category.id not in categories:
                return False
        if self.role and self.role != pattern.get('role'):
            return False
        if self.assignment != 'any':
            if (self.assignment == 'requested') != bool(
                    pattern.get('requested')):
                return False
        if self.customer != 'any':
            if (self.customer == 'member') != bool(pattern.get('member')):
                return False
        return True

    def get_amount(self, base, quantity):
        if self.method == 'percent':
            return base * (self.rate or ZERO)
        return (self.amount or ZERO) * Decimal(str(quantity or 0))


class SchemeTier(SchemeDraftMixin, ModelSQL, ModelView):
    "Commission Scheme Tier"
    __name__ = 'retail.commission.scheme.tier'

    scheme = fields.Many2One(
        'retail.commission.scheme', "Scheme", required=True,
        ondelete='CASCADE')
    threshold = fields.Numeric(
        "Sales From", digits=(16, 2), required=True,
        domain=[('threshold', '>=', 0)],
        help="The period's sales of the employee from which the rate "
        "applies.")
    rate = fields.Numeric(
        "Bonus Rate", digits=(16, 4), required=True,
        domain=[('rate', '>=', 0), ('rate', '<=', 1)],
        help="Added to the line commissions at period close, "
        "e.g. 0.01 for 1% of the sales.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('scheme')
        t = cls.__table__()
        cls._sql_constraints += [
            ('threshold_unique',
                Exclude(t, (t.scheme, Equal), (t.threshold, Equal)),
                'retail_commission.msg_tier_threshold_unique'),
            ]
        cls._order.insert(0, ('threshold', 'ASC'))


class CommissionLine(ModelSQL, ModelView):
    "Commission Line"
    __name__ = 'retail.commission.line'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True,
        ondelete='RESTRICT')
    employee = fields.Many2One(
        'company.employee', "Employee", required=True, readonly=True,
        ondelete='RESTRICT')
    date = fields.Date("Date", required=True, readonly=True)
    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True)
    origin = fields.Reference(
        "Origin", selection='get_origin', required=True, readonly=True)
    sale_line = fields.Many2One(
        'sale.point.sale.line', "Sale Line", readonly=True,
        ondelete='RESTRICT')
    product = fields.Many2One(
        'product.product', "Product", readonly=True, ondelete='RESTRICT')
    quantity = fields.Float("Quantity", readonly=True)
    share = fields.Numeric("Share", digits=(16, 4), readonly=True)
    requested = fields.Boolean("Requested", readonly=True)
    member = fields.Boolean("Member", readonly=True)
    scheme = fields.Many2One(
        'retail.commission.scheme', "Scheme Version", readonly=True,
        ondelete='RESTRICT')
    rule = fields.Many2One(
        'retail.commission.scheme.rule', "Rule", readonly=True,
        ondelete='RESTRICT')
    reversal_of = fields.Many2One(
        'retail.commission.line', "Reversal Of", readonly=True,
        ondelete='RESTRICT')
    base = Monetary(
        "Base", currency='currency', digits='currency', required=True,
        readonly=True)
    amount = Monetary(
        "Commission", currency='currency', digits='currency',
        required=True, readonly=True)
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, readonly=True)
    statement = fields.Many2One(
        'retail.commission.statement', "Statement", readonly=True,
        ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('origin_employee_kind_unique',
                Exclude(t, (t.origin, Equal), (t.employee, Equal),
                    (t.kind, Equal), where=t.reversal_of == Null),
                'retail_commission.msg_line_unique'),
            ('origin_reversal_unique',
                Exclude(t, (t.origin, Equal), (t.reversal_of, Equal),
                    where=t.reversal_of != Null),
                'retail_commission.msg_line_reversal_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.company, Index.Range()),
                    (t.date, Index.Range()),
                    (t.employee, Index.Range())),
                Index(t, (t.sale_line, Index.Range())),
                Index(t, (t.reversal_of, Index.Range()),
                    where=t.reversal_of != Null),
                Index(t, (t.employee, Index.Range()),
                    (t.date, Index.Range()),
                    where=t.statement == Null),
                Index(t, (t.statement, Index.Range())),
                })
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def _get_origin(cls):
        return [
            'sale.point.sale.line', 'sale.point.sale', 'sale.point.payment',
            'retail.commission.statement', 'retail.member.card']

    @classmethod
    def get_origin(cls):
        pool = Pool()
        IrModel = pool.get('ir.model')
        get_name = IrModel.get_name
        return [(None, '')] + [(m, get_name(m)) for m in cls._get_origin()]

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        if mode == 'delete' or (
                mode == 'write' and set(values or {}) - {'statement'}):
            raise CommissionAccessError(gettext(
                    'retail_commission.msg_line_append_only'))

    # API for other modules

    @classmethod
    def record(cls, origin, employee, base, kind, quantity=1, date=None,
            product=None, requested=False, member=False, share=ONE,
            special_price=False, sale_line=None):
        """Record the commission of employee for origin (idempotent).

        base: the amount the commission is computed on (e.g. the top-up
        amount, the stored value spent, the line amount), kind: one of
        sale, card_open, topup, wallet_spend.  The rules of the scheme
        version in force at date decide; share is the employee's part.
        Return the line (an existing one if origin was already recorded).
        """
        pool = Pool()
        Date = pool.get('ir.date')
        company = employee.company
        if kind not in dict(RULE_KINDS):
            raise CommissionError(gettext(
                    'retail_commission.msg_record_kind', kind=kind))
        with without_check_access():
            existing = cls.search([
                    ('origin', '=', str(origin)),
                    ('employee', '=', employee.id),
                    ('kind', '=', kind),
                    ('reversal_of', '=', None),
                    ], limit=1)
        if existing:
            return existing[0]
        if date is None:
            with Transaction().set_context(company=company.id):
                date = Date.today()
        values = cls.line_values(origin, employee, base, kind, quantity,
            date, product=product, requested=requested, member=member,
            share=share, special_price=special_price, sale_line=sale_line)
        with without_check_access():
            line, = cls.create([values])
        return line

    @classmethod
    def new_line(cls, origin, employee, base, kind, quantity, date,
            product=None, requested=False, member=False, share=ONE,
            special_price=False, sale_line=None, scheme=False):
        "Return an unsaved line computed for the version in force at date"
        return cls(**cls.line_values(origin, employee, base, kind, quantity,
                date, product=product, requested=requested, member=member,
                share=share, special_price=special_price,
                sale_line=sale_line, scheme=scheme))

    @classmethod
    def line_values(cls, origin, employee, base, kind, quantity, date,
            product=None, requested=False, member=False, share=ONE,
            special_price=False, sale_line=None, scheme=False, cache=None):
        """Return the values of the line computed for the version in force
        at date (scheme when given)"""
        pool = Pool()
        Scheme = pool.get('retail.commission.scheme')
        company = employee.company
        currency = company.currency
        if scheme is False:
            if cache is not None:
                scheme = cache.in_force(company, date)
            else:
                scheme = Scheme.in_force(company, date)
        rule, amount = None, ZERO
        if scheme:
            rule, amount = scheme.compute(
                kind, base, quantity, currency, product=product,
                role=employee.commission_role, requested=requested,
                member=member, special_price=special_price,
                categories=((lambda: cache.categories(product))
                    if cache is not None else None))
        share = Decimal(share)
        return {
            'company': company.id,
            'employee': employee.id,
            'date': date,
            'kind': kind,
            'origin': str(origin),
            'sale_line': sale_line.id if sale_line else None,
            'product': product.id if product else None,
            'quantity': quantity,
            'share': share,
            'requested': bool(requested),
            'member': bool(member),
            'scheme': scheme.id if scheme else None,
            'rule': rule.id if rule else None,
            'base': currency.round(base * share),
            'amount': currency.round(amount * share),
            'currency': currency.id,
            }

    @classmethod
    def reverse(cls, original, origin, quantity, date, sale_line=None):
        """Write the reversal of quantity of original (cumulative: the
        reversals of a line never exceed it).  Return the line or None"""
        with without_check_access():
            if cls.search([
                        ('origin', '=', str(origin)),
                        ('reversal_of', '=', original.id),
                        ], limit=1):
                return None
            previous = cls.search([('reversal_of', '=', original.id)])
        values = cls.reversal_values(
            original, origin, quantity, date, previous, sale_line=sale_line)
        if not values:
            return None
        with without_check_access():
            line, = cls.create([values])
        return line

    @classmethod
    def reversal_values(cls, original, origin, quantity, date, previous,
            sale_line=None):
        """Return the values of the reversal of quantity of original given
        its previous reversals (lines or values), or None when nothing is
        left to reverse"""
        def get(record, name):
            if isinstance(record, dict):
                return record[name]
            return getattr(record, name)
        currency = original.currency
        sold = original.quantity or 0
        done = -sum((get(p, 'quantity') or 0) for p in previous)
        total = min(done + quantity, sold) if sold else 0
        if total <= done:
            return None
        ratio = Decimal(str(total)) / Decimal(str(sold))
        amount = currency.round(original.amount * ratio) + sum(
            (get(p, 'amount') for p in previous), ZERO)
        base = currency.round(original.base * ratio) + sum(
            (get(p, 'base') for p in previous), ZERO)
        return {
            'company': original.company.id,
            'employee': original.employee.id,
            'date': date,
            'kind': 'refund',
            'origin': str(origin),
            'sale_line': sale_line.id if sale_line else None,
            'product': original.product.id if original.product else None,
            'quantity': -(total - done),
            'share': original.share,
            'requested': original.requested,
            'member': original.member,
            'scheme': original.scheme.id if original.scheme else None,
            'rule': original.rule.id if original.rule else None,
            'reversal_of': original.id,
            'base': -base,
            'amount': -amount,
            'currency': currency.id,
            }

    @classmethod
    def compute_sale_lines(cls, lines, cache=None):
        """Return the values of the commission lines to create for the POS
        lines (sales and returns), skipping what was already recorded.

        Reads the existing commission of the lines and of the sold lines
        they return with two searches and matches the rules in memory."""
        if cache is None:
            cache = SchemeCache()
        returns = {}
        for line in lines:
            if line.quantity < 0:
                original = line._commission_returned_line()
                if original:
                    returns[line.id] = original
        if not returns and not any(ln.staff for ln in lines):
            # nobody served the lines and none returns a sold line: there
            # is no commission to record nor to reverse
            return []
        line_ids = [ln.id for ln in lines]
        original_ids = list({o.id for o in returns.values()})
        recorded, reversed_ = set(), set()
        earned = defaultdict(list)
        with without_check_access():
            existing = cls.search([
                    ('sale_line', 'in', line_ids + original_ids),
                    ], order=[('id', 'ASC')])
            for c in existing:
                sale_line = c.sale_line.id
                if c.reversal_of:
                    reversed_.add((sale_line, c.reversal_of.id))
                else:
                    recorded.add((sale_line, c.employee.id, c.kind))
                    if c.kind == 'sale' and sale_line in original_ids:
                        earned[sale_line].append(c)
            previous = defaultdict(list)
            earned_ids = [c.id for cs in earned.values() for c in cs]
            if earned_ids:
                for c in cls.search([
                            ('reversal_of', 'in', earned_ids),
                            ], order=[('id', 'ASC')]):
                    previous[c.reversal_of.id].append(c)
        cache.pending.extend(ln.product for ln in lines if ln.staff)
        to_create = []
        for line in lines:
            sale = line.sale
            if line.quantity < 0 and line.id in returns:
                for c in earned[returns[line.id].id]:
                    if (line.id, c.id) in reversed_:
                        continue
                    values = cls.reversal_values(
                        c, line, -line.quantity, sale.date, previous[c.id],
                        sale_line=line)
                    if values:
                        previous[c.id].append(values)
                        to_create.append(values)
                continue
            if not line.staff:
                continue
            scheme = cache.in_force(sale.company, sale.date)
            base = line._commission_base(scheme)
            special = (scheme and scheme.exclude_special_price
                and line._commission_special_price(cache.regular_prices))
            member = bool(getattr(sale, 'member', None))
            kind = 'sale' if line.quantity > 0 else 'refund'
            for staff in line.staff:
                if (line.id, staff.employee.id, kind) in recorded:
                    continue
                # A return without its sold line: what it would earn on its
                # date, negative
                values = cls.line_values(
                    line, staff.employee, base, 'sale', line.quantity,
                    sale.date, product=line.product,
                    requested=staff.requested, member=member,
                    share=staff.share, special_price=special,
                    sale_line=line, scheme=scheme, cache=cache)
                values['kind'] = kind
                to_create.append(values)
        return to_create

    @classmethod
    def validate_fields(cls, lines, field_names):
        super().validate_fields(lines, field_names)
        if field_names and not ({'employee', 'company'} & field_names):
            return
        for line in lines:
            if line.employee.company != line.company:
                raise CommissionError(gettext(
                        'retail_commission.msg_employee_company',
                        employee=line.employee.rec_name,
                        company=line.company.rec_name))
