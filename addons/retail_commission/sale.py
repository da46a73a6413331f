# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
"""Staff on POS lines and the commission of a POS sale.

The commission of a POS sale is written in ``do`` (open -> done), in the
same transaction.  A sale can be reopened and done again: lines already
recorded are skipped (and the database refuses a second line for the same
sale line, employee and kind), and the staff and amounts of a line with
commission can no longer be changed (return it instead).
"""
from decimal import Decimal

from sql.operators import Equal

from trytond.i18n import gettext
from trytond.model import Exclude, ModelSQL, ModelView, fields
from trytond.modules.retail_member.tools import extends_transition
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import without_check_access

from .commission import SchemeCache
from .exceptions import CommissionAccessError, StaffValidationError

ZERO = Decimal(0)
ONE = Decimal(1)


class LineStaff(ModelSQL, ModelView):
    "POS Line Staff"
    __name__ = 'retail.commission.line.staff'

    _states = {'readonly': Eval('sale_state') != 'open'}

    line = fields.Many2One(
        'sale.point.sale.line', "Sale Line", required=True,
        ondelete='CASCADE', states=_states)
    employee = fields.Many2One(
        'company.employee', "Employee", required=True, ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))], states=_states)
    share = fields.Numeric(
        "Share", digits=(16, 4), required=True, states=_states,
        domain=[('share', '>', 0), ('share', '<=', 1)],
        help="The employee's part of the line, e.g. 0.5 for half; the "
        "shares of a line must add up to 1 (100%).")
    requested = fields.Boolean(
        "Requested", states=_states,
        help="Checked when the customer asked for this employee; "
        "otherwise the shop assigned them.")
    company = fields.Function(
        fields.Many2One('company.company', "Company"),
        'on_change_with_company')
    sale_state = fields.Function(
        fields.Selection('get_sale_states', "Sale State"),
        'on_change_with_sale_state')

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('line')
        t = cls.__table__()
        cls._sql_constraints += [
            ('line_employee_unique',
                Exclude(t, (t.line, Equal), (t.employee, Equal)),
                'retail_commission.msg_staff_unique'),
            ]

    @classmethod
    def default_share(cls):
        return ONE

    @classmethod
    def default_requested(cls):
        return False

    @classmethod
    def get_sale_states(cls):
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        return Sale.fields_get(['state'])['state']['selection']

    @fields.depends('line', '_parent_line.sale')
    def on_change_with_company(self, name=None):
        if self.line and self.line.sale:
            return self.line.sale.company

    @fields.depends('line', '_parent_line.sale')
    def on_change_with_sale_state(self, name=None):
        if self.line and self.line.sale:
            return self.line.sale.state

    def get_rec_name(self, name):
        return self.employee.rec_name

    @classmethod
    def validate_fields(cls, staff, field_names):
        super().validate_fields(staff, field_names)
        if field_names and not ({'employee', 'line'} & field_names):
            return
        for record in staff:
            company = record.line.sale.company
            if record.employee.company != company:
                raise StaffValidationError(gettext(
                        'retail_commission.msg_staff_company',
                        employee=record.employee.rec_name,
                        company=company.rec_name))

    @classmethod
    def check_modification(cls, mode, staff, values=None, external=False):
        pool = Pool()
        Line = pool.get('sale.point.sale.line')
        super().check_modification(
            mode, staff, values=values, external=external)
        Line._commission_check_frozen({s.line for s in staff})


class POSSale(metaclass=PoolMeta):
    __name__ = 'sale.point.sale'

    commission_lines = fields.Function(
        fields.Many2Many(
            'retail.commission.line', None, None, "Commission"),
        'get_commission_lines')

    def get_commission_lines(self, name):
        pool = Pool()
        CommissionLine = pool.get('retail.commission.line')
        return [c.id for c in CommissionLine.search([
                    ('sale_line.sale', '=', self.id),
                    ])]

    @classmethod
    @extends_transition('done')
    def do(cls, sales):
        super().do(sales)
        cls.process_commission(sales)

    @classmethod
    def process_commission(cls, sales):
        """Record the commission of sales (idempotent).

        One batch for all the sales: the scheme versions are loaded once per
        company, the rules matched in memory, the commission already written
        read with a few searches and the new lines created with one
        ``create``."""
        pool = Pool()
        CommissionLine = pool.get('retail.commission.line')
        # The cashier may not read schemes nor write commission lines
        with without_check_access():
            values = cls.get_commission_values(sales, SchemeCache())
            if values:
                CommissionLine.create(values)

    @classmethod
    def get_commission_values(cls, sales, cache):
        """Return the values of the commission lines to create for sales
        (extended by the integrations, e.g. stored value spent)"""
        pool = Pool()
        CommissionLine = pool.get('retail.commission.line')
        lines = [ln for s in sales for ln in s.lines if ln.quantity]
        for line in lines:
            line.check_staff_shares()
        if not lines:
            return []
        return CommissionLine.compute_sale_lines(lines, cache=cache)


class POSSaleLine(metaclass=PoolMeta):
    __name__ = 'sale.point.sale.line'

    staff = fields.One2Many(
        'retail.commission.line.staff', 'line', "Staff",
        states={'readonly': Eval('sale_state') != 'open'},
        help="The employees who served the line and their shares.")
    commission_returned_line = fields.Many2One(
        'sale.point.sale.line', "Returned Line (Commission)",
        ondelete='RESTRICT',
        domain=[
            ('quantity', '>', 0),
            ('product', '=', Eval('product', -1)),
            ('sale.state', 'in', ['done', 'posted']),
            ('sale.company', '=', Eval('company', -1)),
            ],
        states={
            'invisible': Eval('quantity', 0) >= 0,
            'readonly': Eval('sale_state') != 'open',
            },
        help="The sold line this return gives back: the commission it "
        "earned is reversed.")

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default else {}
        default.setdefault('commission_returned_line')
        return super().copy(lines, default=default)

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        if mode == 'delete' or (mode == 'write' and (
                    {'product', 'quantity', 'unit_list_price',
                        'unit_gross_price', 'commission_returned_line',
                        'sale'} & set(values or {}))):
            cls._commission_check_frozen(lines)

    @classmethod
    def _commission_check_frozen(cls, lines):
        pool = Pool()
        CommissionLine = pool.get('retail.commission.line')
        ids = [ln.id for ln in lines if ln.id is not None and ln.id >= 0]
        if not ids:
            return
        with without_check_access():
            found = CommissionLine.search([
                    ('sale_line', 'in', ids),
                    ], limit=1)
        if found:
            raise CommissionAccessError(gettext(
                    'retail_commission.msg_line_commission_frozen',
                    line=found[0].sale_line.rec_name))

    def _commission_returned_line(self):
        "The sold line this return refers to, if any"
        original = self.commission_returned_line
        if not original:
            # retail_points links returns too; use its link when ours is
            # missing
            original = getattr(self, 'points_origin_line', None)
        return original

    def _commission_special_price(self, regular_prices=None):
        "True when sold below the product's regular price"
        product = self.product
        point = self.sale.point
        key = (product.id, point.tax_included)
        if regular_prices is not None and key in regular_prices:
            regular = regular_prices[key]
        else:
            if point.tax_included:
                regular = getattr(product, 'gross_price_used', None)
            else:
                regular = product.list_price_used
            if regular_prices is not None:
                regular_prices[key] = regular
        price = (self.unit_gross_price if point.tax_included
            else self.unit_list_price)
        return (regular is not None and price is not None
            and price < regular)

    def _commission_base(self, scheme):
        if scheme and scheme.base_amount == 'taxed':
            return self.gross_amount
        return self.untax_amount

    def check_staff_shares(self):
        total = sum((s.share for s in self.staff), ZERO)
        if self.staff and total != ONE:
            raise StaffValidationError(gettext(
                    'retail_commission.msg_staff_shares',
                    line=self.rec_name,
                    total='%s%%' % (total * 100).normalize()))

    def process_commission(self):
        "Record or reverse the commission of the line"
        pool = Pool()
        CommissionLine = pool.get('retail.commission.line')
        if not self.quantity:
            return
        self.check_staff_shares()
        with without_check_access():
            CommissionLine.create(CommissionLine.compute_sale_lines([self]))
