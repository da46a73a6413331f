# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
"""Count cards (retail_count_card) in the liabilities: uses outstanding and
their deferred value, reconciled with the deferred revenue accounts of the
card templates."""
from sql import Literal
from sql.aggregate import Count, Sum
from sql.conditionals import Case, Coalesce

from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access

from .liability import literal, null


class Liability(metaclass=PoolMeta):
    __name__ = 'retail.report.liability'

    @classmethod
    def _queries(cls, ctx):
        return super()._queries(ctx) + [cls._count_card_query(ctx)]

    @classmethod
    def _count_card_query(cls, ctx):
        pool = Pool()
        Card = pool.get('retail.count.card')
        Line = pool.get('retail.count.card.line')
        Template = pool.get('retail.count.card.template')
        card = Card.__table__()
        line = Line.__table__()
        where = ((card.company == ctx['company'])
            & (line.date <= ctx['to_date']))
        if ctx['shop']:
            where &= card.shop == ctx['shop']
        per_card = line.join(card, condition=line.card == card.id).select(
            card.id.as_('card'),
            Sum(line.uses).as_('uses'),
            Sum(line.amount).as_('amount'),
            where=where,
            group_by=[card.id])
        with without_check_access():
            templates = Template.search([
                    ('company', '=', ctx['company']),
                    ('deferred_account', '!=', None),
                    ], order=[('id', 'ASC')])
        account_ids = sorted({t.deferred_account.id for t in templates})
        totals = per_card.select(
            Count(Case((per_card.amount != Literal(0), per_card.card))
                ).as_('holders'),
            Coalesce(Sum(per_card.uses), Literal(0)).as_('quantity'),
            Coalesce(Sum(per_card.amount), Literal(0)).as_('amount'))
        if account_ids:
            balance = cls._account_balance(account_ids, ctx)
            from_ = totals.join(balance, condition=Literal(True))
            account_balance = balance.balance
        else:
            from_ = totals
            account_balance = null('NUMERIC')
        return from_.select(
            Literal(4).as_('id'),
            Literal('count_card').as_('kind'),
            totals.holders.as_('holders'),
            totals.quantity.as_('quantity'),
            totals.amount.as_('amount'),
            literal(account_ids[0] if len(account_ids) == 1 else None,
                'INTEGER').as_('account'),
            account_balance.as_('account_balance'))
