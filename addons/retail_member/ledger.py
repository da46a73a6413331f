# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Append-only ledgers, written once for every balance module.

A balance (points, stored value, count-card uses, commission) is the SQL sum
of immutable ledger lines.  The habits every such ledger shares are here:

- lines can be created but never written, deleted or copied, not even by
  the root user (``check_modification`` and ``copy`` refuse);
- every line has a request key unique in the database, so a retried request
  (same client UUID) finds the line it wrote the first time instead of
  writing a second one (``find_request``);
- every line records its operator and an optional reason;
- the owner of the balance (wallet, card, member) is locked in place
  (``lock_in_place``: on PostgreSQL an UPDATE that waits for the holder,
  elsewhere Tryton's lock) and re-read before the balance is checked and a
  line appended (``LedgerOwnerMixin.lock_fresh``); database
  constraints declared by the module (CHECK on the running balance, UNIQUE
  on (owner, sequence)) catch whatever slips through.

The mixins define no model of their own.  Usage::

    class CardLine(LedgerLineMixin, ModelSQL, ModelView):
        __name__ = 'retail.count.card.line'
        _ledger_immutable_message = 'retail_count_card.msg_line_immutable'
        _ledger_request_key_message = (
            'retail_count_card.msg_line_request_key_unique')

    class Card(LedgerOwnerMixin, ModelSQL, ModelView):
        __name__ = 'retail.count.card'

        def use(self, ...):
            card, = self.lock_fresh([self])
            ...  # re-check on the fresh record, then create the line

The message ids are the module's own (``message.xml``), so each ledger
speaks its own words.
"""
import uuid

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Unique, fields
from trytond.model.exceptions import AccessError
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

# How long a till waits for another till holding the same balance before
# its request is retried from the start
LOCK_TIMEOUT = '10s'


def lock_in_place(Model, records, fallback):
    """Lock the rows of records for the rest of the transaction.

    Tryton's ``lock`` (SELECT ... FOR UPDATE NOWAIT) makes a second till
    that wants the same wallet or points account fail at once, and the
    whole sale is started again; under load the tills then spin against each
    other.  On PostgreSQL the rows are instead locked by an UPDATE that waits
    for the holder (in id order, so two rows are always taken in the same
    order and two tills cannot deadlock).  Tryton runs REPEATABLE READ: a
    plain SELECT ... FOR UPDATE would wait and then read the ledger from a
    snapshot older than the holder's commit; the UPDATE instead makes
    PostgreSQL refuse (serialization failure, retried like any lock
    conflict) when another writer committed on the row after this
    transaction's snapshot, so no ledger line is ever appended on a stale
    balance.  fallback(records) is called where this does not apply (SQLite,
    a whole-table lock, no record)."""
    transaction = Transaction()
    locked_tables = getattr(transaction, '_locked_tables', None)
    locked_records = getattr(transaction, '_locked_records', None)
    if (records is None or backend.name != 'postgresql'
            or locked_tables is None or locked_records is None):
        return fallback(records)
    if Model._table in locked_tables:
        return
    locked = locked_records[Model._table]
    new_ids = set(transaction.create_records[Model.__name__])
    ids = sorted({int(r) for r in records} - new_ids - locked)
    if not ids:
        return
    table = Model.__table__()
    cursor = transaction.connection.cursor()
    # once per transaction (kept beside the locked rows, with their life)
    timeout_set = locked_records[' lock_timeout']
    if not timeout_set:
        cursor.execute("SET LOCAL lock_timeout = '%s'" % LOCK_TIMEOUT)
        timeout_set.add(True)
    for id_ in ids:
        cursor.execute(*table.update(
                [table.write_date], [table.write_date],
                where=table.id == id_))
        locked.add(id_)


def origin_exists(Model, origins, kind=None):
    """Whether a ledger line of Model comes from one of origins (records or
    their str), of kind if given, in one plain query a slice: the ORM's
    search parsed its domain and the record rules (or a One2Many read every
    field of the lines) to learn at most one id"""
    from .exchange import IN_MAX
    table = Model.__table__()
    cursor = Transaction().connection.cursor()
    for sub in grouped_slice([str(o) for o in origins], IN_MAX):
        where = table.origin.in_(list(sub))
        if kind is not None:
            where &= table.kind == kind
        cursor.execute(*table.select(table.id, where=where, limit=1))
        if cursor.fetchone():
            return True
    return False


def find_by_request_key(Model, request_key):
    """The ledger line of Model written with request_key or None, in one
    plain query: every ledger write asks it first (a retried request finds
    its line), and the ORM's search cost a millisecond to find nothing"""
    if not request_key:
        return None
    table = Model.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(table.id,
            where=table.request_key == request_key, limit=1))
    row = cursor.fetchone()
    return Model(row[0]) if row else None


class LedgerImmutableError(AccessError):
    "A ledger line cannot be changed"


def new_request_key():
    "Return a fresh request key (for lines not written by a client request)"
    return uuid.uuid4().hex


class LedgerLineMixin:
    "Immutable ledger line with a unique request key, operator and reason"
    __slots__ = ()

    # Message ids of the module using the mixin
    _ledger_immutable_message = None
    _ledger_request_key_message = None

    request_key = fields.Char(
        "Request Key", required=True, readonly=True, strip=False)
    operator = fields.Many2One('res.user', "Operator", readonly=True)
    reason = fields.Char("Reason", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        assert cls._ledger_immutable_message, cls.__name__
        assert cls._ledger_request_key_message, cls.__name__
        t = cls.__table__()
        cls._sql_constraints += [
            ('request_key_unique', Unique(t, t.request_key),
                cls._ledger_request_key_message),
            ]

    @classmethod
    def default_request_key(cls):
        return new_request_key()

    @classmethod
    def default_operator(cls):
        return Transaction().user or None

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise LedgerImmutableError(gettext(cls._ledger_immutable_message))

    @classmethod
    def copy(cls, lines, default=None):
        if lines:
            raise LedgerImmutableError(gettext(cls._ledger_immutable_message))
        return super().copy(lines, default=default)

    @classmethod
    def find_request(cls, request_key):
        "Return the line written with request_key or None"
        return find_by_request_key(cls, request_key)


class LedgerOwnerMixin:
    "The record a ledger's balance belongs to"
    __slots__ = ()

    @classmethod
    def lock(cls, records=None):
        "Wait for the rows in place (see lock_in_place)"
        lock_in_place(cls, records, super().lock)

    @classmethod
    def lock_fresh(cls, records):
        """Lock the rows and return them re-read, so that every check after
        the lock sees the committed state."""
        cls.lock(records)
        return cls.browse([r.id for r in records])
