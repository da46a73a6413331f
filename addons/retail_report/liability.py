# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
"""What the company owes its members at the end of the period, from the
ledgers, reconciled with the account balances.

- Stored value principal: the sum of the wallet ledger's principal against
  the balance (credit - debit) of the stored value liability account of
  retail_wallet's configuration, moves dated up to the end of the period.
- Stored value bonus: outstanding bonus; not booked (see retail_wallet:
  it becomes a discount when spent), so no account.
- Points: points outstanding and their money value at the configured value
  per point (rounded once on the total).
Other modules add rows by extending ``_queries``."""
from decimal import Decimal

from sql import Cast, Literal, Null, Union
from sql.aggregate import Count, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Round

from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.transaction import without_check_access

from .common import ExcelMixin, report_context

KINDS = [
    ('wallet_principal', "Stored Value Principal"),
    ('wallet_bonus', "Stored Value Bonus"),
    ('points', "Points"),
    # rows of retail_count_card and retail_coupon when they are activated
    ('count_card', "Count Card Uses"),
    ('coupon', "Coupons"),
    ]


def null(sql_type):
    "A typed NULL: PostgreSQL cannot match an untyped one in a UNION"
    return Cast(Null, sql_type)


def literal(value, sql_type):
    return Literal(value) if value is not None else null(sql_type)


class Liability(ExcelMixin, ModelSQL, ModelView):
    "Liabilities"
    __name__ = 'retail.report.liability'
    __string__ = "Liabilities"

    kind = fields.Selection(KINDS, "Liability")
    holders = fields.Integer("Holders",
        help="Members (or wallets, cards) with a balance.")
    quantity = fields.Integer("Quantity",
        help="Points or uses outstanding.")
    amount = Monetary("Outstanding", currency='currency', digits='currency',
        help="The money the ledger says is owed.")
    account = fields.Many2One('account.account', "Account")
    account_balance = Monetary(
        "Account Balance", currency='currency', digits='currency',
        help="Credit less debit of the account, moves up to the end date.")
    difference = Monetary(
        "Difference", currency='currency', digits='currency',
        help="Account balance less the ledger: entries booked by hand "
        "or dated differently from the ledger.")
    currency = fields.Many2One('currency.currency', "Currency")

    _excel_fields = ['kind', 'holders', 'quantity', 'amount', 'account',
        'account_balance', 'difference']

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Company = pool.get('company.company')
        ctx = report_context()
        ctx['currency'] = (Company(ctx['company']).currency.id
            if ctx['company'] >= 0 else None)
        rows = Union(*cls._queries(ctx), all_=True)
        return rows.select(
            rows.id, rows.kind, rows.holders, rows.quantity,
            rows.amount, rows.account, rows.account_balance,
            Case((rows.account_balance != Null,
                    rows.account_balance - rows.amount),
                else_=Null).as_('difference'),
            Literal(ctx['currency']).as_('currency'))

    @classmethod
    def _queries(cls, ctx):
        return [
            cls._wallet_query(ctx, 'principal'),
            cls._wallet_query(ctx, 'bonus'),
            cls._points_query(ctx),
            ]

    @classmethod
    def _account_balance(cls, account_ids, ctx):
        "One row: the balance (credit - debit) of the accounts at the end"
        pool = Pool()
        Move = pool.get('account.move')
        MoveLine = pool.get('account.move.line')
        move = Move.__table__()
        line = MoveLine.__table__()
        return line.join(move, condition=line.move == move.id).select(
            Coalesce(Sum(line.credit - line.debit), Literal(0)
                ).as_('balance'),
            where=line.account.in_(account_ids or [-1])
            & (move.company == ctx['company'])
            & (move.date <= ctx['to_date']))

    @classmethod
    def _wallet_query(cls, ctx, part):
        pool = Pool()
        Wallet = pool.get('retail.wallet')
        Line = pool.get('retail.wallet.line')
        Configuration = pool.get('retail.wallet.configuration')
        wallet = Wallet.__table__()
        line = Line.__table__()
        where = ((wallet.company == ctx['company'])
            & (line.date <= ctx['to_date']))
        if ctx['shop']:
            where &= wallet.shop == ctx['shop']
        column = getattr(line, part)
        per_wallet = line.join(wallet, condition=line.wallet == wallet.id
            ).select(
                wallet.id.as_('wallet'),
                Sum(column).as_('amount'),
                where=where,
                group_by=[wallet.id])
        account_id = None
        if part == 'principal' and ctx['company'] >= 0:
            with without_check_access():
                config = Configuration.get_for(ctx['company'])
            account = getattr(config, 'liability_account', None)
            if account:
                account_id = account.id
        totals = per_wallet.select(
            Count(Case((per_wallet.amount != Literal(0),
                        per_wallet.wallet))).as_('holders'),
            Coalesce(Sum(per_wallet.amount), Literal(0)).as_('amount'))
        kind = 'wallet_principal' if part == 'principal' else 'wallet_bonus'
        if account_id:
            balance = cls._account_balance([account_id], ctx)
            from_ = totals.join(balance, condition=Literal(True))
            account_balance = balance.balance
        else:
            from_ = totals
            account_balance = null('NUMERIC')
        return from_.select(
            Literal(1 if part == 'principal' else 2).as_('id'),
            Literal(kind).as_('kind'),
            totals.holders.as_('holders'),
            null('INTEGER').as_('quantity'),
            totals.amount.as_('amount'),
            literal(account_id, 'INTEGER').as_('account'),
            account_balance.as_('account_balance'))

    @classmethod
    def _points_query(cls, ctx):
        pool = Pool()
        Line = pool.get('retail.points.line')
        Configuration = pool.get('retail.points.configuration')
        line = Line.__table__()
        value = Decimal(0)
        if ctx['company'] >= 0:
            with without_check_access():
                settings = Configuration.get_settings(ctx['company'])
            value = settings.redeem_value or Decimal(0)
        per_account = line.select(
            line.account.as_('account'),
            Sum(line.points).as_('points'),
            where=(line.company == ctx['company'])
            & (line.date <= ctx['to_date']),
            group_by=[line.account])
        points = Coalesce(Sum(per_account.points), Literal(0))
        return per_account.select(
            Literal(3).as_('id'),
            Literal('points').as_('kind'),
            Count(Case((per_account.points != Literal(0),
                        per_account.account))).as_('holders'),
            points.as_('quantity'),
            Round(points * Literal(value), ctx['digits']).as_('amount'),
            null('INTEGER').as_('account'),
            null('NUMERIC').as_('account_balance'))
