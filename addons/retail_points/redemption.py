# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
"""Gift redemption: a member exchanges points for catalogue products; the
goods leave the shop's storage by stock moves and the document stays as
the record of the redemption."""
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import Check, ModelSQL, ModelView, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .exceptions import RedemptionError


class Redemption(Workflow, ModelSQL, ModelView):
    "Points gift redemption"
    __name__ = 'retail.points.redemption'

    _states = {'readonly': Eval('state') != 'draft'}

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    member = fields.Many2One(
        'party.party', "Member", required=True, ondelete='RESTRICT',
        domain=[
            ('is_member', '=', True),
            ('member_company', '=', Eval('company', -1)),
            ],
        states=_states)
    date = fields.Date("Date", required=True, states=_states)
    location = fields.Many2One(
        'stock.location', "Storage Location", required=True,
        domain=[('type', '=', 'storage')], states=_states,
        help="The shop storage the gifts are taken from.")
    customer_location = fields.Many2One(
        'stock.location', "Customer Location", required=True,
        domain=[('type', '=', 'customer')], states=_states)
    lines = fields.One2Many(
        'retail.points.redemption.line', 'redemption', "Lines",
        states=_states)
    total_points = fields.Function(
        fields.Integer("Total Points"), 'on_change_with_total_points')
    state = fields.Selection([
            ('draft', "Draft"),
            ('done', "Done"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)
    points_lines = fields.One2Many(
        'retail.points.line', 'origin', "Points Lines", readonly=True)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._transitions |= {
            ('draft', 'done'),
            ('draft', 'cancelled'),
            ('done', 'cancelled'),
            }
        cls._buttons.update({
                'do': {
                    'invisible': Eval('state') != 'draft',
                    'readonly': ~Eval('lines', []),
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state') == 'cancelled',
                    'depends': ['state'],
                    },
                })
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
    def default_customer_location(cls):
        pool = Pool()
        Location = pool.get('stock.location')
        locations = Location.search([('type', '=', 'customer')], limit=1)
        if locations:
            return locations[0].id

    @fields.depends('lines')
    def on_change_with_total_points(self, name=None):
        return sum((ln.points or 0) for ln in self.lines)

    def get_rec_name(self, name):
        return '#%s %s' % (self.id, self.member.rec_name)

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('member.rec_name',) + tuple(clause[1:])]

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if mode == 'delete':
            for record in records:
                if record.state != 'draft':
                    raise AccessError(gettext(
                            'retail_points.msg_redemption_delete_draft',
                            redemption=record.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def do(cls, redemptions):
        pool = Pool()
        Account = pool.get('retail.points.account')
        Line = pool.get('retail.points.line')
        Move = pool.get('stock.move')
        accounts = {}
        for redemption in redemptions:
            if not redemption.lines or not redemption.total_points:
                raise RedemptionError(gettext(
                        'retail_points.msg_redemption_empty',
                        redemption=redemption.rec_name))
            accounts[redemption] = Account.get_account(
                redemption.company, redemption.member)
        Account.lock(sorted(set(accounts.values()), key=lambda a: a.id))
        moves = []
        for redemption in redemptions:
            if Line.search([
                        ('origin', '=', str(redemption)),
                        ('kind', '=', 'redeem'),
                        ], limit=1):
                continue
            accounts[redemption].debit(
                'redeem', redemption.total_points, redemption.date,
                origin=str(redemption))
            moves.extend(redemption._get_moves())
        # The cashier redeems; the stock moves follow from it
        with without_check_access():
            Move.save(moves)
            Move.do(moves)

    def _get_moves(self, back=False):
        pool = Pool()
        Move = pool.get('stock.move')
        moves = []
        for line in self.lines:
            product = line.gift.product
            if product.type == 'service':
                continue
            from_, to = self.location, self.customer_location
            if back:
                from_, to = to, from_
            moves.append(Move(
                    product=product,
                    unit=product.default_uom,
                    quantity=line.quantity,
                    from_location=from_,
                    to_location=to,
                    company=self.company,
                    unit_price=Decimal(0),
                    currency=self.company.currency,
                    effective_date=self.date,
                    origin=line))
        return moves

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, redemptions):
        "Cancel: a done redemption gives the points back and takes the goods"
        pool = Pool()
        Account = pool.get('retail.points.account')
        Line = pool.get('retail.points.line')
        Move = pool.get('stock.move')
        Date = pool.get('ir.date')
        done = [r for r in redemptions if r.state == 'done']
        accounts = {r: Account.get_account(r.company, r.member) for r in done}
        if accounts:
            Account.lock(sorted(set(accounts.values()), key=lambda a: a.id))
        moves = []
        for redemption in done:
            redeems = Line.search([
                    ('origin', '=', str(redemption)),
                    ('kind', '=', 'redeem'),
                    ])
            for redeem in redeems:
                accounts[redemption].reverse_redeem(
                    redeem, Decimal(1), Date.today(),
                    origin=str(redemption))
            moves.extend(redemption._get_moves(back=True))
        with without_check_access():
            Move.save(moves)
            Move.do(moves)


class RedemptionLine(ModelSQL, ModelView):
    "Points gift redemption line"
    __name__ = 'retail.points.redemption.line'

    redemption = fields.Many2One(
        'retail.points.redemption', "Redemption", required=True,
        ondelete='CASCADE')
    gift = fields.Many2One(
        'retail.points.gift', "Gift", required=True,
        domain=[('company', '=', Eval('_parent_redemption', {}).get(
                    'company', -1))])
    quantity = fields.Integer(
        "Quantity", required=True, domain=[('quantity', '>', 0)])
    points = fields.Function(
        fields.Integer("Points"), 'on_change_with_points')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('quantity_positive', Check(t, t.quantity > 0),
                'retail_points.msg_redemption_quantity_positive'),
            ]
        cls.__access__.add('redemption')

    @classmethod
    def default_quantity(cls):
        return 1

    @fields.depends('gift', 'quantity')
    def on_change_with_points(self, name=None):
        if self.gift and self.quantity:
            return self.gift.points * self.quantity
        return 0


class Move(metaclass=PoolMeta):
    __name__ = 'stock.move'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['retail.points.redemption.line']
