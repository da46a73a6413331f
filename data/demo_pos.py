"""Demo data of the cashier POS (retail_pos).

Run by data/demo.py (seed_areas) when retail_pos is activated; idempotent.
- every demo user (admin, cashier, manager, manager_en, accountant) is a
  cashier with the PIN 1234; badges HY-CASHIER-01 (cashier) and
  HY-MANAGER-01 (manager);
- POS kinds on the demo payment methods (bank card, WeChat Pay, Alipay);
- a points payment method (积分抵现 Points);
- a second till, 2号收银台 Till 2, with its own strict sequence (tills never
  wait on each other's numbering);
- a cash over and short account (1901.9) and transfer type on every till:
  the cashier's over or short at closing is booked;
- a cash in safe account (1001.9) and float transfer type on every till:
  the float counted in at opening and the cash handed in at closing are
  booked, and the opening count is checked against the previous shift's.
"""
MODULES = ('retail_pos',)
PIN = '1234'
BADGES = {'cashier': 'HY-CASHIER-01', 'manager': 'HY-MANAGER-01'}
KINDS = [('银行卡', 'card'), ('微信', 'wechat'), ('支付宝', 'alipay')]


def seed(ctx):
    from proteus import Model
    company = ctx['company']
    accounts = ctx['accounts']
    Method = Model.get('sale.point.payment.method')
    POS = Model.get('sale.point')
    Sequence = Model.get('ir.sequence.strict')
    Cashier = Model.get('retail.pos.cashier')
    User = Model.get('res.user')

    for method in Method.find([]):
        for prefix, kind in KINDS:
            if method.name.startswith(prefix) and not method.retail_pos_kind:
                method.retail_pos_kind = kind
                method.save()
    if not Method.find([('retail_points', '=', True)]):
        Method(name='积分抵现 Points', account=accounts['expense'],
            retail_points=True).save()

    points = POS.find([], order=[('id', 'ASC')])
    if points and len(points) < 2:
        first = points[0]
        sequence = Sequence(name='2号收银台 Till 2', company=company,
            sequence_type=first.sequence.sequence_type, prefix='T2-')
        sequence.save()
        till = POS(name='2号收银台 Till 2', journal=first.journal,
            sequence=sequence, storage_location=first.storage_location,
            customer_location=first.customer_location,
            tax_included=bool(first.tax_included))
        if hasattr(first, 'shop'):
            till.shop = first.shop
        till.save()
        points.append(till)

    seed_difference_type(accounts, points)
    seed_float_type(accounts, points)

    for login in ['admin', 'cashier', 'manager', 'manager_en', 'accountant']:
        users = User.find([('login', '=', login)])
        if not users or Cashier.find([('user', '=', users[0].id)]):
            continue
        user = users[0]
        if company not in user.companies:
            user.companies.append(company)
            user.company = company
            user.save()
        cashier = Cashier(user=user, badge=BADGES.get(login),
            default_point=points[0] if points else None)
        cashier.new_pin = PIN
        cashier.save()


def seed_difference_type(accounts, points):
    "The cashier's over or short at closing, booked on every till"
    seed_transfer_type(accounts['expense'], '1901.9',
        '现金长短款 Cash over and short', '现金长短款 Cash over and short',
        'retail_pos_difference_type', points)


def seed_float_type(accounts, points):
    "The cash moved between the drawer and the safe, booked on every till"
    seed_transfer_type(accounts['cash'], '1001.9',
        '保险柜现金 Cash in safe', '备用金 Float (safe)',
        'retail_pos_float_type', points)


def seed_transfer_type(base, code, account_name, name, field, points):
    """A cash transfer type whose account (code) is a copy of base, set as
    field of every till that has none"""
    from proteus import Model
    Account = Model.get('account.account')
    Journal = Model.get('account.journal')
    TransferType = Model.get('sale.point.cash.transfer.type')
    account = Account.find([('code', '=', code)], limit=1)
    if account:
        account, = account
    else:
        account, = base.duplicate(default={
                'code': code, 'name': account_name})
    types = TransferType.find([('account', '=', account.id)], limit=1)
    if types:
        type_, = types
    else:
        journal, = Journal.find([('type', '=', 'cash')], limit=1)
        type_ = TransferType(name=name, journal=journal, account=account)
        type_.save()
    for point in points:
        if not getattr(point, field):
            setattr(point, field, type_)
            point.save()
