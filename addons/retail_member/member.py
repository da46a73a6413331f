# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
from collections import namedtuple
from decimal import Decimal

from sql import Literal
from sql.conditionals import Coalesce

from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin,
    Index,
    ModelSingleton,
    ModelSQL,
    ModelView,
    Unique,
    fields,
)
from trytond.modules.company.model import CompanyMultiValueMixin, CompanyValueMixin
from trytond.modules.currency.fields import Monetary
from trytond.modules.party.exceptions import EraseError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, Id
from trytond.transaction import Transaction

from .exceptions import MemberValidationError
from .tools import clears_on_modification, mask_mobile, normalize_mobile


class Configuration(
        ModelSingleton, ModelSQL, ModelView, CompanyMultiValueMixin):
    __name__ = 'retail.member.configuration'
    member_sequence = fields.MultiValue(fields.Many2One(
            'ir.sequence', "Member Number Sequence", required=True,
            domain=[
                ('company', 'in',
                    [Eval('context', {}).get('company', -1), None]),
                ('sequence_type', '=',
                    Id('retail_member', 'sequence_type_member')),
                ],
            help="Used to number new members whose number is left empty."))

    @classmethod
    def multivalue_model(cls, field):
        pool = Pool()
        if field == 'member_sequence':
            return pool.get('retail.member.configuration.sequence')
        return super().multivalue_model(field)

    @classmethod
    def default_member_sequence(cls, **pattern):
        return cls.multivalue_model(
            'member_sequence').default_member_sequence()


class ConfigurationSequence(ModelSQL, CompanyValueMixin):
    __name__ = 'retail.member.configuration.sequence'
    member_sequence = fields.Many2One(
        'ir.sequence', "Member Number Sequence", required=True,
        domain=[
            ('company', 'in', [Eval('company', -1), None]),
            ('sequence_type', '=',
                Id('retail_member', 'sequence_type_member')),
            ])

    @classmethod
    def default_member_sequence(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        try:
            return ModelData.get_id('retail_member', 'sequence_member')
        except KeyError:
            return None


class Shop(DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'retail.shop'
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", required=True, strip=True)
    company = fields.Many2One('company.company', "Company", required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.company, t.code),
                'retail_member.msg_shop_code_unique'),
            ]
        cls._order.insert(0, ('code', 'ASC'))

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    def get_rec_name(self, name):
        return f'[{self.code}] {self.name}'

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('code', operator, operand, *extra),
            ('name', operator, operand, *extra),
            ]


# what the points' tier review needs of an active tier, kept across requests
TierFacts = namedtuple('TierFacts', ['id', 'rank', 'upgrade_spend',
        'upgrade_points', 'window_days', 'points_multiplier'])


# what the points ask of a member (Party.tier_states)
TierState = namedtuple('TierState', ['id', 'tier', 'tier_locked',
        'birth_date'])

# what a till shows of a member (Party.member_facts)
MemberFacts = namedtuple('MemberFacts', ['id', 'name', 'number',
        'mobile_masked', 'tier'])


def _clear_tier_facts():
    Pool().get('retail.member.tier')._company_tiers.clear()


class MemberTier(clears_on_modification(_clear_tier_facts,
            "A tier created, written or deleted empties the cache of the "
            "companies' tiers (company_tiers)"),
        DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'retail.member.tier'
    _company_tiers = Cache('retail_member.company_tiers', context=False)
    company = fields.Many2One('company.company', "Company", required=True)
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", required=True, strip=True)
    rank = fields.Integer(
        "Rank", required=True,
        help="The higher the rank, the better the tier.")
    discount = fields.Numeric(
        "Discount", digits=(16, 4), required=True,
        domain=[
            ('discount', '>=', 0),
            ('discount', '<=', 1),
            ],
        help="The discount rate granted to members of the tier "
        "(0.05 for 5%).")
    points_multiplier = fields.Numeric(
        "Points Multiplier", digits=(16, 4), required=True,
        domain=[('points_multiplier', '>=', 0)])
    price_list = fields.Many2One(
        'product.price_list', "Price List", ondelete='RESTRICT',
        domain=[
            ('company', 'in', [Eval('company', -1), None]),
            ],
        help="The member price list of the tier.")
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')
    upgrade_spend = Monetary(
        "Upgrade Spend", currency='currency', digits='currency',
        domain=['OR',
            ('upgrade_spend', '=', None),
            ('upgrade_spend', '>=', 0),
            ],
        help="The amount spent within the window that qualifies "
        "for the tier.")
    upgrade_points = fields.Integer(
        "Upgrade Points",
        domain=['OR',
            ('upgrade_points', '=', None),
            ('upgrade_points', '>=', 0),
            ],
        help="The points earned within the window that qualify "
        "for the tier.")
    window_days = fields.Integer(
        "Window", required=True,
        domain=[('window_days', '>', 0)],
        help="The number of days over which spend and points are counted.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('rank_unique', Unique(t, t.company, t.rank),
                'retail_member.msg_tier_rank_unique'),
            ('code_unique', Unique(t, t.company, t.code),
                'retail_member.msg_tier_code_unique'),
            ]
        cls._order.insert(0, ('rank', 'ASC'))

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_discount(cls):
        return 0

    @classmethod
    def default_points_multiplier(cls):
        return 1

    @classmethod
    def default_window_days(cls):
        return 365

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    @classmethod
    def company_tiers(cls, company_id):
        """[TierFacts] of the company's active tiers, best first.

        The points' processing reviews the member's tier at every sale:
        the ORM searched and read the tiers each time (a millisecond and
        a half).  Any change of a tier empties the cache: at once in this
        process, in the others at their next synchronisation of Tryton's
        caches."""
        tiers = cls._company_tiers.get(company_id)
        if tiers is None:
            table = cls.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.select(table.id, table.rank,
                    table.upgrade_spend, table.upgrade_points,
                    table.window_days, table.points_multiplier,
                    where=(table.company == company_id)
                    & (table.active == Literal(True)),
                    order_by=[table.rank.desc, table.id.desc]))
            tiers = [TierFacts(i, rank,
                    Decimal(str(spend)) if spend is not None else None,
                    points, window,
                    Decimal(str(multiplier))
                    if multiplier is not None else None)
                for i, rank, spend, points, window, multiplier in cursor]
            cls._company_tiers.set(company_id, tiers)
        return [TierFacts(*t) for t in tiers]


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    _member_states = {
        'invisible': ~Eval('is_member'),
        }

    is_member = fields.Boolean("Member")
    member_company = fields.Many2One(
        'company.company', "Member Company", ondelete='RESTRICT',
        states={
            'invisible': ~Eval('is_member'),
            'required': Bool(Eval('is_member')),
            # the cards, shop and tier belong to the company
            'readonly': Bool(Eval('member_cards', [0])),
            },
        help="The company whose member the party is.")
    member_number = fields.Char(
        "Member Number", strip=True, states=_member_states,
        help="Leave empty to use the member number sequence.")
    member_mobile = fields.Char(
        "Mobile", states=_member_states,
        help="The mobile phone of the member, "
        "stored in international format.")
    member_mobile_masked = fields.Function(fields.Char(
            "Mobile (Masked)", states=_member_states),
        'get_member_mobile_masked')
    birth_date = fields.Date("Birthday", states=_member_states)
    gender = fields.Selection([
            (None, ""),
            ('female', "Female"),
            ('male', "Male"),
            ('other', "Other"),
            ], "Gender", states=_member_states)
    photo = fields.Binary("Photo", states=_member_states)
    member_shop = fields.Many2One(
        'retail.shop', "Registration Shop", ondelete='RESTRICT',
        domain=[('company', '=', Eval('member_company', -1))],
        states=_member_states)
    referrer = fields.Many2One(
        'party.party', "Referrer", ondelete='SET NULL',
        domain=[
            ('is_member', '=', True),
            ('id', '!=', Eval('id', -1)),
            ],
        states=_member_states)
    join_date = fields.Date("Join Date", states=_member_states)
    consent_sms = fields.Boolean(
        "SMS Consent", states=_member_states,
        help="The member accepts marketing messages by SMS.")
    consent_email = fields.Boolean(
        "E-mail Consent", states=_member_states,
        help="The member accepts marketing messages by e-mail.")
    member_tier = fields.Many2One(
        'retail.member.tier', "Tier", ondelete='RESTRICT',
        domain=[('company', '=', Eval('member_company', -1))],
        states=_member_states)
    tier_locked = fields.Boolean(
        "Tier Locked", states=_member_states,
        help="Keep the tier: automatic upgrades and downgrades skip it.")
    member_cards = fields.One2Many(
        'retail.member.card', 'party', "Member Cards",
        states=_member_states)

    del _member_states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('member_number_unique',
                Unique(t, t.member_company, t.member_number),
                'retail_member.msg_member_number_unique'),
            ('member_mobile_unique',
                Unique(t, t.member_company, t.member_mobile),
                'retail_member.msg_member_mobile_unique'),
            ]
        cls._sql_indexes.update({
                # Tryton searches a non-required Char as COALESCE(col, ''):
                # index that expression or identify scans the whole table
                Index(t, (Coalesce(t.member_mobile, ''), Index.Equality())),
                Index(t, (Coalesce(t.member_number, ''), Index.Equality())),
                })

    @classmethod
    def default_is_member(cls):
        return bool(Transaction().context.get('retail_member'))

    @classmethod
    def default_member_company(cls):
        if Transaction().context.get('retail_member'):
            return Transaction().context.get('company')

    @classmethod
    def default_join_date(cls):
        if Transaction().context.get('retail_member'):
            return Pool().get('ir.date').today()

    @classmethod
    def default_tier_locked(cls):
        return False

    @classmethod
    def default_consent_sms(cls):
        return False

    @classmethod
    def default_consent_email(cls):
        return False

    @fields.depends('member_mobile')
    def on_change_member_mobile(self):
        if self.member_mobile:
            mobile = normalize_mobile(self.member_mobile)
            if mobile:
                self.member_mobile = mobile

    @fields.depends('is_member', 'member_company', 'join_date')
    def on_change_is_member(self):
        if self.is_member:
            if not self.member_company:
                self.member_company = Transaction().context.get('company')
            if not self.join_date:
                self.join_date = Pool().get('ir.date').today()

    def get_member_mobile_masked(self, name):
        return mask_mobile(self.member_mobile)

    @classmethod
    def member_facts(cls, company_id, ids):
        """{party id: MemberFacts} of the active members of the company
        among ids, read now in one query (the others are left out).

        What a till shows of a member at each sale: the ORM read every
        eager field of the party for it (a millisecond), twice a checkout
        as every write empties the records' cache."""
        party = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*party.select(party.id, party.name,
                party.member_number, party.member_mobile, party.member_tier,
                where=party.id.in_([int(i) for i in ids])
                & (party.is_member == Literal(True))
                & (party.member_company == int(company_id))
                & (party.active == Literal(True))))
        return {i: MemberFacts(i, name, number, mask_mobile(mobile), tier)
            for i, name, number, mobile, tier in cursor}

    @classmethod
    def tier_states(cls, ids):
        """{party id: TierState} of the parties among ids, read now in one
        query: what the points' earning and tier review ask of a member at
        each sale (the ORM read every eager field of the party for it)"""
        party = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*party.select(party.id, party.member_tier,
                party.tier_locked, party.birth_date,
                where=party.id.in_([int(i) for i in ids])))
        return {i: TierState(i, tier, bool(locked),
                dt.date.fromisoformat(birth)
                if isinstance(birth, str) else birth)
            for i, tier, locked, birth in cursor}

    @classmethod
    def _member_sequence(cls, company):
        pool = Pool()
        Configuration = pool.get('retail.member.configuration')
        config = Configuration(1)
        return config.get_multivalue(
            'member_sequence',
            company=company.id if company else None)

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Company = pool.get('company.company')
        Date = pool.get('ir.date')
        values = super().preprocess_values(mode, values)
        # Checked on the values, not the records: reading parties back to
        # validate them would load every eager field of each party
        if values.get('member_mobile'):
            mobile = normalize_mobile(values['member_mobile'])
            if not mobile:
                raise MemberValidationError(gettext(
                        'retail_member.msg_member_mobile_invalid',
                        mobile=values['member_mobile']))
            values['member_mobile'] = mobile
        elif 'member_mobile' in values:
            values['member_mobile'] = None
        if values.get('birth_date'):
            if values['birth_date'] > Date.today():
                raise MemberValidationError(gettext(
                        'retail_member.msg_member_birth_date_future',
                        birth_date=values['birth_date']))
        if 'member_number' in values and not values['member_number']:
            values['member_number'] = None
        if mode == 'create' and values.get('is_member'):
            if not values.get('member_company'):
                values['member_company'] = (
                    Transaction().context.get('company'))
            if not values.get('member_number'):
                company = values.get('member_company')
                company = Company(company) if company else None
                if sequence := cls._member_sequence(company):
                    values['member_number'] = sequence.get()
            if not values.get('join_date'):
                values['join_date'] = Date.today()
        return values

    @classmethod
    def on_modification(cls, mode, parties, field_names=None):
        super().on_modification(mode, parties, field_names=field_names)
        if mode == 'write' and 'is_member' in field_names:
            cls._set_member_number(parties)

    @classmethod
    def _set_member_number(cls, parties):
        "Number new members that were turned into members by a write"
        Date = Pool().get('ir.date')
        to_write = []
        for party in parties:
            if not party.is_member:
                continue
            values = {}
            if not party.member_number:
                if sequence := cls._member_sequence(party.member_company):
                    values['member_number'] = sequence.get()
            if not party.join_date:
                values['join_date'] = Date.today()
            if values:
                to_write.extend(([party], values))
        if to_write:
            cls.write(*to_write)

    @classmethod
    def search_rec_name(cls, name, clause):
        domain = super().search_rec_name(name, clause)
        _, operator, operand, *extra = clause
        # the parent returns ['OR', ...] or, for negative operators, ['AND', ...]
        domain.append(('member_number', operator, operand, *extra))
        return domain

    @classmethod
    def copy(cls, parties, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('member_number')
        default.setdefault('member_mobile')
        default.setdefault('member_cards')
        return super().copy(parties, default=default)


class PartyReplace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    @classmethod
    def fields_to_replace(cls):
        return super().fields_to_replace() + [
            ('retail.member.card', 'party'),
            ('party.party', 'referrer'),
            ]


class PartyErase(metaclass=PoolMeta):
    __name__ = 'party.erase'

    def check_erase(self, party):
        pool = Pool()
        Card = pool.get('retail.member.card')
        super().check_erase(party)
        cards = Card.search([
                ('party', '=', party.id),
                ('state', 'in', ['active', 'frozen', 'lost']),
                ], limit=1)
        if cards:
            card, = cards
            raise EraseError(gettext(
                    'retail_member.msg_erase_member_card',
                    party=party.rec_name, card=card.rec_name))

    def to_erase(self, party_id):
        pool = Pool()
        Party = pool.get('party.party')
        return super().to_erase(party_id) + [
            (Party, [('id', '=', party_id)], True,
                ['member_mobile', 'birth_date', 'gender', 'photo',
                    'referrer', 'consent_sms', 'consent_email'],
                [None, None, None, None, None, False, False]),
            ]
