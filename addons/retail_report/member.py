# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
"""Member reports: one row per member with RFM scores and churn risk, the
RFM segments, visit frequency and spend distributions, new against
returning members, cohort retention by join month, tiers and their
movements.

A visit is a day on which the member has a ticket (a POS sale, done or
posted, of zero or more); spend is the net amount (refunds deducted).
Everything is computed by the database: aggregates, then NTILE(5) window
functions for the R, F and M quintiles."""
from sql import Literal, Null, Union, Window
from sql.aggregate import Count, Max, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Ntile

from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool

from .common import EPOCH, ExcelMixin, Inline, as_date, day_number, month_number, report_context
from .sale import SALE_STATES, SaleReportMixin, divide

SEGMENTS = [
    ('champion', "Champions"),
    ('loyal', "Loyal"),
    ('promising', "Promising"),
    ('at_risk', "At Risk"),
    ('lost', "Hibernating"),
    ]
FREQUENCY_BUCKETS = [1, 2, 3, 6, 11]
SPEND_BUCKETS = [0, 100, 200, 500, 1000, 2000, 5000]


class MemberSalesMixin(SaleReportMixin):
    __slots__ = ()

    @classmethod
    def _member_totals(cls, ctx):
        "One row per member with a ticket in the period"
        t = cls._tickets(ctx)
        is_ticket = t.amount >= Literal(0)
        visit_date = Case((is_ticket, t.date))
        return t.select(
            t.member.as_('member'),
            Min(visit_date).as_('first_visit'),
            Max(visit_date).as_('last_visit'),
            Count(visit_date, distinct=True).as_('visits'),
            Count(Case((is_ticket, Literal(1)))).as_('tickets'),
            Sum(t.amount).as_('spend'),
            where=t.member != Null,
            group_by=[t.member])


class Member(MemberSalesMixin, ModelSQL, ModelView):
    "Member Analysis"
    __name__ = 'retail.report.member'
    __string__ = "Member Analysis"

    member = fields.Many2One('party.party', "Member")
    tier = fields.Many2One('retail.member.tier', "Tier")
    join_date = fields.Date("Join Date")
    first_visit = fields.Date("First Visit")
    last_visit = fields.Date("Last Visit")
    visits = fields.Integer("Visits", help="Days with a ticket.")
    tickets = fields.Integer("Tickets")
    spend = Monetary("Spend", currency='currency', digits='currency',
        help="Net amount spent in the period (refunds deducted).")
    average_ticket = Monetary(
        "Average Ticket", currency='currency', digits='currency')
    mean_interval = fields.Numeric("Usual Interval", digits=(16, 1),
        help="The member's mean number of days between two visits.")
    days_since = fields.Integer("Days Since Last Visit",
        help="Days from the last visit to the end of the period.")
    churn_risk = fields.Boolean("Churn Risk",
        help="No visit for longer than the member's usual interval.")
    recency_score = fields.Integer("R", help="Recency quintile (5 = best).")
    frequency_score = fields.Integer(
        "F", help="Frequency quintile (5 = best).")
    monetary_score = fields.Integer(
        "M", help="Monetary quintile (5 = best).")
    segment = fields.Selection(SEGMENTS, "Segment")

    _excel_fields = ['member', 'tier', 'join_date', 'first_visit',
        'last_visit', 'visits', 'tickets', 'spend', 'average_ticket',
        'mean_interval', 'days_since', 'churn_risk', 'recency_score',
        'frequency_score', 'monetary_score', 'segment']
    _excel_chart = ('bar', 'member', ['spend'])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('spend', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Party = pool.get('party.party')
        ctx = report_context()
        party = Party.__table__()
        m = cls._member_totals(ctx)
        to_day = (ctx['to_date'] - EPOCH).days
        first, last = day_number(m.first_visit), day_number(m.last_visit)
        days_since = Literal(to_day) - last
        gaps = m.visits - Literal(1)

        def quintile(column):
            return Ntile(Literal(5), window=Window([],
                    order_by=[column.asc, m.member.asc]))
        scored = m.join(party, condition=m.member == party.id).select(
            m.member.as_('member'),
            party.member_tier.as_('tier'),
            party.join_date.as_('join_date'),
            m.first_visit, m.last_visit, m.visits, m.tickets, m.spend,
            divide(m.spend, m.tickets, ctx['digits']).as_('average_ticket'),
            divide(last - first, Case((gaps > Literal(0), gaps)), 1
                ).as_('mean_interval'),
            days_since.as_('days_since'),
            Case(((gaps > Literal(0)) & (days_since * gaps > last - first),
                    Literal(True)), else_=Literal(False)).as_('churn_risk'),
            quintile(m.last_visit).as_('recency_score'),
            quintile(m.visits).as_('frequency_score'),
            quintile(m.spend).as_('monetary_score'),
            )
        r, f = scored.recency_score, scored.frequency_score
        four, three = Literal(4), Literal(3)
        segment = Case(
            ((r >= four) & (f >= four), 'champion'),
            ((r >= three) & (f >= three), 'loyal'),
            (r >= three, 'promising'),
            (f >= three, 'at_risk'),
            else_='lost')
        return scored.select(
            scored.member.as_('id'),
            Literal(cls._currency(ctx)).as_('currency'),
            scored.member, scored.tier, scored.join_date,
            scored.first_visit, scored.last_visit, scored.visits,
            scored.tickets, scored.spend, scored.average_ticket,
            scored.mean_interval, scored.days_since, scored.churn_risk,
            scored.recency_score, scored.frequency_score,
            scored.monetary_score,
            segment.as_('segment'))


class MemberGroupMixin(MemberSalesMixin):
    __slots__ = ()

    members = fields.Integer("Members")
    spend = Monetary("Spend", currency='currency', digits='currency')
    average_spend = Monetary(
        "Average Spend", currency='currency', digits='currency')
    member_share = fields.Numeric("Share of Members", digits=(16, 4))

    _excel_fields = ['members', 'spend', 'average_spend', 'member_share']

    @classmethod
    def _group_columns(cls, rows, ctx):
        members = Count(rows.member)
        spend = Sum(rows.spend)
        return [
            Min(rows.member).as_('id'),
            Literal(cls._currency(ctx)).as_('currency'),
            members.as_('members'),
            spend.as_('spend'),
            divide(spend, members, ctx['digits']).as_('average_spend'),
            divide(members, Sum(members, window=Window([])), 4
                ).as_('member_share'),
            ]


class MemberSegment(MemberGroupMixin, ModelSQL, ModelView):
    "RFM Segments"
    __name__ = 'retail.report.member.segment'
    __string__ = "RFM Segments"

    segment = fields.Selection(SEGMENTS, "Segment")

    _excel_fields = ['segment'] + MemberGroupMixin._excel_fields
    _excel_chart = ('pie', 'segment', ['members'])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('members', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        Member = Pool().get('retail.report.member')
        ctx = report_context()
        rows = Member.table_query()
        return rows.select(
            rows.segment.as_('segment'),
            *cls._group_columns(rows, ctx),
            group_by=[rows.segment])


def _bucket(column, bounds):
    "The lower bound of the bucket of column"
    whens = [(column < Inline(high), Inline(low))
        for low, high in zip(bounds, bounds[1:])]
    return Case(*whens, else_=Inline(bounds[-1]))


class MemberFrequency(MemberGroupMixin, ModelSQL, ModelView):
    "Visit Frequency"
    __name__ = 'retail.report.member.frequency'
    __string__ = "Visit Frequency"

    visits_from = fields.Integer("Visits From")
    visits_to = fields.Integer("Visits To")

    _excel_fields = ['visits_from', 'visits_to'] + (
        MemberGroupMixin._excel_fields)
    _excel_chart = ('bar', 'visits_from', ['members'])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('visits_from', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        ctx = report_context()
        rows = cls._member_totals(ctx)
        low = _bucket(rows.visits, FREQUENCY_BUCKETS)
        bounds = FREQUENCY_BUCKETS
        high = Case(*[(low == Inline(a), Inline(b - 1))
                for a, b in zip(bounds, bounds[1:])])
        return rows.select(
            low.as_('visits_from'), high.as_('visits_to'),
            *cls._group_columns(rows, ctx),
            group_by=[low])


class MemberSpend(MemberGroupMixin, ModelSQL, ModelView):
    "Spend Distribution"
    __name__ = 'retail.report.member.spend'
    __string__ = "Spend Distribution"

    spend_from = Monetary("Spend From", currency='currency', digits='currency')
    spend_to = Monetary("Spend To", currency='currency', digits='currency',
        help="Excluded.")

    _excel_fields = ['spend_from', 'spend_to'] + (
        MemberGroupMixin._excel_fields)
    _excel_chart = ('bar', 'spend_from', ['members'])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('spend_from', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        ctx = report_context()
        rows = cls._member_totals(ctx)
        bounds = SPEND_BUCKETS
        # money columns: numeric bounds (PostgreSQL would read integers)
        low = _bucket(rows.spend, bounds).cast('NUMERIC')
        high = Case(*[(low == Inline(a), Inline(b))
                for a, b in zip(bounds, bounds[1:])]).cast('NUMERIC')
        return rows.select(
            low.as_('spend_from'), high.as_('spend_to'),
            *cls._group_columns(rows, ctx),
            group_by=[low])


class MemberFlow(MemberSalesMixin, ModelSQL, ModelView):
    "New and Returning Members"
    __name__ = 'retail.report.member.flow'
    __string__ = "New and Returning Members"

    date = fields.Date("Date")
    new_members = fields.Integer("Sign-ups",
        help="Members who joined in the period.")
    visitors = fields.Integer("Member Visitors",
        help="Members with a ticket in the period.")
    new_visitors = fields.Integer("First-time",
        help="Visitors whose first ticket ever is in the period.")
    returning_visitors = fields.Integer("Returning",
        help="Visitors who had a ticket before the period.")
    returning_share = fields.Numeric("Returning Share", digits=(16, 4))

    _excel_fields = ['date', 'new_members', 'visitors', 'new_visitors',
        'returning_visitors', 'returning_share']
    _excel_chart = ('line', 'date', ['new_visitors', 'returning_visitors'])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        Party = pool.get('party.party')
        Point = pool.get('sale.point')
        ctx = report_context()
        period = ctx['period']
        t = cls._tickets(ctx)
        sale = Sale.__table__()
        point = Point.__table__()
        where = ((sale.company == ctx['company'])
            & sale.state.in_(SALE_STATES)
            & (sale.member != Null)
            & (sale.date <= ctx['to_date']))
        if ctx['shop']:
            where &= point.shop == ctx['shop']
        first = sale.join(point, condition=sale.point == point.id).select(
            sale.member.as_('member'),
            Min(sale.date).as_('first_date'),
            where=where,
            group_by=[sale.member])
        date = as_date(t.date, period)
        zero = Literal(0)
        visits = t.join(first, condition=t.member == first.member).select(
            date.as_('date'),
            zero.as_('new_members'),
            Count(t.member, distinct=True).as_('visitors'),
            Count(Case((as_date(first.first_date, period) == date,
                        t.member)), distinct=True).as_('new_visitors'),
            where=t.amount >= zero,
            group_by=[date])
        party = Party.__table__()
        where = ((party.member_company == ctx['company'])
            & (party.is_member == Literal(True))
            & (party.join_date >= ctx['from_date'])
            & (party.join_date <= ctx['to_date']))
        if ctx['shop']:
            where &= party.member_shop == ctx['shop']
        if ctx['tier']:
            where &= party.member_tier == ctx['tier']
        join_date = as_date(party.join_date, period)
        signups = party.select(
            join_date.as_('date'),
            Count(party.id).as_('new_members'),
            zero.as_('visitors'),
            zero.as_('new_visitors'),
            where=where,
            group_by=[join_date])
        rows = Union(visits, signups, all_=True)
        visitors = Sum(rows.visitors)
        new_visitors = Sum(rows.new_visitors)
        return rows.select(
            day_number(rows.date).as_('id'),
            rows.date.as_('date'),
            Literal(cls._currency(ctx)).as_('currency'),
            Sum(rows.new_members).as_('new_members'),
            visitors.as_('visitors'),
            new_visitors.as_('new_visitors'),
            (visitors - new_visitors).as_('returning_visitors'),
            divide(visitors - new_visitors, visitors, 4
                ).as_('returning_share'),
            group_by=[rows.date])


class MemberCohort(ExcelMixin, ModelSQL, ModelView):
    "Cohort Retention"
    __name__ = 'retail.report.member.cohort'
    __string__ = "Cohort Retention"

    cohort = fields.Date("Join Month")
    months = fields.Integer("Months Since Joining")
    members = fields.Integer("Cohort Size")
    active_members = fields.Integer("Active Members",
        help="Members of the cohort with a ticket in that month.")
    retention = fields.Numeric("Retention", digits=(16, 4))

    _excel_fields = ['cohort', 'months', 'members', 'active_members',
        'retention']

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('cohort', 'ASC'), ('months', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Party = pool.get('party.party')
        Sale = pool.get('sale.point.sale')
        Point = pool.get('sale.point')
        ctx = report_context()
        party = Party.__table__()
        member = Party.__table__()
        sale = Sale.__table__()
        point = Point.__table__()

        def cohort_where(party):
            where = ((party.member_company == ctx['company'])
                & (party.is_member == Literal(True))
                & (party.join_date >= ctx['from_date'])
                & (party.join_date <= ctx['to_date']))
            if ctx['tier']:
                where &= party.member_tier == ctx['tier']
            return where
        cohort = month_number(party.join_date)
        sizes = party.select(
            cohort.as_('cohort'),
            Min(as_date(party.join_date, 'month')).as_('cohort_date'),
            Count(party.id).as_('members'),
            where=cohort_where(party),
            group_by=[cohort])
        sale_where = ((sale.company == ctx['company'])
            & sale.state.in_(SALE_STATES)
            & (sale.date <= ctx['to_date'])
            & (sale.date >= member.join_date))
        if ctx['shop']:
            sale_where &= point.shop == ctx['shop']
        member_cohort = month_number(member.join_date)
        months = month_number(sale.date) - member_cohort
        active = (sale
            .join(point, condition=sale.point == point.id)
            .join(member, condition=sale.member == member.id)
            .select(
                member_cohort.as_('cohort'),
                months.as_('months'),
                Count(sale.member, distinct=True).as_('active_members'),
                where=sale_where & cohort_where(member),
                group_by=[member_cohort, months]))
        return sizes.join(active, condition=sizes.cohort == active.cohort
            ).select(
                (sizes.cohort * Literal(1000) + active.months + Literal(1)
                    ).as_('id'),
                sizes.cohort_date.as_('cohort'),
                active.months.as_('months'),
                sizes.members.as_('members'),
                active.active_members.as_('active_members'),
                divide(active.active_members, sizes.members, 4
                    ).as_('retention'))


class MemberTier(MemberSalesMixin, ModelSQL, ModelView):
    "Tier Distribution"
    __name__ = 'retail.report.member.tier'
    __string__ = "Tier Distribution"

    tier = fields.Many2One('retail.member.tier', "Tier")
    members = fields.Integer("Members", help="Members in the tier now.")
    new_members = fields.Integer("Sign-ups",
        help="Members of the tier who joined in the period.")
    upgrades = fields.Integer("Upgrades",
        help="Moves into the tier by upgrade in the period.")
    downgrades = fields.Integer("Downgrades",
        help="Moves into the tier by downgrade in the period.")
    spend = Monetary("Spend", currency='currency', digits='currency',
        help="Net amount spent in the period by the tier's members.")
    member_share = fields.Numeric("Share of Members", digits=(16, 4))

    _excel_fields = ['tier', 'members', 'new_members', 'upgrades',
        'downgrades', 'spend', 'member_share']
    _excel_chart = ('pie', 'tier', ['members'])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Party = pool.get('party.party')
        History = pool.get('retail.member.tier.history')
        ctx = report_context()
        party = Party.__table__()
        hparty = Party.__table__()
        history = History.__table__()
        zero = Literal(0)
        where = ((party.member_company == ctx['company'])
            & (party.is_member == Literal(True)))
        if ctx['shop']:
            where &= party.member_shop == ctx['shop']
        members = party.select(
            party.member_tier.as_('tier'),
            Count(party.id).as_('members'),
            Count(Case(((party.join_date >= ctx['from_date'])
                        & (party.join_date <= ctx['to_date']),
                        party.id))).as_('new_members'),
            zero.as_('upgrades'), zero.as_('downgrades'), zero.as_('spend'),
            where=where,
            group_by=[party.member_tier])
        hwhere = ((hparty.member_company == ctx['company'])
            & (history.date >= ctx['from_date'])
            & (history.date <= ctx['to_date']))
        if ctx['shop']:
            hwhere &= hparty.member_shop == ctx['shop']
        moves = history.join(hparty, condition=history.member == hparty.id
            ).select(
                history.to_tier.as_('tier'),
                zero.as_('members'), zero.as_('new_members'),
                Count(Case((history.kind == 'upgrade', history.id))
                    ).as_('upgrades'),
                Count(Case((history.kind == 'downgrade', history.id))
                    ).as_('downgrades'),
                zero.as_('spend'),
                where=hwhere & (history.kind != 'manual'),
                group_by=[history.to_tier])
        totals = cls._member_totals(ctx)
        sparty = Party.__table__()
        spend = totals.join(sparty, condition=totals.member == sparty.id
            ).select(
                sparty.member_tier.as_('tier'),
                zero.as_('members'), zero.as_('new_members'),
                zero.as_('upgrades'), zero.as_('downgrades'),
                Sum(totals.spend).as_('spend'),
                group_by=[sparty.member_tier])
        rows = Union(members, moves, spend, all_=True)
        count = Sum(rows.members)
        return rows.select(
            Coalesce(rows.tier + Literal(1), Literal(1)).as_('id'),
            rows.tier.as_('tier'),
            Literal(cls._currency(ctx)).as_('currency'),
            count.as_('members'),
            Sum(rows.new_members).as_('new_members'),
            Sum(rows.upgrades).as_('upgrades'),
            Sum(rows.downgrades).as_('downgrades'),
            Sum(rows.spend).as_('spend'),
            divide(count, Sum(count, window=Window([])), 4
                ).as_('member_share'),
            group_by=[rows.tier])


class MemberTierMovement(ExcelMixin, ModelSQL, ModelView):
    "Tier Movements"
    __name__ = 'retail.report.member.tier.movement'
    __string__ = "Tier Movements"

    from_tier = fields.Many2One('retail.member.tier', "From")
    to_tier = fields.Many2One('retail.member.tier', "To")
    kind = fields.Selection([
            ('upgrade', "Upgrade"),
            ('downgrade', "Downgrade"),
            ('manual', "Manual"),
            ], "Kind")
    members = fields.Integer("Members")

    _excel_fields = ['from_tier', 'to_tier', 'kind', 'members']

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('members', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Party = pool.get('party.party')
        History = pool.get('retail.member.tier.history')
        ctx = report_context()
        party = Party.__table__()
        history = History.__table__()
        where = ((party.member_company == ctx['company'])
            & (history.date >= ctx['from_date'])
            & (history.date <= ctx['to_date']))
        if ctx['shop']:
            where &= party.member_shop == ctx['shop']
        return history.join(party, condition=history.member == party.id
            ).select(
                Min(history.id).as_('id'),
                history.from_tier.as_('from_tier'),
                history.to_tier.as_('to_tier'),
                history.kind.as_('kind'),
                Count(history.member, distinct=True).as_('members'),
                where=where,
                group_by=[history.from_tier, history.to_tier, history.kind])
