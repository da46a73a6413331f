# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import calendar
import datetime as dt
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import (
    Check,
    DeactivableMixin,
    Index,
    ModelSQL,
    ModelView,
    Unique,
    Workflow,
    fields,
    sequence_ordered,
)
from trytond.model.exceptions import AccessError
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Bool, Eval, If
from trytond.rpc import RPC
from trytond.transaction import Transaction, without_check_access

from .exceptions import ComplianceError, WalletAmountError, WalletConfigurationError, WalletError
from .wallet import Configuration_get, check_amount, new_request_key


def add_months(date, months):
    month = date.month - 1 + months
    year = date.year + month // 12
    month = month % 12 + 1
    day = min(date.day, calendar.monthrange(year, month)[1])
    return date.replace(year=year, month=month, day=day)


class Plan(DeactivableMixin, ModelSQL, ModelView):
    "Top-up plan: pay X get Y"
    __name__ = 'retail.wallet.topup.plan'

    company = fields.Many2One('company.company', "Company", required=True)
    name = fields.Char("Name", required=True, translate=True)
    start_date = fields.Date("Start Date",
        domain=[If(Eval('start_date') & Eval('end_date'),
                ('start_date', '<=', Eval('end_date')), ())])
    end_date = fields.Date("End Date",
        domain=[If(Eval('start_date') & Eval('end_date'),
                ('end_date', '>=', Eval('start_date')), ())])
    tiers = fields.Many2Many(
        'retail.wallet.topup.plan-retail.member.tier', 'plan', 'tier',
        "Tiers", help="Leave empty for every member.")
    steps = fields.One2Many(
        'retail.wallet.topup.plan.step', 'plan', "Steps")
    release = fields.Selection([
            ('immediate', "At Once"),
            ('daily', "Daily"),
            ('weekly', "Weekly"),
            ('monthly', "Monthly"),
            ], "Bonus Release", required=True)
    instalments = fields.Integer("Instalments",
        states={
            'invisible': Eval('release') == 'immediate',
            'required': Eval('release') != 'immediate',
            },
        domain=[If(Eval('release') != 'immediate',
                ('instalments', '>=', 1), ())])
    raise_tier = fields.Many2One(
        'retail.member.tier', "Raise Tier To",
        domain=[('company', '=', Eval('company', -1))],
        help="The member is raised to at least this tier by a top-up of "
        "at least the amount below.")
    raise_tier_amount = Monetary(
        "Raise Tier From", currency='currency', digits='currency',
        states={
            'invisible': ~Eval('raise_tier'),
            'required': Bool(Eval('raise_tier')),
            })
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('instalments_positive',
                Check(t, (t.instalments == None) | (t.instalments >= 1)),  # noqa
                'retail_wallet.msg_plan_instalments_positive'),
            ]

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_release(cls):
        return 'immediate'

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    def is_applicable(self, member, date):
        if not self.active:
            return False
        if self.start_date and date < self.start_date:
            return False
        if self.end_date and date > self.end_date:
            return False
        if self.tiers and getattr(member, 'member_tier', None) not in (
                self.tiers):
            return False
        return True

    def get_step(self, amount):
        "Return the highest step reached by amount"
        steps = [s for s in self.steps if s.amount <= amount]
        if steps:
            return max(steps, key=lambda s: s.amount)

    def release_dates(self, date):
        "Return the dates of the bonus instalments"
        count = self.instalments or 1
        if self.release == 'daily':
            return [date + dt.timedelta(days=i) for i in range(count)]
        elif self.release == 'weekly':
            return [date + dt.timedelta(weeks=i) for i in range(count)]
        elif self.release == 'monthly':
            return [add_months(date, i) for i in range(count)]
        return [date]

    @classmethod
    def applicable(cls, member, company, date):
        with without_check_access():
            plans = cls.search([('company', '=', int(company))])
        return [p for p in plans if p.is_applicable(member, date)]


class PlanTier(ModelSQL):
    "Top-up plan - Tier"
    __name__ = 'retail.wallet.topup.plan-retail.member.tier'
    plan = fields.Many2One(
        'retail.wallet.topup.plan', "Plan", required=True,
        ondelete='CASCADE')
    tier = fields.Many2One(
        'retail.member.tier', "Tier", required=True, ondelete='CASCADE')


class PlanStep(sequence_ordered(), ModelSQL, ModelView):
    "Top-up plan step"
    __name__ = 'retail.wallet.topup.plan.step'

    plan = fields.Many2One(
        'retail.wallet.topup.plan', "Plan", required=True,
        ondelete='CASCADE')
    amount = Monetary(
        "Top-up Amount", currency='currency', digits='currency', required=True)
    bonus = Monetary(
        "Get Bonus", currency='currency', digits='currency', required=True)
    points = fields.Integer(
        "Gift Points", help="Granted when a points module is activated.")
    gifts = fields.Text(
        "Other Gifts", help="Coupons or count cards granted by the modules "
        "that extend the top-up.")
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('amount_positive', Check(t, t.amount > 0),
                'retail_wallet.msg_step_amount_positive'),
            ('bonus_positive', Check(t, t.bonus >= 0),
                'retail_wallet.msg_step_bonus_positive'),
            ('plan_amount_unique', Unique(t, t.plan, t.amount),
                'retail_wallet.msg_step_amount_unique'),
            ]

    @classmethod
    def default_bonus(cls):
        return Decimal(0)

    @fields.depends('plan', '_parent_plan.company')
    def on_change_with_currency(self, name=None):
        if self.plan and self.plan.company:
            return self.plan.company.currency


class Topup(Workflow, ModelSQL, ModelView):
    "Wallet top-up at the point of sale"
    __name__ = 'retail.wallet.topup'
    _rec_name = 'number'

    _states = {'readonly': Eval('state') != 'draft'}

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    number = fields.Char("Number", readonly=True)
    date = fields.Date("Date", required=True, states=_states)
    member = fields.Many2One(
        'party.party', "Member", required=True, states=_states,
        context={'company': Eval('company', -1)}, depends={'company'})
    card = fields.Many2One(
        'retail.member.card', "Card", states=_states,
        domain=[If(Eval('member'), ('party', '=', Eval('member', -1)), ())])
    wallet = fields.Many2One(
        'retail.wallet', "Wallet", states=_states,
        domain=[
            ('company', '=', Eval('company', -1)),
            ('party', '=', Eval('member', -1)),
            ('state', '=', 'open'),
            ],
        help="Leave empty for the member's wallet of the shop "
        "(created at the first top-up).")
    point = fields.Many2One(
        'sale.point', "Point of Sale", required=True, states=_states,
        domain=[('company', '=', Eval('company', -1))])
    payment_method = fields.Many2One(
        'sale.point.payment.method', "Payment Method", required=True,
        states=_states,
        domain=[
            ('company', '=', Eval('company', -1)),
            ('retail_wallet', '=', False),
            ])
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        states=_states)
    plan = fields.Many2One(
        'retail.wallet.topup.plan', "Plan", states=_states,
        domain=[('company', '=', Eval('company', -1))])
    step = fields.Many2One(
        'retail.wallet.topup.plan.step', "Step", readonly=True)
    bonus = Monetary(
        "Bonus", currency='currency', digits='currency', readonly=True)
    holder_name = fields.Char(
        "Holder Name", states=_states,
        help="Real-name record of a large top-up.")
    holder_id_number = fields.Char("Holder ID Number", states=_states)
    holder_mobile = fields.Char("Holder Mobile", readonly=True)
    request_key = fields.Char(
        "Request Key", required=True, states=_states,
        help="Client UUID: the same key submitted twice tops up once.")
    employee = fields.Many2One(
        'company.employee', "Employee", states=_states,
        domain=[('company', '=', Eval('company', -1))])
    operator = fields.Many2One('res.user', "Operator", readonly=True)
    state = fields.Selection([
            ('draft', "Draft"),
            ('done', "Done"),
            ], "State", required=True, readonly=True, sort=False)
    lines = fields.One2Many(
        'retail.wallet.line', 'origin', "Ledger Lines", readonly=True)
    releases = fields.One2Many(
        'retail.wallet.bonus.release', 'topup', "Bonus Releases",
        readonly=True)
    move = fields.Many2One('account.move', "Move", readonly=True)
    cash_transfer = fields.Many2One(
        'sale.point.cash.transfer', "Cash Transfer", readonly=True)
    session = fields.Many2One(
        'sale.point.cash.session', "Cash Session", readonly=True)
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('request_key_unique', Unique(t, t.request_key),
                'retail_wallet.msg_topup_request_key_unique'),
            ('amount_positive', Check(t, t.amount > 0),
                'retail_wallet.msg_topup_amount_positive'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.state, Index.Equality(cardinality='low')),
                where=t.state == 'draft'))
        cls._transitions |= {('draft', 'done')}
        cls._buttons.update(
            do={
                'invisible': Eval('state') != 'draft',
                'depends': ['state'],
                },
            )
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls.__rpc__.update({
                'submit': RPC(readonly=False, result=int),
                'receipt': RPC(readonly=True, instantiate=0),
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_request_key(cls):
        return new_request_key()

    @classmethod
    def default_employee(cls):
        return Transaction().context.get('employee')

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    @fields.depends('member', 'company', 'date', 'amount', 'plan')
    def on_change_amount(self):
        pool = Pool()
        Plan = pool.get('retail.wallet.topup.plan')
        if self.member and self.company and self.amount and not self.plan:
            best = None
            for plan in Plan.applicable(
                    self.member, self.company, self.date):
                step = plan.get_step(self.amount)
                if step and (not best or step.bonus > best[1].bonus):
                    best = (plan, step)
            if best:
                self.plan = best[0]

    @fields.depends('member')
    def on_change_member(self):
        if self.member:
            self.holder_name = self.member.name

    @classmethod
    def copy(cls, topups, default=None):
        default = default.copy() if default else {}
        default.setdefault('number')
        default.setdefault('request_key', lambda data: new_request_key())
        for name in ['step', 'bonus', 'move', 'cash_transfer', 'session',
                'operator', 'holder_mobile']:
            default.setdefault(name)
        return super().copy(topups, default=default)

    @classmethod
    def validate(cls, topups):
        # The Check constraint is the guard on PostgreSQL; SQLite compares
        # numeric parameters loosely, so check here too.
        for topup in topups:
            if topup.amount is not None and topup.amount <= 0:
                raise WalletAmountError(gettext(
                        'retail_wallet.msg_topup_amount_positive'))
        super().validate(topups)

    @classmethod
    def check_modification(cls, mode, topups, values=None, external=False):
        super().check_modification(
            mode, topups, values=values, external=external)
        if mode == 'delete':
            for topup in topups:
                if topup.state != 'draft':
                    raise AccessError(gettext(
                            'retail_wallet.msg_topup_delete_done',
                            topup=topup.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def do(cls, topups):
        pool = Pool()
        Sequence = pool.get('ir.sequence')
        ModelData = pool.get('ir.model.data')
        sequence = Sequence(ModelData.get_id('retail_wallet', 'sequence_topup'))
        for topup in topups:
            if not topup.number:
                topup.number = sequence.get()
            topup._do()
        cls.save(topups)

    def _do(self):
        pool = Pool()
        Wallet = pool.get('retail.wallet')
        Release = pool.get('retail.wallet.bonus.release')
        config = Configuration_get(self.company)
        currency = self.currency
        check_amount(self.amount, currency)
        if self.card:
            if self.card.party != self.member:
                raise WalletError(gettext(
                        'retail_wallet.msg_card_other_member',
                        card=self.card.rec_name,
                        member=self.member.rec_name))
            self.card.check_usable()
        shop = getattr(self.point, 'shop', None)
        wallet = self.wallet or Wallet.find(
            self.member, self.company, shop=shop, create=True)
        if wallet.party != self.member:
            raise WalletError(gettext(
                    'retail_wallet.msg_card_other_member',
                    card=wallet.rec_name, member=self.member.rec_name))
        self.wallet = wallet
        Wallet.lock([wallet])

        # Plan
        self.step, self.bonus = None, Decimal(0)
        if self.plan:
            if (self.plan.company != self.company
                    or not self.plan.is_applicable(self.member, self.date)):
                raise WalletError(gettext(
                        'retail_wallet.msg_plan_not_applicable',
                        plan=self.plan.rec_name,
                        member=self.member.rec_name))
            self.step = self.plan.get_step(self.amount)
            if self.step:
                self.bonus = currency.round(self.step.bonus)

        # Compliance
        self.check_compliance(config, wallet)

        # Ledger
        self.operator = Transaction().user or None
        wallet.post_line('topup', principal=self.amount, origin=self,
            request_key=self.request_key, card=self.card)
        if self.bonus:
            if not self.plan or self.plan.release == 'immediate':
                wallet.post_line('bonus', bonus=self.bonus, origin=self,
                    request_key=self.request_key + ':bonus', card=self.card)
            else:
                dates = self.plan.release_dates(self.date)
                part = currency.round(self.bonus / len(dates))
                amounts = [part] * len(dates)
                amounts[0] += self.bonus - part * len(dates)
                releases = [Release(
                        wallet=wallet, topup=self, date=d, amount=a)
                    for d, a in zip(dates, amounts) if a > 0]
                with without_check_access():
                    Release.save(releases)
                for release in releases:
                    if release.date <= self.date:
                        release.release()

        # Accounting: cash is counted in the cash session.  The top-up button
        # is the authorisation: cashiers need no rights on moves or transfers.
        with without_check_access():
            self.post_accounting(config)
        self.raise_tier()
        self.grant_gifts()

    def check_compliance(self, config, wallet):
        "Prepaid card rules: caps and real-name records"
        named = self.card.named if self.card else True
        cap = config.named_cap if named else config.anonymous_cap
        balance = wallet.balance + wallet.pending_bonus
        after = balance + self.amount + self.bonus
        if after > cap:
            raise ComplianceError(gettext(
                    'retail_wallet.msg_cap_exceeded'
                    if named else 'retail_wallet.msg_anonymous_cap_exceeded',
                    cap=cap, balance=balance,
                    amount=self.amount + self.bonus))
        if self.amount >= config.real_name_threshold:
            if not named:
                raise ComplianceError(gettext(
                        'retail_wallet.msg_real_name_anonymous',
                        threshold=config.real_name_threshold))
            name = (self.holder_name or self.member.name or '').strip()
            id_number = (self.holder_id_number or '').strip()
            mobile = None
            if getattr(self.member, 'member_mobile_verified', False):
                mobile = getattr(self.member, 'member_mobile', None)
            if not name or not (id_number or mobile):
                raise ComplianceError(gettext(
                        'retail_wallet.msg_real_name_required',
                        threshold=config.real_name_threshold))
            self.holder_name = name
            self.holder_id_number = id_number or None
            self.holder_mobile = mobile

    def post_accounting(self, config):
        pool = Pool()
        Transfer = pool.get('sale.point.cash.transfer')
        Session = pool.get('sale.point.cash.session')
        liability = config.require('liability_account')
        if self.payment_method.cash:
            transfer_type = config.require('cash_transfer_type')
            if transfer_type.account != liability:
                raise WalletConfigurationError(gettext(
                        'retail_wallet.msg_transfer_type_account'))
            self.session = Session.get_current(self.point)
            transfer = Transfer(
                point=self.point, session=self.session, type=transfer_type,
                amount=self.amount, date=self.date)
            transfer.save()
            Transfer.post([transfer])
            self.cash_transfer = transfer
            self.move = transfer.move
        else:
            self.move = config.create_move(self.date, [
                    (self.payment_method.account, self.amount),
                    (liability, -self.amount),
                    ], self, description=self.number)

    def raise_tier(self):
        pool = Pool()
        Party = pool.get('party.party')
        plan = self.plan
        if (not plan or not plan.raise_tier
                or self.amount < (plan.raise_tier_amount or 0)):
            return
        member = self.member
        if getattr(member, 'tier_locked', False):
            return
        current = getattr(member, 'member_tier', None)
        if not current or (current.rank or 0) < (plan.raise_tier.rank or 0):
            with without_check_access():
                Party.write([member], {'member_tier': plan.raise_tier.id})

    def grant_gifts(self):
        "Hook: grant the gifts of the plan step"
        if self.step and self.step.points:
            self.grant_points(self.step.points)

    def grant_points(self, points):
        "Hook for a points module: give points now"
        pass

    @classmethod
    def submit(cls, values):
        """Create and do a top-up in one idempotent request;
        the same request_key returns the first top-up"""
        key = values.get('request_key')
        if key:
            existing = cls.search([('request_key', '=', key)], limit=1)
            if existing:
                return existing[0].id
        topup, = cls.create([values])
        cls.do([topup])
        return topup.id

    @classmethod
    def receipt(cls, topups):
        return [t.get_receipt_data() for t in topups]

    def get_receipt_data(self):
        "Data printed on the top-up receipt"
        wallet = self.wallet
        card = self.card.number if self.card else None
        if card and len(card) > 4:
            card = '*' * (len(card) - 4) + card[-4:]
        return {
            'number': self.number,
            'date': self.date,
            'shop': getattr(getattr(self.point, 'shop', None), 'name', None),
            'point': self.point.name,
            'member': self.member.name,
            'card': card,
            'amount': self.amount,
            'bonus': self.bonus,
            'plan': self.plan.name if self.plan else None,
            'releases': [(r.date, r.amount, r.state) for r in self.releases],
            'method': self.payment_method.name,
            'principal': wallet.principal if wallet else None,
            'bonus_balance': wallet.bonus if wallet else None,
            'balance': wallet.balance if wallet else None,
            'operator': self.operator.name if self.operator else None,
            'currency': self.currency.code,
            }

