#!/usr/bin/env python3
"""Create or complete the Huiyuan demo database.

Usage: data/demo.py DATABASE [--members N] [--products N]

Runs in-process through proteus against the database named on the command
line (the backend comes from TRYTOND_DATABASE__URI, SQLite by default). Every
section checks what is already there, so running it twice changes nothing the
second time. The data is random but seeded: the same call gives the same demo.
"""
import argparse
import datetime as dt
import os
import random
import sys
import time
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

COMPANY_NAME = '慧源零售有限公司 Huiyuan Retail Co.'
SHOP_CODE = 'SH01'
USERS = [
    # login, name, language, groups (XML ids in retail_member)
    ('cashier', '收银员 王小丽', 'zh_CN', ['group_retail_cashier']),
    ('manager', '店长 陈志强', 'zh_CN', ['group_retail_manager']),
    ('accountant', '会计 刘芳', 'zh_CN', ['group_retail_accountant']),
    ('manager_en', 'Shop Manager (English)', 'en', ['group_retail_manager']),
    ]
PASSWORD = 'huiyuan-demo'

CATEGORIES = [
    # code, zh name, en name, kind, price range, count
    ('CLO', '服装', 'Clothing', 'goods', (59, 899), 70),
    ('COS', '化妆品', 'Cosmetics', 'goods', (39, 699), 60),
    ('ACC', '配饰', 'Accessories', 'goods', (19, 299), 30),
    ('HAIR', '美发服务', 'Hair services', 'service', (38, 588), 20),
    ('SPA', '按摩理疗', 'Massage and spa', 'service', (98, 698), 20),
    ]
ITEMS = {
    'CLO': ['纯棉T恤', '修身衬衫', '牛仔裤', '针织开衫', '羽绒服', '连衣裙',
        '运动卫衣', '休闲西装', '半身裙', '羊毛大衣'],
    'COS': ['保湿面霜', '洁面乳', '精华液', '防晒霜', '口红', '粉底液',
        '爽肤水', '眼霜', '面膜', '卸妆油'],
    'ACC': ['真丝围巾', '皮带', '棒球帽', '太阳镜', '手链', '帆布包'],
    'HAIR': ['洗剪吹', '造型烫发', '染发', '头皮护理', '儿童理发'],
    'SPA': ['全身按摩60分钟', '足疗45分钟', '肩颈理疗', '精油SPA', '面部护理'],
    }
VARIANTS = ['黑色', '白色', '蓝色', '红色', 'S码', 'M码', 'L码', '经典款',
    '升级款', '礼盒装', '旅行装', '标准']
TIERS = [
    # code, zh, en, rank, discount, multiplier, upgrade spend
    ('NORMAL', '普通会员', 'Member', 1, '0', '1', None),
    ('SILVER', '银卡会员', 'Silver', 2, '0.05', '1.2', '2000'),
    ('GOLD', '金卡会员', 'Gold', 3, '0.10', '1.5', '8000'),
    ('DIAMOND', '钻石会员', 'Diamond', 4, '0.15', '2', '30000'),
    ]
SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董'
GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕'
MOBILE_PREFIXES = ['138', '139', '136', '137', '150', '151', '158', '186',
    '187', '135', '189', '177']


def log(msg):
    print(f'[demo] {msg}', flush=True)


def ean13(body12):
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def get_or_none(Model_, domain):
    records = Model_.find(domain, limit=1)
    return records[0] if records else None


def setup_company(config):
    from proteus import Model, Wizard
    Company = Model.get('company.company')
    company = get_or_none(Company, [])
    if company:
        return company
    log('company, currency CNY')
    Currency = Model.get('currency.currency')
    currency = get_or_none(Currency, [('code', '=', 'CNY')])
    if not currency:
        currency = Currency(name='人民币 Chinese Yuan', code='CNY',
            symbol='¥', digits=2, rounding=Decimal('0.01'))
        currency.save()
    Party = Model.get('party.party')
    party = Party(name=COMPANY_NAME)
    party.save()
    wizard = Wizard('company.company.config')
    wizard.execute('company')
    wizard.form.party = party
    wizard.form.currency = currency
    wizard.form.timezone = 'Asia/Shanghai'
    wizard.execute('add')
    config._context = Model.get('res.user').get_preferences(True, {})
    # Tryton's set-up helpers find records by their English names
    config._context['language'] = 'en'
    return Company.find([])[0]


def setup_accounting(company):
    from proteus import Model
    from trytond.modules.account.tests.tools import create_chart, create_fiscalyear, get_accounts
    from trytond.modules.account_invoice.tests.tools import set_fiscalyear_invoice_sequences
    Account = Model.get('account.account')
    FiscalYear = Model.get('account.fiscalyear')
    if not Account.find([('type', '!=', None)], limit=1):
        log('chart of accounts')
        create_chart(company)
    today = dt.date.today()
    if not FiscalYear.find([
                ('start_date', '<=', today), ('end_date', '>=', today)]):
        log('fiscal year')
        fiscalyear = set_fiscalyear_invoice_sequences(
            create_fiscalyear(company))
        fiscalyear.click('create_period')
    return get_accounts(company)


def setup_tax(company, accounts):
    from proteus import Model
    Tax = Model.get('account.tax')
    tax = get_or_none(Tax, [('name', '=', '增值税 13%')])
    if tax:
        return tax
    log('VAT 13 %')
    tax = Tax(name='增值税 13%', description='增值税 13% VAT',
        type='percentage', rate=Decimal('0.13'),
        invoice_account=accounts['tax'], credit_note_account=accounts['tax'])
    tax.save()
    return tax


def setup_products(accounts, tax, n_products, rnd):
    from proteus import Model
    Category = Model.get('product.category')
    Template = Model.get('product.template')
    Uom = Model.get('product.uom')
    acc_cat = get_or_none(Category, [('name', '=', '零售商品 Retail')])
    if not acc_cat:
        acc_cat = Category(name='零售商品 Retail', accounting=True)
        acc_cat.account_revenue = accounts['revenue']
        acc_cat.account_expense = accounts['expense']
        acc_cat.customer_taxes.append(tax)
        acc_cat.save()
    existing = Template.find([('code', 'like', 'HY-%')])
    if len(existing) >= n_products:
        return
    log(f'{n_products} products with barcodes')
    unit, = Uom.find([('name', '=', 'Unit')])
    hour = get_or_none(Uom, [('name', '=', 'Hour')]) or unit
    have = {t.code for t in existing}
    weights = [c[5] for c in CATEGORIES]
    scale = n_products / sum(weights)
    templates = []
    seq = 0
    for code, zh, en, kind, (lo, hi), count in CATEGORIES:
        cat = get_or_none(Category, [('name', '=', f'{zh} {en}')])
        if not cat:
            cat = Category(name=f'{zh} {en}')
            cat.save()
        for i in range(max(1, round(count * scale))):
            seq += 1
            tcode = f'HY-{code}-{i + 1:03d}'
            item = ITEMS[code][i % len(ITEMS[code])]
            variant = VARIANTS[(i // len(ITEMS[code])) % len(VARIANTS)]
            price = Decimal(rnd.randint(lo, hi))
            if tcode in have:
                continue
            tpl = Template(name=f'{item} {variant}' if kind == 'goods'
                else item + ('' if i < len(ITEMS[code]) else f' {variant}'))
            tpl.code = tcode
            tpl.type = kind
            tpl.default_uom = unit if kind == 'goods' else hour
            tpl.salable = True
            tpl.account_category = acc_cat
            tpl.categories.append(Category(cat.id))
            tpl.gross_price = price
            tpl.list_price = (price / Decimal('1.13')).quantize(
                Decimal('0.0001'))
            product, = tpl.products
            product.suffix_code = ''
            identifier = product.identifiers.new()
            identifier.type = 'ean'
            identifier.code = ean13(f'69{seq:010d}')
            templates.append(tpl)
    for start in range(0, len(templates), 50):
        Template.save(templates[start:start + 50])


def setup_shop(company, accounts):
    from proteus import Model
    Shop = Model.get('retail.shop')
    POS = Model.get('sale.point')
    Method = Model.get('sale.point.payment.method')
    Journal = Model.get('account.journal')
    Location = Model.get('stock.location')
    Sequence = Model.get('ir.sequence.strict')
    SequenceType = Model.get('ir.sequence.type')
    Account = Model.get('account.account')
    shop = get_or_none(Shop, [('code', '=', SHOP_CODE)])
    if not shop:
        log('shop and point of sale')
        shop = Shop(name='南京西路旗舰店 Flagship Store', code=SHOP_CODE)
        shop.save()
    if not POS.find([]):
        journal, = Journal.find([('type', '=', 'revenue')], limit=1)
        storage, = Location.find([('code', '=', 'STO')])
        customer, = Location.find([('code', '=', 'CUS')])
        pos = POS(name='1号收银台 Till 1')
        pos.journal = journal
        pos.sequence = Sequence(name='1号收银台 Till 1', company=company)
        pos.sequence.sequence_type, = SequenceType.find(
            [('name', '=', 'POS')], limit=1)
        pos.sequence.save()
        pos.storage_location = storage
        pos.customer_location = customer
        if hasattr(pos, 'shop'):
            pos.shop = shop
        pos.save()
    if not Method.find([]):
        log('payment methods: cash, bank card, WeChat Pay, Alipay')
        cash_account = accounts['cash']
        methods = [('现金 Cash', True, cash_account)]
        for name, code in [('银行卡 Bank card', '1002.1'),
                ('微信支付 WeChat Pay', '1002.2'),
                ('支付宝 Alipay', '1002.3')]:
            account = get_or_none(Account, [('code', '=', code)])
            if not account:
                account = Account(name=name + ' 清算', code=code,
                    type=cash_account.type, parent=cash_account.parent,
                    reconcile=False)
                account.save()
            methods.append((name, False, account))
        for name, cash, account in methods:
            Method(name=name, cash=cash, account=account).save()
    return shop


def setup_tiers():
    from proteus import Model
    Tier = Model.get('retail.member.tier')
    tiers = {t.code: t for t in Tier.find([])}
    if len(tiers) >= len(TIERS):
        return tiers
    log('member tiers')
    for code, zh, _en, rank, discount, mult, spend in TIERS:
        if code in tiers:
            continue
        tier = Tier(name=zh, code=code, rank=rank,
            discount=Decimal(discount), points_multiplier=Decimal(mult))
        if spend:
            tier.upgrade_spend = Decimal(spend)
        tier.save()
        tiers[code] = tier
    return tiers


def setup_members(company, shop, tiers, n_members, rnd):
    from proteus import Model
    Party = Model.get('party.party')
    have = Party._proxy.search_count(
        [('is_member', '=', True)], Party._config.context)
    if have >= n_members:
        return
    log(f'{n_members - have} members with cards')
    tier_weights = [('NORMAL', 60), ('SILVER', 25), ('GOLD', 12),
        ('DIAMOND', 3)]
    codes = [c for c, w in tier_weights for _ in range(w)]
    media = ['magstripe', 'rfid', 'ic', 'qr', 'virtual']
    today = dt.date.today()
    # plain create calls: no client-side on_change round trips per field
    context = Party._config.context
    batch = []
    start = time.monotonic()
    for i in range(have, n_members):
        rnd_i = random.Random(f'member-{i}')
        name = rnd_i.choice(SURNAMES) + ''.join(
            rnd_i.choice(GIVEN) for _ in range(rnd_i.choice([1, 2])))
        batch.append({
                'name': name,
                'is_member': True,
                'member_company': company.id,
                'member_number': f'M{i + 1:07d}',
                'member_mobile': (rnd_i.choice(MOBILE_PREFIXES)
                    + f'{(i * 7919 + 1234) % 100000000:08d}'),
                'birth_date': dt.date(rnd_i.randint(1960, 2005),
                    rnd_i.randint(1, 12), rnd_i.randint(1, 28)),
                'gender': rnd_i.choice(['female', 'female', 'male']),
                'join_date': today - dt.timedelta(
                    days=rnd_i.randint(0, 1000)),
                'member_shop': shop.id,
                'member_tier': tiers[rnd_i.choice(codes)].id,
                'consent_sms': rnd_i.random() < 0.7,
                'consent_email': rnd_i.random() < 0.4,
                'member_cards': [('create', [{
                                'number': f'8800{i + 1:08d}',
                                'medium': media[i % len(media)],
                                'named': True,
                                }])],
                })
        if len(batch) == 200:
            Party._proxy.create(batch, context)
            batch = []
    if batch:
        Party._proxy.create(batch, context)
    log(f'members created in {time.monotonic() - start:.1f}s')


def setup_sales(n_sales, rnd):
    """A few days of till receipts, paid and posted through Tryton's own
    POS flow, so that lists and reports are not empty"""
    from proteus import Model
    Sale = Model.get('sale.point.sale')
    POS = Model.get('sale.point')
    Method = Model.get('sale.point.payment.method')
    Product = Model.get('product.product')
    Party = Model.get('party.party')
    if not n_sales or Sale.find([], limit=1):
        return
    log(f'{n_sales} POS sales')
    pos, = POS.find([], limit=1)
    methods = Method.find([])
    products = Product.find([('code', 'like', 'HY-%')])
    members = Party.find([('is_member', '=', True)], limit=50)
    for i in range(n_sales):
        sale = Sale(point=pos)
        if i % 3 and members:
            sale.member = rnd.choice(members)
        for product in rnd.sample(products, rnd.randint(1, 4)):
            line = sale.lines.new()
            line.product = product
            line.quantity = rnd.randint(1, 2)
        sale.save()
        pay = sale.click('pay')
        pay.form.method = methods[i % len(methods)]
        pay.execute('pay')
        if i % 5:
            sale.click('post')


def setup_users():
    from proteus import Model
    User = Model.get('res.user')
    Group = Model.get('res.group')
    ModelData = Model.get('ir.model.data')
    Lang = Model.get('ir.lang')
    langs = {lang.code: lang for lang in Lang.find(
            [('code', 'in', ['zh_CN', 'en'])])}
    admin, = User.find([('login', '=', 'admin')])
    if 'zh_CN' in langs and admin.language != langs['zh_CN']:
        admin.language = langs['zh_CN']
        admin.save()
    for login, name, lang, groups in USERS:
        if User.find([('login', '=', login)]):
            continue
        log(f'user {login}')
        user = User(login=login, name=name, password=PASSWORD)
        user.language = langs.get(lang)
        for xml_id in groups:
            group = Group(ModelData.get_id('retail_member', xml_id, {}))
            user.groups.append(group)
        # back-office basics every role needs to use the POS and sales
        for module, xml_id in [('sale_point', 'group_sale_point'),
                ('sale', 'group_sale')]:
            try:
                user.groups.append(Group(
                        ModelData.get_id(module, xml_id, {})))
            except Exception:
                pass
        user.save()


def seed_areas(ctx):
    """Each business area (wallet, count cards, coupons, POS...) keeps its
    demo data in data/demo_<area>.py with a function seed(ctx); they run in
    name order, each idempotent, and only when its module is activated."""
    import importlib.util

    from proteus import Model
    Module = Model.get('ir.module')
    activated = {m.name for m in Module.find([('state', '=', 'activated')])}
    folder = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(os.listdir(folder)):
        if not (name.startswith('demo_') and name.endswith('.py')):
            continue
        spec = importlib.util.spec_from_file_location(
            name[:-3], os.path.join(folder, name))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        needs = getattr(module, 'MODULES', ())
        if set(needs) <= activated:
            module.seed(ctx)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('database')
    parser.add_argument('--config', default=os.path.join(ROOT, 'trytond.conf'))
    parser.add_argument('--members', type=int, default=1000)
    parser.add_argument('--products', type=int, default=200)
    parser.add_argument('--sales', type=int, default=20)
    args = parser.parse_args()

    from proteus import config as pconfig
    config = pconfig.set_trytond(args.database, config_file=args.config)
    # Tryton's set-up helpers find records by their English names
    config._context['language'] = 'en'
    rnd = random.Random(20261123)
    start = time.monotonic()
    company = setup_company(config)
    accounts = setup_accounting(company)
    tax = setup_tax(company, accounts)
    setup_products(accounts, tax, args.products, rnd)
    shop = setup_shop(company, accounts)
    tiers = setup_tiers()
    setup_members(company, shop, tiers, args.members, rnd)
    setup_users()
    setup_sales(args.sales, rnd)
    seed_areas(dict(config=config, company=company, accounts=accounts,
            tax=tax, shop=shop, tiers=tiers, rnd=rnd))
    log(f'demo data ready in {time.monotonic() - start:.1f}s')


if __name__ == '__main__':
    sys.exit(main())
