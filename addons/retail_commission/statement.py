# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
"""Period statements per employee, approval, Excel export and ranking."""
import datetime as dt
import io
from decimal import Decimal

from sql import Literal, Null
from sql.aggregate import Count, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import CurrentTimestamp
from sql.operators import Equal

from trytond.i18n import gettext
from trytond.model import Exclude, ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.report import Report
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .commission import SALE_KINDS
from .exceptions import StatementError

ZERO = Decimal(0)


class Statement(Workflow, ModelSQL, ModelView):
    "Commission Statement"
    __name__ = 'retail.commission.statement'

    _states = {'readonly': Eval('state') != 'draft'}

    company = fields.Many2One(
        'company.company', "Company", required=True, ondelete='RESTRICT',
        states=_states)
    employee = fields.Many2One(
        'company.employee', "Employee", required=True, ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))], states=_states)
    start_date = fields.Date(
        "Start Date", required=True, states=_states,
        domain=[('start_date', '<=', Eval('end_date', None))])
    end_date = fields.Date(
        "End Date", required=True, states=_states,
        domain=[('end_date', '>=', Eval('start_date', None))])
    lines = fields.One2Many(
        'retail.commission.line', 'statement', "Lines", readonly=True)
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    sales = Monetary(
        "Sales", currency='currency', digits='currency', readonly=True,
        help="The employee's share of the sales less returns.")
    services = fields.Float("Services", digits=(16, 2), readonly=True,
        help="The quantity of services the employee performed "
        "(by share).")
    line_amount = Monetary(
        "Line Commission", currency='currency', digits='currency',
        readonly=True)
    tier_rate = fields.Numeric("Tier Rate", digits=(16, 4), readonly=True)
    tier_amount = Monetary(
        "Tiered Bonus", currency='currency', digits='currency',
        readonly=True)
    total = fields.Function(Monetary(
            "Total", currency='currency', digits='currency'),
        'get_total')
    scheme = fields.Many2One(
        'retail.commission.scheme', "Scheme Version", readonly=True,
        ondelete='RESTRICT',
        help="The version in force at the end of the period; its tiers "
        "apply.")
    state = fields.Selection([
            ('draft', "Draft"),
            ('confirmed', "Confirmed"),
            ('approved', "Approved"),
            ('posted', "Posted"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)
    approved_by = fields.Many2One('res.user', "Approved By", readonly=True)
    move = fields.Many2One(
        'account.move', "Account Move", readonly=True, ondelete='RESTRICT',
        states={'invisible': ~Eval('move')},
        help="Commission expense against commission payable to the "
        "employee.")

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('start_date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'confirmed'),
            ('confirmed', 'draft'),
            ('confirmed', 'approved'),
            ('draft', 'cancelled'),
            ('cancelled', 'draft'),
            ('approved', 'posted'),
            }
        cls._buttons.update({
                'post': {
                    'invisible': Eval('state') != 'approved',
                    'depends': ['state'],
                    },
                'confirm': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': ~Eval('state').in_(
                        ['confirmed', 'cancelled']),
                    'icon': If(Eval('state') == 'cancelled',
                        'tryton-undo', 'tryton-back'),
                    'depends': ['state'],
                    },
                'approve': {
                    'invisible': Eval('state') != 'confirmed',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'draft'

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    def get_total(self, name):
        return (self.line_amount or ZERO) + (self.tier_amount or ZERO)

    def get_rec_name(self, name):
        return '%s %s..%s' % (
            self.employee.rec_name, self.start_date, self.end_date)

    @classmethod
    def validate_fields(cls, statements, field_names):
        super().validate_fields(statements, field_names)
        for statement in statements:
            if statement.state == 'cancelled':
                continue
            with without_check_access():
                others = cls.search([
                        ('employee', '=', statement.employee.id),
                        ('state', '!=', 'cancelled'),
                        ('start_date', '<=', statement.end_date),
                        ('end_date', '>=', statement.start_date),
                        ('id', '!=', statement.id),
                        ], limit=1)
            if others:
                raise StatementError(gettext(
                        'retail_commission.msg_statement_overlap',
                        statement=statement.rec_name,
                        other=others[0].rec_name))

    @classmethod
    def check_modification(cls, mode, statements, values=None,
            external=False):
        super().check_modification(
            mode, statements, values=values, external=external)
        if mode == 'delete':
            for statement in statements:
                if statement.state not in {'draft', 'cancelled'}:
                    raise StatementError(gettext(
                            'retail_commission.msg_statement_delete',
                            statement=statement.rec_name))

    @classmethod
    def copy(cls, statements, default=None):
        default = default.copy() if default else {}
        for name in ['lines', 'scheme', 'approved_by', 'sales', 'services',
                'line_amount', 'tier_rate', 'tier_amount', 'move']:
            default.setdefault(name)
        return super().copy(statements, default=default)

    @classmethod
    def _summary(cls, statement):
        "Return sales, services and line commission of statement (SQL)"
        pool = Pool()
        Line = pool.get('retail.commission.line')
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        line = Line.__table__()
        product = Product.__table__()
        template = Template.__table__()
        cursor = Transaction().connection.cursor()
        is_sale = line.kind.in_(list(SALE_KINDS))
        cursor.execute(*line
            .join(product, 'LEFT', condition=line.product == product.id)
            .join(template, 'LEFT',
                condition=product.template == template.id)
            .select(
                Sum(Case((is_sale, line.base), else_=Literal(0))),
                Sum(Case(((is_sale & (template.type == 'service')),
                            line.quantity * line.share),
                        else_=Literal(0))),
                Sum(line.amount),
                where=line.statement == statement.id))
        sales, services, amount = cursor.fetchone()
        return (Decimal(str(sales or 0)), float(services or 0),
            Decimal(str(amount or 0)))

    @classmethod
    @ModelView.button
    @Workflow.transition('confirmed')
    def confirm(cls, statements):
        "Take the employee's lines of the period that are in no statement"
        pool = Pool()
        Line = pool.get('retail.commission.line')
        Scheme = pool.get('retail.commission.scheme')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        for statement in statements:
            currency = statement.company.currency
            # One UPDATE: the statement link is the only column of a
            # commission line that may change
            cursor.execute(*line.update(
                    [line.statement, line.write_uid, line.write_date],
                    [statement.id, Transaction().user, CurrentTimestamp()],
                    where=((line.company == statement.company.id)
                        & (line.employee == statement.employee.id)
                        & (line.date >= statement.start_date)
                        & (line.date <= statement.end_date)
                        & (line.statement == Null)
                        & (line.kind != 'tier'))))
            sales, services, amount = cls._summary(statement)
            scheme = Scheme.in_force(statement.company, statement.end_date)
            rate, tier = (scheme.tier_amount(sales) if scheme
                else (ZERO, ZERO))
            statement.scheme = scheme
            statement.sales = currency.round(sales)
            statement.services = round(services, 2)
            statement.line_amount = currency.round(amount)
            statement.tier_rate = rate
            statement.tier_amount = currency.round(tier)
        cls.save(statements)

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, statements):
        pool = Pool()
        Line = pool.get('retail.commission.line')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        if not statements:
            return
        cursor.execute(*line.update(
                [line.statement, line.write_uid, line.write_date],
                [Null, Transaction().user, CurrentTimestamp()],
                where=line.statement.in_([s.id for s in statements])))
        cls.write(statements, {
                'scheme': None, 'sales': None, 'services': None,
                'line_amount': None, 'tier_rate': None, 'tier_amount': None,
                })

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, statements):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('approved')
    def approve(cls, statements):
        "Approve and write the tiered bonus to the ledger"
        pool = Pool()
        Line = pool.get('retail.commission.line')
        to_save = []
        for statement in statements:
            if statement.tier_amount:
                to_save.append(Line(
                        company=statement.company,
                        employee=statement.employee,
                        date=statement.end_date,
                        kind='tier',
                        origin=statement,
                        quantity=0,
                        share=Decimal(1),
                        requested=False,
                        member=False,
                        scheme=statement.scheme,
                        base=statement.sales,
                        amount=statement.tier_amount,
                        currency=statement.company.currency,
                        statement=statement))
        with without_check_access():
            Line.save(to_save)
        cls.write(statements, {'approved_by': Transaction().user})

    @classmethod
    @ModelView.button
    @Workflow.transition('posted')
    def post(cls, statements):
        """Book the approved statements: Dr commission expense / Cr
        commission payable, the employee's party on the payable line"""
        pool = Pool()
        Configuration = pool.get('retail.commission.configuration')
        Move = pool.get('account.move')
        moves = []
        for statement in statements:
            if statement.move:
                continue
            config = Configuration.get_for(statement.company)
            statement.move = config.get_move(statement)
            if statement.move:
                moves.append(statement.move)
        with without_check_access():
            Move.save(moves)
            Move.post(moves)
        cls.save(statements)

    @classmethod
    def generate(cls, company, start_date, end_date):
        """Create and confirm the statements of the period for every
        employee with lines not yet in a statement"""
        pool = Pool()
        Line = pool.get('retail.commission.line')
        Employee = pool.get('company.employee')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*line.select(
                line.employee,
                where=((line.company == company.id)
                    & (line.date >= start_date) & (line.date <= end_date)
                    & (line.statement == Null)),
                group_by=[line.employee]))
        employees = Employee.browse([r[0] for r in cursor])
        statements = cls.create([{
                    'company': company.id,
                    'employee': e.id,
                    'start_date': start_date,
                    'end_date': end_date,
                    } for e in employees])
        cls.confirm(statements)
        return statements


class Configuration(ModelSQL, ModelView):
    "Commission Accounting Configuration"
    __name__ = 'retail.commission.configuration'

    company = fields.Many2One(
        'company.company', "Company", required=True, ondelete='CASCADE')
    journal = fields.Many2One(
        'account.journal', "Journal", required=True,
        domain=[('type', '=', 'general')])
    expense_account = fields.Many2One(
        'account.account', "Commission Expense Account", required=True,
        domain=[
            ('type.expense', '=', True),
            ('closed', '!=', True),
            ('company', '=', Eval('company', -1)),
            ])
    payable_account = fields.Many2One(
        'account.account', "Commission Payable Account", required=True,
        domain=[
            ('type', '!=', None),
            ('closed', '!=', True),
            ('company', '=', Eval('company', -1)),
            ],
        help="Credited with the commission owed to the employee (with the "
        "employee's party when the account requires a party).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('company_unique', Exclude(t, (t.company, Equal)),
                'retail_commission.msg_configuration_company_unique'),
            ]

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    def get_rec_name(self, name):
        return self.company.rec_name

    @classmethod
    def get_for(cls, company):
        "Return the configuration of company or raise a user error"
        with without_check_access():
            configs = cls.search([('company', '=', company.id)], limit=1)
        if not configs:
            raise StatementError(gettext(
                    'retail_commission.msg_configuration_missing',
                    company=company.rec_name))
        return configs[0]

    def get_move(self, statement):
        "Return the unsaved move of statement or None for a zero total"
        pool = Pool()
        Move = pool.get('account.move')
        MoveLine = pool.get('account.move.line')
        Period = pool.get('account.period')
        currency = statement.company.currency
        total = currency.round(statement.total or ZERO)
        if currency.is_zero(total):
            return None
        date = statement.end_date
        expense = MoveLine(account=self.expense_account)
        payable = MoveLine(account=self.payable_account)
        if self.payable_account.party_required:
            payable.party = statement.employee.party
        if total > 0:
            expense.debit, expense.credit = total, ZERO
            payable.debit, payable.credit = ZERO, total
        else:
            expense.debit, expense.credit = ZERO, -total
            payable.debit, payable.credit = -total, ZERO
        return Move(
            journal=self.journal,
            period=Period.find(statement.company, date=date),
            date=date,
            origin=statement,
            company=statement.company,
            description=statement.rec_name,
            lines=[expense, payable])


class Move(metaclass=PoolMeta):
    __name__ = 'account.move'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['retail.commission.statement']


class StatementExcel(Report):
    "Commission Statement (Excel)"
    __name__ = 'retail.commission.statement.excel'

    @classmethod
    def execute(cls, ids, data):
        pool = Pool()
        Statement = pool.get('retail.commission.statement')
        statements = Statement.browse(ids)
        content = cls.render_xlsx(statements)
        name = 'commission'
        if len(statements) == 1:
            statement, = statements
            name = 'commission-%s-%s' % (
                statement.employee.rec_name, statement.start_date)
        return ('xlsx', content, False, name)

    @classmethod
    def _headers(cls):
        pool = Pool()
        Line = pool.get('retail.commission.line')
        fields_ = Line.fields_get([
                'date', 'kind', 'origin', 'product', 'quantity', 'share',
                'requested', 'member', 'base', 'amount'])
        return [fields_[n]['string'] for n in [
                'date', 'kind', 'origin', 'product', 'quantity', 'share',
                'requested', 'member', 'base', 'amount']]

    @classmethod
    def render_xlsx(cls, statements):
        from openpyxl import Workbook
        pool = Pool()
        Statement = pool.get('retail.commission.statement')
        Line = pool.get('retail.commission.line')
        labels = Statement.fields_get([
                'employee', 'start_date', 'end_date', 'sales', 'services',
                'line_amount', 'tier_rate', 'tier_amount', 'total',
                'state'])
        kinds = dict(Line.fields_get(['kind'])['kind']['selection'])
        states = dict(labels['state']['selection'])
        workbook = Workbook()
        workbook.remove(workbook.active)
        for statement in statements:
            title = ('%s %s' % (statement.employee.rec_name,
                    statement.start_date))[:31]
            for char in '[]:*?/\\':
                title = title.replace(char, ' ')
            sheet = workbook.create_sheet(title)
            for name, value in [
                    ('employee', statement.employee.rec_name),
                    ('start_date', statement.start_date),
                    ('end_date', statement.end_date),
                    ('state', states.get(statement.state)),
                    ('sales', statement.sales),
                    ('services', statement.services),
                    ('line_amount', statement.line_amount),
                    ('tier_rate', statement.tier_rate),
                    ('tier_amount', statement.tier_amount),
                    ('total', statement.total),
                    ]:
                sheet.append([labels[name]['string'], value])
            sheet.append([])
            sheet.append(cls._headers())
            with without_check_access():
                lines = Line.search([
                        ('statement', '=', statement.id),
                        ], order=[('date', 'ASC'), ('id', 'ASC')])
                # read in chunks with the names of the relations: one
                # query per chunk and relation, not a record per line
                for sub in grouped_slice(lines, 1000):
                    ids = [line.id for line in sub]
                    rows = {r['id']: r for r in Line.read(ids, [
                                'date', 'kind', 'origin.rec_name',
                                'product.rec_name', 'quantity', 'share',
                                'requested', 'member', 'base', 'amount'])}
                    for line in map(rows.__getitem__, ids):
                        sheet.append([
                                line['date'], kinds.get(line['kind']),
                                (line['origin.'] or {}).get('rec_name', ''),
                                (line['product.'] or {}).get(
                                    'rec_name', ''),
                                line['quantity'], line['share'],
                                line['requested'], line['member'],
                                line['base'], line['amount']])
        if not statements:
            workbook.create_sheet('-')
        stream = io.BytesIO()
        workbook.save(stream)
        return stream.getvalue()


class RankingContext(ModelView):
    "Commission Ranking Context"
    __name__ = 'retail.commission.ranking.context'

    company = fields.Many2One('company.company', "Company", required=True)
    start_date = fields.Date("Start Date", required=True)
    end_date = fields.Date("End Date", required=True)

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_start_date(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        return Transaction().context.get(
            'start_date', Date.today().replace(day=1))

    @classmethod
    def default_end_date(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        return Transaction().context.get('end_date', Date.today())


class Ranking(ModelSQL, ModelView):
    "Staff Ranking"
    __name__ = 'retail.commission.ranking'

    employee = fields.Many2One('company.employee', "Employee")
    currency = fields.Many2One('currency.currency', "Currency")
    sales = Monetary("Sales", currency='currency', digits='currency')
    services = fields.Float("Services", digits=(16, 2))
    lines = fields.Integer("Lines")
    commission = Monetary(
        "Commission", currency='currency', digits='currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('commission', 'DESC'), ('sales', 'DESC'),
            ('employee', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Line = pool.get('retail.commission.line')
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        line = Line.__table__()
        product = Product.__table__()
        template = Template.__table__()
        context = Transaction().context
        today = dt.date.today()
        company = context.get('company') or -1
        start = context.get('start_date') or today.replace(day=1)
        end = context.get('end_date') or today
        is_sale = line.kind.in_(list(SALE_KINDS))
        return (line
            .join(product, 'LEFT', condition=line.product == product.id)
            .join(template, 'LEFT', condition=product.template == template.id)
            .select(
                line.employee.as_('id'),
                line.employee.as_('employee'),
                line.currency.as_('currency'),
                Coalesce(Sum(Case((is_sale, line.base), else_=Literal(0))),
                    Literal(0)).as_('sales'),
                Coalesce(Sum(Case(
                            (is_sale & (template.type == 'service'),
                                line.quantity * line.share),
                            else_=Literal(0))), Literal(0)).as_('services'),
                Count(Case((line.kind == 'sale', line.id))).as_('lines'),
                Coalesce(Sum(line.amount), Literal(0)).as_('commission'),
                where=((line.company == company)
                    & (line.date >= start) & (line.date <= end)),
                group_by=[line.employee, line.currency]))
