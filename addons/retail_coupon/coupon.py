# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Member coupons on top of Tryton's coupon numbers.

A template is a ``sale.promotion.coupon`` (of a ``sale.promotion`` which says
what the coupon does).  Issuing a coupon to a member creates one
``sale.promotion.coupon.number`` (the code, valid from / until) and one
``retail.coupon`` (member, state, origin).  Using it writes a
``retail.coupon.use`` row; the database refuses a second *used* row for one
coupon (partial unique index), so a coupon is used once whatever the code
path.  A refund turns the use *returned* and the coupon *available* again.
"""
import datetime as dt
import secrets
from decimal import Decimal

from sql import Literal, Null
from sql.aggregate import Max
from sql.functions import Extract
from sql.operators import Equal

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin,
    Exclude,
    Index,
    ModelSingleton,
    ModelSQL,
    ModelView,
    Unique,
    fields,
)
from trytond.modules.currency.fields import Monetary
from trytond.modules.retail_member.ledger import lock_in_place
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.rpc import RPC
from trytond.transaction import Transaction, without_check_access

from .exceptions import CouponAccessError, CouponError
from .sale import forget_priced

CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'
CODE_LENGTH = 10
QR_PREFIX = 'HYC:'


def normalize_code(code):
    code = ''.join((code or '').split()).upper()
    if code.startswith(QR_PREFIX):
        code = code[len(QR_PREFIX):]
    return code


def new_code():
    return ''.join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class Configuration(ModelSingleton, ModelSQL, ModelView):
    __name__ = 'retail.coupon.configuration'
    refund_coupons = fields.Selection([
            ('never', "Never"),
            ('full', "On a Full Refund"),
            ('any', "On Any Refund"),
            ], "Return Used Coupons", required=True,
        help="When a refund gives back the coupons the sale used "
        "(only those still valid).")

    @classmethod
    def default_refund_coupons(cls):
        return 'full'


class Coupon(ModelSQL, ModelView):
    __name__ = 'retail.coupon'
    _rec_name = 'code'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    member = fields.Many2One(
        'party.party', "Member", required=True, readonly=True,
        ondelete='RESTRICT',
        domain=[
            ('is_member', '=', True),
            ('member_company', '=', Eval('company', -1)),
            ],
        context={'company': Eval('company', -1)}, depends={'company'})
    template = fields.Many2One(
        'sale.promotion.coupon', "Template", required=True, readonly=True,
        ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))])
    number = fields.Many2One(
        'sale.promotion.coupon.number', "Coupon Number", required=True,
        readonly=True, ondelete='RESTRICT')
    code = fields.Char("Coupon Code", required=True, readonly=True, strip=False)
    qr_payload = fields.Function(fields.Char("QR Payload"), 'get_qr_payload')
    name = fields.Function(fields.Char("Name"), 'get_name')
    description = fields.Function(
        fields.Char("Description"), 'get_description')
    state = fields.Selection([
            ('available', "Available"),
            ('used', "Used"),
            ('revoked', "Revoked"),
            ], "State", readonly=True, required=True, sort=False)
    valid_from = fields.Date("Valid From", readonly=True)
    valid_until = fields.Date("Valid Until", readonly=True)
    expired = fields.Function(
        fields.Boolean("Expired"), 'get_expired', searcher='search_expired')
    campaign = fields.Many2One(
        'retail.coupon.campaign', "Campaign", readonly=True,
        ondelete='RESTRICT')
    origin = fields.Reference(
        "Issued By", selection='get_origin', readonly=True)
    issue_key = fields.Char(
        "Issue Key", readonly=True, strip=False,
        help="Unique per company: the same issue never creates twice.")
    issued_by = fields.Many2One('res.user', "Issued By User", readonly=True)
    used_sale = fields.Many2One(
        'sale.point.sale', "Used by Sale", readonly=True,
        ondelete='RESTRICT')
    uses = fields.One2Many(
        'retail.coupon.use', 'coupon', "Uses", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.company, t.code),
                'retail_coupon.msg_coupon_code_unique'),
            ('number_unique', Unique(t, t.number),
                'retail_coupon.msg_coupon_number_unique'),
            ('issue_key_unique', Unique(t, t.company, t.issue_key),
                'retail_coupon.msg_coupon_issue_key_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.member, Index.Range()),
                    (t.state, Index.Equality(cardinality='low'))),
                Index(t, (t.origin, Index.Equality())),
                })
        cls._order = [('valid_until', 'ASC NULLS LAST'), ('id', 'ASC')]
        cls.__rpc__.update({
                'member_summary': RPC(readonly=True),
                'find_codes': RPC(readonly=True),
                })

    @classmethod
    def default_state(cls):
        return 'available'

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def get_origin(cls):
        pool = Pool()
        IrModel = pool.get('ir.model')
        models = ['sale.point.sale', 'retail.coupon.campaign', 'party.party']
        return [(None, '')] + [
            (m, IrModel.get_name(m)) for m in models]

    def get_qr_payload(self, name):
        return QR_PREFIX + self.code

    def get_name(self, name):
        return self.template.rec_name

    def get_description(self, name):
        return self.template.promotion.retail_description or ''

    @classmethod
    def _today(cls, company=None):
        Date = Pool().get('ir.date')
        company = company or Transaction().context.get('company')
        with Transaction().set_context(
                company=int(company) if company else None):
            return Date.today()

    def get_expired(self, name):
        return bool(self.valid_until
            and self.valid_until < self._today(self.company))

    @classmethod
    def search_expired(cls, name, clause):
        _, operator, value = clause
        today = cls._today()
        expired = operator == '=' and value or operator == '!=' and not value
        if expired:
            return [('valid_until', '<', today)]
        return ['OR',
            ('valid_until', '=', None),
            ('valid_until', '>=', today),
            ]

    @classmethod
    def check_modification(cls, mode, coupons, values=None, external=False):
        super().check_modification(
            mode, coupons, values=values, external=external)
        if mode == 'delete':
            raise CouponAccessError(gettext(
                    'retail_coupon.msg_coupon_delete'))

    # Issuing

    @classmethod
    def issue(cls, template, members, origin=None, campaign=None,
            key=None, date=None, quantity=1):
        """Issue quantity coupons of template to each member.

        key (optional) makes the issue idempotent: the coupons of a key
        already issued are returned, nothing is created twice.  Members who
        reached the template's per-member limit are skipped.  Returns the
        coupons issued (or found by key)."""
        pool = Pool()
        Number = pool.get('sale.promotion.coupon.number')
        User = pool.get('res.user')
        company = template.company
        promotion = template.promotion
        if not date:
            date = cls._today(company)
        valid_from = max(date, promotion.start_date or date)
        if template.retail_valid_days:
            valid_until = date + dt.timedelta(
                days=template.retail_valid_days - 1)
            if promotion.end_date:
                valid_until = min(valid_until, promotion.end_date)
        else:
            valid_until = promotion.end_date
        if valid_until and valid_until < valid_from:
            raise CouponError(gettext(
                    'retail_coupon.msg_template_expired',
                    template=template.rec_name))
        result, to_issue = [], []
        with without_check_access():
            members = [m for m in members
                if m.is_member and m.member_company == company]
            keys = {}
            for member in members:
                for i in range(quantity):
                    if key:
                        keys[f'{key}:{member.id}:{i}'] = member
            existing = {}
            if keys:
                for coupon in cls.search([
                            ('company', '=', company.id),
                            ('issue_key', 'in', list(keys)),
                            ]):
                    existing[coupon.issue_key] = coupon
            limit = template.retail_per_member_limit
            counts = {}
            if limit:
                for member in members:
                    counts[member] = cls.search_count([
                            ('template', '=', template.id),
                            ('member', '=', member.id),
                            ('state', '!=', 'revoked'),
                            ])
            for member in members:
                for i in range(quantity):
                    issue_key = f'{key}:{member.id}:{i}' if key else None
                    if issue_key in existing:
                        result.append(existing[issue_key])
                        continue
                    if limit and counts[member] >= limit:
                        continue
                    counts[member] = counts.get(member, 0) + 1
                    to_issue.append((member, issue_key))
            if not to_issue:
                return result
            numbers = []
            for _ in to_issue:
                numbers.append(Number(
                        number=new_code(), coupon=template, company=company,
                        start_date=valid_from, end_date=valid_until))
            Number.save(numbers)
            user = Transaction().user
            coupons = [cls(
                    company=company, member=member, template=template,
                    number=number, code=number.number, state='available',
                    valid_from=valid_from, valid_until=valid_until,
                    campaign=campaign, origin=origin, issue_key=issue_key,
                    issued_by=User(user) if user else None)
                for (member, issue_key), number in zip(to_issue, numbers)]
            cls.save(coupons)
        return result + coupons

    # Redemption

    @classmethod
    def find_codes(cls, codes, member, company, date=None):
        """Return the coupon ids of codes for member of company (on date,
        default today), raising a translated CouponError for the first
        unusable one"""
        pool = Pool()
        Party = pool.get('party.party')
        Company = pool.get('company.company')
        member = Party(int(member)) if member is not None else None
        company = Company(int(company))
        normalized = [normalize_code(c) for c in codes if (c or '').strip()]
        if len(set(normalized)) != len(normalized):
            raise CouponError(gettext('retail_coupon.msg_coupon_duplicate'))
        with without_check_access():
            found = {c.code: c for c in cls.search([
                        ('company', '=', company.id),
                        ('code', 'in', normalized),
                        ])} if normalized else {}
            result = []
            for code in normalized:
                coupon = found.get(code)
                if not coupon:
                    raise CouponError(gettext(
                            'retail_coupon.msg_coupon_unknown', code=code))
                coupon.check_usable(member, date=date)
                result.append(coupon.id)
        return result

    def check_usable(self, member, sale=None, date=None):
        "Raise a translated CouponError unless member may use the coupon"
        pool = Pool()
        Lang = pool.get('ir.lang')
        lang = Lang.get()
        if not member:
            raise CouponError(gettext(
                    'retail_coupon.msg_coupon_no_member', code=self.code))
        if self.member != member:
            raise CouponError(gettext(
                    'retail_coupon.msg_coupon_other_member', code=self.code))
        if self.state == 'revoked':
            raise CouponError(gettext(
                    'retail_coupon.msg_coupon_revoked', code=self.code))
        if self.state == 'used' and (not sale or self.used_sale != sale):
            raise CouponError(gettext(
                    'retail_coupon.msg_coupon_used', code=self.code,
                    sale=self.used_sale.rec_name if self.used_sale else ''))
        today = date or (sale.date if sale and sale.date
            else self._today(self.company))
        if self.valid_from and today < self.valid_from:
            raise CouponError(gettext(
                    'retail_coupon.msg_coupon_not_yet_valid', code=self.code,
                    date=lang.strftime(self.valid_from)))
        if self.valid_until and today > self.valid_until:
            raise CouponError(gettext(
                    'retail_coupon.msg_coupon_expired', code=self.code,
                    date=lang.strftime(self.valid_until)))

    @classmethod
    def lock(cls, records=None):
        """Lock the coupon rows where they are used, waiting for the holder
        (retail_member.ledger.lock_in_place): Tryton's lock inside a running
        transaction can only start the whole sale again with the rows
        locked first, so every checkout with a coupon ran twice."""
        lock_in_place(cls, records, super().lock)

    @classmethod
    def use(cls, coupons, sale):
        """Mark coupons used by sale: lock, re-check, write the use rows.
        Coupons already used by the sale (reopened) are left as they are."""
        pool = Pool()
        Use = pool.get('retail.coupon.use')
        if not coupons:
            return
        with without_check_access():
            coupons = cls.browse(sorted({c.id for c in coupons}))
            cls.lock(coupons)
            coupons = cls.browse([c.id for c in coupons])  # fresh
            to_use = []
            for coupon in coupons:
                coupon.check_usable(sale.member, sale=sale)
                if coupon.state == 'used' and coupon.used_sale == sale:
                    continue
                to_use.append(coupon)
            if not to_use:
                return
            Use.save([Use(coupon=c, sale=sale, state='used')
                    for c in to_use])
            cls.write(to_use, {'state': 'used', 'used_sale': sale.id})

    @classmethod
    def give_back(cls, coupons, refund):
        "Return used coupons (still valid) to their member"
        pool = Pool()
        Use = pool.get('retail.coupon.use')
        with without_check_access():
            coupons = cls.browse(sorted({c.id for c in coupons}))
            if not coupons:
                return []
            cls.lock(coupons)
            coupons = cls.browse([c.id for c in coupons])
            returned = []
            for coupon in coupons:
                if coupon.state != 'used':
                    continue
                if coupon.valid_until and refund.date > coupon.valid_until:
                    continue
                uses = Use.search([
                        ('coupon', '=', coupon.id),
                        ('state', '=', 'used'),
                        ])
                Use.write(uses, {'state': 'returned', 'return_sale': refund})
                returned.append(coupon)
            if returned:
                cls.write(returned, {'state': 'available', 'used_sale': None})
        return returned

    @classmethod
    def revoke(cls, coupons):
        "Revoke the available coupons, return those revoked"
        with without_check_access():
            coupons = cls.browse(sorted({c.id for c in coupons}))
            if not coupons:
                return []
            cls.lock(coupons)
            coupons = [c for c in cls.browse([c.id for c in coupons])
                if c.state == 'available']
            if coupons:
                cls.write(coupons, {'state': 'revoked'})
        return coupons

    @classmethod
    def member_summary(cls, member):
        "The available coupons of the member, valid today"
        pool = Pool()
        Party = pool.get('party.party')
        member = Party(int(member))
        with without_check_access():
            today = cls._today(member.member_company)
            coupons = cls.search([
                    ('member', '=', member.id),
                    ('state', '=', 'available'),
                    ['OR',
                        ('valid_from', '=', None),
                        ('valid_from', '<=', today)],
                    ['OR',
                        ('valid_until', '=', None),
                        ('valid_until', '>=', today)],
                    ])
            return [{
                    'id': c.id,
                    'code': c.code,
                    'name': c.name,
                    'valid_until': (c.valid_until.isoformat()
                        if c.valid_until else None),
                    'description': c.description,
                    } for c in coupons]


class CouponUse(ModelSQL, ModelView):
    "One use of a coupon; at most one row per coupon is *used*"
    __name__ = 'retail.coupon.use'
    coupon = fields.Many2One(
        'retail.coupon', "Coupon", required=True, readonly=True,
        ondelete='RESTRICT')
    sale = fields.Many2One(
        'sale.point.sale', "Sale", required=True, readonly=True,
        ondelete='RESTRICT')
    state = fields.Selection([
            ('used', "Used"),
            ('returned', "Returned"),
            ], "State", required=True, readonly=True)
    return_sale = fields.Many2One(
        'sale.point.sale', "Refund", readonly=True, ondelete='RESTRICT')
    used_coupon = fields.Many2One(
        'retail.coupon', "Used Coupon", readonly=True, ondelete='RESTRICT',
        help="The coupon while the use is not returned (else empty): "
        "unique, so the database refuses a second use.")
    company = fields.Function(fields.Many2One(
            'company.company', "Company"), 'get_company',
        searcher='search_company')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls.__access__.add('coupon')
        cls._sql_constraints += [
            # One use only, enforced by the database: a plain unique index
            # on both backends (NULLs, the returned uses, never collide)
            ('used_coupon_unique', Unique(t, t.used_coupon),
                'retail_coupon.msg_coupon_used_once'),
            # and the same rule as a partial index (native on PostgreSQL)
            ('coupon_used_once',
                Exclude(t, (t.coupon, Equal), where=t.state == 'used'),
                'retail_coupon.msg_coupon_used_once'),
            ]

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create':
            values['used_coupon'] = (values.get('coupon')
                if values.get('state', 'used') == 'used' else None)
        elif values.get('state') == 'returned':
            values['used_coupon'] = None
        return values

    @classmethod
    def default_state(cls):
        return 'used'

    def get_company(self, name):
        return self.coupon.company

    @classmethod
    def search_company(cls, name, clause):
        return [('coupon.company',) + tuple(clause[1:])]

    @classmethod
    def check_modification(cls, mode, uses, values=None, external=False):
        super().check_modification(
            mode, uses, values=values, external=external)
        if mode == 'delete':
            raise CouponAccessError(gettext(
                    'retail_coupon.msg_use_immutable'))
        if mode == 'write':
            if (set(values) - {'state', 'return_sale', 'used_coupon'}
                    or values.get('used_coupon')
                    or values.get('state', 'returned') != 'returned'
                    or any(u.state != 'used' for u in uses)):
                raise CouponAccessError(gettext(
                        'retail_coupon.msg_use_immutable'))


class Campaign(DeactivableMixin, ModelSQL, ModelView):
    "Issuing campaign: who receives coupons of a template, and when"
    __name__ = 'retail.coupon.campaign'
    name = fields.Char("Name", required=True, translate=True)
    company = fields.Many2One('company.company', "Company", required=True)
    kind = fields.Selection([
            ('new_member', "New Member"),
            ('birthday', "Birthday"),
            ('spend', "Spend Threshold"),
            ('batch', "Batch"),
            ], "Kind", required=True,
        help="New Member: when a member is created.\n"
        "Birthday: every year on the member's birthday (daily task).\n"
        "Spend Threshold: with the receipt of a POS sale reaching the "
        "threshold.\n"
        "Batch: by hand, to a segment of members.")
    template = fields.Many2One(
        'sale.promotion.coupon', "Coupon Template", required=True,
        ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))])
    quantity = fields.Integer(
        "Coupons per Member", required=True,
        domain=[('quantity', '>', 0)])
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')
    threshold = Monetary(
        "Threshold", currency='currency', digits='currency',
        states={
            'invisible': Eval('kind') != 'spend',
            'required': Eval('kind') == 'spend',
            },
        domain=[If(Eval('kind') == 'spend',
                ('threshold', '>', 0), ())],
        help="The total of the sale that earns the coupons.")
    tiers = fields.Many2Many(
        'retail.coupon.campaign-retail.member.tier', 'campaign', 'tier',
        "Tiers", domain=[('company', '=', Eval('company', -1))],
        states={'invisible': Eval('kind') != 'batch'},
        help="Members of these tiers (none: any tier).")
    tags = fields.Many2Many(
        'retail.coupon.campaign-party.category', 'campaign', 'category',
        "Tags", states={'invisible': Eval('kind') != 'batch'},
        help="Members with one of these tags (none: any).")
    absent_days = fields.Integer(
        "Not Visited For (Days)",
        states={'invisible': Eval('kind') != 'batch'},
        help="Members whose last POS sale is at least this many days old "
        "(or who never bought).")
    visited_days = fields.Integer(
        "Visited Within (Days)",
        states={'invisible': Eval('kind') != 'batch'},
        help="Members with a POS sale within this many days.")
    last_run = fields.DateTime("Last Run", readonly=True)
    last_count = fields.Integer("Coupons Issued Last Run", readonly=True)
    coupons = fields.One2Many(
        'retail.coupon', 'campaign', "Coupons", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'issue_batch': {
                    'invisible': Eval('kind') != 'batch',
                    'depends': ['kind'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_quantity(cls):
        return 1

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    @classmethod
    def _issue(cls, campaign, members, key, origin=None, date=None):
        pool = Pool()
        Coupon = pool.get('retail.coupon')
        return Coupon.issue(
            campaign.template, members, origin=origin or campaign,
            campaign=campaign, key=key, date=date,
            quantity=campaign.quantity)

    def segment_members(self):
        "The members of the batch segment"
        pool = Pool()
        Party = pool.get('party.party')
        Sale = pool.get('sale.point.sale')
        cursor = Transaction().connection.cursor()
        domain = [
            ('is_member', '=', True),
            ('member_company', '=', self.company.id),
            ]
        if self.tiers:
            domain.append(('member_tier', 'in', [t.id for t in self.tiers]))
        if self.tags:
            domain.append(('categories', 'in', [t.id for t in self.tags]))
        with without_check_access():
            members = Party.search(domain, order=[('id', 'ASC')])
        if self.absent_days is None and self.visited_days is None:
            return members
        today = Pool().get('retail.coupon')._today(self.company)
        sale = Sale.__table__()
        cursor.execute(*sale.select(
                sale.member, Max(sale.date),
                where=(sale.member != Null)
                & (sale.company == self.company.id)
                & sale.state.in_(['done', 'posted']),
                group_by=[sale.member]))
        last = {m: d for m, d in cursor}
        result = []
        for member in members:
            date = last.get(member.id)
            if isinstance(date, str):
                date = dt.date.fromisoformat(date)
            if self.absent_days is not None and date and (
                    date > today - dt.timedelta(days=self.absent_days)):
                continue
            if self.visited_days is not None and (not date or (
                        date < today - dt.timedelta(days=self.visited_days))):
                continue
            result.append(member)
        return result

    @classmethod
    @ModelView.button
    def issue_batch(cls, campaigns):
        "Issue the coupons of batch campaigns to their segment"
        now = dt.datetime.now()
        for campaign in campaigns:
            if campaign.kind != 'batch':
                continue
            members = campaign.segment_members()
            key = f'batch:{campaign.id}:{now.isoformat()}'
            coupons = cls._issue(campaign, members, key)
            campaign.last_run = now
            campaign.last_count = len(coupons)
        cls.save(campaigns)

    @classmethod
    def issue_new_members(cls, members):
        "Issue the coupons of new-member campaigns"
        by_company = {}
        for member in members:
            if member.is_member and member.member_company:
                by_company.setdefault(member.member_company, []).append(member)
        if not by_company:
            return []
        coupons = []
        with without_check_access():
            for company, c_members in by_company.items():
                campaigns = cls.search([
                        ('company', '=', company.id),
                        ('kind', '=', 'new_member'),
                        ])
                for campaign in campaigns:
                    coupons += cls._issue(
                        campaign, c_members, f'new_member:{campaign.id}')
        return coupons

    @classmethod
    def issue_birthdays(cls, date=None):
        "Issue the coupons of birthday campaigns to today's birthdays (cron)"
        pool = Pool()
        Party = pool.get('party.party')
        Coupon = pool.get('retail.coupon')
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        coupons = []
        with without_check_access():
            campaigns = cls.search([('kind', '=', 'birthday')])
            for campaign in campaigns:
                today = date or Coupon._today(campaign.company)
                days = [(today.month, today.day)]
                # born on 29 February: the 28th in other years
                if today.month == 2 and today.day == 28:
                    try:
                        dt.date(today.year, 2, 29)
                    except ValueError:
                        days.append((2, 29))
                where = Literal(False)
                for month, day in days:
                    where |= ((Extract('MONTH', party.birth_date) == month)
                        & (Extract('DAY', party.birth_date) == day))
                cursor.execute(*party.select(party.id,
                        where=(party.is_member == True)  # noqa: E712
                        & (party.member_company == campaign.company.id)
                        & (party.active == True)  # noqa: E712
                        & where))
                members = Party.browse([r for r, in cursor])
                coupons += cls._issue(
                    campaign, members,
                    f'birthday:{campaign.id}:{today.year}', date=today)
        return coupons

    def issue_for_sale(self, sale):
        "Issue the coupons of a spend campaign reached by sale"
        total = sum((ln.gross_amount for ln in sale.lines), Decimal(0))
        if (self.kind != 'spend' or not sale.member
                or total < self.threshold):
            return []
        return self._issue(
            self, [sale.member], f'spend:{self.id}:{sale.id}',
            origin=sale, date=sale.date)


class Campaign_Tier(ModelSQL):
    __name__ = 'retail.coupon.campaign-retail.member.tier'
    campaign = fields.Many2One(
        'retail.coupon.campaign', "Campaign", required=True,
        ondelete='CASCADE')
    tier = fields.Many2One(
        'retail.member.tier', "Tier", required=True, ondelete='CASCADE')


class Campaign_Category(ModelSQL):
    __name__ = 'retail.coupon.campaign-party.category'
    campaign = fields.Many2One(
        'retail.coupon.campaign', "Campaign", required=True,
        ondelete='CASCADE')
    category = fields.Many2One(
        'party.category', "Tag", required=True, ondelete='CASCADE')


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    retail_coupons = fields.One2Many(
        'retail.coupon', 'member', "Coupons", readonly=True,
        states={'invisible': ~Eval('is_member')})

    @classmethod
    def on_modification(cls, mode, parties, field_names=None):
        pool = Pool()
        Campaign = pool.get('retail.coupon.campaign')
        super().on_modification(mode, parties, field_names=field_names)
        if mode == 'write' and 'member_tier' in (field_names or ()):
            # a tier prices its members' sales
            forget_priced()
        if mode == 'create' or (
                mode == 'write' and 'is_member' in (field_names or ())):
            Campaign.issue_new_members(parties)

    @classmethod
    def copy(cls, parties, default=None):
        default = {} if default is None else default.copy()
        default.setdefault('retail_coupons')
        return super().copy(parties, default=default)


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('retail.coupon.campaign|issue_birthdays',
                "Issue Birthday Coupons"))
