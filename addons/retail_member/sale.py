# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model import Workflow, fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval, If


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
    @Workflow.transition('done')
    def do(cls, sales):
        cls.check_member_cards(sales)
        super().do(sales)


class POSSaleLine(metaclass=PoolMeta):
    __name__ = 'sale.point.sale.line'

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
