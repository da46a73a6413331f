# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from sql import Expression, Literal, Union
from sql.conditionals import Coalesce
from sql.operators import Equal

from trytond.i18n import gettext
from trytond.model import Exclude, Index, ModelSQL, ModelView, Workflow, fields
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.rpc import RPC
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import CardUnusableError, CardValidationError, IdentifyError
from .tools import normalize_mobile, parse_qr, qr_payload

MEDIA = [
    ('magstripe', "Magnetic Stripe"),
    ('rfid', "RFID"),
    ('ic', "IC Chip"),
    ('qr', "QR Code"),
    ('virtual', "Virtual"),
    ]


class NotClosed(Expression):
    """SQL condition "state <> 'closed'" written without a parameter.

    SQLite only creates a partial unique index for a constraint without
    parameters, so the literal is inlined to get the same guarantee from
    both backends."""
    __slots__ = ('_column',)

    def __init__(self, column):
        super().__init__()
        self._column = column

    def __str__(self):
        return "(%s != 'closed')" % self._column

    @property
    def params(self):
        return ()


class MemberCard(Workflow, ModelSQL, ModelView):
    __name__ = 'retail.member.card'
    _rec_name = 'number'

    company = fields.Many2One(
        'company.company', "Company", required=True,
        states={
            'readonly': Eval('id', -1) >= 0,
            })
    number = fields.Char(
        "Number", required=True, strip=True,
        states={
            'readonly': Eval('id', -1) >= 0,
            })
    party = fields.Many2One(
        'party.party', "Member", required=True, ondelete='RESTRICT',
        domain=[
            ('is_member', '=', True),
            ('member_company', '=', Eval('company', -1)),
            ],
        states={
            'readonly': Eval('state') != 'active',
            },
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    medium = fields.Selection(MEDIA, "Medium", required=True)
    named = fields.Boolean(
        "Named",
        help="A named card is registered to the identity of its holder; "
        "an anonymous card is not.")
    state = fields.Selection([
            ('active', "Active"),
            ('frozen', "Frozen"),
            ('lost', "Lost"),
            ('replaced', "Replaced"),
            ('closed', "Closed"),
            ], "State", readonly=True, required=True, sort=False)
    issue_date = fields.Date(
        "Issue Date", required=True,
        states={
            'readonly': Eval('id', -1) >= 0,
            })
    replacement_of = fields.Many2One(
        'retail.member.card', "Replacement of", readonly=True,
        ondelete='RESTRICT',
        states={
            'invisible': ~Eval('replacement_of'),
            })
    replaced_by = fields.Many2One(
        'retail.member.card', "Replaced by", readonly=True,
        ondelete='RESTRICT',
        states={
            'invisible': ~Eval('replaced_by'),
            })
    qr_payload = fields.Function(
        fields.Char("QR Payload"), 'get_qr_payload')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('number_exclude',
                Exclude(t, (t.company, Equal), (t.number, Equal),
                    where=NotClosed(t.state)),
                'retail_member.msg_card_number_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.number, Index.Equality())),
                Index(t, (t.party, Index.Range())),
                Index(t, (t.state, Index.Equality(cardinality='low'))),
                })
        cls._order = [
            ('issue_date', 'DESC'),
            ('id', 'DESC'),
            ]
        cls._transitions |= {
            ('active', 'lost'),
            ('active', 'frozen'),
            ('frozen', 'active'),
            ('lost', 'active'),
            ('active', 'closed'),
            ('frozen', 'closed'),
            ('lost', 'closed'),
            }
        cls._buttons.update(
            report_lost={
                'invisible': Eval('state') != 'active',
                'depends': ['state'],
                },
            freeze={
                'invisible': Eval('state') != 'active',
                'depends': ['state'],
                },
            unfreeze={
                'invisible': Eval('state') != 'frozen',
                'depends': ['state'],
                },
            recover={
                'invisible': Eval('state') != 'lost',
                'depends': ['state'],
                },
            replace={
                'invisible': ~Eval('state').in_(['active', 'frozen', 'lost']),
                'depends': ['state'],
                },
            close={
                'invisible': ~Eval('state').in_(['active', 'frozen', 'lost']),
                'depends': ['state'],
                },
            )
        cls.__rpc__.update(
            identify=RPC(
                readonly=True,
                result=lambda r: [
                    r[0].id, r[1].id if r[1] is not None else None]),
            )

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'active'

    @classmethod
    def default_medium(cls):
        return 'magstripe'

    @classmethod
    def default_named(cls):
        return True

    @classmethod
    def default_issue_date(cls):
        return Pool().get('ir.date').today()

    def get_qr_payload(self, name):
        return qr_payload(self.number) if self.number else None

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual',
                If(Eval('state') == 'lost', 'danger',
                    If(Eval('state') == 'frozen', 'warning',
                        If(Eval('state').in_(['replaced', 'closed']),
                            'muted', '')))),
            ]

    @classmethod
    def copy(cls, cards, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('state')
        default.setdefault('replacement_of')
        default.setdefault('replaced_by')
        default.setdefault('issue_date')
        return super().copy(cards, default=default)

    @classmethod
    def check_modification(cls, mode, cards, values=None, external=False):
        super().check_modification(
            mode, cards, values=values, external=external)
        if mode == 'delete':
            for card in cards:
                raise CardValidationError(gettext(
                        'retail_member.msg_card_delete',
                        card=card.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('lost')
    def report_lost(cls, cards):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('frozen')
    def freeze(cls, cards):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('active')
    def unfreeze(cls, cards):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('active')
    def recover(cls, cards):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('closed')
    def close(cls, cards):
        pass

    @classmethod
    @ModelView.button_action('retail_member.wizard_card_replace')
    def replace(cls, cards):
        pass

    @classmethod
    def replace_card(cls, card, number, medium=None, named=None):
        """Issue a new card numbered number for the member of card, mark
        card as replaced and return the new card."""
        Date = Pool().get('ir.date')
        cls.lock([card])
        card = cls(card.id)
        if card.state not in {'active', 'frozen', 'lost'}:
            raise CardValidationError(gettext(
                    'retail_member.msg_card_replace_state',
                    card=card.rec_name))
        new_card, = cls.create([{
                    'company': card.company.id,
                    'number': number,
                    'party': card.party.id,
                    'medium': medium or card.medium,
                    'named': card.named if named is None else named,
                    'issue_date': Date.today(),
                    'replacement_of': card.id,
                    }])
        cls.write([card], {
                'state': 'replaced',
                'replaced_by': new_card.id,
                })
        cls._replaced(card, new_card)
        return new_card

    @classmethod
    def _replaced(cls, old_card, new_card):
        """Called in the transaction that replaces old_card by new_card.

        Balances (points, stored value, count cards) belong to the member,
        not to the card, so they follow without work here. Modules that
        keep data on the card extend this method."""
        pass

    def check_usable(self):
        "Raise a UserError unless the card can be used"
        if self.state == 'active':
            return
        if self.state == 'replaced':
            raise CardUnusableError(gettext(
                    'retail_member.msg_card_replaced',
                    card=self.number,
                    new_card=(self.replaced_by.number
                        if self.replaced_by else '')))
        raise CardUnusableError(gettext(
                'retail_member.msg_card_%s' % self.state,
                card=self.number))

    @classmethod
    def identify(cls, code, company=None):
        """Return (member, card or None) from what the cashier typed or
        swiped: a card number, a QR payload "HY:<card number>", a member
        number or a mobile phone in any common format.

        Each kind is one indexed lookup. Raises a UserError when nothing
        matches, when the card is not usable or when several members
        match."""
        pool = Pool()
        Party = pool.get('party.party')
        User = pool.get('res.user')
        transaction = Transaction()
        context = transaction.context

        code = (code or '').strip()
        if not code:
            raise IdentifyError(gettext('retail_member.msg_identify_empty'))
        if company is None:
            company = context.get('company')
        company = int(company) if company is not None else None
        if company is None:
            raise IdentifyError(gettext('retail_member.msg_identify_company'))
        if transaction.user and company not in User.get_companies():
            raise IdentifyError(gettext(
                    'retail_member.msg_identify_unknown', code=code))

        # One round trip: every kind of lookup is a branch of one UNION ALL
        # on an indexed column (the cashier waits on this at every sale).
        # Cashiers may not read the member mobile: the query bypasses access.
        card_number = parse_qr(code)
        if card_number is not None:
            rows = cls._identify_rows(company, card_number=card_number)
        else:
            rows = cls._identify_rows(company, card_number=code,
                member_number=code, mobile=normalize_mobile(code))
        cards = sorted(
            ((card_id, party_id, state) for kind, card_id, party_id, state
                in rows if kind == 'card'),
            key=lambda r: (r[2] != 'closed', r[0]), reverse=True)
        card_row = cards[0] if cards else None
        parties = {party_id for kind, _, party_id, _ in rows
            if kind != 'card'}
        if card_row:
            parties.add(card_row[1])
        if not parties:
            raise IdentifyError(gettext(
                    'retail_member.msg_identify_unknown', code=code))
        if len(parties) > 1:
            raise IdentifyError(gettext(
                    'retail_member.msg_identify_ambiguous', code=code))
        party_id, = parties
        card = None
        if card_row:
            card = cls(card_row[0])
            if card_row[2] != 'active':
                with without_check_access():
                    card.check_usable()
        return Party(party_id), card

    @classmethod
    def _identify_rows(cls, company, card_number=None, member_number=None,
            mobile=None):
        """Rows (kind, card id, party id, card state) of the cards numbered
        card_number and of the members with member_number or mobile"""
        pool = Pool()
        Party = pool.get('party.party')
        card = cls.__table__()
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        queries = []
        if card_number:
            queries.append(card.select(
                    Literal('card').as_('kind'), card.id.as_('card'),
                    card.party.as_('party'), card.state.as_('state'),
                    where=(card.company == company)
                    & (card.number == card_number)))
        member = ((party.is_member == Literal(True))
            & (party.member_company == company)
            & (party.active == Literal(True)))
        for kind, column, value in [
                ('number', party.member_number, member_number),
                ('mobile', party.member_mobile, mobile)]:
            if value:
                # COALESCE as Tryton searches a non-required Char: the
                # expression the indexes are built on
                queries.append(party.select(
                        Literal(kind), party.id, party.id, Literal(''),
                        where=member & (Coalesce(column, '') == value)))
        if not queries:
            return []
        query = queries[0]
        for other in queries[1:]:
            query = Union(query, other, all_=True)
        cursor.execute(*query)
        return cursor.fetchall()


class CardReplaceStart(ModelView):
    __name__ = 'retail.member.card.replace.start'
    card = fields.Many2One('retail.member.card', "Card", readonly=True)
    party = fields.Many2One('party.party', "Member", readonly=True)
    number = fields.Char("New Number", required=True, strip=True)
    medium = fields.Selection(MEDIA, "Medium", required=True)
    named = fields.Boolean("Named")


class CardReplace(Wizard):
    __name__ = 'retail.member.card.replace'
    start = StateView(
        'retail.member.card.replace.start',
        'retail_member.card_replace_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Replace", 'replace', 'tryton-ok', default=True),
            ])
    replace = StateTransition()

    def default_start(self, fields):
        return {
            'card': self.record.id,
            'party': self.record.party.id,
            'medium': self.record.medium,
            'named': self.record.named,
            }

    def transition_replace(self):
        pool = Pool()
        Card = pool.get('retail.member.card')
        Card.replace_card(
            self.record, self.start.number,
            medium=self.start.medium, named=self.start.named)
        return 'end'
