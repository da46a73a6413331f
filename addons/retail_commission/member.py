# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
"""Card opening commission (开卡提成): the employee who opened a member
card earns the ``card_open`` rules when the card is created."""
from decimal import Decimal

from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval


class MemberCard(metaclass=PoolMeta):
    __name__ = 'retail.member.card'

    opened_by = fields.Many2One(
        'company.employee', "Opened By", ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))],
        states={
            'readonly': Eval('id', -1) >= 0,
            'invisible': Bool(Eval('replacement_of')),
            },
        help="The employee who opened the card earns the card opening "
        "commission (not for a replacement card).")

    @classmethod
    def copy(cls, cards, default=None):
        default = default.copy() if default else {}
        default.setdefault('opened_by')
        return super().copy(cards, default=default)

    @classmethod
    def create(cls, vlist):
        cards = super().create(vlist)
        cls.process_commission(cards)
        return cards

    @classmethod
    def process_commission(cls, cards):
        "Record the card opening commission (idempotent)"
        pool = Pool()
        Line = pool.get('retail.commission.line')
        for card in cards:
            if card.opened_by and not card.replacement_of:
                Line.record(card, card.opened_by, Decimal(0), 'card_open',
                    date=card.issue_date, member=True)
