# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model import Workflow, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

from .ledger import lock_in_place


class POS(metaclass=PoolMeta):
    __name__ = 'sale.point'
    shop = fields.Many2One(
        'retail.shop', "Shop", ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))],
        help="The shop where the point of sale stands.")


class POSSale(metaclass=PoolMeta):
    __name__ = 'sale.point.sale'
    member = fields.Many2One(
        'party.party', "Member", ondelete='RESTRICT',
        domain=[
            ('is_member', '=', True),
            ('member_company', '=', Eval('company', -1)),
            ],
        states={
            'readonly': Eval('state') != 'open',
            },
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    member_card = fields.Many2One(
        'retail.member.card', "Member Card", ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            If(Eval('member'),
                ('party', '=', Eval('member', -1)),
                ()),
            ],
        states={
            'readonly': Eval('state') != 'open',
            })

    @fields.depends('member_card', 'member')
    def on_change_member_card(self):
        if self.member_card:
            self.member = self.member_card.party

    @fields.depends('member', 'member_card')
    def on_change_member(self):
        if self.member_card and self.member_card.party != self.member:
            self.member_card = None

    @classmethod
    def check_member_cards(cls, sales):
        "Refuse a card reported lost or frozen while the sale was open"
        for sale in sales:
            if sale.member_card:
                sale.member_card.check_usable()

    @classmethod
    def lock_number_sequences(cls, sales):
        """Lock the strict sequences that number the sales where they are
        used, waiting for the holder.

        sale_point's do takes them with Tryton's lock, which inside a
        running transaction can only ask for the whole transaction to be
        started again with the rows locked first: every sale was then
        processed twice."""
        Sequence = Pool().get('ir.sequence.strict')
        sequences = {s.point.sequence for s in sales if not s.number}

        def mark(records):
            # SQLite has one writer at a time: the rows need no lock
            if records:
                locked = getattr(Transaction(), '_locked_records', None)
                if locked is not None:
                    locked[Sequence._table].update(int(r) for r in records)
        lock_in_place(Sequence, sequences, mark)

    @classmethod
    @Workflow.transition('done')
    def do(cls, sales):
        cls.check_member_cards(sales)
        cls.lock_number_sequences(sales)
        super().do(sales)


class POSSaleLine(metaclass=PoolMeta):
    __name__ = 'sale.point.sale.line'

    def paid_in_advance(self):
        """Whether a balance bought earlier pays the line (a count card's
        service): it takes no promotion and earns no points, the purchase
        of the balance did"""
        return False

    @property
    def to_location(self):
        """Goods given back go to the return location or, as sale_point's
        help text promises, to the storage location when it is empty
        (sale_point 8.0 left the move without a destination and the posting
        of the refund failed)"""
        location = super().to_location
        if location is None and self.quantity < 0:
            location = self.sale.point.storage_location
        return location
