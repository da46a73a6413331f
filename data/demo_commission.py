"""Demo data of staff commission (提成): roles, employees linked to the demo
users, an approved scheme, the accounting configuration and a few sales with
staff so that the commission lines and the ranking are not empty.

Run by data/demo.py (seed_areas) when retail_commission is activated;
idempotent: every record is looked up before it is created.
"""
import datetime as dt
from decimal import Decimal

MODULES = ('retail_commission',)

ROLES = [
    # code, name
    ('STYLIST', '发型师 Stylist'),
    ('THERAPIST', '理疗师 Therapist'),
    ('SALES', '导购 Sales Assistant'),
    ]
EMPLOYEES = [
    # name, role code, demo user login
    ('发型师 张伟', 'STYLIST', None),
    ('发型师 李娜', 'STYLIST', None),
    ('理疗师 赵敏', 'THERAPIST', None),
    ('导购 周杰', 'SALES', None),
    ('收银员 王小丽', 'SALES', 'cashier'),
    ('店长 陈志强', None, 'manager'),
    ]
SCHEME_NAME = '2026 门店提成方案 Shop commission scheme'


def log(msg):
    print(f'  commission: {msg}', flush=True)


def find_category(Category, en):
    found = Category.find([('name', 'like', f'% {en}')], limit=1)
    return found[0] if found else None


def seed(ctx):
    company = ctx['company']
    roles = seed_roles(company)
    employees = seed_employees(company, roles)
    seed_scheme(company, roles)
    seed_accounting(company, ctx['accounts'])
    seed_sales(employees, ctx['rnd'])


def seed_roles(company):
    from proteus import Model
    Role = Model.get('retail.commission.role')
    roles = {}
    for code, name in ROLES:
        found = Role.find([('code', '=', code)], limit=1)
        if found:
            roles[code] = found[0]
            continue
        log(f'role {name}')
        role = Role(name=name, code=code, company=company)
        role.save()
        roles[code] = role
    return roles


def seed_employees(company, roles):
    from proteus import Model
    Company = Model.get('company.company')
    Employee = Model.get('company.employee')
    Party = Model.get('party.party')
    User = Model.get('res.user')
    employees = {}
    for name, role, login in EMPLOYEES:
        found = Employee.find([('party.name', '=', name)], limit=1)
        if found:
            employee, = found
        else:
            log(f'employee {name}')
            party = Party(name=name)
            party.save()
            employee = Employee(party=party, company=company)
            employee.commission_role = roles.get(role)
            employee.save()
        employees[name] = employee
        users = User.find([('login', '=', login)]) if login else []
        for user in users:
            if employee not in user.employees:
                log(f'user {login} is employee {name}')
                if company not in user.companies:
                    user.companies.append(Company(company.id))
                if not user.company:
                    user.company = Company(company.id)
                user.employees.append(Employee(employee.id))
                user.employee = Employee(employee.id)
                user.save()
    return employees


def seed_scheme(company, roles):
    from proteus import Model
    Scheme = Model.get('retail.commission.scheme')
    Category = Model.get('product.category')
    if Scheme.find([('name', '=', SCHEME_NAME)], limit=1):
        return
    log('approved scheme')
    scheme = Scheme(name=SCHEME_NAME, company=company,
        start_date=dt.date(dt.date.today().year, 1, 1))
    scheme.exclude_special_price = True
    scheme.tier_mode = 'progressive'
    hair = find_category(Category, 'Hair services')
    spa = find_category(Category, 'Massage and spa')
    clothing = find_category(Category, 'Clothing')
    cosmetics = find_category(Category, 'Cosmetics')
    sequence = 0

    def rule(kind='sale', **values):
        nonlocal sequence
        sequence += 10
        new = scheme.rules.new(kind=kind, sequence=sequence)
        for name, value in values.items():
            setattr(new, name, value)

    if hair:
        # 点客 (requested) earns more than 轮牌 (assigned in turn)
        rule(category=hair, assignment='requested', method='fixed',
            amount=Decimal('15'))
        rule(category=hair, method='fixed', amount=Decimal('10'))
    if spa:
        rule(category=spa, role=roles['THERAPIST'], method='fixed',
            amount=Decimal('20'))
        rule(category=spa, method='fixed', amount=Decimal('12'))
    if clothing:
        rule(category=clothing, rate=Decimal('0.03'))
    if cosmetics:
        rule(category=cosmetics, customer='member', rate=Decimal('0.05'))
        rule(category=cosmetics, rate=Decimal('0.04'))
    rule(kind='card_open', method='fixed', amount=Decimal('5'))
    rule(kind='topup', rate=Decimal('0.01'))
    rule(kind='wallet_spend', rate=Decimal('0.005'))
    # 阶梯提成: progressive monthly bonus on the employee's sales
    scheme.tiers.new(threshold=Decimal('10000'), rate=Decimal('0.01'))
    scheme.tiers.new(threshold=Decimal('30000'), rate=Decimal('0.02'))
    scheme.save()
    scheme.click('approve')


def seed_accounting(company, accounts):
    from proteus import Model
    Configuration = Model.get('retail.commission.configuration')
    Journal = Model.get('account.journal')
    if Configuration.find([], limit=1):
        return
    journals = Journal.find([('type', '=', 'general')], limit=1)
    if not journals or not accounts.get('expense') or not (
            accounts.get('payable')):
        return
    log('accounting configuration')
    Configuration(company=company, journal=journals[0],
        expense_account=accounts['expense'],
        payable_account=accounts['payable']).save()


def seed_sales(employees, rnd):
    """A few paid sales with staff (requested and assigned, one split)"""
    from proteus import Model
    Sale = Model.get('sale.point.sale')
    POS = Model.get('sale.point')
    Method = Model.get('sale.point.payment.method')
    Product = Model.get('product.product')
    Line = Model.get('retail.commission.line')
    if Line.find([('kind', '=', 'sale')], limit=1):
        return
    pos = POS.find([], limit=1)
    cash = Method.find([('cash', '=', True)], limit=1)
    services = Product.find([('code', 'like', 'HY-HAIR-%')], limit=5)
    services += Product.find([('code', 'like', 'HY-SPA-%')], limit=5)
    goods = Product.find([('code', 'like', 'HY-CLO-%')], limit=5)
    goods += Product.find([('code', 'like', 'HY-COS-%')], limit=5)
    if not pos or not cash or not services or not goods:
        return
    log('6 sales with staff')
    staff = [e for n, e in employees.items() if not n.startswith('店长')]
    for i in range(6):
        sale = Sale(point=pos[0])
        line = sale.lines.new()
        line.product = rnd.choice(services)
        line.quantity = 1
        first = staff[i % len(staff)]
        if i == 5:
            s = line.staff.new(employee=first, share=Decimal('0.5'))
            s.requested = True
            line.staff.new(
                employee=staff[(i + 1) % len(staff)], share=Decimal('0.5'))
        else:
            s = line.staff.new(employee=first)
            s.requested = bool(i % 2)
        line = sale.lines.new()
        line.product = rnd.choice(goods)
        line.quantity = rnd.randint(1, 2)
        line.staff.new(employee=staff[(i + 2) % len(staff)])
        sale.save()
        pay = sale.click('pay')
        pay.form.method = cash[0]
        pay.execute('pay')
