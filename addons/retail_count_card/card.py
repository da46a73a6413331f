# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
from collections import defaultdict
from decimal import ROUND_DOWN, Decimal

from sql.aggregate import Max, Sum

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Check, DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.retail_member.ledger import LedgerLineMixin, LedgerOwnerMixin, new_request_key
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.rpc import RPC
from trytond.tools import sqlite_apply_types
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import CountCardConfigurationError, CountCardError

KINDS = [
    ('sale', "Sale"),
    ('use', "Use"),
    ('return', "Use Returned"),
    ('refund', "Refund"),
    ('expire', "Expiry"),
    ('transfer', "Transfer"),
    ('adjust', "Adjustment"),
    ]

STATES = [
    ('active', "Active"),
    ('expired', "Expired"),
    ('refunded', "Refunded"),
    ('transferred', "Transferred"),
    ]

ACCOUNT_DOMAIN = [
    ('type', '!=', None),
    ('closed', '!=', True),
    ('party_required', '=', False),
    ('company', '=', Eval('company', -1)),
    ]


def floor_money(amount, currency):
    "Round amount down to the currency digits (never more than was paid)"
    exp = Decimal(1).scaleb(-currency.digits)
    return amount.quantize(exp, rounding=ROUND_DOWN)


class Template(DeactivableMixin, ModelSQL, ModelView):
    "Count Card Template"
    __name__ = 'retail.count.card.template'

    company = fields.Many2One(
        'company.company', "Company", required=True)
    name = fields.Char("Name", required=True, translate=True)
    kind = fields.Selection([
            ('count', "Count Card"),
            ('period', "Period Card"),
            ], "Kind", required=True,
        help="Count card: a number of uses of each service.\n"
        "Period card: unlimited uses until the end of the validity.")
    services = fields.One2Many(
        'retail.count.card.template.service', 'template', "Services")
    daily_max = fields.Integer(
        "Daily Maximum",
        states={'invisible': Eval('kind') != 'period'},
        help="Period card: the most uses in one day (empty: no limit).")
    warning_days = fields.Integer(
        "Warning Days", required=True,
        help="Days before the end of validity when an expiry warning "
        "is recorded.")
    products = fields.One2Many(
        'product.template', 'count_card_template', "Products",
        context={'company': Eval('company', -1)}, depends={'company'},
        help="The products whose sale issues a card of this template.")
    deferred_account = fields.Many2One(
        'account.account', "Deferred Revenue Account", required=True,
        domain=ACCOUNT_DOMAIN,
        help="Liability credited by card sales and debited by uses, "
        "refunds and expiry; also the account of the count card "
        "payment method.")
    breakage_account = fields.Many2One(
        'account.account', "Breakage Account", required=True,
        domain=ACCOUNT_DOMAIN,
        help="Revenue credited with the value of expired uses and the "
        "rounding left when a card is refunded.")
    journal = fields.Many2One(
        'account.journal', "Journal", required=True,
        context={'company': Eval('company', -1)}, depends={'company'},
        help="Journal of expiry, refund and transfer moves.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('daily_max_positive',
                Check(t, (t.daily_max == None) | (t.daily_max > 0)),  # noqa
                'retail_count_card.msg_daily_max_positive'),
            ('warning_days_positive', Check(t, t.warning_days >= 0),
                'retail_count_card.msg_warning_days_positive'),
            ]

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_kind(cls):
        return 'count'

    @classmethod
    def default_warning_days(cls):
        return 7

    @classmethod
    def validate(cls, templates):
        super().validate(templates)
        for template in templates:
            if not template.services:
                raise CountCardConfigurationError(gettext(
                        'retail_count_card.msg_template_no_service',
                        template=template.rec_name))
            for service in template.services:
                service.check_kind()


class TemplateService(ModelSQL, ModelView):
    "Count Card Template Service"
    __name__ = 'retail.count.card.template.service'

    template = fields.Many2One(
        'retail.count.card.template', "Template", required=True,
        ondelete='CASCADE')
    product = fields.Many2One(
        'product.product', "Service", required=True,
        domain=[('type', '=', 'service')],
        context={'company': Eval('_parent_template', {}).get('company', -1)})
    uses = fields.Integer(
        "Uses",
        states={
            'required': Eval('template_kind') == 'count',
            'invisible': Eval('template_kind') != 'count',
            })
    validity_days = fields.Integer(
        "Validity Days",
        states={'readonly': Bool(Eval('end_date'))},
        help="Days from the purchase, the day of purchase included "
        "(empty with no end date: no expiry).")
    end_date = fields.Date(
        "End Date", states={'readonly': Bool(Eval('validity_days'))},
        help="A fixed last day of validity.")
    template_kind = fields.Function(
        fields.Selection('get_kinds', "Kind"), 'on_change_with_template_kind')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('uses_positive', Check(t, (t.uses == None) | (t.uses > 0)),  # noqa
                'retail_count_card.msg_uses_positive'),
            ('validity_positive',
                Check(t, (t.validity_days == None)  # noqa
                    | (t.validity_days > 0)),
                'retail_count_card.msg_validity_positive'),
            ('template_product_unique', Unique(t, t.template, t.product),
                'retail_count_card.msg_template_product_unique'),
            ]

    @classmethod
    def get_kinds(cls):
        pool = Pool()
        Template = pool.get('retail.count.card.template')
        return Template.fields_get(['kind'])['kind']['selection']

    @fields.depends('template', '_parent_template.kind')
    def on_change_with_template_kind(self, name=None):
        return self.template.kind if self.template else None

    def check_kind(self):
        if self.template.kind == 'count' and not self.uses:
            raise CountCardConfigurationError(gettext(
                    'retail_count_card.msg_service_uses_required',
                    service=self.product.rec_name))
        if self.validity_days and self.end_date:
            raise CountCardConfigurationError(gettext(
                    'retail_count_card.msg_service_validity_both',
                    service=self.product.rec_name))
        if (self.template.kind == 'period'
                and not (self.validity_days or self.end_date)):
            raise CountCardConfigurationError(gettext(
                    'retail_count_card.msg_period_validity_required',
                    service=self.product.rec_name))

    def valid_until(self, date):
        if self.end_date:
            return self.end_date
        if self.validity_days:
            return date + dt.timedelta(days=self.validity_days - 1)

    def get_rec_name(self, name):
        return self.product.rec_name


class ProductTemplate(metaclass=PoolMeta):
    __name__ = 'product.template'

    count_card_template = fields.Many2One(
        'retail.count.card.template', "Count Card Template",
        ondelete='RESTRICT',
        states={'invisible': Eval('type') != 'service'},
        help="Selling this product issues a count card of the template "
        "to the member of the sale.")


class Card(LedgerOwnerMixin, ModelSQL, ModelView):
    "Count Card"
    __name__ = 'retail.count.card'
    _rec_name = 'number'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    number = fields.Char("Number", readonly=True)
    party = fields.Many2One(
        'party.party', "Member", required=True, readonly=True,
        ondelete='RESTRICT',
        context={'company': Eval('company', -1)}, depends={'company'})
    template = fields.Many2One(
        'retail.count.card.template', "Template", required=True,
        readonly=True, ondelete='RESTRICT')
    kind = fields.Function(fields.Selection(
            'get_kinds', "Kind"), 'on_change_with_kind')
    shop = fields.Many2One(
        'retail.shop', "Shop", readonly=True, ondelete='RESTRICT')
    date = fields.Date("Purchase Date", required=True, readonly=True)
    price = Monetary(
        "Price Paid", currency='currency', digits='currency', required=True,
        readonly=True)
    daily_max = fields.Integer("Daily Maximum", readonly=True)
    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False)
    state_string = state.translated('state')
    origin = fields.Reference(
        "Origin", selection='get_origin', readonly=True)
    transferred_from = fields.Many2One(
        'retail.count.card', "Transferred from", readonly=True,
        states={'invisible': ~Eval('transferred_from')})
    transferred_to = fields.Many2One(
        'retail.count.card', "Transferred to", readonly=True,
        states={'invisible': ~Eval('transferred_to')})
    services = fields.One2Many(
        'retail.count.card.service', 'card', "Services", readonly=True)
    lines = fields.One2Many(
        'retail.count.card.line', 'card', "Ledger", readonly=True,
        order=[('sequence', 'DESC')])
    valid_until = fields.Function(
        fields.Date("Valid Until"), 'get_valid_until')
    value_left = fields.Function(Monetary(
            "Deferred Value", currency='currency', digits='currency'),
        'get_value_left')
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('number_unique', Unique(t, t.company, t.number),
                'retail_count_card.msg_card_number_unique'),
            ('price_positive', Check(t, t.price >= 0),
                'retail_count_card.msg_price_positive'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.party, Index.Range()),
                    (t.state, Index.Equality(cardinality='low'))),
                Index(t, (t.origin, Index.Equality())),
                })
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls.__rpc__.update({
                'member_summary': RPC(instantiate=None),
                })
        cls._buttons.update(
            adjust={
                'invisible': Eval('state') != 'active',
                'depends': ['state'],
                },
            transfer={
                'invisible': Eval('state') != 'active',
                'depends': ['state'],
                },
            )

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'active'

    @classmethod
    def get_kinds(cls):
        pool = Pool()
        Template = pool.get('retail.count.card.template')
        return Template.fields_get(['kind'])['kind']['selection']

    @fields.depends('template', '_parent_template.kind')
    def on_change_with_kind(self, name=None):
        return self.template.kind if self.template else None

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    @classmethod
    def _get_origin(cls):
        return ['retail.count.card', 'sale.point.sale.line']

    @classmethod
    def get_origin(cls):
        IrModel = Pool().get('ir.model')
        return [(None, '')] + [
            (m, IrModel.get_name(m)) for m in cls._get_origin()]

    def get_rec_name(self, name):
        return '%s %s' % (self.number or '', self.template.rec_name)

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause[:3]
        bool_op = 'AND' if operator.startswith(('!', 'not ')) else 'OR'
        return [bool_op,
            ('number', operator, value),
            ('template.name', operator, value),
            ]

    def get_valid_until(self, name):
        dates = [s.valid_until for s in self.services]
        if not dates or None in dates:
            return None
        return max(dates)

    @classmethod
    def get_value_left(cls, cards, name):
        pool = Pool()
        Service = pool.get('retail.count.card.service')
        service_ids = [s.id for c in cards for s in c.services]
        sums = Service.ledger_sums(service_ids)
        result = {}
        for card in cards:
            result[card.id] = card.currency.round(sum(
                    (sums[s.id][1] for s in card.services), Decimal(0)))
        return result

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Sequence = pool.get('ir.sequence')
        ModelData = pool.get('ir.model.data')
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('number'):
            sequence = Sequence(ModelData.get_id(
                    'retail_count_card', 'sequence_count_card'))
            with without_check_access():
                values['number'] = sequence.get()
        return values

    @classmethod
    def check_modification(cls, mode, cards, values=None, external=False):
        super().check_modification(
            mode, cards, values=values, external=external)
        if mode == 'delete':
            raise CountCardError(gettext('retail_count_card.msg_card_delete'))

    @classmethod
    def copy(cls, cards, default=None):
        if cards:
            raise CountCardError(gettext('retail_count_card.msg_card_delete'))
        return super().copy(cards, default=default)

    # Issuing -------------------------------------------------------------

    @classmethod
    def issue(cls, template, party, price, date, origin=None, shop=None,
            request_key=None):
        """Create a card of template for party paid price (the card's
        deferred value) with its sale ledger lines and return it."""
        pool = Pool()
        Service = pool.get('retail.count.card.service')
        company = template.company
        currency = company.currency
        price = currency.round(price)
        services = list(template.services)
        # Allocate the price to the services by their standalone selling
        # price (list price × uses); equal weights when no price is set.
        Product = pool.get('product.product')
        weights = []
        for service in services:
            uses = service.uses or 1
            # read the prices in the company of the card
            with Transaction().set_context(company=company.id):
                product = Product(service.product.id)
                list_price = (getattr(product, 'gross_price_used', None)
                    or product.list_price_used or Decimal(0))
            weights.append(Decimal(uses) * list_price)
        if not sum(weights):
            weights = [Decimal(s.uses or 1) for s in services]
        total_weight = sum(weights)
        allocated = []
        for weight in weights[:-1]:
            allocated.append(currency.round(price * weight / total_weight))
        allocated.append(price - sum(allocated, Decimal(0)))
        with without_check_access():
            card = cls(company=company, party=party, template=template,
                shop=shop, date=date, price=price, origin=origin,
                daily_max=(template.daily_max
                    if template.kind == 'period' else None))
            card.save()
            card_services = []
            for service, value in zip(services, allocated):
                if template.kind == 'count':
                    unit_value = floor_money(
                        value / service.uses, currency)
                else:
                    unit_value = Decimal(0)
                card_services.append(Service(card=card,
                        product=service.product, uses=(
                            service.uses if template.kind == 'count'
                            else None),
                        unit_value=unit_value, value=value,
                        valid_until=service.valid_until(date)))
            Service.save(card_services)
            key = request_key or new_request_key()
            for service in card_services:
                card.append(service, 'sale', service.uses or 0,
                    service.value, origin=origin,
                    request_key='%s:%s' % (key, service.product.id),
                    date=date, check_state=False)
        return card

    # Ledger --------------------------------------------------------------

    def append(self, service, kind, uses, amount, origin=None,
            request_key=None, reason=None, date=None, check_state=True):
        """Append a ledger line for service of the card.

        The caller holds the card row lock (lock_fresh).  A request_key
        already used for the same card, service and kind returns the first
        line (a retried request changes nothing twice)."""
        pool = Pool()
        Line = pool.get('retail.count.card.line')
        Service = pool.get('retail.count.card.service')
        Date = pool.get('ir.date')
        existing = Line.find_request(request_key)
        if existing:
            if (existing.card == self and existing.service == service
                    and existing.kind == kind):
                return existing
            raise CountCardError(gettext(
                    'retail_count_card.msg_request_key_used',
                    key=request_key))
        if check_state and self.state != 'active':
            raise CountCardError(gettext(
                    'retail_count_card.msg_card_state', card=self.number,
                    state=self.state_string))
        uses_left, value_left, sequence = Service.ledger_sums(
            [service.id])[service.id]
        sequence = self.last_sequence()
        uses_after = None
        if service.uses is not None:
            uses_after = uses_left + uses
            if uses_after < 0:
                raise CountCardError(gettext(
                        'retail_count_card.msg_no_uses_left',
                        card=self.number, service=service.product.rec_name,
                        uses_left=uses_left, uses=-uses))
        value_after = value_left + amount
        if value_after < 0:
            raise CountCardError(gettext(
                    'retail_count_card.msg_value_negative',
                    card=self.number))
        with without_check_access():
            line = Line(
                card=self, service=service, sequence=sequence + 1,
                date=date or Date.today(), kind=kind, uses=uses,
                uses_after=uses_after, amount=amount,
                value_after=value_after, origin=origin, reason=reason,
                request_key=request_key or new_request_key())
            line.save()
        return line

    def last_sequence(self):
        pool = Pool()
        Line = pool.get('retail.count.card.line')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*line.select(Max(line.sequence),
                where=line.card == self.id))
        row = cursor.fetchone()
        return (row[0] if row else 0) or 0

    def find_service(self, product):
        for service in self.services:
            if service.product == product:
                return service

    def check_redeem(self, product, quantity, member, date):
        """Raise CountCardError unless quantity uses of product can be
        redeemed from the card by member on date; return the service"""
        if member is None or self.party != member:
            raise CountCardError(gettext(
                    'retail_count_card.msg_card_other_member',
                    card=self.number,
                    member=member.rec_name if member else ''))
        if self.state != 'active':
            raise CountCardError(gettext(
                    'retail_count_card.msg_card_state', card=self.number,
                    state=self.state_string))
        if quantity <= 0 or quantity != int(quantity):
            raise CountCardError(gettext(
                    'retail_count_card.msg_use_quantity',
                    quantity=quantity))
        service = self.find_service(product)
        if not service:
            raise CountCardError(gettext(
                    'retail_count_card.msg_service_not_on_card',
                    card=self.number, service=product.rec_name,
                    services=', '.join(
                        s.product.rec_name for s in self.services)))
        if date < self.date or (
                service.valid_until and date > service.valid_until):
            raise CountCardError(gettext(
                    'retail_count_card.msg_card_expired',
                    card=self.number, service=product.rec_name,
                    date=service.valid_until or self.date))
        if service.uses is not None:
            left = service.uses_left
            if left < quantity:
                raise CountCardError(gettext(
                        'retail_count_card.msg_no_uses_left',
                        card=self.number, service=product.rec_name,
                        uses_left=left, uses=int(quantity)))
        elif self.daily_max:
            used = self.uses_on(date)
            if used + quantity > self.daily_max:
                raise CountCardError(gettext(
                        'retail_count_card.msg_daily_max',
                        card=self.number, daily_max=self.daily_max,
                        used=used))
        return service

    def uses_on(self, date):
        "Uses redeemed (net of returns) from the card on date"
        pool = Pool()
        Line = pool.get('retail.count.card.line')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*line.select(Sum(line.uses),
                where=(line.card == self.id) & (line.date == date)
                & line.kind.in_(['use', 'return'])))
        row = cursor.fetchone()
        return -int((row[0] if row else 0) or 0)

    def redeem(self, product, quantity, member, date, origin=None,
            request_key=None):
        "Redeem quantity uses of product; return the ledger line"
        pool = Pool()
        Line = pool.get('retail.count.card.line')
        card, = self.lock_fresh([self])
        existing = Line.find_request(request_key)
        if existing and existing.card == card and existing.kind == 'use':
            return existing
        service = card.check_redeem(product, quantity, member, date)
        quantity = int(quantity)
        return card.append(service, 'use', -quantity,
            -service.unit_value * quantity, origin=origin,
            request_key=request_key, date=date)

    def give_back(self, product, quantity, member, date, origin=None,
            request_key=None):
        "Give back quantity uses of product (a returned redemption)"
        pool = Pool()
        Line = pool.get('retail.count.card.line')
        card, = self.lock_fresh([self])
        existing = Line.find_request(request_key)
        if existing and existing.card == card and existing.kind == 'return':
            return existing
        if member is None or card.party != member:
            raise CountCardError(gettext(
                    'retail_count_card.msg_card_other_member',
                    card=card.number,
                    member=member.rec_name if member else ''))
        quantity = int(quantity)
        service = card.find_service(product)
        if not service:
            raise CountCardError(gettext(
                    'retail_count_card.msg_service_not_on_card',
                    card=card.number, service=product.rec_name,
                    services=', '.join(
                        s.product.rec_name for s in card.services)))
        used = -sum((x.uses for x in service.lines
                if x.kind in {'use', 'return'}), 0)
        if quantity > used:
            raise CountCardError(gettext(
                    'retail_count_card.msg_return_exceeds',
                    card=card.number, service=product.rec_name,
                    used=used))
        return card.append(service, 'return', quantity,
            service.unit_value * quantity, origin=origin,
            request_key=request_key, date=date)

    def refund_amount(self):
        "Unused part refunded: unit value × uses left (period: value left)"
        amount = Decimal(0)
        for service in self.services:
            if service.uses is not None:
                amount += service.unit_value * service.uses_left
            else:
                amount += service.value_left
        return self.currency.round(amount)

    def close(self, kind, state, date, origin=None, request_key=None,
            reason=None, refund=Decimal(0), services=None):
        """Write off the uses and value left of services (all by default)
        and book the value not paid back (refund) as breakage."""
        card, = self.lock_fresh([self])
        if card.state != 'active':
            raise CountCardError(gettext(
                    'retail_count_card.msg_card_state', card=card.number,
                    state=card.state_string))
        key = request_key or new_request_key()
        written_off = Decimal(0)
        for service in (services or card.services):
            uses_left, value_left = service.uses_left, service.value_left
            if not uses_left and not value_left:
                continue
            card.append(service, kind, -(uses_left or 0), -value_left,
                origin=origin, request_key='%s:%s' % (key, service.id),
                reason=reason, date=date)
            written_off += value_left
        breakage = written_off - refund
        if breakage:
            card.post_move(date, [
                    (card.template.deferred_account, breakage),
                    (card.template.breakage_account, -breakage),
                    ], origin=card, description=reason)
        if state and not services:
            with without_check_access():
                self.__class__.write([card], {'state': state})
        return written_off

    def post_move(self, date, lines, origin=None, description=None):
        "Create and post a move of (account, amount>0 debit) lines"
        pool = Pool()
        Move = pool.get('account.move')
        MoveLine = pool.get('account.move.line')
        Period = pool.get('account.period')
        move_lines = []
        for account, amount in lines:
            if not amount:
                continue
            line = MoveLine(account=account)
            if amount > 0:
                line.debit, line.credit = amount, Decimal(0)
            else:
                line.debit, line.credit = Decimal(0), -amount
            move_lines.append(line)
        if not move_lines:
            return
        with Transaction().set_context(company=self.company.id), \
                without_check_access():
            move = Move(
                journal=self.template.journal,
                period=Period.find(self.company, date=date),
                date=date, origin=origin, company=self.company,
                description=description, lines=move_lines)
            move.save()
            Move.post([move])
        return move

    @classmethod
    def transfer_card(cls, card, party, reason=None, origin=None):
        """Move the uses and value left of card to a new card of party
        (same template, services and validity); return the new card"""
        pool = Pool()
        Service = pool.get('retail.count.card.service')
        Date = pool.get('ir.date')
        card, = cls.lock_fresh([card])
        if card.state != 'active':
            raise CountCardError(gettext(
                    'retail_count_card.msg_card_state', card=card.number,
                    state=card.state_string))
        today = Date.today()
        key = new_request_key()
        with without_check_access():
            new = cls(company=card.company, party=party,
                template=card.template, shop=card.shop, date=card.date,
                price=card.price, daily_max=card.daily_max,
                origin=origin or card, transferred_from=card)
            new.save()
            for service in card.services:
                uses_left, value_left = service.uses_left, service.value_left
                new_service = Service(card=new, product=service.product,
                    uses=service.uses, unit_value=service.unit_value,
                    value=service.value, valid_until=service.valid_until)
                new_service.save()
                card.append(service, 'transfer', -(uses_left or 0),
                    -value_left, origin=new, reason=reason,
                    request_key='%s:out:%s' % (key, service.id), date=today)
                new.append(new_service, 'transfer', uses_left or 0,
                    value_left, origin=card, reason=reason,
                    request_key='%s:in:%s' % (key, service.id), date=today)
            cls.write([card], {'state': 'transferred', 'transferred_to': new})
        return new

    def adjust_uses(self, service, uses, reason, request_key=None):
        "Add (or remove) uses by hand: operator and reason kept, no revenue"
        if not reason or not reason.strip():
            raise CountCardError(gettext('retail_count_card.msg_reason_required'))
        if not uses:
            raise CountCardError(gettext('retail_count_card.msg_adjust_zero'))
        card, = self.lock_fresh([self])
        if service.card != card or service.uses is None:
            raise CountCardError(gettext(
                    'retail_count_card.msg_service_not_on_card',
                    card=card.number, service=service.product.rec_name,
                    services=', '.join(s.product.rec_name for s in card.services)))
        # no origin: a card can be adjusted many times (the reason and the
        # operator say why and who)
        return card.append(service, 'adjust', uses, Decimal(0),
            reason=reason, request_key=request_key)

    # Expiry --------------------------------------------------------------

    @classmethod
    def expire_due(cls, date=None):
        "Warn ahead and expire services past validity (scheduled task)"
        pool = Pool()
        Date = pool.get('ir.date')
        Service = pool.get('retail.count.card.service')
        Warning = pool.get('retail.count.card.expiry.warning')
        if date is None:
            date = Date.today()
        with without_check_access():
            services = Service.search([
                    ('card.state', '=', 'active'),
                    ('valid_until', '!=', None),
                    ('valid_until', '<', date + dt.timedelta(days=366)),
                    ], order=[('card', 'ASC'), ('id', 'ASC')])
            warnings, expired = [], defaultdict(list)
            existing = {(w.card.id, w.product.id, w.valid_until)
                for w in Warning.search([
                        ('card', 'in', list({s.card.id for s in services})),
                        ])}
            for service in services:
                card = service.card
                if service.valid_until < date:
                    expired[card].append(service)
                elif (service.valid_until - date).days <= (
                        card.template.warning_days):
                    key = (card.id, service.product.id, service.valid_until)
                    if key in existing or (
                            service.uses is not None
                            and not service.uses_left):
                        continue
                    existing.add(key)
                    warnings.append(Warning(card=card, party=card.party,
                            product=service.product,
                            valid_until=service.valid_until,
                            uses_left=service.uses_left, date=date))
            Warning.save(warnings)
            for card, card_services in expired.items():
                all_expired = all(
                    s.valid_until and s.valid_until < date
                    for s in card.services)
                card.close('expire', 'expired' if all_expired else None,
                    date, origin=card,
                    request_key='expire:%s:%s' % (card.id, date),
                    services=None if all_expired else card_services)
        return expired

    # API -----------------------------------------------------------------

    @classmethod
    def member_summary(cls, member):
        """Active cards of member for the POS: list of dicts
        {id, number, name, kind, daily_max, valid_until,
        services: [{product_id, name, uses_left, valid_until}]}"""
        pool = Pool()
        Date = pool.get('ir.date')
        today = Date.today()
        cards = cls.search([
                ('party', '=', int(member)),
                ('state', '=', 'active'),
                ], order=[('date', 'ASC'), ('id', 'ASC')])
        result = []
        for card in cards:
            services = []
            for service in card.services:
                if service.valid_until and service.valid_until < today:
                    continue
                if service.uses is not None and not service.uses_left:
                    continue
                services.append({
                        'product_id': service.product.id,
                        'name': service.product.rec_name,
                        'uses_left': service.uses_left,
                        'valid_until': (service.valid_until.isoformat()
                            if service.valid_until else None),
                        })
            if not services:
                continue
            result.append({
                    'id': card.id,
                    'number': card.number,
                    'name': card.template.rec_name,
                    'kind': card.template.kind,
                    'daily_max': card.daily_max,
                    'valid_until': (card.valid_until.isoformat()
                        if card.valid_until else None),
                    'services': services,
                    })
        return result

    @classmethod
    @ModelView.button_action('retail_count_card.wizard_adjust')
    def adjust(cls, cards):
        pass

    @classmethod
    @ModelView.button_action('retail_count_card.wizard_transfer')
    def transfer(cls, cards):
        pass


class CardService(ModelSQL, ModelView):
    "Count Card Service"
    __name__ = 'retail.count.card.service'

    card = fields.Many2One(
        'retail.count.card', "Card", required=True, readonly=True,
        ondelete='RESTRICT')
    product = fields.Many2One(
        'product.product', "Service", required=True, readonly=True,
        context={'company': Eval('company', -1)}, depends={'company'})
    company = fields.Function(fields.Many2One(
            'company.company', "Company"), 'on_change_with_company')
    uses = fields.Integer(
        "Uses Bought", readonly=True,
        help="Empty for a period card (unlimited).")
    unit_value = Monetary(
        "Unit Value", currency='currency', digits='currency', required=True,
        readonly=True,
        help="Revenue recognised by one use (price allocated to the "
        "service ÷ uses, rounded down).")
    value = Monetary(
        "Value", currency='currency', digits='currency', required=True,
        readonly=True, help="Part of the card price allocated to the service.")
    valid_until = fields.Date("Valid Until", readonly=True)
    uses_left = fields.Function(
        fields.Integer("Uses Left"), 'get_ledger')
    value_left = fields.Function(Monetary(
            "Deferred Value", currency='currency', digits='currency'),
        'get_ledger')
    lines = fields.One2Many(
        'retail.count.card.line', 'service', "Ledger", readonly=True)
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('card_product_unique', Unique(t, t.card, t.product),
                'retail_count_card.msg_card_product_unique'),
            ]
        cls.__access__.add('card')

    @fields.depends('card', '_parent_card.company')
    def on_change_with_currency(self, name=None):
        return self.card.company.currency if self.card else None

    @fields.depends('card', '_parent_card.company')
    def on_change_with_company(self, name=None):
        return self.card.company if self.card else None

    def get_rec_name(self, name):
        return '%s / %s' % (self.card.rec_name, self.product.rec_name)

    @classmethod
    def check_modification(cls, mode, services, values=None, external=False):
        super().check_modification(
            mode, services, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise CountCardError(gettext(
                    'retail_count_card.msg_line_immutable'))

    @classmethod
    def ledger_sums(cls, service_ids):
        "Return {service id: (uses, value, 0)} summed in SQL"
        pool = Pool()
        Line = pool.get('retail.count.card.line')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        result = defaultdict(lambda: (0, Decimal(0), 0))
        for i in range(0, len(service_ids), 1000):
            sub_ids = service_ids[i:i + 1000]
            query = line.select(
                line.service.as_('service'), Sum(line.uses).as_('uses'),
                Sum(line.amount).as_('amount'),
                where=fields.SQL_OPERATORS['in'](line.service, sub_ids),
                group_by=[line.service])
            if backend.name == 'sqlite':
                sqlite_apply_types(query, [None, None, 'NUMERIC'])
            cursor.execute(*query)
            for service_id, uses, amount in cursor:
                result[service_id] = (
                    int(uses or 0), Decimal(amount or 0), 0)
        return result

    @classmethod
    def get_ledger(cls, services, names):
        sums = cls.ledger_sums([s.id for s in services])
        result = {n: {} for n in names}
        for service in services:
            uses, value, _ = sums[service.id]
            if 'uses_left' in result:
                result['uses_left'][service.id] = (
                    uses if service.uses is not None else None)
            if 'value_left' in result:
                result['value_left'][service.id] = service.currency.round(
                    value)
        return result


class CardLine(LedgerLineMixin, ModelSQL, ModelView):
    "Count Card Ledger Line"
    __name__ = 'retail.count.card.line'
    _ledger_immutable_message = 'retail_count_card.msg_line_immutable'
    _ledger_request_key_message = (
        'retail_count_card.msg_line_request_key_unique')

    card = fields.Many2One(
        'retail.count.card', "Card", required=True, readonly=True,
        ondelete='RESTRICT')
    service = fields.Many2One(
        'retail.count.card.service', "Service", required=True,
        readonly=True, ondelete='RESTRICT',
        domain=[('card', '=', Eval('card', -1))])
    product = fields.Function(fields.Many2One(
            'product.product', "Service",
            context={'company': Eval('company', -1)}, depends={'company'}),
        'on_change_with_product')
    sequence = fields.Integer("Sequence", required=True, readonly=True)
    date = fields.Date("Date", required=True, readonly=True)
    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True)
    uses = fields.Integer("Uses", required=True, readonly=True)
    uses_after = fields.Integer(
        "Uses Left", readonly=True,
        help="Uses left of the service after the line "
        "(empty for a period card).")
    amount = Monetary(
        "Value", currency='currency', digits='currency', required=True,
        readonly=True,
        help="Change of the deferred revenue (negative: recognised, "
        "refunded or transferred).")
    value_after = Monetary(
        "Deferred Value After", currency='currency', digits='currency',
        required=True, readonly=True)
    origin = fields.Reference(
        "Origin", selection='get_origin', readonly=True)
    company = fields.Function(fields.Many2One(
            'company.company', "Company"),
        'on_change_with_company', searcher='search_company')
    party = fields.Function(fields.Many2One(
            'party.party', "Member",
            context={'company': Eval('company', -1)}, depends={'company'}),
        'on_change_with_party', searcher='search_party')
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('uses_after_positive',
                Check(t, (t.uses_after == None) | (t.uses_after >= 0)),  # noqa
                'retail_count_card.msg_line_negative_uses'),
            ('value_after_positive', Check(t, t.value_after >= 0),
                'retail_count_card.msg_value_negative_db'),
            ('card_sequence_unique', Unique(t, t.card, t.sequence),
                'retail_count_card.msg_line_sequence_unique'),
            ('service_origin_kind_unique',
                Unique(t, t.service, t.origin, t.kind),
                'retail_count_card.msg_line_origin_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.service, Index.Range())),
                Index(t, (t.origin, Index.Equality())),
                Index(t, (t.card, Index.Range()), (t.date, Index.Range())),
                })
        cls._order = [
            ('card', 'ASC'), ('sequence', 'DESC'), ('id', 'DESC')]
        cls.__access__.add('card')

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def _get_origin(cls):
        return ['retail.count.card', 'retail.member.card',
            'sale.point.sale.line']

    @classmethod
    def get_origin(cls):
        IrModel = Pool().get('ir.model')
        return [(None, '')] + [
            (m, IrModel.get_name(m)) for m in cls._get_origin()]

    @fields.depends('service', '_parent_service.product')
    def on_change_with_product(self, name=None):
        return self.service.product if self.service else None

    @fields.depends('card', '_parent_card.company')
    def on_change_with_company(self, name=None):
        return self.card.company if self.card else None

    @classmethod
    def search_company(cls, name, clause):
        return [('card.company',) + tuple(clause[1:])]

    @fields.depends('card', '_parent_card.party')
    def on_change_with_party(self, name=None):
        return self.card.party if self.card else None

    @classmethod
    def search_party(cls, name, clause):
        return [('card.party',) + tuple(clause[1:])]

    @fields.depends('card', '_parent_card.company')
    def on_change_with_currency(self, name=None):
        return self.card.company.currency if self.card else None

    def get_rec_name(self, name):
        return '%s #%s' % (self.card.rec_name, self.sequence)


class ExpiryWarning(ModelSQL, ModelView):
    "Count Card Expiry Warning"
    __name__ = 'retail.count.card.expiry.warning'

    card = fields.Many2One(
        'retail.count.card', "Card", required=True, readonly=True,
        ondelete='CASCADE')
    party = fields.Many2One(
        'party.party', "Member", required=True, readonly=True,
        ondelete='CASCADE',
        context={'company': Eval('company', -1)}, depends={'company'})
    product = fields.Many2One(
        'product.product', "Service", required=True, readonly=True,
        context={'company': Eval('company', -1)}, depends={'company'})
    valid_until = fields.Date("Valid Until", required=True, readonly=True)
    uses_left = fields.Integer("Uses Left", readonly=True)
    date = fields.Date("Date", required=True, readonly=True,
        help="When the warning was recorded.")
    company = fields.Function(fields.Many2One(
            'company.company', "Company"),
        'on_change_with_company', searcher='search_company')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('card_product_date_unique',
                Unique(t, t.card, t.product, t.valid_until),
                'retail_count_card.msg_warning_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.date, Index.Range())))
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @fields.depends('card', '_parent_card.company')
    def on_change_with_company(self, name=None):
        return self.card.company if self.card else None

    @classmethod
    def search_company(cls, name, clause):
        return [('card.company',) + tuple(clause[1:])]


class AdjustStart(ModelView):
    "Count Card Adjustment"
    __name__ = 'retail.count.card.adjust.start'

    card = fields.Many2One('retail.count.card', "Card", readonly=True)
    service = fields.Many2One(
        'retail.count.card.service', "Service", required=True,
        domain=[
            ('card', '=', Eval('card', -1)),
            ('uses', '!=', None),
            ])
    uses = fields.Integer(
        "Uses", required=True,
        help="Uses to add (negative: to remove). No revenue is booked.")
    reason = fields.Char("Reason", required=True)


class Adjust(Wizard):
    "Adjust the uses of a count card (manager)"
    __name__ = 'retail.count.card.adjust'
    start = StateView('retail.count.card.adjust.start',
        'retail_count_card.adjust_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Adjust", 'adjust', 'tryton-ok', default=True),
            ])
    adjust = StateTransition()

    def default_start(self, fields):
        return {'card': self.record.id}

    def transition_adjust(self):
        self.record.adjust_uses(
            self.start.service, self.start.uses, self.start.reason)
        return 'end'


class TransferStart(ModelView):
    "Count Card Transfer"
    __name__ = 'retail.count.card.transfer.start'

    card = fields.Many2One('retail.count.card', "Card", readonly=True)
    company = fields.Many2One('company.company', "Company", readonly=True)
    party = fields.Many2One(
        'party.party', "New Member", required=True,
        domain=[
            ('is_member', '=', True),
            ('member_company', '=', Eval('company', -1)),
            ],
        context={'company': Eval('company', -1)}, depends={'company'})
    reason = fields.Char("Reason", required=True)


class Transfer(Wizard):
    "Transfer a count card to a replacement card (manager)"
    __name__ = 'retail.count.card.transfer'
    start = StateView('retail.count.card.transfer.start',
        'retail_count_card.transfer_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Transfer", 'transfer', 'tryton-ok', default=True),
            ])
    transfer = StateTransition()

    def default_start(self, fields):
        return {
            'card': self.record.id,
            'company': self.record.company.id,
            'party': self.record.party.id,
            }

    def transition_transfer(self):
        self.model.transfer_card(
            self.record, self.start.party, reason=self.start.reason)
        return 'end'


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('retail.count.card|expire_due', "Expire Count Cards"))


class Move(metaclass=PoolMeta):
    __name__ = 'account.move'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['retail.count.card']


class MemberCard(metaclass=PoolMeta):
    __name__ = 'retail.member.card'

    @classmethod
    def _replaced(cls, old_card, new_card):
        "Count cards belong to the member; move them if the member changes"
        pool = Pool()
        Card = pool.get('retail.count.card')
        super()._replaced(old_card, new_card)
        if not new_card.party or old_card.party == new_card.party:
            return
        with without_check_access():
            cards = Card.search([
                    ('party', '=', old_card.party.id),
                    ('state', '=', 'active'),
                    ])
        for card in cards:
            Card.transfer_card(card, new_card.party, origin=card)


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    count_cards = fields.One2Many(
        'retail.count.card', 'party', "Count Cards", readonly=True,
        states={'invisible': ~Eval('is_member')})

