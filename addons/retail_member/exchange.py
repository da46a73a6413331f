# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Excel import and export of members with their card, tier and shop.

The sheet has one header row naming the columns (COLUMNS keys or their
Chinese labels, in any order) and one member per row. A batch is
all-or-nothing: the import writes nothing unless every row is valid."""
import datetime as dt
import logging
import re
import time
import zipfile
from io import BytesIO

from sql import Cast, Column, Select
from sql.functions import CurrentTimestamp
from sql.operators import NotEqual

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelStorage, ModelView, fields
from trytond.model.modelstorage import local_cache
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, check_access, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import MemberImportError
from .tools import mask_mobile, normalize_mobile
from .xlsx import SheetError, iter_rows

try:
    from psycopg import sql as psql
except ImportError:
    psql = None

try:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException
except ImportError:
    openpyxl = None
    InvalidFileException = ValueError

logger = logging.getLogger(__name__)

# key, Chinese label, required
COLUMNS = [
    ('member_number', "会员号", False),
    ('name', "姓名", True),
    ('mobile', "手机号", False),
    ('birth_date', "生日", False),
    ('gender', "性别", False),
    ('tier_code', "等级代码", False),
    ('card_number', "卡号", False),
    ('card_medium', "卡介质", False),
    ('card_named', "记名", False),
    ('shop_code', "开卡门店代码", False),
    ('tags', "标签", False),
    ('consent_sms', "短信营销同意", False),
    ('consent_email', "邮件营销同意", False),
    ('join_date', "入会日期", False),
    ]
COLUMN_KEYS = [c[0] for c in COLUMNS]
GENDERS = {
    'female': 'female', 'f': 'female', '女': 'female', '女性': 'female',
    'male': 'male', 'm': 'male', '男': 'male', '男性': 'male',
    'other': 'other', 'o': 'other', '其他': 'other',
    }
MEDIA = {
    'magstripe': 'magstripe', '磁条卡': 'magstripe', '磁条': 'magstripe',
    'rfid': 'rfid', '射频卡': 'rfid', 'ic': 'ic', 'ic卡': 'ic',
    'qr': 'qr', '二维码': 'qr', 'virtual': 'virtual', '电子卡': 'virtual',
    '虚拟卡': 'virtual',
    }
TRUE = {'1', 'true', 'yes', 'y', 'x', '是', '对', '√'}
FALSE = {'0', 'false', 'no', 'n', '否', ''}
TAG_SEPARATORS = re.compile(r'[,，;；、|]')
# Rows written per bulk batch (one multi-row INSERT per table and batch)
BATCH = 2000
IN_MAX = 500
CHAR_LIMIT = 200
REJECTION_HEADER = ["行 Row", "列 Column", "值 Value", "原因 Reason"]


class Rejection:
    __slots__ = ('row', 'column', 'value', 'reason')

    def __init__(self, row, column, value, reason):
        self.row = row
        self.column = column
        self.value = value
        self.reason = reason

    def __repr__(self):
        return (f'Rejection({self.row}, {self.column!r}, {self.value!r}, '
            f'{self.reason!r})')


class MemberImporter:
    """Read, check and create members from an .xlsx sheet.

    read() parses the sheet, check() validates every row against the
    database in a few bulk queries and returns the rejections, create()
    writes the valid rows in batches (one ORM create per batch)."""

    def __init__(self, company, batch=BATCH):
        self.company = company
        self.batch = batch
        self.rows = []
        self.rejections = []
        self.columns = []
        self._tags = set()
        self._today = None
        self._parsers = None

    # Reading

    def read(self, data):
        if openpyxl is None:
            raise MemberImportError(gettext(
                    'retail_member.msg_import_openpyxl'))
        try:
            workbook = openpyxl.load_workbook(
                BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError,
                OSError, ValueError, TypeError) as exception:
            raise MemberImportError(gettext(
                    'retail_member.msg_import_not_xlsx')) from exception
        try:
            sheet = workbook.worksheets[0]
            lines = iter_rows(sheet)
            header = next(lines, None)
            self._today = Pool().get('ir.date').today()
            self.columns = self._parse_header(header)
            for number, line in enumerate(lines, 2):
                if not line or all(
                        v is None or (isinstance(v, str) and not v.strip())
                        for v in line):
                    continue
                self.rows.append((number, self._parse_line(number, line)))
        except SheetError as exception:
            raise MemberImportError(gettext(
                    'retail_member.msg_import_not_xlsx')) from exception
        finally:
            workbook.close()
        if not self.rows:
            raise MemberImportError(gettext(
                    'retail_member.msg_import_empty'))
        return self.rows

    def _parse_header(self, header):
        aliases = {}
        for key, label, _ in COLUMNS:
            aliases[key] = key
            aliases[label] = key
        columns = []
        for cell in header or ():
            name = str(cell).strip() if cell is not None else ''
            if not name:
                columns.append(None)
                continue
            key = aliases.get(name.lower()) or aliases.get(name)
            if key is None:
                raise MemberImportError(gettext(
                        'retail_member.msg_import_column_unknown',
                        column=name, columns=', '.join(COLUMN_KEYS)))
            if key in columns:
                raise MemberImportError(gettext(
                        'retail_member.msg_import_column_duplicate',
                        column=name))
            columns.append(key)
        for key, label, required in COLUMNS:
            if required and key not in columns:
                raise MemberImportError(gettext(
                        'retail_member.msg_import_column_missing',
                        column=key, label=label))
        return columns

    def _reject(self, row, column, value, message, params=None):
        self.rejections.append(Rejection(
                row, column, value,
                gettext('retail_member.' + message, **(params or {}))))

    def _parse_line(self, row, line):
        values = {}
        parsers = self._parsers
        if parsers is None:
            parsers = self._parsers = [
                getattr(self, '_parse_' + key, self._parse_char)
                if key else None for key in self.columns]
        for key, parser, value in zip(self.columns, parsers, line):
            if key is None:
                continue
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    value = None
            if value is None:
                continue
            try:
                values[key] = parser(value)
            except _Invalid as invalid:
                self._reject(
                    row, key, value, invalid.message, invalid.kwargs)
        return values

    @staticmethod
    def _text(value):
        if isinstance(value, bool):
            raise _Invalid('msg_import_text_invalid')
        if isinstance(value, float):
            if not value.is_integer():
                raise _Invalid('msg_import_text_invalid')
            value = int(value)
        if isinstance(value, (dt.date, dt.datetime, dt.time)):
            raise _Invalid('msg_import_text_invalid')
        value = str(value).strip()
        if len(value) > CHAR_LIMIT:
            raise _Invalid('msg_import_text_long', limit=CHAR_LIMIT)
        return value

    _parse_char = _text
    _parse_member_number = _text
    _parse_name = _text
    _parse_tier_code = _text
    _parse_card_number = _text
    _parse_shop_code = _text

    def _parse_mobile(self, value):
        mobile = normalize_mobile(self._text(value))
        if not mobile:
            raise _Invalid('msg_import_mobile_invalid')
        return mobile

    @staticmethod
    def _date(value):
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            for format_ in ['%Y-%m-%d', '%Y/%m/%d', '%Y%m%d', '%Y.%m.%d']:
                try:
                    return dt.datetime.strptime(value, format_).date()
                except ValueError:
                    continue
        raise _Invalid('msg_import_date_invalid')

    def _parse_birth_date(self, value):
        value = self._date(value)
        if value > self._today:
            raise _Invalid('msg_import_birth_date_future')
        return value

    def _parse_join_date(self, value):
        return self._date(value)

    def _parse_gender(self, value):
        gender = GENDERS.get(str(value).strip().lower())
        if not gender:
            raise _Invalid('msg_import_gender_invalid')
        return gender

    def _parse_card_medium(self, value):
        medium = MEDIA.get(str(value).strip().lower())
        if not medium:
            raise _Invalid('msg_import_medium_invalid')
        return medium

    @staticmethod
    def _bool(value):
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in {0, 1}:
            return bool(value)
        text = str(value).strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise _Invalid('msg_import_bool_invalid')

    _parse_card_named = _bool
    _parse_consent_sms = _bool
    _parse_consent_email = _bool

    def _parse_tags(self, value):
        tags = []
        for tag in TAG_SEPARATORS.split(self._text(value)):
            tag = tag.strip()
            if tag and tag not in tags:
                tags.append(tag)
        return tags

    # Checking

    def check(self):
        """Validate every row; return the rejections sorted by row"""
        start = time.monotonic()
        company = self.company
        rows = self.rows
        for row, values in rows:
            if not values.get('name'):
                self._reject(
                    row, 'name', None, 'msg_import_required', {'column': 'name'})
            if 'card_number' not in values:
                for key in ['card_medium', 'card_named']:
                    if key in values:
                        self._reject(
                            row, key, values[key],
                            'msg_import_card_missing')

        self._check_unique(
            'mobile', 'msg_import_mobile_duplicate',
            self._existing_members('member_mobile'),
            'msg_import_mobile_exists')
        self._check_unique(
            'member_number', 'msg_import_number_duplicate',
            self._existing_members('member_number'),
            'msg_import_number_exists')
        self._check_unique(
            'card_number', 'msg_import_card_duplicate',
            self._existing_cards(), 'msg_import_card_exists')

        pool = Pool()
        Tier = pool.get('retail.member.tier')
        Shop = pool.get('retail.shop')
        self._tiers = {t.code: t.id for t in Tier.search([
                    ('company', '=', company.id),
                    ])}
        self._shops = {s.code: s.id for s in Shop.search([
                    ('company', '=', company.id),
                    ])}
        for row, values in rows:
            code = values.get('tier_code')
            if code is not None and code not in self._tiers:
                self._reject(
                    row, 'tier_code', code, 'msg_import_tier_unknown')
            code = values.get('shop_code')
            if code is not None and code not in self._shops:
                self._reject(
                    row, 'shop_code', code, 'msg_import_shop_unknown')
            self._tags.update(values.get('tags', []))
        self.rejections.sort(key=lambda r: (
                r.row, COLUMN_KEYS.index(r.column)
                if r.column in COLUMN_KEYS else -1))
        logger.info(
            "member import: %d rows checked, %d rejections in %.2fs",
            len(rows), len(self.rejections), time.monotonic() - start)
        return self.rejections

    def _check_unique(self, key, duplicate_msg, existing, exists_msg):
        seen = {}
        for row, values in self.rows:
            value = values.get(key)
            if value is None:
                continue
            if value in seen:
                self._reject(
                    row, key, value, duplicate_msg, {'other': seen[value]})
            else:
                seen[value] = row
        found = existing(list(seen))
        for value in found:
            self._reject(seen[value], key, value, exists_msg)

    def _existing_members(self, column):
        def existing(values):
            pool = Pool()
            Party = pool.get('party.party')
            party = Party.__table__()
            cursor = Transaction().connection.cursor()
            found = set()
            for sub in grouped_slice(values, IN_MAX):
                cursor.execute(*party.select(
                        getattr(party, column),
                        where=(party.member_company == self.company.id)
                        & getattr(party, column).in_(list(sub))))
                found.update(v for v, in cursor)
            return found
        return existing

    def _existing_cards(self):
        def existing(values):
            pool = Pool()
            Card = pool.get('retail.member.card')
            card = Card.__table__()
            cursor = Transaction().connection.cursor()
            found = set()
            for sub in grouped_slice(values, IN_MAX):
                cursor.execute(*card.select(
                        card.number,
                        where=(card.company == self.company.id)
                        & card.number.in_(list(sub))
                        & NotEqual(card.state, 'closed')))
                found.update(v for v, in cursor)
            return found
        return existing

    # Writing

    def create(self):
        """Create the members and their cards; return the number of members.

        Written in bulk (see bulk_create): per batch one multi-row INSERT
        for the parties, one for their tags and one for their cards; member
        numbers and party codes are taken from their sequences once per
        batch.  The values were validated by check() and the database
        enforces the unique mobile, member number and card number; the
        result is then read back through the ORM and compared."""
        if self.rejections:
            raise MemberImportError(gettext(
                    'retail_member.msg_import_rejected',
                    count=len(self.rejections)))
        pool = Pool()
        Party = pool.get('party.party')
        Card = pool.get('retail.member.card')
        Date = pool.get('ir.date')
        today = Date.today()
        start = time.monotonic()
        tags = self._tag_ids()
        member_sequence = Party._member_sequence(self.company)
        code_sequence = Party._code_sequence()
        total = len(self.rows)
        created = 0
        for sub in grouped_slice(self.rows, self.batch):
            sub = list(sub)
            # One sequence update per batch instead of one per member
            blank = sum(1 for _, v in sub if not v.get('member_number'))
            numbers = iter(list(member_sequence.get_many(blank))
                if blank and member_sequence else [])
            codes = iter(list(code_sequence.get_many(len(sub)))
                if code_sequence else [])
            to_create = []
            for _, values in sub:
                party = {
                    'name': values['name'],
                    'code': next(codes, None),
                    'is_member': True,
                    'member_company': self.company.id,
                    'member_number': (values.get('member_number')
                        or next(numbers, None)),
                    'member_mobile': values.get('mobile'),
                    'birth_date': values.get('birth_date'),
                    'gender': values.get('gender'),
                    'member_tier': self._tiers.get(
                        values.get('tier_code')),
                    'member_shop': self._shops.get(
                        values.get('shop_code')),
                    'consent_sms': values.get('consent_sms', False),
                    'consent_email': values.get('consent_email', False),
                    'join_date': values.get('join_date', today),
                    }
                if values.get('tags'):
                    party['categories'] = [('add', [
                                tags[t] for t in values['tags']])]
                to_create.append(party)
            # values prepared as preprocess_values would (mobile
            # normalised, birthday checked, numbers and codes given)
            for party in to_create:
                party.setdefault('addresses', None)
            party_ids = bulk_create(Party, to_create, preprocess=False)
            cards = []
            for (_, values), party_id in zip(sub, party_ids):
                if values.get('card_number'):
                    cards.append({
                            'company': self.company.id,
                            'number': values['card_number'],
                            'party': party_id,
                            'medium': values.get('card_medium', 'magstripe'),
                            'named': values.get('card_named', True),
                            'issue_date': values.get('join_date', today),
                            })
            card_ids = bulk_create(Card, cards)
            self._verify(to_create, party_ids, cards, card_ids)
            created += len(party_ids)
            elapsed = time.monotonic() - start
            logger.info(
                "member import: %d/%d rows written (%.0f rows/s)",
                created, total, created / elapsed if elapsed else 0)
        return created

    def _verify(self, parties, party_ids, cards, card_ids):
        "Count what was written back through the ORM"
        pool = Pool()
        Party = pool.get('party.party')
        Card = pool.get('retail.member.card')
        with without_check_access(), Transaction().set_context(
                active_test=False):
            found = Party.search([
                    ('id', 'in', party_ids),
                    ('is_member', '=', True),
                    ('member_company', '=', self.company.id),
                    ('member_number', 'in',
                        [p['member_number'] for p in parties]),
                    ], count=True)
            if found != len(parties) or len(set(party_ids)) != len(parties):
                raise MemberImportError(gettext(
                        'retail_member.msg_import_rejected',
                        count=len(parties) - found))
            found = Card.search([
                    ('id', 'in', card_ids),
                    ('party', 'in', party_ids),
                    ('company', '=', self.company.id),
                    ('state', '=', 'active'),
                    ('number', 'in', [c['number'] for c in cards]),
                    ], count=True)
            if found != len(cards):
                raise MemberImportError(gettext(
                        'retail_member.msg_import_rejected',
                        count=len(cards) - found))

    def _tag_ids(self):
        "Map tag names to party categories, creating the missing ones"
        pool = Pool()
        Category = pool.get('party.category')
        names = sorted(self._tags)
        if not names:
            return {}
        tags = {}
        for sub in grouped_slice(names, IN_MAX):
            for category in Category.search([
                        ('name', 'in', list(sub)),
                        ('parent', '=', None),
                        ]):
                tags.setdefault(category.name, category.id)
        missing = [n for n in names if n not in tags]
        if missing:
            for category in Category.create([
                        {'name': n} for n in missing]):
                tags[category.name] = category.id
        return tags


def _insert_rows(Model, table, columns, sql_rows):
    "Insert the rows (create_date last-but-n); return their ids in order"
    transaction = Transaction()
    database = transaction.database
    cursor = transaction.connection.cursor()
    if not sql_rows:
        return []
    # the query of one row, every value a parameter but create_date
    first = sql_rows[0]
    query, params = tuple(table.insert(columns, [first]))
    plain = len(params) == len(first) - 1
    ids = None
    if plain and len(sql_rows) > 1:
        ids = database.nextid(
            transaction.connection, Model._table, count=len(sql_rows))
    if ids is not None and backend.name == 'postgresql':
        # COPY: the rows stream in one statement (the driver is pure
        # Python here: a pipelined executemany costs 3 times more)
        cursor.execute(*Select([Cast(CurrentTimestamp(), 'TIMESTAMP')]))
        now, = cursor.fetchone()
        names = [c.name for c in columns] + ['id']
        statement = psql.SQL('COPY {} ({}) FROM STDIN').format(
            psql.Identifier(Model._table),
            psql.SQL(', ').join(map(psql.Identifier, names)))
        with cursor.copy(statement) as copy:
            for row, id_ in zip(sql_rows, ids):
                copy.write_row([
                        now if isinstance(v, CurrentTimestamp) else v
                        for v in row] + [id_])
        return list(ids)
    if ids is not None:
        query, _ = tuple(table.insert(
                columns + [table.id], [first + [ids[0]]]))
        cursor.executemany(query, [
                [v for v in row if not isinstance(v, CurrentTimestamp)]
                + [id_] for row, id_ in zip(sql_rows, ids)])
        return list(ids)
    ids = []
    returning = database.has_returning()
    if plain and returning:
        query, _ = tuple(table.insert(columns, [first], [table.id]))
    for row in sql_rows:
        if plain:
            values = [v for v in row if not isinstance(v, CurrentTimestamp)]
        if returning:
            if plain:
                cursor.execute(query, values)
            else:
                cursor.execute(*table.insert(columns, [row], [table.id]))
            ids.append(cursor.fetchone()[0])
        else:
            cursor.execute(*table.insert(columns, [row]))
            ids.append(database.lastid(cursor))
    return ids


_SKIP_FIELDS = {'id', 'create_uid', 'create_date', 'write_uid', 'write_date'}


def _fast_sql_format(field):
    """field.sql_format, with a shortcut for the values bulk_create gets
    most: an int for a Many2One, a bool for a Boolean, a str for a Char
    (stripped as the field says); those formats are the value itself on
    both backends (Database.sql_format changes only BLOB)"""
    format_ = field.sql_format
    if isinstance(field, fields.Many2One):
        def fast(value):
            return value if type(value) is int else format_(value)
    elif isinstance(field, fields.Boolean):
        def fast(value):
            return value if type(value) is bool else format_(value)
    elif type(field) is fields.Char:
        strip = {True: str.strip, 'leading': str.lstrip,
            'trailing': str.rstrip}.get(field.strip)

        def fast(value):
            if type(value) is not str:
                return format_(value)
            return strip(value) if strip else value
    else:
        return format_
    return fast


def bulk_create(Model, vlist, preprocess=True, known=None):
    """Create records of Model from vlist like ModelSQL.create does, but
    with one multi-row INSERT per chunk and without the per-record Python
    validation (`_validate`): the caller has checked the values and the
    database enforces the SQL constraints (those it cannot hold, as on
    SQLite, are checked as ModelSQL.validate does).  Returns the new ids in
    the order of vlist.

    What the ORM does is kept: access checks and `preprocess_values`
    (`_before_create`), default values, create_uid/create_date, computed
    fields (`compute_fields`, written in the INSERT), Many2Many `add`
    actions and multi-value defaults written in bulk (other setters through
    the field), history, the create rules, `check_modification`,
    `on_modification` and triggers.  preprocess=False skips
    `preprocess_values` (not the access checks) for values the caller has
    already prepared the same way.

    known: [{field: value}], one per row of vlist, values the caller knows
    the new records hold (relations and Function fields as records): the
    modification hooks get records holding them instead of reading the
    rows back to learn them.

    The rows are sent with one prepared single-row INSERT executed for
    many rows (executemany: pipelined on PostgreSQL, ids taken from the
    table's sequence at once): a multi-row VALUES with thousands of
    parameters costs more in the driver's query parsing than the insert
    itself."""
    pool = Pool()
    transaction = Transaction()
    if not vlist:
        return []
    if preprocess:
        vlist = Model._before_create(vlist)
    else:
        ModelAccess = pool.get('ir.model.access')
        ModelFieldAccess = pool.get('ir.model.field.access')
        ModelAccess.check(Model.__name__, 'create')
        ModelFieldAccess.check(
            Model.__name__, list(set().union(*vlist)), 'write')
        transaction.counter += 1
        vlist = [dict(v) for v in vlist]
    present = set.intersection(*(set(v) for v in vlist))
    missing = [n for n, f in Model._fields.items()
        if n not in present and n not in _SKIP_FIELDS
        and not (isinstance(f, fields.Function) and not f.setter)]
    defaults = (Model._clean_defaults(
            Model.default_get(missing, with_rec_name=False))
        if missing else {})
    rows = []
    for values in vlist:
        values = {**{k: v for k, v in defaults.items() if k not in values},
            **values}
        rows.append(values)
    names = set().union(*rows)
    stored = sorted(n for n in names if not hasattr(Model._fields[n], 'set'))
    to_set = sorted((n for n in names if hasattr(Model._fields[n], 'set')),
        key=Model.index_set_field)
    for name in stored:
        if getattr(Model._fields[name], 'translate', False):
            raise NotImplementedError(f'{Model.__name__}.{name} translated')

    # computed fields go into the INSERT instead of one write per record;
    # the instances get the plain values only (a relational value costs an
    # instance of the target each)
    computed = []
    if Model.compute_fields is not ModelStorage.compute_fields:
        plain = [n for n in stored if not isinstance(
                Model._fields[n], (fields.Many2One, fields.Reference))]
        cache = transaction.get_cache()
        record_cache = local_cache(Model, transaction)
        for values in rows:
            # a new record holding the plain values as the fields' setters
            # would store them (the values were checked and converted by
            # the caller): Model(**values) costs a setattr per field
            record = Model(
                _transaction_cache=cache, _local_cache=record_cache,
                _transaction=transaction)
            record._values = record._record(
                **{n: values.get(n) for n in plain})
            computed.append(record.compute_fields() or {})
    else:
        computed = [{} for _ in rows]
    computed_names = sorted(set().union(*computed) - set(stored))
    for values, extra in zip(rows, computed):
        values.update(extra)
    stored = sorted(set(stored) | set(computed_names))

    table = Model.__table__()
    columns = [table.create_uid, table.create_date] + [
        Column(table, n) for n in stored]
    user = transaction.user
    # a column's default (the same object in every row that took it) and
    # None are formatted once, not once per row
    missing_value = object()
    columns_formats = []
    for name in stored:
        format_ = _fast_sql_format(Model._fields[name])
        default = defaults.get(name, missing_value)
        columns_formats.append((name, format_, format_(None), default,
                format_(default) if default is not missing_value
                else None))
    sql_rows = []
    for values in rows:
        sql_row = [user, CurrentTimestamp()]
        for name, format_, none, default, default_sql in columns_formats:
            value = values.get(name)
            if value is None:
                sql_row.append(none)
            elif value is default:
                sql_row.append(default_sql)
            else:
                sql_row.append(format_(value))
        sql_rows.append(sql_row)
    try:
        ids = _insert_rows(Model, table, columns, sql_rows)
    except (backend.DatabaseIntegrityError,
            backend.DatabaseDataError) as exception:
        # a translated error, as the ORM's create gives: the constraint by
        # its name, a required field, a missing target
        if isinstance(exception, backend.DatabaseIntegrityError):
            raise_func = Model._ModelSQL__raise_integrity_error
        else:
            raise_func = Model._ModelSQL__raise_data_error
        with transaction.new_transaction():
            for values in rows:
                raise_func(exception, values, transaction=transaction)
        raise

    for name in to_set:
        field = Model._fields[name]
        generic = []
        if isinstance(field, fields.Many2Many):
            Relation = pool.get(field.relation_name)
            relations = []
            for values, id_ in zip(rows, ids):
                actions = values.get(name) or []
                if all(a[0] == 'add' for a in actions):
                    relations.extend(
                        {field.origin: id_, field.target: int(t)}
                        for a in actions for t in a[1])
                else:
                    generic.append((id_, actions))
            bulk_create(Relation, relations)
        elif isinstance(field, fields.MultiValue):
            Value = Model.multivalue_model(name)
            parent = [n for n, f in Value._fields.items()
                if getattr(f, 'model_name', None) == Model.__name__
                and isinstance(f, fields.Many2One)]
            simple = len(parent) == 1 and not [
                n for n, f in Value._fields.items()
                if n not in _SKIP_FIELDS | {parent[0], name}
                and not isinstance(f, fields.Function)]
            records = []
            for values, id_ in zip(rows, ids):
                value = values.get(name)
                if value is None:
                    continue
                if simple:
                    records.append({parent[0]: id_, name: value})
                else:
                    generic.append((id_, value))
            bulk_create(Value, records)
        else:
            generic = [(id_, values.get(name))
                for values, id_ in zip(rows, ids)
                if values.get(name) is not None]
        args = []
        for id_, value in generic:
            for group_ids, group_value in zip(args[::2], args[1::2]):
                if group_value == value:
                    group_ids.append(id_)
                    break
            else:
                args.extend(([id_], value))
        if args:
            field.set(Model, name, *args)

    # the constraints the database does not hold (on SQLite those with a
    # parameter, such as CHECK (points != 0), and EXCLUDE but on equality)
    # are checked as ModelSQL.validate does after the ORM's create
    database = transaction.database
    if any(not database.has_constraint(sql)
            for _, sql, _ in Model._sql_constraints):
        # one OR clause per row in the uniqueness query: small slices
        for sub in grouped_slice(ids, 100):
            ModelSQL.validate.__func__(Model, Model.browse(list(sub)))

    Model._insert_history(ids)
    Model._ModelSQL__check_domain_rule(ids, 'create')
    Trigger = pool.get('ir.trigger')
    check_access = transaction.user and transaction.check_access
    with without_check_access():
        triggers = Trigger.get_triggers(Model.__name__, 'create')
        hooked = triggers or any(
            getattr(Model, name).__func__
            is not getattr(ModelStorage, name).__func__
            for name in ['check_modification', 'on_modification'])
        known = dict(zip(ids, known)) if known else {}
        # browse costs O(n²) in the batch size
        for sub in grouped_slice(ids if hooked else [], 25):
            records = Model.browse(list(sub))
            for record in records:
                if known.get(record.id):
                    record._values = record._record(**known[record.id])
            Model.check_modification(
                'create', records, external=check_access)
            Model.on_modification('create', records)
            for trigger in triggers:
                trigger.queue_trigger_action(records)
    transaction.create_records[Model.__name__].extend(ids)
    return ids


def write_links(Model, records, values):
    """Write plain values on records with one UPDATE, without the ORM's
    validation nor its modification hooks, and clean the caches as
    ModelStorage.write does.

    For the links a module sets on its own records once it has made what
    they link to (a payment's draft move): the ORM's write would read the
    records back, validate them and run every module's checks of a
    modification for a field none of them watches."""
    transaction = Transaction()
    records = list(records)
    if not records:
        return
    assert all(not hasattr(Model._fields[n], 'set') for n in values)
    table = Model.__table__()
    columns = [Column(table, n) for n in values] + [
        table.write_uid, table.write_date]
    sql_values = [Model._fields[n].sql_format(v) for n, v in values.items()
        ] + [transaction.user, CurrentTimestamp()]
    cursor = transaction.connection.cursor()
    for sub in grouped_slice(records, IN_MAX):
        cursor.execute(*table.update(columns, sql_values,
                where=table.id.in_([int(r) for r in sub])))
    forget_records(Model, records)


def forget_records(Model, records):
    """Clean the caches of records written with SQL, as ModelStorage.write
    does: the transaction's counter (every record's local cache) and the
    records in each record cache of the transaction"""
    transaction = Transaction()
    transaction.counter += 1
    for record in records:
        local_cache = getattr(record, '_local_cache', None)
        if local_cache is not None:
            local_cache.pop(int(record), None)
    for cache in transaction.cache.values():
        if Model.__name__ in cache:
            for record in records:
                cache[Model.__name__].pop(int(record), None)


class ModelLog(metaclass=PoolMeta):
    "The audit log of Tryton (state transitions, buttons, wizards)"
    __name__ = 'ir.model.log'

    @classmethod
    def create(cls, vlist):
        """Tryton writes the log of a transaction at its commit, with the
        ORM: the INSERT, then a read of the rows, of their resource and of
        each resource to validate them (four queries for a POS checkout's
        transition to done).  The values are Tryton's own (Model.log, with
        the access checks off): one INSERT (bulk_create) keeps the rest of
        what create does."""
        if not Transaction().check_access:
            return cls.browse(bulk_create(cls, vlist))
        return super().create(vlist)


class _Invalid(Exception):
    def __init__(self, message, **kwargs):
        super().__init__(message)
        self.message = message
        self.kwargs = kwargs


def rejections_xlsx(rejections):
    "An .xlsx listing the rejections, one per row"
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet('rejections')
    sheet.append(REJECTION_HEADER)
    for rejection in rejections:
        value = rejection.value
        if value is not None and not isinstance(
                value, (int, float, dt.date, dt.datetime)):
            value = str(value)
        sheet.append([
                rejection.row, rejection.column, value, rejection.reason])
    output = BytesIO()
    workbook.save(output)
    return output.getvalue()


class MemberExporter:
    """Write the members of a company to an .xlsx with the import columns.

    The mobile is masked unless the user may read it."""

    def __init__(self, company, mask=True, active_only=True):
        self.company = company
        self.mask = mask
        self.active_only = active_only
        self.count = 0

    def export(self):
        pool = Pool()
        Party = pool.get('party.party')
        Card = pool.get('retail.member.card')
        Category = pool.get('party.category')
        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet('members')
        sheet.append(COLUMN_KEYS)
        domain = [
            ('is_member', '=', True),
            ('member_company', '=', self.company.id),
            ]
        context = {} if self.active_only else {'active_test': False}
        with Transaction().set_context(**context):
            ids = [p.id for p in Party.search(
                    domain, order=[('member_number', 'ASC'), ('id', 'ASC')])]
        tier_codes = {}
        shop_codes = {}
        tag_names = {}
        fnames = [
            'member_number', 'name', 'member_mobile', 'birth_date',
            'gender', 'member_tier', 'member_shop', 'categories',
            'consent_sms', 'consent_email', 'join_date']
        for sub in grouped_slice(ids, BATCH):
            sub = list(sub)
            parties = Party.read(sub, fnames)
            cards = {}
            for card in Card.search_read([
                        ('party', 'in', sub),
                        ('state', 'not in', ['closed', 'replaced']),
                        ], order=[('id', 'ASC')],
                    fields_names=['party', 'number', 'medium', 'named',
                        'state']):
                current = cards.get(card['party'])
                if current is None or (
                        current['state'] != 'active'
                        and card['state'] == 'active'):
                    cards[card['party']] = card
            self._load_names(
                'retail.member.tier', 'code', tier_codes,
                {p['member_tier'] for p in parties})
            self._load_names(
                'retail.shop', 'code', shop_codes,
                {p['member_shop'] for p in parties})
            self._load_names(
                Category.__name__, 'name', tag_names,
                {c for p in parties for c in p['categories']})
            for party in parties:
                card = cards.get(party['id'], {})
                mobile = party['member_mobile']
                if self.mask:
                    mobile = mask_mobile(mobile)
                sheet.append([
                        party['member_number'],
                        party['name'],
                        mobile,
                        party['birth_date'],
                        party['gender'],
                        tier_codes.get(party['member_tier']),
                        card.get('number'),
                        card.get('medium'),
                        card.get('named') if card else None,
                        shop_codes.get(party['member_shop']),
                        ', '.join(
                            tag_names[c] for c in party['categories']),
                        party['consent_sms'],
                        party['consent_email'],
                        party['join_date'],
                        ])
            self.count += len(parties)
        output = BytesIO()
        workbook.save(output)
        return output.getvalue()

    @staticmethod
    def _load_names(model, field, cache, ids):
        ids = [i for i in ids if i is not None and i not in cache]
        if not ids:
            return
        Model = Pool().get(model)
        with Transaction().set_context(active_test=False):
            for record in Model.read(ids, [field]):
                cache[record['id']] = record[field]


def _user_company():
    "The company of the context, if the user may work for it"
    pool = Pool()
    Company = pool.get('company.company')
    User = pool.get('res.user')
    transaction = Transaction()
    company = transaction.context.get('company')
    if company is None or (
            transaction.user and company not in User.get_companies()):
        raise MemberImportError(gettext(
                'retail_member.msg_import_company'))
    return Company(company)


class MemberImportStart(ModelView):
    __name__ = 'retail.member.import.start'
    file = fields.Binary("File", required=True, filename='filename')
    filename = fields.Char("File Name", readonly=True)
    template = fields.Binary(
        "Template", readonly=True, filename='template_name')
    template_name = fields.Char("Template Name", readonly=True)


class MemberImportResult(ModelView):
    __name__ = 'retail.member.import.result'
    rows = fields.Integer("Rows", readonly=True)
    rejected = fields.Integer("Rejected Rows", readonly=True)
    rejections = fields.Integer("Rejections", readonly=True)
    report = fields.Binary(
        "Rejections File", readonly=True, filename='report_name',
        states={
            'invisible': ~Eval('rejections'),
            })
    report_name = fields.Char("Rejections File Name", readonly=True)
    summary = fields.Text("Summary", readonly=True)


class MemberImportDone(ModelView):
    __name__ = 'retail.member.import.done'
    created = fields.Integer("Members Created", readonly=True)
    duration = fields.Float("Duration (s)", digits=(16, 2), readonly=True)


class MemberImport(Wizard):
    "Import members from an Excel sheet: check everything, then import"
    __name__ = 'retail.member.import'
    start = StateView(
        'retail.member.import.start',
        'retail_member.member_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Check", 'check', 'tryton-ok', default=True),
            ])
    check = StateTransition()
    rejected = StateView(
        'retail.member.import.result',
        'retail_member.member_import_rejected_view_form', [
            Button("Close", 'end', 'tryton-close'),
            Button("Back", 'start', 'tryton-back', default=True),
            ])
    ready = StateView(
        'retail.member.import.result',
        'retail_member.member_import_ready_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True),
            ])
    import_ = StateTransition()
    done = StateView(
        'retail.member.import.done',
        'retail_member.member_import_done_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_start(self, fields):
        from .template import build_template
        return {
            'template': build_template(),
            'template_name': 'member_import_template.xlsx',
            }

    def _importer(self):
        importer = MemberImporter(_user_company())
        importer.read(self.start.file)
        importer.check()
        return importer

    def transition_check(self):
        importer = self._importer()
        self._result = {
            'rows': len(importer.rows),
            'rejected': len({r.row for r in importer.rejections}),
            'rejections': len(importer.rejections),
            }
        if importer.rejections:
            self._result['report'] = rejections_xlsx(importer.rejections)
            self._result['report_name'] = 'rejections.xlsx'
            self._result['summary'] = '\n'.join(
                f'{r.row} {r.column}: {r.reason}'
                for r in importer.rejections[:200])
            return 'rejected'
        return 'ready'

    def default_rejected(self, fields):
        return getattr(self, '_result', {})

    def default_ready(self, fields):
        return getattr(self, '_result', {})

    def transition_import_(self):
        importer = self._importer()
        start = time.monotonic()
        self._done = {
            'created': importer.create(),
            'duration': time.monotonic() - start,
            }
        return 'done'

    def default_done(self, fields):
        return getattr(self, '_done', {})


class MemberExportStart(ModelView):
    __name__ = 'retail.member.export.start'
    active_only = fields.Boolean(
        "Active Only", help="Leave out the members that are archived.")


class MemberExportResult(ModelView):
    __name__ = 'retail.member.export.result'
    file = fields.Binary("File", readonly=True, filename='filename')
    filename = fields.Char("File Name", readonly=True)
    count = fields.Integer("Members", readonly=True)
    masked = fields.Boolean("Mobiles Masked", readonly=True)


class MemberExport(Wizard):
    "Export the members to an Excel sheet"
    __name__ = 'retail.member.export'
    start = StateView(
        'retail.member.export.start',
        'retail_member.member_export_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Export", 'export', 'tryton-ok', default=True),
            ])
    export = StateTransition()
    result = StateView(
        'retail.member.export.result',
        'retail_member.member_export_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_start(self, fields):
        return {'active_only': True}

    def transition_export(self):
        company = _user_company()
        exporter = MemberExporter(
            company, mask=not can_read_mobile(),
            active_only=self.start.active_only)
        data = exporter.export()
        self._result = {
            'file': data,
            'filename': 'members-%s.xlsx' % (
                Pool().get('ir.date').today().isoformat()),
            'count': exporter.count,
            'masked': exporter.mask,
            }
        return 'result'

    def default_result(self, fields):
        return getattr(self, '_result', {})


def can_read_mobile():
    "Whether the user may see full member mobiles"
    FieldAccess = Pool().get('ir.model.field.access')
    with check_access():
        return FieldAccess.check(
            'party.party', ['member_mobile'], 'read',
            raise_exception=False)

