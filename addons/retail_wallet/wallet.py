# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
import uuid
from collections import defaultdict
from decimal import Decimal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sql import Literal, Null
from sql.aggregate import Max, Sum
from sql.operators import Equal

from trytond import backend
from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import Check, Exclude, Index, ModelSQL, ModelView, Unique, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.retail_member.exchange import bulk_create
from trytond.modules.retail_member.ledger import find_by_request_key, lock_in_place
from trytond.modules.retail_member.tools import clears_on_modification, transaction_memo
from trytond.pool import Pool
from trytond.pyson import Bool, Eval, If
from trytond.tools import sqlite_apply_types
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import (
    InsufficientBalanceError,
    LedgerAccessError,
    PINError,
    WalletAmountError,
    WalletConfigurationError,
    WalletError,
)

# OWASP minimum for argon2id: 19 MiB, 2 iterations, 1 lane.  A 6 digit PIN
# has little entropy: the lock-out, not the KDF, stops guessing; the KDF
# stops a leaked table from giving every PIN away in seconds.
PIN_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# how long a PIN entered at the PIN pad pays its sale
PIN_GRANT_MINUTES = 10

KINDS = [
    ('topup', "Top-up"),
    ('bonus', "Bonus Credit"),
    ('bonus_release', "Bonus Release"),
    ('payment', "Payment"),
    ('refund', "Refund"),
    ('change', "Change Stored"),
    ('adjustment', "Adjustment"),
    ('closing', "Closing"),
    ('transfer', "Transfer"),
    ]


def utcnow():
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _timestamp(value):
    "A timestamp column's value as a datetime (SQLite returns the text)"
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def check_amount(amount, currency, allow_negative=False, allow_zero=False):
    "Raise a user error unless amount is a valid money amount"
    if amount is None or (not allow_zero and not amount):
        raise WalletAmountError(gettext('retail_wallet.msg_amount_zero'))
    if not allow_negative and amount < 0:
        raise WalletAmountError(gettext(
                'retail_wallet.msg_amount_negative', amount=amount))
    if currency.round(amount) != amount:
        raise WalletAmountError(gettext(
                'retail_wallet.msg_amount_digits', amount=amount,
                digits=currency.digits))


def new_request_key():
    return uuid.uuid4().hex


def _clear_configurations():
    Pool().get('retail.wallet.configuration')._of_company.clear()


class Configuration(clears_on_modification(_clear_configurations,
            "A configuration created, written or deleted empties the cache "
            "of the companies' configurations (get_for)"),
        ModelSQL, ModelView):
    "Stored value rules of one company"
    __name__ = 'retail.wallet.configuration'
    # the id of each company's configuration (None: none saved)
    _of_company = Cache('retail_wallet.configuration_of', context=False)

    company = fields.Many2One(
        'company.company', "Company", required=True, ondelete='CASCADE')
    liability_account = fields.Many2One(
        'account.account', "Stored Value Liability Account",
        domain=[
            ('type', '!=', None),
            ('closed', '!=', True),
            ('party_required', '=', False),
            ('company', '=', Eval('company', -1)),
            ],
        help="Credited by top-ups with the principal, debited by wallet "
        "payments when the POS sale is done: its balance is the sum of all "
        "wallets' principal.")
    clearing_account = fields.Many2One(
        'account.account', "Wallet Clearing Account",
        domain=[
            ('type', '!=', None),
            ('closed', '!=', True),
            ('party_required', '=', False),
            ('company', '=', Eval('company', -1)),
            ('id', '!=', Eval('liability_account', -1)),
            ],
        help="The account of the stored value payment method: a wallet "
        "payment credits it when the sale is done (against the liability "
        "and the bonus account) and the POS posting clears it against "
        "revenue; its balance is the done sales not posted yet.")
    bonus_account = fields.Many2One(
        'account.account', "Bonus Account",
        domain=[
            ('type', '!=', None),
            ('closed', '!=', True),
            ('party_required', '=', False),
            ('company', '=', Eval('company', -1)),
            ],
        help="Debited with the bonus part of a wallet payment "
        "(marketing expense or sales discount).")
    closing_income_account = fields.Many2One(
        'account.account', "Closing Income Account",
        domain=[
            ('type', '!=', None),
            ('closed', '!=', True),
            ('party_required', '=', False),
            ('company', '=', Eval('company', -1)),
            ],
        help="Credited with the principal kept when the proportional "
        "closing rule refunds less than the principal.")
    journal = fields.Many2One(
        'account.journal', "Journal",
        context={'company': Eval('company', -1)}, depends={'company'},
        help="Journal of top-up, closing and adjustment moves.")
    cash_transfer_type = fields.Many2One(
        'sale.point.cash.transfer.type', "Cash Transfer Type",
        domain=[('company', '=', Eval('company', -1))],
        help="Used to count top-up cash and closing payouts in the cash "
        "session; its account must be the liability account.")
    wallet_scope = fields.Selection([
            ('chain', "Chain-wide"),
            ('shop', "Per Shop"),
            ], "Wallet Scope", required=True,
        help="Where a new wallet can be spent.")
    spending_order = fields.Selection([
            ('principal_first', "Principal First"),
            ('bonus_first', "Bonus First"),
            ('proportional', "Proportional"),
            ], "Spending Order", required=True)
    closing_rule = fields.Selection([
            ('principal', "Refund Principal"),
            ('proportional', "Refund Balance × Paid ÷ (Paid + Bonus)"),
            ], "Closing Rule", required=True)
    anonymous_cap = Monetary(
        "Anonymous Card Cap", currency='currency', digits='currency',
        required=True)
    named_cap = Monetary(
        "Named Card Cap", currency='currency', digits='currency',
        required=True)
    real_name_threshold = Monetary(
        "Real-name Threshold", currency='currency', digits='currency',
        required=True,
        help="A single top-up of at least this amount needs the holder's "
        "name and ID number or verified mobile.")
    require_pin = fields.Boolean(
        "Require PIN", help="Refuse wallet payments while no PIN is set.")
    pin_max_attempts = fields.Integer("PIN Attempts", required=True)
    pin_lock_minutes = fields.Integer("PIN Lock Minutes", required=True)
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('company_unique', Unique(t, t.company),
                'retail_wallet.msg_configuration_company_unique'),
            ('caps_positive',
                Check(t, (t.anonymous_cap >= 0) & (t.named_cap >= 0)
                    & (t.real_name_threshold >= 0)),
                'retail_wallet.msg_configuration_caps_positive'),
            ('pin_attempts_positive',
                Check(t, (t.pin_max_attempts > 0)
                    & (t.pin_lock_minutes >= 0)),
                'retail_wallet.msg_configuration_pin_positive'),
            ]

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_wallet_scope(cls):
        return 'chain'

    @classmethod
    def default_spending_order(cls):
        return 'principal_first'

    @classmethod
    def default_closing_rule(cls):
        return 'principal'

    @classmethod
    def default_anonymous_cap(cls):
        return Decimal(1000)

    @classmethod
    def default_named_cap(cls):
        return Decimal(5000)

    @classmethod
    def default_real_name_threshold(cls):
        return Decimal(10000)

    @classmethod
    def default_require_pin(cls):
        return False

    @classmethod
    def default_pin_max_attempts(cls):
        return 5

    @classmethod
    def default_pin_lock_minutes(cls):
        return 30

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    def get_rec_name(self, name):
        return self.company.rec_name

    @classmethod
    def get_for(cls, company):
        """Return the configuration of the company (defaults if none); its
        id is kept across requests (every wallet payment asks for it)"""
        company_id = int(company)
        config_id = cls._of_company.get(company_id, -1)
        if config_id == -1:
            with without_check_access():
                configs = cls.search([('company', '=', company_id)], limit=1)
            config_id = configs[0].id if configs else None
            cls._of_company.set(company_id, config_id)
        if config_id is not None:
            return cls(config_id)
        config = cls(company=company_id)
        for name in cls._fields:
            default = getattr(cls, 'default_%s' % name, None)
            if default and name != 'company':
                setattr(config, name, default())
        return config

    def require(self, name):
        value = getattr(self, name, None)
        if not value:
            raise WalletConfigurationError(gettext(
                    'retail_wallet.msg_configuration_missing',
                    field=self.__class__._fields[name].string,
                    company=self.company.rec_name))
        return value

    def create_move(self, date, lines, origin, description=None, post=True):
        """Create (and post unless post is False) an account move for the
        lines (account, amount): a positive amount is a debit."""
        pool = Pool()
        Move = pool.get('account.move')
        MoveLine = pool.get('account.move.line')
        Period = pool.get('account.period')
        lines = [(a, m) for a, m in lines if m]
        if not lines:
            return None
        values = {
            'journal': self.require('journal').id,
            'period': Period.find(self.company, date=date).id,
            'date': date,
            'origin': str(origin),
            'company': self.company.id,
            'description': description,
            }
        if not post:
            return self._insert_draft_move(values, lines)
        move = Move(**values, lines=[MoveLine(account=account,
                    debit=max(amount, Decimal(0)),
                    credit=max(-amount, Decimal(0)))
                for account, amount in lines])
        move.save()
        Move.post([move])
        return move

    @staticmethod
    def _insert_draft_move(values, lines):
        """The draft move of a sale's wallet payment, inserted without the
        ORM's per-record validation (a quarter of a wallet checkout): the
        accounts come from this configuration and are checked here as the
        ORM would (open, of a type, no party), the journal period and the
        balance are checked by the lines' on_modification, and Move.post
        checks the balance again when the sale is posted."""
        pool = Pool()
        Move = pool.get('account.move')
        MoveLine = pool.get('account.move.line')
        Journal = pool.get('account.journal')
        Period = pool.get('account.period')
        Account = pool.get('account.account')
        move_id, = bulk_create(Move, [values])
        # the move's fields on a line are Function fields whose setter
        # writes the move: None keeps the values given above
        move_fields = {n: None for n, f in MoveLine._fields.items()
            if getattr(f, 'setter', None) == 'set_move_field'}
        # what the lines' on_modification checks (the move is a draft, the
        # journal's period is open) told instead of reading the lines and
        # their move back
        move = Move(move_id)
        move._values = move._record(state='draft')
        known = {'move': move, 'journal': Journal(values['journal']),
            'period': Period(values['period'])}
        line_ids = bulk_create(MoveLine, [{
                    **move_fields,
                    'move': move_id,
                    'account': account.id,
                    'debit': max(amount, Decimal(0)),
                    'credit': max(-amount, Decimal(0)),
                    } for account, amount in lines],
            known=[known] * len(lines))
        # MoveLine.check_account, told by the accounts (the lines have no
        # party) in one query: the lines are read only to refuse them with
        # its message
        account = Account.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*account.select(account.id,
                where=account.id.in_(list({a.id for a, _ in lines}))
                & ((account.type == Null) | (account.closed == Literal(True))
                    | (account.party_required == Literal(True)))))
        if cursor.fetchone():
            MoveLine.check_account(MoveLine.browse(line_ids))
        return Move(move_id)


# {(member id, company id, shop id): wallet id or None} found this
# transaction
_found_wallets, FoundWalletsMemoMixin = transaction_memo(
    '_retail_wallets_found',
    "A wallet created, written or deleted empties the memo of the wallets "
    "found (find)")


class Wallet(FoundWalletsMemoMixin, ModelSQL, ModelView):
    "Stored-value wallet of a member"
    __name__ = 'retail.wallet'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    party = fields.Many2One(
        'party.party', "Member", required=True, readonly=True,
        ondelete='RESTRICT',
        context={'company': Eval('company', -1)}, depends={'company'})
    shop = fields.Many2One(
        'retail.shop', "Shop", readonly=True, ondelete='RESTRICT',
        help="Empty: the wallet can be spent in every shop of the chain.")
    state = fields.Selection([
            ('open', "Open"),
            ('closed', "Closed"),
            ], "State", readonly=True, required=True, sort=False)
    lines = fields.One2Many(
        'retail.wallet.line', 'wallet', "Ledger", readonly=True,
        order=[('sequence', 'DESC')])
    releases = fields.One2Many(
        'retail.wallet.bonus.release', 'wallet', "Bonus Releases",
        readonly=True)
    principal = fields.Function(Monetary(
            "Principal", currency='currency', digits='currency'),
        'get_balances')
    bonus = fields.Function(Monetary(
            "Bonus", currency='currency', digits='currency'),
        'get_balances')
    balance = fields.Function(Monetary(
            "Balance", currency='currency', digits='currency'),
        'get_balances')
    pending_bonus = fields.Function(Monetary(
            "Bonus to Release", currency='currency', digits='currency'),
        'get_pending_bonus')
    has_pin = fields.Function(fields.Boolean("PIN Set"), 'get_pin_status')
    pin_locked = fields.Function(
        fields.Boolean("PIN Locked"), 'get_pin_status')
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('party_shop_open_unique',
                Exclude(t, (t.company, Equal), (t.party, Equal),
                    (t.shop, Equal),
                    where=(t.state == 'open') & (t.shop != None)),  # noqa
                'retail_wallet.msg_wallet_open_unique'),
            ('party_chain_open_unique',
                Exclude(t, (t.company, Equal), (t.party, Equal),
                    where=(t.state == 'open') & (t.shop == None)),  # noqa
                'retail_wallet.msg_wallet_open_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.party, Index.Range())))
        cls._buttons.update(
            reset_pin={
                'invisible': ~Eval('has_pin', False),
                'depends': ['has_pin'],
                },
            set_pin={
                'invisible': Eval('state') != 'open',
                'depends': ['state'],
                },
            adjust={
                'invisible': Eval('state') != 'open',
                'depends': ['state'],
                },
            )

    @classmethod
    def default_state(cls):
        return 'open'

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    def get_rec_name(self, name):
        name = self.party.rec_name
        if self.shop:
            name += ' @ %s' % self.shop.rec_name
        return name

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('party.rec_name',) + tuple(clause[1:])]

    @classmethod
    def check_modification(cls, mode, wallets, values=None, external=False):
        super().check_modification(
            mode, wallets, values=values, external=external)
        if mode == 'delete':
            raise LedgerAccessError(gettext(
                    'retail_wallet.msg_wallet_delete'))

    @classmethod
    def lock(cls, records=None):
        """Lock the wallet rows before reading their balance: waits for the
        holder in place on PostgreSQL (retail_member.ledger.lock_in_place).
        Every ledger writer takes this lock, so no line can be appended on
        a stale balance."""
        lock_in_place(cls, records, super().lock)

    # Balances -----------------------------------------------------------

    @classmethod
    def _ledger_sums(cls, wallet_ids):
        "Return {wallet id: (principal, bonus, last sequence)} from the SQL"
        pool = Pool()
        Line = pool.get('retail.wallet.line')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        result = defaultdict(lambda: (Decimal(0), Decimal(0), 0))
        for sub_ids in [wallet_ids[i:i + 1000]
                for i in range(0, len(wallet_ids), 1000)]:
            query = line.select(
                line.wallet.as_('wallet'),
                Sum(line.principal).as_('principal'),
                Sum(line.bonus).as_('bonus'),
                Max(line.sequence).as_('sequence'),
                where=fields.SQL_OPERATORS['in'](line.wallet, sub_ids),
                group_by=[line.wallet])
            if backend.name == 'sqlite':
                sqlite_apply_types(query, [None, 'NUMERIC', 'NUMERIC', None])
            cursor.execute(*query)
            for wallet_id, principal, bonus, sequence in cursor:
                result[wallet_id] = (
                    Decimal(principal or 0), Decimal(bonus or 0),
                    sequence or 0)
        return result

    @classmethod
    def _last_after(cls, wallet_id, sequence):
        """The (principal, bonus) after the wallet's line of sequence: the
        sums of the ledger must end there (a check of its integrity)"""
        pool = Pool()
        Line = pool.get('retail.wallet.line')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        query = line.select(line.principal_after.as_('principal_after'),
            line.bonus_after.as_('bonus_after'),
            where=(line.wallet == wallet_id) & (line.sequence == sequence))
        if backend.name == 'sqlite':
            sqlite_apply_types(query, ['NUMERIC', 'NUMERIC'])
        cursor.execute(*query)
        row = cursor.fetchone()
        return (Decimal(row[0]), Decimal(row[1])) if row else None

    @classmethod
    def get_balances(cls, wallets, names):
        sums = cls._ledger_sums([w.id for w in wallets])
        result = {n: {} for n in names}
        for wallet in wallets:
            principal, bonus, _ = sums[wallet.id]
            principal = wallet.currency.round(principal)
            bonus = wallet.currency.round(bonus)
            values = {
                'principal': principal,
                'bonus': bonus,
                'balance': principal + bonus,
                }
            for name in names:
                result[name][wallet.id] = values[name]
        return result

    @classmethod
    def get_pending_bonus(cls, wallets, name):
        pool = Pool()
        Release = pool.get('retail.wallet.bonus.release')
        release = Release.__table__()
        cursor = Transaction().connection.cursor()
        result = {w.id: Decimal(0) for w in wallets}
        query = release.select(
            release.wallet.as_('wallet'), Sum(release.amount).as_('amount'),
            where=fields.SQL_OPERATORS['in'](
                release.wallet, [w.id for w in wallets])
            & (release.state == 'pending'),
            group_by=[release.wallet])
        if backend.name == 'sqlite':
            sqlite_apply_types(query, [None, 'NUMERIC'])
        cursor.execute(*query)
        for wallet_id, amount in cursor:
            result[wallet_id] = Decimal(amount or 0)
        for wallet in wallets:
            result[wallet.id] = wallet.currency.round(result[wallet.id])
        return result

    # Finding ------------------------------------------------------------

    @classmethod
    def find(cls, party, company, shop=None, create=False):
        """Return the open wallet of the member usable in the shop:
        the shop's own wallet first, else the chain-wide one.

        Searched once a transaction while no wallet changes (a wallet
        checkout asked for it to pay and again for the member's summary)."""
        memo = _found_wallets()
        key = (int(party), int(company), int(shop) if shop else None)
        if key in memo and (memo[key] is not None or not create):
            return cls(memo[key]) if memo[key] is not None else None
        # a plain query: the ORM's search read every field of the wallets,
        # of which the member's summary needs none
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        shop_clause = table.shop == Null
        if shop:
            shop_clause |= table.shop == int(shop)
        cursor.execute(*table.select(table.id, table.shop,
                where=(table.party == int(party))
                & (table.company == int(company))
                & (table.state == 'open') & shop_clause,
                order_by=[table.id.asc]))
        # the shop's own wallet first
        rows = sorted(cursor, key=lambda r: r[1] is None)
        memo[key] = rows[0][0] if rows else None
        if rows:
            return cls(rows[0][0])
        if create:
            config = Configuration_get(company)
            wallet = cls(
                party=party, company=company,
                shop=shop if shop and config.wallet_scope == 'shop' else None)
            with without_check_access():
                wallet.save()
            return wallet

    # Ledger -------------------------------------------------------------

    def post_line(self, kind, principal=Decimal(0), bonus=Decimal(0),
            origin=None, reason=None, request_key=None, card=None,
            refund_of=None, allow_closed=False, sums=None):
        """Append a ledger line under the wallet row lock.

        Returns the existing line when request_key was already used for the
        same origin (a retried request changes nothing twice).
        sums: the wallet's _ledger_sums the caller read under the lock in
        this transaction (spend), else they are read here."""
        pool = Pool()
        Line = pool.get('retail.wallet.line')
        cls = self.__class__
        cls.lock([self])
        currency = self.currency
        for amount in (principal, bonus):
            check_amount(amount, currency, allow_negative=True,
                allow_zero=True)
        if not principal and not bonus:
            raise WalletAmountError(gettext('retail_wallet.msg_amount_zero'))
        principal, bonus = currency.round(principal), currency.round(bonus)
        with without_check_access():
            line = find_by_request_key(Line, request_key)
            if line:
                if (line.wallet == self
                        and str(line.origin) == str(origin)
                        and line.kind == kind):
                    return line
                raise WalletError(gettext(
                        'retail_wallet.msg_request_key_used',
                        key=request_key))
            wallet = cls(self.id)  # fresh state read after the lock
            if wallet.state != 'open' and not allow_closed:
                raise WalletError(gettext(
                        'retail_wallet.msg_wallet_closed',
                        wallet=wallet.rec_name))
            if sums is None:
                sums = cls._ledger_sums([wallet.id])
            principal_before, bonus_before, sequence = sums[wallet.id]
            if sequence and cls._last_after(wallet.id, sequence) != (
                    principal_before, bonus_before):
                raise WalletError(gettext(
                        'retail_wallet.msg_ledger_corrupted',
                        wallet=wallet.rec_name))
            principal_after = principal_before + principal
            bonus_after = bonus_before + bonus
            if principal_after < 0 or bonus_after < 0:
                raise InsufficientBalanceError(gettext(
                        'retail_wallet.msg_insufficient_balance',
                        wallet=wallet.rec_name,
                        balance=principal_before + bonus_before,
                        amount=-(principal + bonus)))
            # inserted without the ORM's per-record validation: the values
            # are made here from the sums read under the lock, and what must
            # never happen (a negative balance, a sequence, a request key or
            # an origin twice, a write) the database refuses
            line_id, = bulk_create(Line, [{
                        'wallet': wallet.id,
                        'sequence': sequence + 1,
                        'kind': kind,
                        'principal': principal,
                        'bonus': bonus,
                        'principal_before': principal_before,
                        'bonus_before': bonus_before,
                        'principal_after': principal_after,
                        'bonus_after': bonus_after,
                        'origin': origin,
                        'reason': reason,
                        'operator': Transaction().user or None,
                        'request_key': request_key or new_request_key(),
                        'card': card,
                        'refund_of': refund_of,
                        }])
        # the amounts the caller books next (the payment's move), told
        # instead of read back
        line = Line(line_id)
        line._values = line._record(principal=principal, bonus=bonus)
        return line

    def split_spending(self, amount, sums=None, config=None):
        """Return (principal, bonus) parts to spend amount (positive)
        following the configured spending order.
        sums: the wallet's _ledger_sums the caller has read; config: the
        wallet configuration of its company the caller has read"""
        if config is None:
            config = Configuration_get(self.company)
        if sums is None:
            sums = self._ledger_sums([self.id])
        principal, bonus, _ = sums[self.id]
        if amount > principal + bonus:
            raise InsufficientBalanceError(gettext(
                    'retail_wallet.msg_insufficient_balance',
                    wallet=self.rec_name, balance=principal + bonus,
                    amount=amount))
        if config.spending_order == 'bonus_first':
            from_bonus = min(bonus, amount)
        elif config.spending_order == 'proportional':
            from_bonus = self.currency.round(
                amount * bonus / (principal + bonus))
            from_bonus = min(from_bonus, bonus)
            from_bonus = max(from_bonus, amount - principal)
        else:
            from_bonus = max(amount - principal, Decimal(0))
        return amount - from_bonus, from_bonus

    def spend(self, amount, origin, request_key=None, card=None,
            config=None):
        """Debit amount from the wallet in the configured spending order
        (config: the wallet configuration the caller has read)"""
        check_amount(amount, self.currency)
        self.__class__.lock([self])
        # read once under the lock for the split and the line
        sums = self._ledger_sums([self.id])
        principal, bonus = self.split_spending(amount, sums=sums,
            config=config)
        return self.post_line(
            'payment', -principal, -bonus, origin=origin,
            request_key=request_key, card=card, sums=sums)

    @classmethod
    def transfer(cls, source, target, origin, reason=None):
        "Move the whole balance of source to target"
        cls.lock([source, target])
        sums = cls._ledger_sums([source.id])
        principal, bonus, _ = sums[source.id]
        if not principal and not bonus:
            return
        key = new_request_key()
        source.post_line('transfer', -principal, -bonus, origin=origin,
            reason=reason, request_key=key + ':out')
        target.post_line('transfer', principal, bonus, origin=origin,
            reason=reason, request_key=key + ':in')

    # PIN ----------------------------------------------------------------

    @staticmethod
    def _now():
        return utcnow()

    def _pin_locked_until(self, config):
        "Return the end of the lock-out or None"
        return self._pin_state(config)[0]

    def _pin_state(self, config):
        """Return the end of the lock-out or None and the failures that
        count towards the next lock-out (since the last attempt that was not
        a failure and the last lock-out's end)"""
        pool = Pool()
        Attempt = pool.get('retail.wallet.pin.attempt')
        attempts = Attempt.search([
                ('wallet_id', '=', self.id),
                ], order=[('id', 'DESC')], limit=500)
        failures = []
        for attempt in attempts:
            if attempt.result != 'failure':
                break
            failures.append(attempt.at)
        failures.reverse()
        count, until = 0, None
        lock = dt.timedelta(minutes=config.pin_lock_minutes)
        for at in failures:
            if until and at < until:
                continue
            if until and at >= until:
                count, until = 0, None
            count += 1
            if count >= config.pin_max_attempts:
                until = at + lock
        if until and self._now() < until:
            return until, count
        return None, count

    @classmethod
    def get_pin_status(cls, wallets, names):
        result = {n: {} for n in names}
        with without_check_access():
            for wallet in wallets:
                wallet = cls(wallet.id)
                config = Configuration_get(wallet.company)
                if 'has_pin' in names:
                    result['has_pin'][wallet.id] = bool(wallet.get_pin_hash())
                if 'pin_locked' in names:
                    result['pin_locked'][wallet.id] = bool(
                        wallet.get_pin_hash() and wallet._pin_locked_until(config))
        return result

    def get_pin_hash(self):
        "The wallet's PIN hash or None, in one plain query"
        pool = Pool()
        WalletPin = pool.get('retail.wallet.pin')
        table = WalletPin.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.pin_hash,
                where=table.wallet == self.id,
                order_by=[table.id.asc], limit=1))
        row = cursor.fetchone()
        return row[0] if row else None

    def set_pin_hash(self, pin_hash):
        pool = Pool()
        WalletPin = pool.get('retail.wallet.pin')
        with without_check_access():
            pins = WalletPin.search([('wallet', '=', self.id)], limit=1)
            if pins:
                WalletPin.write(pins, {'pin_hash': pin_hash})
            else:
                WalletPin.create([{'wallet': self.id, 'pin_hash': pin_hash}])

    @classmethod
    def check_pin_format(cls, pin):
        if not pin or not pin.isdigit() or not (4 <= len(pin) <= 12):
            raise PINError(gettext('retail_wallet.msg_pin_format'))

    def _record_attempt(self, result, request=None, amount=None):
        pool = Pool()
        Attempt = pool.get('retail.wallet.pin.attempt')
        Attempt.create([{
                    'wallet_id': self.id,
                    'result': result,
                    'at': self._now(),
                    'user': Transaction().user or None,
                    'request': request,
                    'amount': amount,
                    }])

    def pin_granted(self, request, amount):
        """Whether the PIN was entered at the PIN pad for the sale request
        and amount or more in the last PIN_GRANT_MINUTES: the checkout of
        that sale then needs no PIN (its UUID books once, so the grant
        pays one sale)"""
        pool = Pool()
        Attempt = pool.get('retail.wallet.pin.attempt')
        if not request:
            return False
        # one plain query (the ORM's search read the attempt's every field);
        # amount and time compared here, as SQLite stores them as text
        table = Attempt.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.amount, table.at,
                where=(table.wallet_id == self.id)
                & (table.request == request)
                & (table.result == 'success')))
        since = self._now() - dt.timedelta(minutes=PIN_GRANT_MINUTES)
        return any(
            granted is not None and Decimal(str(granted)) >= amount
            and _timestamp(at) >= since for granted, at in cursor)

    @staticmethod
    def _pin_matches(pin_hash, pin):
        try:
            return PIN_HASHER.verify(pin_hash, pin)
        except (VerificationError, InvalidHashError):
            return False

    def _check_pin(self, config, pin_hash, pin, ok=None, request=None,
            amount=None):
        """Return (result, remaining attempts) and record the attempt
        (ok: whether the PIN matches when already known; request and amount:
        what a success grants)"""
        with without_check_access():
            wallet = self.__class__(self.id)
            until = wallet._pin_locked_until(config)
            if until:
                result, remaining = 'locked', 0
            else:
                if ok is None:
                    ok = self._pin_matches(pin_hash, pin)
                if ok:
                    wallet._record_attempt('success', request, amount)
                else:
                    wallet._record_attempt('failure')
                until, failures = wallet._pin_state(config)
                if ok:
                    result, remaining = 'ok', 0
                elif until:
                    result, remaining = 'locked', 0
                else:
                    remaining = config.pin_max_attempts - failures
                    result = 'wrong'
        return result, remaining

    def verify_pin(self, pin, request=None, amount=None):
        """Check the payment PIN (entered for the sale request and amount
        at the PIN pad: the success grants that sale's payment).

        Failures (and the success that resets them) are recorded in their
        own transaction so that the rollback of the refused payment does not
        forget them; a success after no failure is recorded with the
        payment."""
        config = Configuration_get(self.company)
        with without_check_access():
            pin_hash = self.get_pin_hash()
        if not pin_hash:
            if config.require_pin:
                raise PINError(gettext(
                        'retail_wallet.msg_pin_not_set',
                        wallet=self.rec_name))
            return
        if not pin:
            raise PINError(gettext('retail_wallet.msg_pin_required'))
        with without_check_access():
            until, failures = self.__class__(self.id)._pin_state(config)
        locked = bool(until)
        ok = None
        if not locked:
            ok = self._pin_matches(pin_hash, pin)
            if ok and not failures:
                # the common case: no failure to reset, so the success is
                # recorded with the payment (the checkout pays no second
                # transaction and commit for it)
                with without_check_access():
                    self._record_attempt('success', request, amount)
                return
        transaction = Transaction()
        if self.id in transaction.create_records[self.__name__]:
            # A wallet not committed yet is invisible to a new transaction
            result, remaining = self._check_pin(
                config, pin_hash, pin, ok, request, amount)
        elif (backend.name == 'sqlite'
                and transaction.database.name != ':memory:'):
            # SQLite has a single writer: a second transaction would wait
            # for this one (the POS checkout has written the sale already)
            # until "database is locked". Check in this transaction and
            # record a failure once the refused payment is rolled back.
            result, remaining = self._check_pin(
                config, pin_hash, pin, ok, request, amount)
            if result == 'wrong' or (result == 'locked' and not locked):
                transaction.atexit(
                    _record_failure_after, transaction.database.name,
                    transaction.user, self.id)
        else:
            with transaction.new_transaction() as new:
                result, remaining = self._check_pin(
                    config, pin_hash, pin, ok, request, amount)
                new.commit()
        if result == 'locked':
            raise PINError(gettext(
                    'retail_wallet.msg_pin_locked',
                    wallet=self.rec_name,
                    minutes=config.pin_lock_minutes))
        elif result == 'wrong':
            raise PINError(gettext(
                    'retail_wallet.msg_pin_wrong',
                    remaining=remaining))

    def change_pin(self, new_pin, old_pin=None):
        self.check_pin_format(new_pin)
        with without_check_access():
            has_pin = bool(self.get_pin_hash())
        if has_pin:
            self.verify_pin(old_pin)
        with without_check_access():
            self.set_pin_hash(PIN_HASHER.hash(new_pin))
            self._record_attempt('set')

    @classmethod
    @ModelView.button
    def reset_pin(cls, wallets):
        "Clear the PIN and the lock-out (manager)"
        with without_check_access():
            for wallet in wallets:
                wallet.set_pin_hash(None)
                wallet._record_attempt('reset')

    def adjust_balance(self, principal, bonus, reason, account=None,
            request_key=None):
        "Manual adjustment with operator and reason, booked against account"
        pool = Pool()
        Date = pool.get('ir.date')
        if not reason or not reason.strip():
            raise WalletError(gettext('retail_wallet.msg_reason_required'))
        config = Configuration_get(self.company)
        if principal and not account:
            raise WalletError(gettext('retail_wallet.msg_adjust_account'))
        line = self.post_line('adjustment', principal, bonus, origin=self,
            reason=reason, request_key=request_key or new_request_key())
        if principal:
            liability = config.require('liability_account')
            with Transaction().set_context(company=self.company.id), \
                    without_check_access():
                config.create_move(Date.today(), [
                        (liability, -principal), (account, principal)],
                    self, description=reason)
        return line

    @classmethod
    @ModelView.button_action('retail_wallet.wizard_set_pin')
    def set_pin(cls, wallets):
        pass

    @classmethod
    @ModelView.button_action('retail_wallet.wizard_adjust')
    def adjust(cls, wallets):
        pass


def Configuration_get(company):
    return Pool().get('retail.wallet.configuration').get_for(company)


class WalletLine(ModelSQL, ModelView):
    "Stored-value ledger line (append-only)"
    __name__ = 'retail.wallet.line'

    wallet = fields.Many2One(
        'retail.wallet', "Wallet", required=True, readonly=True,
        ondelete='RESTRICT')
    sequence = fields.Integer("Sequence", required=True, readonly=True)
    date = fields.Date("Date", required=True, readonly=True)
    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True)
    principal = Monetary(
        "Principal", currency='currency', digits='currency', required=True,
        readonly=True)
    bonus = Monetary(
        "Bonus", currency='currency', digits='currency', required=True,
        readonly=True)
    amount = fields.Function(Monetary(
            "Amount", currency='currency', digits='currency'),
        'get_amount')
    principal_before = Monetary(
        "Principal Before", currency='currency', digits='currency',
        required=True, readonly=True)
    bonus_before = Monetary(
        "Bonus Before", currency='currency', digits='currency',
        required=True, readonly=True)
    principal_after = Monetary(
        "Principal After", currency='currency', digits='currency',
        required=True, readonly=True)
    bonus_after = Monetary(
        "Bonus After", currency='currency', digits='currency',
        required=True, readonly=True)
    origin = fields.Reference(
        "Origin", selection='get_origin', readonly=True)
    operator = fields.Many2One('res.user', "Operator", readonly=True)
    reason = fields.Char("Reason", readonly=True)
    request_key = fields.Char("Request Key", required=True, readonly=True)
    card = fields.Many2One('retail.member.card', "Card", readonly=True)
    refund_of = fields.Many2One(
        'retail.wallet.line', "Refund Of", readonly=True,
        domain=[('kind', '=', 'payment')])
    company = fields.Function(fields.Many2One(
            'company.company', "Company"),
        'on_change_with_company', searcher='search_company')
    party = fields.Function(fields.Many2One(
            'party.party', "Member",
            context={'company': Eval('company', -1)}, depends={'company'}),
        'on_change_with_party',
        searcher='search_party')
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('principal_after_positive', Check(t, t.principal_after >= 0),
                'retail_wallet.msg_line_negative_balance'),
            ('bonus_after_positive', Check(t, t.bonus_after >= 0),
                'retail_wallet.msg_line_negative_balance'),
            ('request_key_unique', Unique(t, t.request_key),
                'retail_wallet.msg_line_request_key_unique'),
            ('wallet_sequence_unique', Unique(t, t.wallet, t.sequence),
                'retail_wallet.msg_line_sequence_unique'),
            ('wallet_origin_kind_unique',
                Unique(t, t.wallet, t.origin, t.kind),
                'retail_wallet.msg_line_origin_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.origin, Index.Equality())),
                Index(t, (t.refund_of, Index.Range())),
                })
        cls._order = [
            ('wallet', 'ASC'), ('sequence', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def _get_origin(cls):
        return [
            'retail.wallet',
            'retail.wallet.topup',
            'retail.wallet.bonus.release',
            'retail.wallet.closing',
            'sale.point.payment',
            'retail.member.card',
            ]

    @classmethod
    def get_origin(cls):
        pool = Pool()
        IrModel = pool.get('ir.model')
        get_name = IrModel.get_name
        return [(None, '')] + [(m, get_name(m)) for m in cls._get_origin()]

    def get_amount(self, name):
        return self.principal + self.bonus

    @fields.depends('wallet', '_parent_wallet.company')
    def on_change_with_company(self, name=None):
        return self.wallet.company if self.wallet else None

    @classmethod
    def search_company(cls, name, clause):
        return [('wallet.company',) + tuple(clause[1:])]

    @fields.depends('wallet', '_parent_wallet.party')
    def on_change_with_party(self, name=None):
        return self.wallet.party if self.wallet else None

    @classmethod
    def search_party(cls, name, clause):
        return [('wallet.party',) + tuple(clause[1:])]

    @fields.depends('wallet', '_parent_wallet.company')
    def on_change_with_currency(self, name=None):
        return self.wallet.company.currency if self.wallet else None

    def get_rec_name(self, name):
        return '%s #%s' % (self.wallet.rec_name, self.sequence)

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise LedgerAccessError(gettext(
                    'retail_wallet.msg_line_immutable'))

    @classmethod
    def copy(cls, lines, default=None):
        if lines:
            raise LedgerAccessError(gettext(
                    'retail_wallet.msg_line_immutable'))
        return super().copy(lines, default=default)

    @classmethod
    def validate(cls, lines):
        super().validate(lines)
        for line in lines:
            if line.principal_after < 0 or line.bonus_after < 0:
                raise WalletError(gettext(
                        'retail_wallet.msg_line_negative_balance'))
            if (line.principal_after != line.principal_before + line.principal
                    or line.bonus_after != line.bonus_before + line.bonus):
                raise WalletError(gettext(
                        'retail_wallet.msg_ledger_corrupted',
                        wallet=line.wallet.rec_name))



class WalletPin(ModelSQL):
    "Payment PIN hash of a wallet (readable by no group)"
    __name__ = 'retail.wallet.pin'

    wallet = fields.Many2One(
        'retail.wallet', "Wallet", required=True, ondelete='CASCADE')
    pin_hash = fields.Char("PIN Hash", strip=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('wallet_unique', Unique(t, t.wallet),
                'retail_wallet.msg_wallet_pin_unique'),
            ]


def _record_failure_after(database_name, user, wallet_id):
    "Record a refused PIN in its own transaction after the payment's ended"
    pool = Pool(database_name)
    Wallet = pool.get('retail.wallet')
    with Transaction(new=True).start(database_name, user):
        with without_check_access():
            Wallet(wallet_id)._record_attempt('failure')


class PinAttempt(ModelSQL, ModelView):
    """Payment PIN event (append-only)

    Attempts are written in their own transaction while the payment's
    transaction may hold the wallet row lock (FOR UPDATE): a foreign key to
    the wallet would make the insert wait for that lock for ever, so the
    wallet is kept as a plain integer."""
    __name__ = 'retail.wallet.pin.attempt'

    wallet_id = fields.Integer("Wallet ID", required=True, readonly=True)
    wallet = fields.Function(fields.Many2One(
            'retail.wallet', "Wallet"), 'get_wallet', searcher='search_wallet')
    result = fields.Selection([
            ('success', "Success"),
            ('failure', "Failure"),
            ('set', "Set"),
            ('reset', "Reset"),
            ], "Result", required=True, readonly=True)
    at = fields.Timestamp("At", required=True, readonly=True)
    user = fields.Many2One('res.user', "User", readonly=True)
    request = fields.Char("Sale UUID", readonly=True,
        help="The POS sale the PIN was entered for at the PIN pad.")
    amount = fields.Numeric("Authorized Amount", digits=(16, 2),
        readonly=True,
        help="The most the PIN entered at the PIN pad lets the sale pay.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.wallet_id, Index.Range())))
        cls._sql_indexes.add(Index(t, (t.request, Index.Equality()),
                where=t.request != Null))
        cls._order = [('id', 'DESC')]

    def get_wallet(self, name):
        return self.wallet_id

    @classmethod
    def search_wallet(cls, name, clause):
        _, operator, value = clause[:3]
        if len(clause) == 3 and (
                isinstance(value, (int, list, tuple)) or value is None):
            return [('wallet_id', operator, value)]
        pool = Pool()
        Wallet = pool.get('retail.wallet')
        wallets = Wallet.search([('rec_name',) + tuple(clause[1:])])
        return [('wallet_id', 'in', [w.id for w in wallets])]

    @classmethod
    def check_modification(cls, mode, attempts, values=None, external=False):
        super().check_modification(
            mode, attempts, values=values, external=external)
        if mode == 'write':
            raise LedgerAccessError(gettext(
                    'retail_wallet.msg_line_immutable'))


class BonusRelease(ModelSQL, ModelView):
    "Instalment of a top-up bonus released by the scheduler"
    __name__ = 'retail.wallet.bonus.release'

    wallet = fields.Many2One(
        'retail.wallet', "Wallet", required=True, readonly=True,
        ondelete='RESTRICT')
    topup = fields.Many2One(
        'retail.wallet.topup', "Top-up", required=True, readonly=True,
        ondelete='RESTRICT')
    date = fields.Date("Date", required=True, readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        readonly=True)
    state = fields.Selection([
            ('pending', "Pending"),
            ('released', "Released"),
            ('cancelled', "Cancelled"),
            ], "State", required=True, readonly=True, sort=False)
    line = fields.Many2One('retail.wallet.line', "Ledger Line", readonly=True)
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('amount_positive', Check(t, t.amount > 0),
                'retail_wallet.msg_release_amount_positive'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.state, Index.Equality(cardinality='low')),
                (t.date, Index.Range()),
                where=t.state == 'pending'))
        cls._order = [('date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def default_state(cls):
        return 'pending'

    @fields.depends('wallet', '_parent_wallet.company')
    def on_change_with_currency(self, name=None):
        return self.wallet.company.currency if self.wallet else None

    @classmethod
    def release_due(cls, date=None):
        "Credit every pending instalment due at date (cron)"
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        with without_check_access():
            releases = cls.search([
                    ('state', '=', 'pending'),
                    ('date', '<=', date),
                    ], order=[('wallet', 'ASC'), ('date', 'ASC')])
            for release in releases:
                release.release()

    def release(self):
        pool = Pool()
        Wallet = pool.get('retail.wallet')
        Wallet.lock([self.wallet])
        self.__class__.lock([self])
        with without_check_access():
            release = self.__class__(self.id)
            if release.state != 'pending':
                return
            line = release.wallet.post_line(
                'bonus_release', bonus=release.amount, origin=release,
                request_key='release:%s' % release.id,
                card=release.topup.card)
            release.state = 'released'
            release.line = line
            release.save()

    @classmethod
    def check_modification(cls, mode, releases, values=None, external=False):
        super().check_modification(
            mode, releases, values=values, external=external)
        if mode == 'delete':
            raise LedgerAccessError(gettext(
                    'retail_wallet.msg_line_immutable'))


class Closing(Workflow, ModelSQL, ModelView):
    "Closing of a wallet (refund of the principal, bonus voided)"
    __name__ = 'retail.wallet.closing'

    _states = {'readonly': Eval('state') != 'draft'}

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    wallet = fields.Many2One(
        'retail.wallet', "Wallet", required=True, states=_states,
        domain=[
            ('company', '=', Eval('company', -1)),
            If(Eval('state') == 'draft', ('state', '=', 'open'), ()),
            ])
    date = fields.Date("Date", required=True, states=_states)
    payout = fields.Selection([
            ('cash', "Cash"),
            ('transfer', "Transfer"),
            ], "Payout", required=True, states=_states)
    point = fields.Many2One(
        'sale.point', "Point of Sale",
        domain=[('company', '=', Eval('company', -1))],
        states={
            'required': Eval('payout') == 'cash',
            'invisible': Eval('payout') != 'cash',
            'readonly': _states['readonly'],
            })
    payment_method = fields.Many2One(
        'sale.point.payment.method', "Transfer Method",
        domain=[
            ('company', '=', Eval('company', -1)),
            ('cash', '=', False),
            ('retail_wallet', '=', False),
            ],
        states={
            'required': Eval('payout') == 'transfer',
            'invisible': Eval('payout') != 'transfer',
            'readonly': _states['readonly'],
            })
    transfer_reference = fields.Char(
        "Transfer Reference",
        states={
            'invisible': Eval('payout') != 'transfer',
            'readonly': _states['readonly'],
            })
    reason = fields.Char("Reason", required=True, states=_states)
    rule = fields.Selection([
            (None, ''),
            ('principal', "Refund Principal"),
            ('proportional', "Refund Balance × Paid ÷ (Paid + Bonus)"),
            ], "Rule", readonly=True)
    principal = Monetary(
        "Principal", currency='currency', digits='currency', readonly=True)
    bonus = Monetary(
        "Bonus Voided", currency='currency', digits='currency',
        readonly=True)
    paid_total = Monetary(
        "Paid In", currency='currency', digits='currency', readonly=True)
    bonus_total = Monetary(
        "Bonus Given", currency='currency', digits='currency', readonly=True)
    refund_amount = Monetary(
        "Refund", currency='currency', digits='currency', readonly=True)
    operator = fields.Many2One('res.user', "Operator", readonly=True)
    line = fields.Many2One('retail.wallet.line', "Ledger Line", readonly=True)
    move = fields.Many2One('account.move', "Move", readonly=True)
    cash_transfer = fields.Many2One(
        'sale.point.cash.transfer', "Cash Transfer", readonly=True)
    state = fields.Selection([
            ('draft', "Draft"),
            ('done', "Done"),
            ], "State", required=True, readonly=True, sort=False)
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._transitions |= {('draft', 'done')}
        cls._buttons.update(
            do={
                'invisible': Eval('state') != 'draft',
                'depends': ['state'],
                },
            )
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

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
    def default_payout(cls):
        return 'cash'

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    def get_rec_name(self, name):
        return '%s (%s)' % (self.wallet.rec_name, self.date)

    @classmethod
    def check_modification(cls, mode, closings, values=None, external=False):
        super().check_modification(
            mode, closings, values=values, external=external)
        if mode == 'delete':
            for closing in closings:
                if closing.state != 'draft':
                    raise LedgerAccessError(gettext(
                            'retail_wallet.msg_closing_delete_done'))

    def compute_refund(self, config):
        "Return (principal, bonus, paid, given, refund)"
        pool = Pool()
        Line = pool.get('retail.wallet.line')
        Wallet = pool.get('retail.wallet')
        currency = self.wallet.currency
        principal, bonus, _ = Wallet._ledger_sums([self.wallet.id])[
            self.wallet.id]
        with without_check_access():
            lines = Line.search([('wallet', '=', self.wallet.id)])
        paid = sum((x.principal for x in lines if x.kind == 'topup'),
            Decimal(0))
        given = sum((x.bonus for x in lines
                    if x.kind in {'bonus', 'bonus_release'}), Decimal(0))
        if config.closing_rule == 'proportional' and paid + given:
            refund = currency.round(
                (principal + bonus) * paid / (paid + given))
        else:
            refund = principal
        return principal, bonus, paid, given, refund

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def do(cls, closings):
        pool = Pool()
        Wallet = pool.get('retail.wallet')
        Release = pool.get('retail.wallet.bonus.release')
        Wallet.lock([c.wallet for c in closings])
        for closing in closings:
            config = Configuration_get(closing.company)
            liability = config.require('liability_account')
            wallet = closing.wallet
            if wallet.state != 'open':
                raise WalletError(gettext(
                        'retail_wallet.msg_wallet_closed',
                        wallet=wallet.rec_name))
            principal, bonus, paid, given, refund = closing.compute_refund(
                config)
            closing.rule = config.closing_rule
            closing.principal = principal
            closing.bonus = bonus
            closing.paid_total = paid
            closing.bonus_total = given
            closing.refund_amount = refund
            closing.operator = Transaction().user or None
            if principal or bonus:
                closing.line = wallet.post_line(
                    'closing', -principal, -bonus, origin=closing,
                    reason=closing.reason,
                    request_key='closing:%s' % closing.id)
            with without_check_access():
                releases = Release.search([
                        ('wallet', '=', wallet.id),
                        ('state', '=', 'pending'),
                        ])
                Release.write(releases, {'state': 'cancelled'})
                Wallet.write([wallet], {'state': 'closed'})
            # Accounting: the liability goes down by the whole principal.
            closing._post_accounting(config, liability, principal, refund)
        cls.save(closings)

    def _post_accounting(self, config, liability, principal, refund):
        pool = Pool()
        Transfer = pool.get('sale.point.cash.transfer')
        closing = self
        with without_check_access():
            lines = [(liability, principal)]
            if refund > principal:
                lines.append(
                    (config.require('bonus_account'), refund - principal))
            elif refund < principal:
                lines.append((config.require('closing_income_account'),
                        -(principal - refund)))
            if closing.payout == 'cash' and refund:
                transfer_type = config.require('cash_transfer_type')
                if transfer_type.account != liability:
                    raise WalletConfigurationError(gettext(
                            'retail_wallet.msg_transfer_type_account'))
                transfer = Transfer(
                    point=closing.point, type=transfer_type,
                    amount=-refund, date=closing.date)
                transfer.save()
                Transfer.post([transfer])
                closing.cash_transfer = transfer
                # the transfer debited the liability with the refund
                lines[0] = (liability, principal - refund)
            elif refund:
                lines.append((closing.payment_method.account, -refund))
            closing.move = config.create_move(
                closing.date, lines, closing, description=closing.reason)


class AdjustStart(ModelView):
    "Wallet Adjustment"
    __name__ = 'retail.wallet.adjust.start'

    wallet = fields.Many2One('retail.wallet', "Wallet", readonly=True)
    principal = Monetary(
        "Principal", currency='currency', digits='currency', required=True)
    bonus = Monetary(
        "Bonus", currency='currency', digits='currency', required=True)
    account = fields.Many2One(
        'account.account', "Counterpart Account",
        domain=[
            ('type', '!=', None),
            ('closed', '!=', True),
            ('party_required', '=', False),
            ('company', '=', Eval('company', -1)),
            ],
        states={'required': Bool(Eval('principal'))},
        help="Account of the other side of the principal adjustment.")
    reason = fields.Char("Reason", required=True)
    company = fields.Many2One('company.company', "Company", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency",
        readonly=True)


class Adjust(Wizard):
    "Adjust a wallet (manager)"
    __name__ = 'retail.wallet.adjust'
    start = StateView('retail.wallet.adjust.start',
        'retail_wallet.wallet_adjust_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Adjust", 'adjust', 'tryton-ok', default=True),
            ])
    adjust = StateTransition()

    def default_start(self, fields):
        return {
            'wallet': self.record.id,
            'company': self.record.company.id,
            'currency': self.record.currency.id,
            'principal': Decimal(0),
            'bonus': Decimal(0),
            }

    def transition_adjust(self):
        self.record.adjust_balance(
            self.start.principal, self.start.bonus, self.start.reason,
            self.start.account)
        return 'end'




class SetPinStart(ModelView):
    "Set Payment PIN"
    __name__ = 'retail.wallet.set_pin.start'

    wallet = fields.Many2One('retail.wallet', "Wallet", readonly=True)
    has_pin = fields.Boolean("PIN Set", readonly=True)
    old_pin = fields.Char("Current PIN", strip=False,
        states={
            'invisible': ~Eval('has_pin'),
            'required': Bool(Eval('has_pin')),
            })
    new_pin = fields.Char("New PIN", required=True, strip=False)
    confirm_pin = fields.Char("Confirm PIN", required=True, strip=False)


class SetPin(Wizard):
    "Set the payment PIN of a wallet"
    __name__ = 'retail.wallet.set_pin'
    start = StateView('retail.wallet.set_pin.start',
        'retail_wallet.wallet_set_pin_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Set", 'set_', 'tryton-ok', default=True),
            ])
    set_ = StateTransition()

    def default_start(self, fields):
        return {
            'wallet': self.record.id,
            'has_pin': self.record.has_pin,
            }

    def transition_set_(self):
        if self.start.new_pin != self.start.confirm_pin:
            raise PINError(gettext('retail_wallet.msg_pin_mismatch'))
        self.record.change_pin(self.start.new_pin, self.start.old_pin)
        return 'end'

