# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
"""The points ledger.

Points belong to a member (party) inside a company, through one
``retail.points.account`` row per member and company.  The account row is
the lock: every change takes ``Account.lock`` (on PostgreSQL an UPDATE that
waits for the holder, see retail_member.ledger.lock_in_place) before it reads
the balance.

Every change is an immutable ``retail.points.line``.  Positive earn, gift and
adjust lines are *lots* (earn date, lock-until date of the returns window,
expiry date).  Negative lines consume lots through
``retail.points.allocation`` rows (lot, consuming line, points), FIFO by
expiry, so a refund can give back exactly the lots a redemption used.
The remaining points of a lot are its points minus its allocations; the
balance is the sum of the lines.  A refund that takes back earned points
already spent leaves a debt: the refund line keeps an unallocated part, the
balance goes negative, and the next lot pays the debt first.
"""
import datetime as dt
from collections import defaultdict, namedtuple
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from sql import Literal, Null
from sql.aggregate import Max, Sum
from sql.conditionals import Coalesce
from sql.operators import Equal

from trytond import backend
from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import (
    Check,
    DeactivableMixin,
    Exclude,
    Index,
    ModelSingleton,
    ModelSQL,
    ModelView,
    Unique,
    fields,
    sequence_ordered,
)
from trytond.modules.company.model import CompanyMultiValueMixin, CompanyValueMixin
from trytond.modules.retail_member.exchange import IN_MAX, bulk_create
from trytond.modules.retail_member.ledger import lock_in_place, origin_exists
from trytond.modules.retail_member.tools import clears_on_modification, transaction_memo
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import InsufficientPoints, LedgerAccessError, PointsError, PointsValidationError

KINDS = [
    ('earn', "Earn"),
    ('redeem', "Redeem"),
    ('refund', "Refund Reversal"),
    ('expire', "Expire"),
    ('adjust', "Adjust"),
    ('gift', "Gift"),
    ]
LOT_KINDS = {'earn', 'gift', 'adjust'}
ZERO = Decimal(0)

# Configuration fields, shared by the singleton and its company values
earn_rate = fields.Numeric(
    "Points per Currency Unit", digits=(16, 4), required=True,
    domain=[('earn_rate', '>=', 0)],
    help="Points earned for each unit of the earning base.")
earn_base = fields.Selection([
        ('taxed', "Tax Included"),
        ('untaxed', "Tax Excluded"),
        ], "Earning Base", required=True,
    help="The amount points are earned on, always after discounts.")
lock_days = fields.Integer(
    "Returns Window", required=True,
    domain=[('lock_days', '>=', 0)],
    help="Days during which earned points are locked: "
    "they cannot be spent and do not count toward the tier.")
expiry_mode = fields.Selection([
        ('never', "Never"),
        ('days', "After N Days"),
        ('month_end', "End of Month"),
        ('year_end', "End of Year"),
        ], "Expiry", required=True)
expiry_days = fields.Integer(
    "Expiry Days", required=True,
    domain=[('expiry_days', '>=', 0)],
    help="Days of validity; with end of month or year, "
    "the points expire at the end of the month or year N days after.")
warning_days = fields.Integer(
    "Expiry Warning Days", required=True,
    domain=[('warning_days', '>=', 0)],
    help="Record an expiry warning this many days before points expire.")
redeem_value = fields.Numeric(
    "Value per Point", digits=(16, 4), required=True,
    domain=[('redeem_value', '>=', 0)],
    help="The money one point is worth when paying with points.")
redeem_minimum = fields.Integer(
    "Minimum Points", required=True,
    domain=[('redeem_minimum', '>=', 0)],
    help="The fewest points accepted in one points payment.")
redeem_max_share = fields.Numeric(
    "Maximum Share of Order", digits=(16, 4), required=True,
    domain=[('redeem_max_share', '>=', 0), ('redeem_max_share', '<=', 1)],
    help="The largest part of an order that points may pay (0.5 = 50%).")
member_day = fields.Selection([
        ('none', "None"),
        ('weekly', "Weekly"),
        ('monthly', "Monthly"),
        ], "Member Day", required=True)
member_day_weekday = fields.Selection([
        (None, ""),
        ('0', "Monday"),
        ('1', "Tuesday"),
        ('2', "Wednesday"),
        ('3', "Thursday"),
        ('4', "Friday"),
        ('5', "Saturday"),
        ('6', "Sunday"),
        ], "Member Day Weekday", sort=False)
member_day_monthday = fields.Integer(
    "Member Day of Month",
    domain=['OR',
        ('member_day_monthday', '=', None),
        [('member_day_monthday', '>=', 1),
            ('member_day_monthday', '<=', 31)],
        ])
member_day_multiplier = fields.Numeric(
    "Member Day Multiplier", digits=(16, 4), required=True,
    domain=[('member_day_multiplier', '>=', 0)])
birthday_scope = fields.Selection([
        ('none', "None"),
        ('day', "Birthday"),
        ('month', "Birthday Month"),
        ], "Birthday Bonus", required=True)
birthday_multiplier = fields.Numeric(
    "Birthday Multiplier", digits=(16, 4), required=True,
    domain=[('birthday_multiplier', '>=', 0)])
tier_downgrade = fields.Boolean(
    "Tier Downgrade Review",
    help="If checked, the periodic review also lowers the tier of members "
    "who no longer reach their tier's threshold.")
expiry_lookback = fields.Integer(
    "Expiry Look-back Days", required=True,
    domain=[('expiry_lookback', '>=', 1)],
    help="The expiry task handles points that expired up to this many "
    "days ago, so it catches up after a pause.")

CONFIG_FIELDS = [
    'earn_rate', 'earn_base', 'lock_days', 'expiry_mode', 'expiry_days',
    'warning_days', 'redeem_value', 'redeem_minimum', 'redeem_max_share',
    'member_day', 'member_day_weekday', 'member_day_monthday',
    'member_day_multiplier', 'birthday_scope', 'birthday_multiplier',
    'tier_downgrade', 'expiry_lookback']


def _default(name):
    @classmethod
    def default(cls, **pattern):
        return getattr(
            cls.multivalue_model(name), 'default_%s' % name,
            lambda: None)()
    return default


class Configuration(ModelSingleton, ModelSQL, ModelView, CompanyMultiValueMixin):
    __name__ = 'retail.points.configuration'
    _settings_cache = Cache(
        'retail.points.configuration.settings', context=False)

    earn_rate = fields.MultiValue(earn_rate)
    earn_base = fields.MultiValue(earn_base)
    lock_days = fields.MultiValue(lock_days)
    expiry_mode = fields.MultiValue(expiry_mode)
    expiry_days = fields.MultiValue(expiry_days)
    warning_days = fields.MultiValue(warning_days)
    redeem_value = fields.MultiValue(redeem_value)
    redeem_minimum = fields.MultiValue(redeem_minimum)
    redeem_max_share = fields.MultiValue(redeem_max_share)
    member_day = fields.MultiValue(member_day)
    member_day_weekday = fields.MultiValue(member_day_weekday)
    member_day_monthday = fields.MultiValue(member_day_monthday)
    member_day_multiplier = fields.MultiValue(member_day_multiplier)
    birthday_scope = fields.MultiValue(birthday_scope)
    birthday_multiplier = fields.MultiValue(birthday_multiplier)
    tier_downgrade = fields.MultiValue(tier_downgrade)
    expiry_lookback = fields.MultiValue(expiry_lookback)

    for _name in CONFIG_FIELDS:
        locals()['default_%s' % _name] = _default(_name)
    del _name

    @classmethod
    def multivalue_model(cls, field):
        pool = Pool()
        if field in CONFIG_FIELDS:
            return pool.get('retail.points.configuration.company')
        return super().multivalue_model(field)

    @classmethod
    def get_settings(cls, company):
        """Return the settings record of the company (saved or default).

        The record and its values are kept across requests (every quote
        and checkout asks for them, a read of 23 fields each time): the
        record holds its values as a record given them would, and any
        change of the settings empties the cache."""
        pool = Pool()
        Value = pool.get('retail.points.configuration.company')
        company_id = int(company) if company is not None else None
        cached = cls._settings_cache.get(company_id)
        if cached is None:
            value_id = settings = None
            for clause in [company_id, None]:
                values = Value.search(
                    [('company', '=', clause)], limit=1,
                    order=[('id', 'ASC')])
                if values:
                    value_id = values[0].id
                    settings = {n: getattr(values[0], n)
                        for n in CONFIG_FIELDS}
                    break
            cached = [value_id, settings]
            cls._settings_cache.set(company_id, cached)
        value_id, settings = cached
        if value_id is not None:
            record = Value(value_id)
            record._values = record._record(**settings)
            return record
        defaults = Value.default_get(CONFIG_FIELDS, with_rec_name=False)
        return Value(company=company_id, **defaults)


class ConfigurationCompany(ModelSQL, CompanyValueMixin):
    __name__ = 'retail.points.configuration.company'

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        pool = Pool()
        Configuration = pool.get('retail.points.configuration')
        super().on_modification(mode, records, field_names=field_names)
        # the cache holds the values too (get_settings)
        Configuration._settings_cache.clear()

    earn_rate = earn_rate
    earn_base = earn_base
    lock_days = lock_days
    expiry_mode = expiry_mode
    expiry_days = expiry_days
    warning_days = warning_days
    redeem_value = redeem_value
    redeem_minimum = redeem_minimum
    redeem_max_share = redeem_max_share
    member_day = member_day
    member_day_weekday = member_day_weekday
    member_day_monthday = member_day_monthday
    member_day_multiplier = member_day_multiplier
    birthday_scope = birthday_scope
    birthday_multiplier = birthday_multiplier
    tier_downgrade = tier_downgrade
    expiry_lookback = expiry_lookback

    @classmethod
    def default_earn_rate(cls):
        return Decimal(1)

    @classmethod
    def default_earn_base(cls):
        return 'taxed'

    @classmethod
    def default_lock_days(cls):
        return 7

    @classmethod
    def default_expiry_mode(cls):
        return 'year_end'

    @classmethod
    def default_expiry_days(cls):
        return 365

    @classmethod
    def default_warning_days(cls):
        return 30

    @classmethod
    def default_redeem_value(cls):
        return Decimal('0.01')

    @classmethod
    def default_redeem_minimum(cls):
        return 100

    @classmethod
    def default_redeem_max_share(cls):
        return Decimal('0.5')

    @classmethod
    def default_member_day(cls):
        return 'none'

    @classmethod
    def default_member_day_multiplier(cls):
        return Decimal(2)

    @classmethod
    def default_birthday_scope(cls):
        return 'none'

    @classmethod
    def default_birthday_multiplier(cls):
        return Decimal(2)

    @classmethod
    def default_tier_downgrade(cls):
        return False

    @classmethod
    def default_expiry_lookback(cls):
        return 31

    def expiry_date(self, date):
        "Return the last valid day of points earned on date"
        if self.expiry_mode == 'never':
            return None
        end = date + dt.timedelta(days=self.expiry_days or 0)
        if self.expiry_mode == 'days':
            return end
        elif self.expiry_mode == 'month_end':
            next_month = (end.replace(day=28) + dt.timedelta(days=4))
            return next_month - dt.timedelta(days=next_month.day)
        elif self.expiry_mode == 'year_end':
            return end.replace(month=12, day=31)

    def lock_until(self, date):
        return date + dt.timedelta(days=self.lock_days or 0)

    def points_value(self, points, currency):
        "Money that points are worth, rounded down to the currency"
        amount = Decimal(points) * (self.redeem_value or ZERO)
        return currency.round(amount, rounding=ROUND_DOWN)

    def is_member_day(self, date):
        if self.member_day == 'weekly':
            return (self.member_day_weekday is not None
                and date.weekday() == int(self.member_day_weekday))
        elif self.member_day == 'monthly':
            if not self.member_day_monthday:
                return False
            next_month = (date.replace(day=28) + dt.timedelta(days=4))
            last_day = (next_month - dt.timedelta(days=next_month.day)).day
            return date.day == min(self.member_day_monthday, last_day)
        return False

    def is_birthday(self, birth_date, date):
        if not birth_date or self.birthday_scope == 'none':
            return False
        if self.birthday_scope == 'month':
            return birth_date.month == date.month
        if (birth_date.month, birth_date.day) == (2, 29):
            leap = date.year % 4 == 0 and (
                date.year % 100 != 0 or date.year % 400 == 0)
            if not leap:
                return (date.month, date.day) == (2, 28)
        return (birth_date.month, birth_date.day) == (date.month, date.day)


# what the earning needs of an active rule, kept across requests
RuleFacts = namedtuple('RuleFacts', ['id', 'type', 'product', 'category',
        'rate', 'multiplier', 'start_date', 'end_date', 'time_start',
        'time_end'])


def _clear_rule_facts():
    Pool().get('retail.points.rule')._company_rules.clear()


class Rule(clears_on_modification(_clear_rule_facts,
            "A rule created, written or deleted empties the cache of the "
            "companies' rules (company_rules)"),
        DeactivableMixin, sequence_ordered(), ModelSQL, ModelView):
    "Earning rule: product or category rate, or a promotional multiplier"
    __name__ = 'retail.points.rule'
    _company_rules = Cache('retail_points.company_rules', context=False)

    company = fields.Many2One('company.company', "Company", required=True)
    name = fields.Char("Name", required=True, translate=True)
    type = fields.Selection([
            ('product', "Product"),
            ('category', "Category"),
            ('promotion', "Promotion"),
            ], "Type", required=True)
    product = fields.Many2One(
        'product.product', "Product",
        context={'company': Eval('company', -1)},
        states={
            'required': Eval('type') == 'product',
            'invisible': Eval('type') != 'product',
            },
        depends={'company'})
    category = fields.Many2One(
        'product.category', "Category",
        states={
            'required': Eval('type') == 'category',
            'invisible': Eval('type') != 'category',
            })
    rate = fields.Numeric(
        "Points per Currency Unit", digits=(16, 4),
        domain=['OR', ('rate', '=', None), ('rate', '>=', 0)],
        states={
            'invisible': Eval('type') == 'promotion',
            },
        help="Overrides the company rate for this product or category; "
        "0 means the product earns nothing.")
    multiplier = fields.Numeric(
        "Multiplier", digits=(16, 4), required=True,
        domain=[('multiplier', '>=', 0)])
    start_date = fields.Date(
        "Start Date",
        domain=[If(Eval('start_date') & Eval('end_date'),
                ('start_date', '<=', Eval('end_date')),
                ())])
    end_date = fields.Date(
        "End Date",
        domain=[If(Eval('start_date') & Eval('end_date'),
                ('end_date', '>=', Eval('start_date')),
                ())])
    time_start = fields.Time(
        "From Time",
        states={'invisible': Eval('type') != 'promotion'},
        help="Daily time window of a promotion (e.g. happy hour).")
    time_end = fields.Time(
        "To Time",
        states={'invisible': Eval('type') != 'promotion'})

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('multiplier_positive', Check(t, t.multiplier >= 0),
                'retail_points.msg_rule_multiplier_positive'),
            ('rate_positive',
                Check(t, (t.rate == Null) | (t.rate >= 0)),
                'retail_points.msg_rule_rate_positive'),
            ('dates', Check(t, (t.start_date == Null) | (t.end_date == Null)
                    | (t.start_date <= t.end_date)),
                'retail_points.msg_rule_dates'),
            ]

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_type(cls):
        return 'promotion'

    @classmethod
    def default_multiplier(cls):
        return Decimal(1)

    @classmethod
    def company_rules(cls, company_id):
        """[RuleFacts] of the company's active rules in their order.

        Every quote and checkout applies them: the ORM searched and read
        them each time.  Any change of a rule empties the cache, at once in
        this process, in the others at their next synchronisation of
        Tryton's caches."""
        rules = cls._company_rules.get(company_id)
        if rules is None:
            names = RuleFacts._fields
            rules = [[getattr(r, n) if n not in {'product', 'category'}
                    else (getattr(r, n).id if getattr(r, n) else None)
                    for n in names]
                for r in cls.search([
                        ('company', '=', company_id),
                        ], order=[
                        ('sequence', 'ASC NULLS FIRST'), ('id', 'ASC')])]
            cls._company_rules.set(company_id, rules)
        return [RuleFacts(*r) for r in rules]

    def match_date(self, date, time=None):
        "self: a rule or its RuleFacts"

        if self.start_date and date < self.start_date:
            return False
        if self.end_date and date > self.end_date:
            return False
        if time is not None and (self.time_start or self.time_end):
            start = self.time_start or dt.time.min
            end = self.time_end or dt.time.max
            if start <= end:
                if not (start <= time <= end):
                    return False
            elif end < time < start:  # window over midnight
                return False
        return True

    @classmethod
    def compute_earning(cls, company, member, date, items, time=None):
        """Apply the earning rules to items [(key, product, base amount)]
        and return an Earning; base amounts are after discounts and without
        what points paid"""
        pool = Pool()
        Configuration = pool.get('retail.points.configuration')
        settings = Configuration.get_settings(company)
        rules = [r for r in cls.company_rules(int(company))
            if cls.match_date(r, date, time)]
        line_rules = [r for r in rules if r.type in {'product', 'category'}]
        # Product rules take precedence over category rules
        line_rules.sort(key=lambda r: r.type != 'product')
        earning = Earning()
        excluded = cls._points_excluded(
            {int(p) for _, p, _ in items if p})
        for key, product, base in items:
            if (not product or base is None or base <= 0
                    or int(product) in excluded):
                continue
            rate, multiplier = settings.earn_rate, Decimal(1)
            for rule in line_rules:
                if cls.match_product(rule, product):
                    if rule.rate is not None:
                        rate = rule.rate
                    multiplier = rule.multiplier
                    break
            earning.raw[key] = (
                earning.raw.get(key, ZERO) + base * rate * multiplier)
            earning.base += base
        multipliers = [r.multiplier for r in rules if r.type == 'promotion']
        if settings.is_member_day(date):
            multipliers.append(settings.member_day_multiplier)
        tier_multiplier, birth_date = cls._earning_member(company, member)
        if settings.is_birthday(birth_date, date):
            multipliers.append(settings.birthday_multiplier)
        promotion = max(multipliers) if multipliers else Decimal(1)
        if tier_multiplier is None:
            tier_multiplier = Decimal(1)
        earning.multiplier = promotion * tier_multiplier
        total = sum(earning.raw.values(), ZERO) * earning.multiplier
        earning.points = int(total.to_integral_value(rounding=ROUND_DOWN))
        return earning

    @classmethod
    def _earning_member(cls, company, member):
        """(points multiplier of the member's tier or None, birthday) as
        stored: one query and the cache of the company's active tiers (the
        ORM read the party's 23 eager fields and the tier's at each sale);
        a member not stored is asked as it is"""
        pool = Pool()
        Party = pool.get('party.party')
        Tier = pool.get('retail.member.tier')
        if member is None:
            return None, None
        if member.id is None or member.id < 0:
            tier = getattr(member, 'member_tier', None)
            return (tier.points_multiplier if tier else None,
                getattr(member, 'birth_date', None))
        state = Party.tier_states([member.id]).get(member.id)
        if not state:
            return None, None
        if state.tier is None:
            return None, state.birth_date
        for tier in Tier.company_tiers(int(company)):
            if tier.id == state.tier:
                return tier.points_multiplier, state.birth_date
        return Tier(state.tier).points_multiplier, state.birth_date

    @classmethod
    def _points_excluded(cls, product_ids):
        """The ids among product_ids whose template earns no points, in
        one query (through the ORM: a read of the products and one of
        their templates, at each quote and each checkout)"""
        pool = Pool()
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        product, template = Product.__table__(), Template.__table__()
        cursor = Transaction().connection.cursor()
        excluded = set()
        for sub_ids in grouped_slice(sorted(product_ids), IN_MAX):
            cursor.execute(*product.join(template,
                    condition=product.template == template.id
                    ).select(product.id,
                    where=product.id.in_(list(sub_ids))
                    & (template.points_excluded == Literal(True))))
            excluded.update(i for i, in cursor)
        return excluded

    def match_product(self, product):
        "self: a rule or its RuleFacts (the product and category ids)"
        if self.type == 'product':
            return (self.product is not None
                and int(self.product) == int(product))
        elif self.type == 'category':
            return self.category is not None and int(self.category) in {
                c.id for c in product.template.categories_all}
        return False


class Earning:
    "The result of applying the earning rules to a document"

    def __init__(self):
        self.base = ZERO
        self.raw = {}  # key: raw points before the sale multiplier
        self.multiplier = Decimal(1)
        self.points = 0

    def share(self, key, ratio=Decimal(1)):
        "Fraction of the earned points that comes from ratio of key"
        total = sum(self.raw.values())
        if not total:
            return ZERO
        return self.raw.get(key, ZERO) * ratio / total


# {(company id, member id): id of the points account} found this transaction
_accounts_memo, AccountsMemoMixin = transaction_memo('_retail_points_accounts',
    "A points account created, written or deleted empties the memo of the "
    "members' accounts (get_account)")


class PointsAccount(AccountsMemoMixin, ModelSQL, ModelView):
    "The points of one member in one company; the row every change locks"
    __name__ = 'retail.points.account'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    member = fields.Many2One(
        'party.party', "Member", required=True, readonly=True,
        ondelete='RESTRICT')
    lines = fields.One2Many(
        'retail.points.line', 'account', "Lines", readonly=True,
        order=[('sequence', 'DESC')])
    balance = fields.Function(fields.Integer(
            "Balance", help="The sum of all the lines."), 'get_amounts')
    available = fields.Function(fields.Integer(
            "Available",
            help="Points that can be spent now: unlocked, not expired, "
            "less any debt."), 'get_amounts')
    locked = fields.Function(fields.Integer(
            "Locked", help="Points still in the returns window."),
        'get_amounts')
    debt = fields.Function(fields.Integer(
            "Debt",
            help="Points taken back by refunds after they were spent; "
            "recovered from the next points earned."), 'get_amounts')
    next_expiry_date = fields.Function(
        fields.Date("Next Expiry"), 'get_amounts')
    next_expiry_points = fields.Function(
        fields.Integer("Points Expiring"), 'get_amounts')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('member_unique', Unique(t, t.company, t.member),
                'retail_points.msg_account_member_unique'),
            ]

    def get_rec_name(self, name):
        return self.member.rec_name

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('member.rec_name',) + tuple(clause[1:])]

    @classmethod
    def lock(cls, records=None):
        "Wait for the accounts in place (retail_member.ledger.lock_in_place)"
        lock_in_place(cls, records, super().lock)

    @classmethod
    def get_account(cls, company, member, create=True):
        """Return the account of member in company, creating it if needed;
        searched once a transaction (a checkout asked for it twice)"""
        memo = _accounts_memo()
        key = (int(company), int(member))
        if key in memo:
            return cls(memo[key])
        accounts = cls.search([
                ('company', '=', int(company)),
                ('member', '=', int(member)),
                ], limit=1)
        if accounts:
            memo[key] = accounts[0].id
            return accounts[0]
        if not create:
            return None
        # Serialise the first creation for this member only (a table lock
        # would hold every other till until this sale commits)
        Party = Pool().get('party.party')
        lock_in_place(Party, [int(member)], Party.lock)
        accounts = cls.search([
                ('company', '=', int(company)),
                ('member', '=', int(member)),
                ], limit=1)
        if accounts:
            return accounts[0]
        with without_check_access():
            account = cls(company=company, member=member)
            account.save()
        return account

    @classmethod
    def get_amounts(cls, accounts, names):
        pool = Pool()
        Line = pool.get('retail.points.line')
        Date = pool.get('ir.date')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        today = Transaction().context.get('date') or Date.today()
        result = {n: {a.id: 0 for a in accounts} for n in names}
        for n in {'next_expiry_date'} & set(names):
            result[n] = {a.id: None for a in accounts}
        ids = [a.id for a in accounts]
        if 'balance' in names:
            for sub_ids in grouped_slice(ids, IN_MAX):
                cursor.execute(*line.select(
                        line.account, Sum(line.points),
                        where=line.account.in_(list(sub_ids)),
                        group_by=[line.account]))
                for account_id, total in cursor:
                    result['balance'][account_id] = int(total or 0)
        if set(names) - {'balance'}:
            for account in accounts:
                lots = account._lots()
                debt = sum(o for _, o in account._debts())
                available = locked = 0
                expiries = defaultdict(int)
                for lot in lots:
                    if lot['expiry_date'] and lot['expiry_date'] < today:
                        continue
                    if lot['lock_until'] and lot['lock_until'] > today:
                        locked += lot['remaining']
                    else:
                        available += lot['remaining']
                    if lot['expiry_date']:
                        expiries[lot['expiry_date']] += lot['remaining']
                values = {
                    'available': max(available - debt, 0),
                    'locked': locked,
                    'debt': debt,
                    }
                if expiries:
                    date = min(expiries)
                    values['next_expiry_date'] = date
                    values['next_expiry_points'] = expiries[date]
                for name in names:
                    if name in values:
                        result[name][account.id] = values[name]
        return result

    # Ledger primitives: call them only with the account locked

    def _lots(self, ids=None):
        "Return the lots with points left, oldest expiry first"
        pool = Pool()
        Line = pool.get('retail.points.line')
        Allocation = pool.get('retail.points.allocation')
        line = Line.__table__()
        allocation = Allocation.__table__()
        cursor = Transaction().connection.cursor()
        where = (line.account == self.id) & (line.lot == Literal(True))
        if ids is not None:
            where &= line.id.in_(list(ids))
        remaining = line.points - Coalesce(Sum(allocation.points), 0)
        cursor.execute(*line.join(allocation, 'LEFT',
                condition=allocation.lot == line.id
                ).select(
                line.id, remaining, line.lock_until, line.expiry_date,
                where=where,
                group_by=[line.id, line.points, line.lock_until,
                    line.expiry_date],
                having=remaining != 0))
        lots = [{
                'id': id_,
                'remaining': int(rest),
                'lock_until': _date(lock_until),
                'expiry_date': _date(expiry),
                } for id_, rest, lock_until, expiry in cursor]
        lots.sort(key=lambda ln: (
                ln['expiry_date'] is None, ln['expiry_date'] or dt.date.min,
                ln['id']))
        return lots

    def _debts(self):
        "Return (line id, points not yet recovered) of refund lines"
        pool = Pool()
        Line = pool.get('retail.points.line')
        Allocation = pool.get('retail.points.allocation')
        line = Line.__table__()
        allocation = Allocation.__table__()
        cursor = Transaction().connection.cursor()
        outstanding = -line.points - Coalesce(Sum(allocation.points), 0)
        cursor.execute(*line.join(allocation, 'LEFT',
                condition=allocation.line == line.id
                ).select(
                line.id, outstanding,
                where=(line.account == self.id)
                & (line.kind == 'refund') & (line.points < 0),
                group_by=[line.id, line.points],
                having=outstanding > 0,
                order_by=[line.id.asc]))
        return [(id_, int(o)) for id_, o in cursor]

    def _last(self):
        pool = Pool()
        Line = pool.get('retail.points.line')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*line.select(
                Coalesce(Max(line.sequence), 0), Coalesce(Sum(line.points), 0),
                where=line.account == self.id))
        sequence, balance = cursor.fetchone()
        return int(sequence), int(balance)

    def _post(self, kind, points, date, allocations=(), **values):
        "Append a line and its allocations [(lot id, points)]"
        pool = Pool()
        Line = pool.get('retail.points.line')
        Allocation = pool.get('retail.points.allocation')
        sequence, balance = self._last()
        values.setdefault('operator', Transaction().user or None)
        if kind in LOT_KINDS and points > 0:
            values['lot'] = True
        # inserted without the ORM's per-record validation (a tenth of a
        # member's checkout): the values are made here and what must never
        # happen (a zero line, a negative balance, a sequence or an origin
        # twice, a write) the database refuses
        with without_check_access():
            line_id, = bulk_create(Line, [{
                        'account': self.id,
                        'company': self.company.id,
                        'member': self.member.id,
                        'sequence': sequence + 1,
                        'date': date,
                        'kind': kind,
                        'points': points,
                        'balance': balance + points,
                        **values,
                        }])
            allocations = [(ln, p) for ln, p in allocations if p]
            if allocations:
                bulk_create(Allocation, [{
                            'lot': lot_id,
                            'line': line_id,
                            'points': p,
                            } for lot_id, p in allocations])
        return Line(line_id)

    def _allocate(self, points, lots):
        "Take points from lots in order; return (allocations, missing)"
        allocations = []
        for lot in lots:
            if points <= 0:
                break
            take = min(points, lot['remaining'])
            if take > 0:
                allocations.append((lot['id'], take))
                lot['remaining'] -= take
                points -= take
        return allocations, points

    def _settle_debts(self, date):
        "Pay the outstanding debts from the lots with points left"
        pool = Pool()
        Allocation = pool.get('retail.points.allocation')
        debts = self._debts()
        if not debts:
            return
        lots = [ln for ln in self._lots()
            if ln['remaining'] > 0
            and not (ln['expiry_date'] and ln['expiry_date'] < date)]
        to_create = []
        for line_id, outstanding in debts:
            allocations, _ = self._allocate(outstanding, lots)
            to_create.extend({
                    'lot': lot_id,
                    'line': line_id,
                    'points': p,
                    } for lot_id, p in allocations)
        if to_create:
            with without_check_access():
                Allocation.create(to_create)

    def credit(self, kind, points, date, lock_until=None, expiry_date=None,
            **values):
        "Add a lot of points"
        assert kind in LOT_KINDS and points > 0
        line = self._post(
            kind, points, date, lock_until=lock_until,
            expiry_date=expiry_date, **values)
        self._settle_debts(date)
        return line

    def debit(self, kind, points, date, first_lots=None, allow_locked=False,
            allow_debt=False, **values):
        "Remove points, FIFO by expiry, first_lots first"
        assert points > 0
        lots = [ln for ln in self._lots()
            if ln['remaining'] > 0
            and not (ln['expiry_date'] and ln['expiry_date'] < date)]
        if not allow_locked:
            lots = [ln for ln in lots
                if not (ln['lock_until'] and ln['lock_until'] > date)]
        if first_lots:
            first = [ln for ln in lots if ln['id'] in first_lots]
            lots = first + [ln for ln in lots if ln['id'] not in first_lots]
        debt = sum(o for _, o in self._debts())
        usable = sum(ln['remaining'] for ln in lots) - debt
        if usable < points and not allow_debt:
            raise InsufficientPoints(gettext(
                    'retail_points.msg_insufficient_points',
                    member=self.member.rec_name,
                    points=points, available=max(usable, 0)))
        allocations, _ = self._allocate(points, lots)
        return self._post(
            kind, -points, date, allocations=allocations, **values)

    def restore(self, consumed_line, points, date, **values):
        """Give back up to points consumed by consumed_line into the lots
        it used, latest expiry first; expired lots are not restored.
        Return the refund line or None"""
        pool = Pool()
        Allocation = pool.get('retail.points.allocation')
        Line = pool.get('retail.points.line')
        allocation = Allocation.__table__()
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        # Net points each lot gave to consumed_line and its restorations
        cursor.execute(*allocation.join(line,
                condition=allocation.line == line.id
                ).select(
                allocation.lot, Sum(allocation.points),
                where=(line.id == consumed_line.id)
                | ((line.reversed == consumed_line.id)
                    & (line.kind == 'refund')),
                group_by=[allocation.lot]))
        net = {lot_id: int(p) for lot_id, p in cursor if p > 0}
        lots = Line.browse(list(net))
        lots = [ln for ln in lots
            if not (ln.expiry_date and ln.expiry_date < date)]
        lots.sort(key=lambda ln: (
                ln.expiry_date is not None, ln.expiry_date or dt.date.max,
                ln.id), reverse=True)
        allocations = []
        for lot in lots:
            if points <= 0:
                break
            back = min(points, net[lot.id])
            allocations.append((lot.id, -back))
            points -= back
        total = -sum(p for _, p in allocations)
        if not total:
            return None
        line = self._post(
            'refund', total, date, allocations=allocations,
            reversed=consumed_line.id, **values)
        self._settle_debts(date)
        return line

    def reverse_earn(self, earn_line, share, date, **values):
        """Take back earned points so that, in total, the refunds of
        earn_line have taken back share (cumulative, 0..1) of it: a full
        refund takes back exactly what was earned, even in several steps"""
        pool = Pool()
        Line = pool.get('retail.points.line')
        previous = Line.search([
                ('reversed', '=', earn_line.id),
                ('kind', '=', 'refund'),
                ])
        # the share column has 10 decimals: a computed ratio has up to 28
        share = max(min(Decimal(share), Decimal(1)), ZERO).quantize(
            Decimal('1e-10'), rounding=ROUND_HALF_UP)
        done_share = sum((ln.share or ZERO) for ln in previous)
        done_points = -sum(ln.points for ln in previous)
        target = int((Decimal(earn_line.points) * share).quantize(
                Decimal(1), rounding=ROUND_HALF_UP))
        points = target - done_points
        if points <= 0:
            return None
        delta = share - done_share
        base = None
        if earn_line.base_amount is not None:
            base = -(earn_line.base_amount * delta).quantize(
                Decimal('0.01'), rounding=ROUND_HALF_UP)
        return self.debit(
            'refund', points, date, first_lots=[earn_line.id],
            allow_locked=True, allow_debt=True, reversed=earn_line.id,
            share=delta, base_amount=base, **values)

    def reverse_redeem(self, redeem_line, share, date, **values):
        """Give back consumed points so that, in total, the refunds of
        redeem_line have given back share (cumulative, 0..1) of it"""
        pool = Pool()
        Line = pool.get('retail.points.line')
        previous = Line.search([
                ('reversed', '=', redeem_line.id),
                ('kind', '=', 'refund'),
                ])
        # the share column has 10 decimals: a computed ratio has up to 28
        share = max(min(Decimal(share), Decimal(1)), ZERO).quantize(
            Decimal('1e-10'), rounding=ROUND_HALF_UP)
        done_share = sum((ln.share or ZERO) for ln in previous)
        done_points = sum(ln.points for ln in previous)
        target = int((Decimal(-redeem_line.points) * share).quantize(
                Decimal(1), rounding=ROUND_HALF_UP))
        points = target - done_points
        if points <= 0:
            return None
        return self.restore(
            redeem_line, points, date, share=share - done_share, **values)

    # Tiers

    @classmethod
    def tier_figures(cls, accounts, window_days, date):
        """Return {account id: (spend, points)} over the window, counting
        only unlocked earnings and every refund"""
        pool = Pool()
        Line = pool.get('retail.points.line')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        start = date - dt.timedelta(days=window_days or 0)
        result = {a.id: (ZERO, 0) for a in accounts}
        for sub_ids in grouped_slice([a.id for a in accounts], IN_MAX):
            cursor.execute(*line.select(
                    line.account,
                    Sum(Coalesce(line.base_amount, 0)),
                    Sum(line.points),
                    where=line.account.in_(list(sub_ids))
                    & (line.date > start) & (line.date <= date)
                    & (((line.kind == 'earn')
                            & ((line.lock_until == Null)
                                | (line.lock_until <= date)))
                        | ((line.kind == 'refund')
                            & (line.base_amount != Null))),
                    group_by=[line.account]))
            for account_id, spend, points in cursor:
                result[account_id] = (
                    Decimal(str(spend or 0)), int(points or 0))
        return result

    @classmethod
    def update_tiers(cls, accounts, date=None, downgrade=False, reason=None):
        "Move members to the tier their figures reach; return the changes"
        pool = Pool()
        Tier = pool.get('retail.member.tier')
        Party = pool.get('party.party')
        Date = pool.get('ir.date')
        Configuration = pool.get('retail.points.configuration')
        if date is None:
            date = Date.today()
        by_company = defaultdict(list)
        for account in accounts:
            by_company[account.company].append(account)
        changes = []
        for company, c_accounts in by_company.items():
            settings = Configuration.get_settings(company)
            c_downgrade = downgrade and settings.tier_downgrade
            tiers = Tier.company_tiers(company.id)
            if not tiers:
                continue
            facts = {t.id: t for t in tiers}
            figures = {}
            for window in {t.window_days or 0 for t in tiers}:
                figures[window] = cls.tier_figures(c_accounts, window, date)
            # the members' tiers and locks as stored, in one query (the ORM
            # read every eager field of each party)
            states = Party.tier_states([a.member.id for a in c_accounts])
            for account in c_accounts:
                member = account.member
                state = states.get(member.id)
                if not state or state.tier_locked:
                    continue
                current = Tier(state.tier) if state.tier is not None else None
                target = None
                for tier in tiers:  # best first
                    spend, points = figures[tier.window_days or 0][account.id]
                    thresholds = []
                    if tier.upgrade_spend:
                        thresholds.append(spend >= tier.upgrade_spend)
                    if tier.upgrade_points:
                        thresholds.append(points >= tier.upgrade_points)
                    # A tier without threshold is reached only by hand,
                    # except the entry tier (the lowest rank)
                    if any(thresholds) or (
                            not thresholds and tier == tiers[-1]):
                        target = tier
                        break
                if not target or (current and target.id == current.id):
                    continue
                # the member's tier, known to the cache when it is an
                # active tier of the company (else read)
                if current and current.id not in facts:
                    if current.company != company:
                        continue
                    current_rank = current.rank
                else:
                    current_rank = facts[current.id].rank if current else None
                if (current and target.rank < current_rank
                        and not c_downgrade):
                    continue
                changes.append((member, current, Tier(target.id)))
        if changes:
            by_target = defaultdict(list)
            for member, _, target in changes:
                by_target[target].append(member)
            kind = reason or ('review' if downgrade else 'upgrade')
            with without_check_access(), Transaction().set_context(
                    _retail_tier_reason=kind):
                for target, members in by_target.items():
                    Party.write(members, {'member_tier': target.id})
        return changes

    @classmethod
    def review_tiers(cls, date=None):
        "Cron: upgrade and, if configured, downgrade every member"
        pool = Pool()
        accounts = cls.search([])
        for sub in grouped_slice(accounts, 1000):
            cls.update_tiers(list(sub), date=date, downgrade=True)
        del pool

    # Receipt

    @classmethod
    def receipt(cls, company, member, origins, date=None, totals=True):
        """Return the points figures of a receipt for the documents origins:
        earned, spent, given back, taken back, and with totals the balance,
        available, debt, next expiry date and points (totals=False: the
        caller has the account's figures already, as the POS's summary)"""
        pool = Pool()
        Line = pool.get('retail.points.line')
        result = {
            'earned': 0, 'spent': 0, 'restored': 0, 'reversed': 0,
            'balance': 0, 'available': 0, 'debt': 0,
            'next_expiry_date': None, 'next_expiry_points': 0,
            }
        if not member:
            return result
        account = None
        if totals:
            account = cls.get_account(company, member, create=False)
            if not account:
                return result
        # the kind and points of the documents' lines, in one plain query
        # (the ORM's search read every field of every line)
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        for sub in grouped_slice([str(o) for o in origins], IN_MAX):
            cursor.execute(*line.select(line.kind, line.points,
                    where=line.origin.in_(list(sub))))
            for kind, points in cursor:
                if kind == 'earn':
                    result['earned'] += points
                elif kind == 'redeem':
                    result['spent'] -= points
                elif kind == 'refund':
                    if points > 0:
                        result['restored'] += points
                    else:
                        result['reversed'] -= points
        if totals:
            for name in ['balance', 'available', 'debt', 'next_expiry_date',
                    'next_expiry_points']:
                result[name] = getattr(account, name)
        return result


def _date(value):
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


class PointsLine(ModelSQL, ModelView):
    "Points ledger line (append-only)"
    __name__ = 'retail.points.line'

    account = fields.Many2One(
        'retail.points.account', "Account", required=True, readonly=True,
        ondelete='RESTRICT')
    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    member = fields.Many2One(
        'party.party', "Member", required=True, readonly=True,
        ondelete='RESTRICT')
    sequence = fields.Integer("Sequence", required=True, readonly=True)
    date = fields.Date("Date", required=True, readonly=True)
    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True)
    points = fields.Integer("Points", required=True, readonly=True)
    balance = fields.Integer(
        "Balance", required=True, readonly=True,
        help="The balance after this line.")
    origin = fields.Reference(
        "Origin", selection='get_origin', readonly=True)
    reversed = fields.Many2One(
        'retail.points.line', "Reversed Line", readonly=True,
        ondelete='RESTRICT',
        help="The earn or redeem line a refund reverses, "
        "or the lot an expiry closes.")
    operator = fields.Many2One('res.user', "Operator", readonly=True)
    reason = fields.Char("Reason", readonly=True)
    lot = fields.Boolean("Lot", readonly=True)
    lock_until = fields.Date("Locked Until", readonly=True)
    expiry_date = fields.Date("Expiry Date", readonly=True)
    base_amount = fields.Numeric(
        "Base Amount", digits=(16, 2), readonly=True,
        help="The amount the points were earned on (for the tier).")
    share = fields.Numeric(
        "Share", digits=(16, 10), readonly=True,
        help="The part of the reversed line this refund covers.")
    detail = fields.Dict(None, "Detail", readonly=True)
    remaining = fields.Function(
        fields.Integer("Remaining"), 'get_remaining')
    allocations = fields.One2Many(
        'retail.points.allocation', 'line', "Allocations", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('points_not_zero', Check(t, t.points != 0),
                'retail_points.msg_line_points_not_zero'),
            ('lot_positive',
                Check(t, (t.lot == Literal(False)) | (t.points > 0)),
                'retail_points.msg_line_lot_positive'),
            ('balance_positive',
                Check(t, (t.points >= 0) | (t.balance >= 0)
                    | (t.kind == 'refund')),
                'retail_points.msg_line_balance_positive'),
            ('sequence_unique', Unique(t, t.account, t.sequence),
                'retail_points.msg_line_sequence_unique'),
            ('origin_unique',
                Exclude(t, (t.origin, Equal),
                    where=t.kind.in_(['earn', 'redeem', 'gift'])
                    & (t.origin != Null)),
                'retail_points.msg_line_origin_unique'),
            ('refund_unique',
                Exclude(t, (t.origin, Equal), (t.reversed, Equal),
                    where=(t.kind == 'refund')),
                'retail_points.msg_line_refund_unique'),
            ('refund_unreferenced_unique',
                Exclude(t, (t.origin, Equal),
                    where=(t.kind == 'refund') & (t.reversed == Null)),
                'retail_points.msg_line_refund_unique'),
            ('expire_unique',
                Exclude(t, (t.reversed, Equal), (t.date, Equal),
                    where=(t.kind == 'expire')),
                'retail_points.msg_line_expire_unique'),
            ('expire_reversed',
                Check(t, (t.kind != 'expire') | (t.reversed != Null)),
                'retail_points.msg_line_expire_reversed'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.account, Index.Range()),
                    (t.sequence, Index.Range())),
                Index(t, (t.expiry_date, Index.Range()),
                    where=t.lot == Literal(True)),
                Index(t, (t.reversed, Index.Range())),
                Index(t, (t.origin, Index.Equality())),
                })
        cls._order = [('date', 'DESC'), ('sequence', 'DESC'), ('id', 'DESC')]

    @classmethod
    def __register__(cls, module_name):
        super().__register__(module_name)
        _immutable_trigger(cls._table)

    @classmethod
    def _get_origin(cls):
        return ['retail.points.line', 'sale.sale', 'sale.line',
            'retail.points.redemption']

    @classmethod
    def get_origin(cls):
        pool = Pool()
        Model = pool.get('ir.model')
        return [(None, '')] + [
            (m, Model.get_name(m)) for m in cls._get_origin()]

    def get_rec_name(self, name):
        return '%s %+d @ %s' % (
            self.member.rec_name, self.points, self.date)

    @classmethod
    def exists(cls, origins, kind=None):
        """Whether a line comes from one of origins (their str), of kind if
        given (retail_member.ledger.origin_exists)"""
        return origin_exists(cls, origins, kind)

    @classmethod
    def get_remaining(cls, lines, name):
        pool = Pool()
        Allocation = pool.get('retail.points.allocation')
        allocation = Allocation.__table__()
        cursor = Transaction().connection.cursor()
        result = {ln.id: (ln.points if ln.lot else 0) for ln in lines}
        lot_ids = [ln.id for ln in lines if ln.lot]
        for sub_ids in grouped_slice(lot_ids, IN_MAX):
            cursor.execute(*allocation.select(
                    allocation.lot, Sum(allocation.points),
                    where=allocation.lot.in_(list(sub_ids)),
                    group_by=[allocation.lot]))
            for lot_id, used in cursor:
                result[lot_id] -= int(used or 0)
        return result

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise LedgerAccessError(gettext(
                    'retail_points.msg_line_immutable'))

    # Expiry

    @classmethod
    def expire_points_cron(cls):
        cls.expire_points(commit=True)

    @classmethod
    def expire_points(cls, date=None, commit=False, accounts=None):
        """Expire the lots whose validity ended before date and record
        the warnings of lots expiring soon.  With commit, each batch of
        accounts is committed on its own so tills are not kept waiting"""
        pool = Pool()
        Account = pool.get('retail.points.account')
        Configuration = pool.get('retail.points.configuration')
        Date = pool.get('ir.date')
        Company = pool.get('company.company')
        transaction = Transaction()
        if date is None:
            date = Date.today()
        total = {'expired_lots': 0, 'expired_points': 0, 'warnings': 0}
        for company in Company.search([]):
            settings = Configuration.get_settings(company)
            start = date - dt.timedelta(days=settings.expiry_lookback or 31)
            account_ids = cls._accounts_to_expire(
                company, start, date, accounts=accounts)
            for sub_ids in grouped_slice(account_ids, 500):
                sub_ids = list(sub_ids)
                cls._lock_rows(Account, sub_ids)
                result = cls._expire(Account.browse(sub_ids), start, date)
                for key, value in result.items():
                    total[key] += value
                if commit:
                    transaction.commit()
            warn = date + dt.timedelta(days=settings.warning_days or 0)
            if settings.warning_days:
                total['warnings'] += cls._warn(company, date, warn, accounts)
                if commit:
                    transaction.commit()
        return total

    @classmethod
    def _lock_rows(cls, Model, ids):
        "Wait for the rows (the cron may wait; the tills do not)"
        transaction = Transaction()
        if backend.name == 'postgresql':
            table = Model.__table__()
            cursor = transaction.connection.cursor()
            for sub_ids in grouped_slice(ids, IN_MAX):
                cursor.execute(*table.select(
                        table.id, where=table.id.in_(list(sub_ids)),
                        for_=_for_update()))

    @classmethod
    def _accounts_to_expire(cls, company, start, date, accounts=None):
        line = cls.__table__()
        expired = cls.__table__()
        cursor = Transaction().connection.cursor()
        # Lots already expired are left out: restored points never go
        # back into an expired lot, so they stay at zero
        where = ((line.company == company.id) & (line.lot == Literal(True))
            & (line.expiry_date >= start) & (line.expiry_date < date)
            & ~line.id.in_(expired.select(
                    expired.reversed,
                    where=(expired.kind == 'expire')
                    & (expired.date >= start))))
        if accounts is not None:
            where &= line.account.in_([int(a) for a in accounts])
        cursor.execute(*line.select(
                line.account, where=where, group_by=[line.account],
                order_by=[line.account]))
        return [a for a, in cursor]

    @classmethod
    def _expire(cls, accounts, start, date):
        "Bulk expiry of the accounts' lots (the accounts are locked)"
        pool = Pool()
        Allocation = pool.get('retail.points.allocation')
        line = cls.__table__()
        allocation = Allocation.__table__()
        cursor = Transaction().connection.cursor()
        ids = [a.id for a in accounts]
        by_id = {a.id: a for a in accounts}
        remaining = line.points - Coalesce(Sum(allocation.points), 0)
        cursor.execute(*line.join(allocation, 'LEFT',
                condition=allocation.lot == line.id
                ).select(
                line.account, line.id, remaining,
                where=line.account.in_(list(ids))
                & (line.lot == Literal(True))
                & (line.expiry_date >= start) & (line.expiry_date < date),
                group_by=[line.account, line.id, line.points],
                having=remaining > 0,
                order_by=[line.account, line.id]))
        lots = defaultdict(list)
        for account_id, lot_id, rest in cursor:
            lots[account_id].append((lot_id, int(rest)))
        if not lots:
            return {'expired_lots': 0, 'expired_points': 0}
        # Current sequence and balance of each account in one query
        last = {}
        for sub_ids in grouped_slice(list(lots), IN_MAX):
            cursor.execute(*line.select(
                    line.account, Max(line.sequence), Sum(line.points),
                    where=line.account.in_(list(sub_ids)),
                    group_by=[line.account]))
            for account_id, sequence, balance in cursor:
                last[account_id] = [int(sequence), int(balance)]
        user = Transaction().user or None
        vlist, count, points = [], 0, 0
        for account_id, a_lots in lots.items():
            account = by_id[account_id]
            sequence, balance = last[account_id]
            for lot_id, rest in a_lots:
                sequence += 1
                balance -= rest
                vlist.append({
                        'account': account_id,
                        'company': account.company.id,
                        'member': account.member.id,
                        'sequence': sequence,
                        'date': date,
                        'kind': 'expire',
                        'points': -rest,
                        'balance': balance,
                        'origin': 'retail.points.line,%s' % lot_id,
                        'reversed': lot_id,
                        'operator': user,
                        })
                count += 1
                points += rest
        with without_check_access():
            for sub in grouped_slice(vlist, 1000):
                sub = list(sub)
                lines = cls.create(sub)
                Allocation.create([{
                            'lot': v['reversed'],
                            'line': ln.id,
                            'points': -v['points'],
                            } for v, ln in zip(sub, lines)])
        del allocation
        return {'expired_lots': count, 'expired_points': points}

    @classmethod
    def _warn(cls, company, date, until, accounts=None):
        "Record a warning for the lots expiring from date to until"
        pool = Pool()
        Allocation = pool.get('retail.points.allocation')
        Warning_ = pool.get('retail.points.expiry.warning')
        line = cls.__table__()
        allocation = Allocation.__table__()
        warning = Warning_.__table__()
        cursor = Transaction().connection.cursor()
        remaining = line.points - Coalesce(Sum(allocation.points), 0)
        where = ((line.company == company.id) & (line.lot == Literal(True))
            & (line.expiry_date >= date) & (line.expiry_date <= until)
            & ~line.id.in_(warning.select(
                    warning.lot,
                    where=(warning.expiry_date >= date))))
        if accounts is not None:
            where &= line.account.in_([int(a) for a in accounts])
        cursor.execute(*line.join(allocation, 'LEFT',
                condition=allocation.lot == line.id
                ).select(
                line.id, line.account, line.member, line.expiry_date,
                remaining,
                where=where,
                group_by=[line.id, line.account, line.member,
                    line.expiry_date, line.points],
                having=remaining > 0))
        vlist = [{
                'company': company.id,
                'lot': lot_id,
                'account': account_id,
                'member': member_id,
                'expiry_date': _date(expiry),
                'points': int(rest),
                'date': date,
                } for lot_id, account_id, member_id, expiry, rest in cursor]
        with without_check_access():
            for sub in grouped_slice(vlist, 1000):
                Warning_.create(list(sub))
        return len(vlist)


def _for_update():
    from sql import For
    return For('UPDATE')


def _immutable_trigger(table):
    "Make the database refuse UPDATE and DELETE on a ledger table"
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    name = '%s_immutable' % table
    if backend.name == 'postgresql':
        cursor.execute(
            'CREATE OR REPLACE FUNCTION "%s"() RETURNS trigger AS $$ '
            'BEGIN RAISE EXCEPTION \'%s is append-only\' '
            'USING ERRCODE = \'integrity_constraint_violation\'; '
            'END; $$ LANGUAGE plpgsql' % (name, table))
        cursor.execute('DROP TRIGGER IF EXISTS "%s" ON "%s"' % (name, table))
        cursor.execute(
            'CREATE TRIGGER "%s" BEFORE UPDATE OR DELETE ON "%s" '
            'FOR EACH ROW EXECUTE FUNCTION "%s"()' % (name, table, name))
    elif backend.name == 'sqlite':
        for event in ['UPDATE', 'DELETE']:
            cursor.execute(
                'CREATE TRIGGER IF NOT EXISTS "%s_%s" BEFORE %s ON "%s" '
                'BEGIN SELECT RAISE(ABORT, \'%s is append-only\'); END'
                % (name, event.lower(), event, table, table))


class PointsAllocation(ModelSQL, ModelView):
    "Points taken from a lot (or given back to it when negative)"
    __name__ = 'retail.points.allocation'

    lot = fields.Many2One(
        'retail.points.line', "Lot", required=True, readonly=True,
        ondelete='RESTRICT')
    line = fields.Many2One(
        'retail.points.line', "Line", required=True, readonly=True,
        ondelete='RESTRICT')
    points = fields.Integer("Points", required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('points_not_zero', Check(t, t.points != 0),
                'retail_points.msg_line_points_not_zero'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.lot, Index.Range())),
                Index(t, (t.line, Index.Range())),
                })

    @classmethod
    def __register__(cls, module_name):
        super().__register__(module_name)
        _immutable_trigger(cls._table)

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise LedgerAccessError(gettext(
                    'retail_points.msg_line_immutable'))


class ExpiryWarning(ModelSQL, ModelView):
    "An event: points of a lot will expire soon (for notifications)"
    __name__ = 'retail.points.expiry.warning'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    account = fields.Many2One(
        'retail.points.account', "Account", required=True, readonly=True,
        ondelete='CASCADE')
    member = fields.Many2One(
        'party.party', "Member", required=True, readonly=True,
        ondelete='CASCADE')
    lot = fields.Many2One(
        'retail.points.line', "Lot", required=True, readonly=True,
        ondelete='CASCADE')
    expiry_date = fields.Date("Expiry Date", required=True, readonly=True)
    points = fields.Integer("Points", required=True, readonly=True)
    date = fields.Date("Date", required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('lot_unique', Unique(t, t.lot, t.expiry_date),
                'retail_points.msg_warning_unique'),
            ]
        cls._order = [('expiry_date', 'ASC'), ('id', 'ASC')]


class TierHistory(ModelSQL, ModelView):
    "Member tier change"
    __name__ = 'retail.member.tier.history'

    member = fields.Many2One(
        'party.party', "Member", required=True, readonly=True,
        ondelete='CASCADE')
    from_tier = fields.Many2One(
        'retail.member.tier', "From", readonly=True, ondelete='RESTRICT')
    to_tier = fields.Many2One(
        'retail.member.tier', "To", readonly=True, ondelete='RESTRICT')
    date = fields.Date("Date", required=True, readonly=True)
    kind = fields.Selection([
            ('upgrade', "Upgrade"),
            ('downgrade', "Downgrade"),
            ('manual', "Manual"),
            ], "Kind", required=True, readonly=True)
    reason = fields.Char("Reason", readonly=True)
    operator = fields.Many2One('res.user', "Operator", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise LedgerAccessError(gettext(
                    'retail_points.msg_tier_history_immutable'))


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    points_accounts = fields.One2Many(
        'retail.points.account', 'member', "Points Accounts", readonly=True)
    points_balance = fields.Function(
        fields.Integer("Points Balance"), 'get_points')
    points_available = fields.Function(
        fields.Integer("Available Points"), 'get_points')
    tier_history = fields.One2Many(
        'retail.member.tier.history', 'member', "Tier History",
        readonly=True)

    @classmethod
    def get_points(cls, parties, names):
        pool = Pool()
        Account = pool.get('retail.points.account')
        company = Transaction().context.get('company')
        result = {n: {p.id: 0 for p in parties} for n in names}
        if not company:
            return result
        accounts = Account.search([
                ('company', '=', company),
                ('member', 'in', [p.id for p in parties]),
                ])
        fnames = {
            'points_balance': 'balance',
            'points_available': 'available',
            }
        values = Account.get_amounts(
            accounts, [fnames[n] for n in names])
        for account in accounts:
            for name in names:
                result[name][account.member.id] = (
                    values[fnames[name]][account.id])
        return result

    @classmethod
    def write(cls, *args):
        pool = Pool()
        History = pool.get('retail.member.tier.history')
        Date = pool.get('ir.date')
        context = Transaction().context
        actions = iter(args)
        before = {}
        for parties, values in zip(actions, actions):
            if 'member_tier' in values:
                for party in parties:
                    before[party.id] = party.member_tier
        super().write(*args)
        if not before:
            return
        reason = context.get('_retail_tier_reason')
        history = []
        for party in cls.browse(list(before)):
            old, new = before[party.id], party.member_tier
            if old == new:
                continue
            if reason in {'upgrade', 'review'} and new and old:
                kind = 'upgrade' if new.rank > old.rank else 'downgrade'
            elif reason in {'upgrade', 'review'}:
                kind = 'upgrade' if new else 'downgrade'
            else:
                kind = 'manual'
            history.append(History(
                    member=party, from_tier=old, to_tier=new,
                    date=Date.today(), kind=kind,
                    reason=context.get('retail_tier_note')
                    or (gettext('retail_points.msg_tier_reason_%s' % kind)),
                    operator=Transaction().user or None))
        if history:
            with without_check_access():
                History.save(history)


class Gift(DeactivableMixin, ModelSQL, ModelView):
    "Gift catalogue item: a product members get for points"
    __name__ = 'retail.points.gift'

    company = fields.Many2One('company.company', "Company", required=True)
    product = fields.Many2One(
        'product.product', "Product", required=True,
        domain=[('type', 'in', ['goods', 'assets', 'service'])],
        context={'company': Eval('company', -1)},
        depends={'company'})
    points = fields.Integer(
        "Points", required=True, domain=[('points', '>', 0)])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('points_positive', Check(t, t.points > 0),
                'retail_points.msg_gift_points_positive'),
            ]

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    def get_rec_name(self, name):
        return '%s (%s)' % (self.product.rec_name, self.points)

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('product.rec_name',) + tuple(clause[1:])]


class AdjustStart(ModelView):
    __name__ = 'retail.points.adjust.start'

    company = fields.Many2One('company.company', "Company", required=True)
    member = fields.Many2One(
        'party.party', "Member", required=True,
        domain=[('is_member', '=', True)])
    points = fields.Integer(
        "Points", required=True,
        help="Positive to add points, negative to remove them.")
    reason = fields.Char("Reason", required=True)
    expiry_date = fields.Date(
        "Expiry Date",
        states={'invisible': Eval('points', 0) <= 0},
        help="Leave empty to apply the company expiry rule.")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')


class Adjust(Wizard):
    "Manual points adjustment (managers only, audited)"
    __name__ = 'retail.points.adjust'
    start = StateView('retail.points.adjust.start',
        'retail_points.adjust_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Adjust", 'adjust', 'tryton-ok', default=True),
            ])
    adjust = StateTransition()

    def default_start(self, fields):
        defaults = {}
        if self.model and self.model.__name__ == 'party.party' and self.record:
            defaults['member'] = self.record.id
        elif (self.model and self.model.__name__ == 'retail.points.account'
                and self.record):
            defaults['member'] = self.record.member.id
            defaults['company'] = self.record.company.id
        return defaults

    def transition_adjust(self):
        pool = Pool()
        Account = pool.get('retail.points.account')
        account = Account.get_account(self.start.company, self.start.member)
        Account.adjust(
            account, self.start.points, self.start.reason,
            expiry_date=self.start.expiry_date)
        return 'end'


def adjust(cls, account, points, reason, expiry_date=None, date=None):
    "Manual adjustment of account by points with a reason"
    pool = Pool()
    Date = pool.get('ir.date')
    Configuration = pool.get('retail.points.configuration')
    reason = (reason or '').strip()
    if not reason:
        raise PointsError(gettext('retail_points.msg_adjust_reason'))
    if not points:
        raise PointsError(gettext('retail_points.msg_adjust_points'))
    cls.lock([account])
    if date is None:
        with Transaction().set_context(company=account.company.id):
            date = Date.today()
    if points > 0:
        settings = Configuration.get_settings(account.company)
        return account.credit(
            'adjust', points, date,
            expiry_date=expiry_date or settings.expiry_date(date),
            reason=reason)
    return account.debit('adjust', -points, date, reason=reason)


PointsAccount.adjust = classmethod(adjust)


def give(cls, company, member, points, origin, reason=None, date=None,
        lock=True):
    """Give points (kind gift), e.g. from a top-up plan; idempotent by origin.
    Return the line."""
    pool = Pool()
    Date = pool.get('ir.date')
    Line = pool.get('retail.points.line')
    Configuration = pool.get('retail.points.configuration')
    if points <= 0:
        raise PointsValidationError(
            gettext('retail_points.msg_adjust_points'))
    account = cls.get_account(company, member)
    cls.lock([account])
    existing = Line.search([
            ('origin', '=', str(origin)), ('kind', '=', 'gift')], limit=1)
    if existing:
        return existing[0]
    if date is None:
        with Transaction().set_context(company=int(company)):
            date = Date.today()
    settings = Configuration.get_settings(company)
    return account.credit(
        'gift', points, date, expiry_date=settings.expiry_date(date),
        origin=str(origin), reason=reason)


PointsAccount.give = classmethod(give)


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('retail.points.line|expire_points_cron',
                    "Expire Points"),
                ('retail.points.account|review_tiers',
                    "Review Member Tiers"),
                ])
