"""Demo data of stored value (储值): the accounting configuration, the wallet
payment method 储值卡 Stored value, three top-up plans and wallets with
balances and a payment PIN for 30 demo members, topped up through the real
top-up API (`retail.wallet.topup.submit`), so the ledger, the cash session
and the account moves are real.

The payment PIN of every demo wallet is 123456 (演示支付密码 123456).

Run by data/demo.py (seed_areas) when retail_wallet is activated;
idempotent: every record is looked up before it is created and each top-up
has a fixed request key.
"""
from decimal import Decimal

MODULES = ('retail_wallet',)

DEMO_PIN = '123456'
MEMBERS = 30
METHOD_NAME = '储值卡 Stored value'
PLANS = [
    # name, release, instalments, tier codes (empty: all), steps (pay, bonus)
    ('充500送50 Pay 500 get 50', 'immediate', None, (), [(500, 50)]),
    ('充1000送150 Pay 1000 get 150 (Silver and up)', 'immediate', None,
        ('SILVER', 'GOLD', 'DIAMOND'), [(1000, 150)]),
    ('充300送30 分3个月返还 Pay 300 get 30 over 3 months', 'monthly', 3, (),
        [(300, 30)]),
    ]
ACCOUNTS = [
    # key, code, name, model account, changes
    ('liability', '2203.1', '预收储值款 Stored value liability', 'payable',
        {'party_required': False, 'reconcile': False}),
    ('clearing', '1002.9', '储值卡结算 Stored value clearing', 'cash', {}),
    ('bonus', '6601.9', '储值赠送金 Stored value bonus (marketing)',
        'expense', {}),
    ('closing', '6051.9', '退卡收益 Wallet closing income', 'revenue', {}),
    ]


def log(msg):
    print(f'  wallet: {msg}', flush=True)


def seed(ctx):
    accounts = seed_accounts(ctx['accounts'])
    method = seed_configuration(ctx['company'], accounts)
    plans = seed_plans(ctx['tiers'])
    seed_wallets(method, plans)


def seed_accounts(chart):
    from proteus import Model
    Account = Model.get('account.account')
    result = {}
    for key, code, name, model, changes in ACCOUNTS:
        found = Account.find([('code', '=', code)], limit=1)
        if found:
            result[key] = found[0]
            continue
        log(f'account {code} {name}')
        account, = chart[model].duplicate(default=dict(
                changes, name=name, code=code))
        result[key] = account
    return result


def seed_configuration(company, accounts):
    from proteus import Model
    Configuration = Model.get('retail.wallet.configuration')
    Journal = Model.get('account.journal')
    TransferType = Model.get('sale.point.cash.transfer.type')
    Method = Model.get('sale.point.payment.method')
    cash_journal, = Journal.find([('type', '=', 'cash')], limit=1)
    transfer_type = TransferType.find(
        [('account', '=', accounts['liability'].id)], limit=1)
    if transfer_type:
        transfer_type, = transfer_type
    else:
        log('cash transfer type for top-ups and closings')
        transfer_type = TransferType(name='储值现金 Stored value cash',
            journal=cash_journal, account=accounts['liability'])
        transfer_type.save()
    if not Configuration.find([('company', '=', company.id)]):
        log('configuration')
        config = Configuration(company=company)
        config.liability_account = accounts['liability']
        config.clearing_account = accounts['clearing']
        config.bonus_account = accounts['bonus']
        config.closing_income_account = accounts['closing']
        config.journal = cash_journal
        config.cash_transfer_type = transfer_type
        config.save()
    method = Method.find([('retail_wallet', '=', True)], limit=1)
    if method:
        return method[0]
    log(f'payment method {METHOD_NAME}')
    method = Method(name=METHOD_NAME, account=accounts['clearing'],
        retail_wallet=True)
    method.save()
    return method


def seed_plans(tiers):
    from proteus import Model
    Plan = Model.get('retail.wallet.topup.plan')
    Tier = Model.get('retail.member.tier')
    plans = []
    for name, release, instalments, tier_codes, steps in PLANS:
        found = Plan.find([('name', '=', name)], limit=1)
        if found:
            plans.append(found[0])
            continue
        log(f'top-up plan {name}')
        plan = Plan(name=name, release=release)
        if instalments:
            plan.instalments = instalments
        for code in tier_codes:
            if code in tiers:
                plan.tiers.append(Tier(tiers[code].id))
        for amount, bonus in steps:
            plan.steps.new(amount=Decimal(amount), bonus=Decimal(bonus))
        plan.save()
        plans.append(plan)
    return plans


def seed_wallets(method, plans):
    from proteus import Model, Wizard
    Party = Model.get('party.party')
    POS = Model.get('sale.point')
    Method = Model.get('sale.point.payment.method')
    Topup = Model.get('retail.wallet.topup')
    Wallet = Model.get('retail.wallet')
    pos, = POS.find([], limit=1)
    payment_methods = [m for m in Method.find([('retail_wallet', '=', False)])]
    members = Party.find([('is_member', '=', True)],
        order=[('member_number', 'ASC')], limit=MEMBERS)
    plan_500, plan_1000, plan_monthly = plans
    context = Topup._config.context
    done = 0
    for i, member in enumerate(members):
        cards = [c for c in member.member_cards if c.state == 'active']
        tier = member.member_tier.code if member.member_tier else None
        if tier in {'SILVER', 'GOLD', 'DIAMOND'} and i % 2:
            amount, plan = Decimal(1000), plan_1000
        elif i % 5 == 0:
            amount, plan = Decimal(300), plan_monthly
        elif i % 7 == 0:
            amount, plan = Decimal(200), None
        else:
            amount, plan = Decimal(500), plan_500
        key = f'demo-wallet-topup-{member.member_number}'
        if Topup.find([('request_key', '=', key)], limit=1):
            continue
        values = {
            'member': member.id,
            'point': pos.id,
            'payment_method': payment_methods[i % len(payment_methods)].id,
            'amount': amount,
            'plan': plan.id if plan else None,
            'request_key': key,
            }
        if cards:
            values['card'] = cards[0].id
        Topup.submit(values, context)
        done += 1
    if done:
        log(f'{done} wallets topped up through the top-up API')
    pins = 0
    for wallet in Wallet.find([('state', '=', 'open')]):
        if wallet.has_pin:
            continue
        set_pin = Wizard('retail.wallet.set_pin', [wallet])
        set_pin.form.new_pin = DEMO_PIN
        set_pin.form.confirm_pin = DEMO_PIN
        set_pin.execute('set_')
        pins += 1
    if pins:
        log(f'payment PIN {DEMO_PIN} set on {pins} wallets')
