# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Cashiers, their tokens, the idempotent checkout records and the fields
the POS API adds to Tryton's point of sale."""
import datetime as dt
import hashlib
import json
import secrets
from collections import namedtuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sql import Literal, Null
from sql.operators import Equal

from trytond.model import DeactivableMixin, Exclude, Index, ModelSQL, ModelView, Unique, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.retail_member.exchange import IN_MAX
from trytond.modules.retail_member.ledger import lock_in_place
from trytond.modules.retail_member.tools import clears_on_modification, transaction_memo
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .exceptions import pos_error

# argon2id, salted; same parameters as the wallet payment PIN
PIN_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
TOKEN_HOURS = 14
MAX_ATTEMPTS = 5
LOCK_MINUTES = 15

KINDS = [
    ('cash', "Cash"),
    ('card', "Bank Card"),
    ('wechat', "WeChat Pay"),
    ('alipay', "Alipay"),
    ('wallet', "Stored Value"),
    ('points', "Points"),
    ('count_card', "Count Card"),
    ('other', "Other"),
    ]


TokenSession = namedtuple('TokenSession', [
        'token', 'cashier', 'point', 'user', 'company', 'employee',
        'language', 'employee_company'])


def _now():
    return dt.datetime.now()


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('sale.point.sale|retail_pos_post_batch',
                "Post Done POS Sales"))


class Cashier(DeactivableMixin, ModelSQL, ModelView):
    "POS Cashier"
    __name__ = 'retail.pos.cashier'

    user = fields.Many2One(
        'res.user', "User", required=True, ondelete='CASCADE')
    company = fields.Many2One('company.company', "Company", required=True)
    name = fields.Function(
        fields.Char("Name"), 'get_name', searcher='search_name')
    badge = fields.Char(
        "Badge", strip=True,
        help="The code of the cashier's badge (scanned or swiped at sign-in).")
    pin_hash = fields.Char("PIN Hash", readonly=True)
    has_pin = fields.Function(fields.Boolean("Has PIN"), 'get_has_pin')
    new_pin = fields.Function(
        fields.Char("New PIN", strip=False), 'get_new_pin',
        setter='set_new_pin')
    default_point = fields.Many2One(
        'sale.point', "Default Till",
        domain=[('company', '=', Eval('company', -1))])
    failed_attempts = fields.Integer("Failed Attempts", readonly=True)
    locked_until = fields.DateTime("Locked Until", readonly=True)
    language = fields.Function(
        fields.Char("Language"), 'get_language')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('user_unique', Unique(t, t.user),
                'retail_pos.msg_cashier_user_unique'),
            ('badge_unique', Exclude(t, (t.company, Equal), (t.badge, Equal),
                    where=(t.badge != Null) & (t.badge != '')),
                'retail_pos.msg_cashier_badge_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.badge, Index.Equality())))

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if 'badge' in values and not values['badge']:
            values['badge'] = None
        return values

    @classmethod
    def default_failed_attempts(cls):
        return 0

    @classmethod
    def get_name(cls, cashiers, name):
        """The user's name (else login), in one query: through the ORM the
        user's record, read for it, cost a receipt 4 ms"""
        User = Pool().get('res.user')
        table, user = cls.__table__(), User.__table__()
        cursor = Transaction().connection.cursor()
        result = {}
        for sub_ids in grouped_slice([c.id for c in cashiers], IN_MAX):
            cursor.execute(*table.join(user,
                    condition=table.user == user.id).select(
                    table.id, user.name, user.login,
                    where=table.id.in_(list(sub_ids))))
            for cashier_id, user_name, login in cursor:
                result[cashier_id] = user_name or login
        return result

    @classmethod
    def search_name(cls, name, clause):
        return [('user.name',) + tuple(clause[1:])]

    def get_language(self, name):
        return self.user.language.code if self.user.language else None

    def get_has_pin(self, name):
        return bool(self.pin_hash)

    def get_new_pin(self, name):
        return None

    @classmethod
    def set_new_pin(cls, cashiers, name, value):
        if not value:
            return
        if not value.isdigit() or not 4 <= len(value) <= 12:
            raise pos_error('msg_pin_format', 'invalid_pin')
        cls.write(cashiers, {
                'pin_hash': PIN_HASHER.hash(value),
                'failed_attempts': 0,
                'locked_until': None,
                })

    def check_pin(self, pin):
        "Verify pin; count failures in their own transaction and lock out"
        now = _now()
        if self.locked_until and self.locked_until > now:
            raise pos_error('msg_cashier_locked', 'cashier_locked', 403,
                minutes=LOCK_MINUTES)
        ok = False
        if self.pin_hash and pin:
            try:
                ok = PIN_HASHER.verify(self.pin_hash, str(pin))
            except (VerificationError, InvalidHashError):
                ok = False
        if ok:
            if self.failed_attempts or self.locked_until:
                self.__class__.write([self], {
                        'failed_attempts': 0, 'locked_until': None})
            return
        attempts = (self.failed_attempts or 0) + 1
        values = {'failed_attempts': attempts}
        if attempts >= MAX_ATTEMPTS:
            values = {'failed_attempts': 0,
                'locked_until': now + dt.timedelta(minutes=LOCK_MINUTES)}
        transaction = Transaction()
        if self.id in transaction.create_records[self.__name__]:
            # not committed yet: invisible to a new transaction
            self.__class__.write([self], values)
        else:
            # kept even though the refused sign-in rolls back
            with transaction.new_transaction() as new:
                self.__class__.write([self.__class__(self.id)], values)
                new.commit()
        if 'locked_until' in values:
            raise pos_error('msg_cashier_locked', 'cashier_locked', 403,
                minutes=LOCK_MINUTES)
        raise pos_error('msg_wrong_pin', 'wrong_pin', 401,
            remaining=MAX_ATTEMPTS - attempts)


class Token(ModelSQL, ModelView):
    "POS Token"
    __name__ = 'retail.pos.token'

    token_hash = fields.Char("Token Hash", required=True, readonly=True)
    cashier = fields.Many2One(
        'retail.pos.cashier', "Cashier", required=True, ondelete='CASCADE',
        readonly=True)
    point = fields.Many2One(
        'sale.point', "Till", required=True, ondelete='CASCADE',
        readonly=True)
    expires = fields.DateTime("Expires", required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('token_hash_unique', Unique(t, t.token_hash),
                'retail_pos.msg_token_unique'),
            ]

    @staticmethod
    def hash(token):
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, cashier, point):
        "Return a new secret token; only its hash is stored"
        token = secrets.token_urlsafe(32)
        cls.create([{
                    'token_hash': cls.hash(token),
                    'cashier': cashier.id,
                    'point': point.id,
                    'expires': _now() + dt.timedelta(hours=TOKEN_HOURS),
                    }])
        # Forget expired tokens of the cashier
        expired = cls.search([
                ('cashier', '=', cashier.id),
                ('expires', '<', _now()),
                ])
        if expired:
            cls.delete(expired)
        return token

    @classmethod
    def check(cls, token):
        "Return the token record of a valid token or None"
        found = cls.authenticate(token)
        return cls(found.token) if found else None

    @classmethod
    def authenticate(cls, token):
        """Return the ids a request of a valid token runs with (token,
        cashier, till, user, company, employee), the user's language and the
        employee's company, or None, in one query.

        Every API call starts here: through the ORM it read the token, the
        cashier, the till, the user and the language one after the other, as
        the server's user, and the call read the cashier and the till again
        under the cashier's user and context."""
        pool = Pool()
        Cashier = pool.get('retail.pos.cashier')
        User = pool.get('res.user')
        Lang = pool.get('ir.lang')
        Point = pool.get('sale.point')
        Employee = pool.get('company.employee')
        if not token:
            return None
        table, cashier, user = (
            cls.__table__(), Cashier.__table__(), User.__table__())
        lang, point = Lang.__table__(), Point.__table__()
        employee = Employee.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table
            .join(cashier, condition=table.cashier == cashier.id)
            .join(user, condition=cashier.user == user.id)
            .join(point, condition=table.point == point.id)
            .join(lang, 'LEFT', condition=user.language == lang.id)
            .join(employee, 'LEFT', condition=user.employee == employee.id)
            .select(table.id, cashier.id, point.id, user.id, point.company,
                user.employee, lang.code, employee.company,
                where=(table.token_hash == cls.hash(token))
                & (table.expires >= _now())
                & (cashier.active == Literal(True)),
                limit=1))
        row = cursor.fetchone()
        return TokenSession(*row) if row else None


class Checkout(ModelSQL, ModelView):
    """POS Request

    One row per idempotent POS request (sale, refund, top-up), keyed by the
    UUID the browser made; the database refuses the same UUID twice and the
    stored result is returned to a replay."""
    __name__ = 'retail.pos.checkout'

    uuid = fields.Char("UUID", required=True, readonly=True)
    kind = fields.Selection([
            ('sale', "Sale"),
            ('refund', "Refund"),
            ('topup', "Top-up"),
            ], "Kind", required=True, readonly=True)
    request_hash = fields.Char("Request Hash", readonly=True)
    point = fields.Many2One('sale.point', "Till", readonly=True)
    cashier = fields.Many2One('retail.pos.cashier', "Cashier", readonly=True)
    sale = fields.Many2One(
        'sale.point.sale', "Sale", readonly=True, ondelete='RESTRICT')
    topup = fields.Many2One(
        'retail.wallet.topup', "Top-up", readonly=True, ondelete='RESTRICT')
    result = fields.Text("Result", readonly=True)
    duration = fields.Integer("Duration (ms)", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('uuid_unique', Unique(t, t.uuid),
                'retail_pos.msg_checkout_uuid_unique'),
            ]
        cls._order = [('id', 'DESC')]

    @staticmethod
    def request_digest(data):
        return hashlib.sha256(json.dumps(
                data, sort_keys=True, default=str).encode()).hexdigest()

    def get_rec_name(self, name):
        return self.uuid


def _clear_display_facts():
    Pool().get('retail.pos.api')._display_facts.clear()


DisplayFactsMixin = clears_on_modification(_clear_display_facts,
    "A change empties the POS's cache of what a quote and a receipt show "
    "of it (PosAPI._facts)")


class PaymentMethod(DisplayFactsMixin, metaclass=PoolMeta):
    __name__ = 'sale.point.payment.method'

    retail_pos_kind = fields.Selection(
        KINDS + [(None, "")], "POS Kind",
        help="How the cashier screen offers the method. Empty: derived "
        "from the Cash / Stored Value / Points flags.")
    pos_kind = fields.Function(
        fields.Selection(KINDS, "Kind"), 'get_pos_kind')

    def get_pos_kind(self, name=None):
        if self.cash:
            return 'cash'
        if getattr(self, 'retail_wallet', False):
            return 'wallet'
        if getattr(self, 'retail_points', False):
            return 'points'
        if getattr(self, 'count_card', False):
            return 'count_card'
        return self.retail_pos_kind or 'other'


class POSSale(metaclass=PoolMeta):
    __name__ = 'sale.point.sale'

    retail_pos_session = fields.Many2One(
        'sale.point.cash.session', "Cash Session", readonly=True,
        ondelete='RESTRICT',
        help="The till's session the POS API sold in.")
    retail_pos_refund_of = fields.Many2One(
        'sale.point.sale', "Refund Of", readonly=True, ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(
                t, (t.retail_pos_session, Index.Range()),
                where=t.retail_pos_session != Null))

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default else {}
        default.setdefault('retail_pos_session')
        default.setdefault('retail_pos_refund_of')
        return super().copy(sales, default=default)

    @classmethod
    def retail_pos_post_batch(cls, points=None, limit=500):
        """Post done sales in batches, per till (stock and account moves).

        The checkout ends at *done*; this runs from the scheduled action
        and at session close, so a till never waits on posting."""
        domain = [('state', '=', 'done')]
        if points:
            domain.append(('point', 'in', [int(p) for p in points]))
        sales = cls.search(domain, order=[('point', 'ASC'), ('id', 'ASC')],
            limit=limit)
        by_point = {}
        for sale in sales:
            by_point.setdefault(sale.point, []).append(sale)
        for point, p_sales in by_point.items():
            with Transaction().set_context(company=point.company.id):
                cls.post(p_sales)
        return len(sales)


class POSPayment(metaclass=PoolMeta):
    __name__ = 'sale.point.payment'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # retail_points and retail_wallet each replace the domain of
        # sale_point (negative payments on cash only) with their own: a
        # return must accept both negative wallet and points payments
        cls.method.domain = [
            ('company', '=', Eval('company', -1)),
            If(Eval('amount', 0) < 0,
                ['OR',
                    ('cash', '=', True),
                    ('retail_wallet', '=', True),
                    ('retail_points', '=', True),
                    ],
                ()),
            ]


class POSPaymentCountCard(metaclass=PoolMeta):
    __name__ = 'sale.point.payment'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        domain = cls.method.domain[1]
        # If(amount < 0, ['OR', ...], ()): count-card uses given back too
        domain._then_statement.append(('count_card', '=', True))


class POS(metaclass=PoolMeta):
    __name__ = 'sale.point'

    retail_pos_difference_type = fields.Many2One(
        'sale.point.cash.transfer.type', "Cash Difference",
        ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))],
        help="The transfer type that books the cashier's over or short at "
        "closing: the cash counted minus the cash expected since the opening "
        "count (its account: cash over and short).\n"
        "Empty: the difference is only shown in the handover report.")
    retail_pos_float_type = fields.Many2One(
        'sale.point.cash.transfer.type', "Float Transfer",
        ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))],
        help="The transfer type that books the cash moved between the "
        "drawer and the safe (its account: the cash in the safe): the float "
        "counted in at opening and the cash handed in at closing, the rest "
        "kept as the next shift's float.\n"
        "The opening count is then checked against the cash the previous "
        "shift left; a difference needs a reason.\n"
        "Empty: the float is only shown in the handover report.")


# {till id: id of its open session} found in this transaction
_open_sessions, OpenSessionsMemoMixin = transaction_memo(
    '_retail_pos_open_sessions',
    "A session created, written or deleted empties the memo of the tills' "
    "open sessions (find_open)")


class CashSession(OpenSessionsMemoMixin, metaclass=PoolMeta):
    __name__ = 'sale.point.cash.session'

    retail_pos_opened_by = fields.Many2One(
        'res.user', "Opened By", readonly=True)
    retail_pos_opened_at = fields.DateTime("Opened At", readonly=True)
    retail_pos_closed_by = fields.Many2One(
        'res.user', "Closed By", readonly=True)
    retail_pos_closed_at = fields.DateTime("Closed At", readonly=True)
    retail_pos_float = fields.Text("Opening Float", readonly=True)
    retail_pos_float_difference = Monetary(
        "Opening Difference", currency='currency', digits='currency',
        readonly=True,
        help="The cash counted at opening minus the cash the previous shift "
        "left in the drawer (the start amount).")
    retail_pos_float_reason = fields.Char(
        "Opening Difference Reason", readonly=True)
    retail_pos_float_kept = Monetary(
        "Float Kept", currency='currency', digits='currency', readonly=True,
        help="The cash left in the drawer at closing for the next shift; "
        "the rest of the cash counted was handed in.")
    retail_pos_report = fields.Text("Handover Report", readonly=True)

    @classmethod
    def find_open(cls, point):
        """The open session of point or None, searched once a transaction
        while no session changes (a checkout asked for it twice: for the
        sale and for its cash payment)"""
        memo = _open_sessions()
        if point.id in memo:
            return cls(memo[point.id])
        # a plain query: the ORM's search read every field of the session,
        # of which the sale and its cash payment need the id (the till is
        # the request's, so the session is of its company)
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.id,
                where=(table.point == point.id) & (table.state == 'open'),
                order_by=[table.id.asc], limit=1))
        row = cursor.fetchone()
        if row:
            memo[point.id] = row[0]
            return cls(row[0])
        return None

    @classmethod
    def get_current(cls, point):
        """The open session of point, created if there is none.

        sale_point serialises the creation with a lock on the whole session
        table, held until the creating sale commits: with several tills
        opening at once every other till's sale failed and was started over
        (the soak measured 90 s to open 8 tills).  A session chain belongs
        to one till, so locking that till's row is enough."""
        session = cls.find_open(point)
        if session:
            return session
        Point = Pool().get('sale.point')
        lock_in_place(Point, [point.id], Point.lock)
        sessions = cls.search([
                ('point', '=', point.id),
                ('state', '=', 'open'),
                ], limit=1)
        if sessions:
            return sessions[0]
        last = cls.search([
                ('point', '=', point.id),
                ('next_session', '=', None),
                ], limit=1)
        session = cls(point=point, previous_session=last[0] if last else None)
        session.save()
        return session


def _clear_product_facts():
    API = Pool().get('retail.pos.api')
    API._product_facts.clear()
    API._product_taxes.clear()
    API._line_prices.clear()


ProductFactsMixin = clears_on_modification(_clear_product_facts,
    "A change empties the POS's caches of product facts, taxes and line "
    "prices (PosAPI)")


class Product(ProductFactsMixin, metaclass=PoolMeta):
    __name__ = 'product.product'


class Template(ProductFactsMixin, metaclass=PoolMeta):
    __name__ = 'product.template'


class Uom(ProductFactsMixin, metaclass=PoolMeta):
    __name__ = 'product.uom'


class Category(ProductFactsMixin, metaclass=PoolMeta):
    __name__ = 'product.category'


class CategoryCustomerTax(ProductFactsMixin, metaclass=PoolMeta):
    __name__ = 'product.category-customer-account.tax'


class Account(ProductFactsMixin, metaclass=PoolMeta):
    __name__ = 'account.account'


class AccountTax(ProductFactsMixin, metaclass=PoolMeta):
    __name__ = 'account.account-account.tax'


class Tax(ProductFactsMixin, metaclass=PoolMeta):
    __name__ = 'account.tax'


class MemberTier(DisplayFactsMixin, metaclass=PoolMeta):
    __name__ = 'retail.member.tier'


class Shop(DisplayFactsMixin, metaclass=PoolMeta):
    __name__ = 'retail.shop'


class Company(DisplayFactsMixin, metaclass=PoolMeta):
    __name__ = 'company.company'
