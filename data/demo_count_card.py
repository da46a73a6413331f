"""Demo data of count cards (计次卡) and period cards (期限卡): the deferred
revenue and breakage accounts, the payment method 计次卡 Count card, three
templates on the demo service products (洗剪吹10次卡, 按摩5次+足疗5次,
月卡 with at most one haircut a day), the service products that sell them,
and cards for 6 demo members sold through real POS sales (the count card
ledger, the cash session and the sales are real); two members have already
used some haircuts.

Run by data/demo.py (seed_areas) when retail_count_card is activated;
idempotent: every record is looked up before it is created, and a member
who already has count cards is skipped.
"""
from decimal import Decimal

MODULES = ('retail_count_card',)

MEMBERS = 6
METHOD_NAME = '计次卡 Count card'
ACCOUNTS = [
    # key, code, name, model account, changes
    ('deferred', '2203.2', '预收计次卡款 Count card deferred revenue',
        'payable', {'party_required': False, 'reconcile': False}),
    ('breakage', '6051.8', '计次卡逾期收入 Count card breakage', 'revenue', {}),
    ]
TEMPLATES = [
    # name, kind, daily max, card product code, price,
    # services (service product code, uses, validity days)
    ('洗剪吹10次卡 10 haircuts', 'count', None, 'HYCC-001', 480,
        [('HY-HAIR-001', 10, 365)]),
    ('按摩5次+足疗5次 5 massages + 5 foot baths', 'count', None, 'HYCC-002',
        1800, [('HY-SPA-001', 5, 180), ('HY-SPA-002', 5, 180)]),
    ('月卡 Month card (1 haircut a day)', 'period', 1, 'HYCC-003', 399,
        [('HY-HAIR-001', None, 30)]),
    ]


def log(msg):
    print(f'  count card: {msg}', flush=True)


def seed(ctx):
    accounts = seed_accounts(ctx['accounts'])
    method = seed_method(accounts)
    products = seed_templates(accounts)
    if products:
        seed_cards(products, method)


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


def seed_method(accounts):
    from proteus import Model
    Method = Model.get('sale.point.payment.method')
    method = Method.find([('count_card', '=', True)], limit=1)
    if method:
        return method[0]
    log(f'payment method {METHOD_NAME}')
    method = Method(name=METHOD_NAME, account=accounts['deferred'],
        count_card=True)
    method.save()
    return method


def seed_templates(accounts):
    "Return [(template, card product)] of the templates seeded"
    from proteus import Model
    CardTemplate = Model.get('retail.count.card.template')
    Journal = Model.get('account.journal')
    Product = Model.get('product.product')
    ProductTemplate = Model.get('product.template')
    journal, = Journal.find([('type', '=', 'general')], limit=1)
    result = []
    for name, kind, daily_max, code, price, services in TEMPLATES:
        products = {}
        for service_code, _, _ in services:
            found = Product.find([('code', '=', service_code)], limit=1)
            if not found:
                log(f'no demo service {service_code}: {name} skipped')
                break
            products[service_code] = found[0]
        else:
            template = CardTemplate.find([('name', '=', name)], limit=1)
            if template:
                template, = template
            else:
                log(f'template {name}')
                template = CardTemplate(name=name, kind=kind,
                    daily_max=daily_max)
                template.deferred_account = accounts['deferred']
                template.breakage_account = accounts['breakage']
                template.journal = journal
                for service_code, uses, days in services:
                    template.services.new(product=products[service_code],
                        uses=uses, validity_days=days)
                template.save()
            card_product = Product.find([('code', '=', code)], limit=1)
            if card_product:
                card_product, = card_product
            else:
                service = products[services[0][0]]
                tpl = ProductTemplate(name=name.split(' ', 1)[0])
                tpl.code = code
                tpl.type = 'service'
                tpl.default_uom = service.default_uom
                tpl.salable = True
                tpl.account_category = service.template.account_category
                tpl.gross_price = Decimal(price)
                tpl.list_price = Decimal(price)
                tpl.count_card_template = template
                tpl.save()
                card_product, = tpl.products
            result.append((template, card_product, products))
    return result


def seed_cards(products, method):
    from proteus import Model
    Card = Model.get('retail.count.card')
    Party = Model.get('party.party')
    POS = Model.get('sale.point')
    Method = Model.get('sale.point.payment.method')
    Sale = Model.get('sale.point.sale')
    pos, = POS.find([], limit=1)
    cash, = Method.find([('cash', '=', True)], limit=1)
    members = Party.find([('is_member', '=', True)],
        order=[('member_number', 'ASC')], limit=MEMBERS)
    context = Sale._config.context
    sold = used = 0
    for i, member in enumerate(members):
        if Card.find([('party', '=', member.id)], limit=1):
            continue
        template, card_product, services = products[i % len(products)]
        sale = Sale(point=pos, member=member)
        line = sale.lines.new()
        line.product = card_product
        line.quantity = 1
        payment = sale.payments.new(method=cash)
        payment.amount = card_product.gross_price_used
        sale.save()
        Sale.process([sale.id], context)
        sold += 1
        if template.kind == 'count' and i % 3 == 0:
            card, = Card.find([('party', '=', member.id)], limit=1)
            product = card.services[0].product
            use = Sale(point=pos, member=member)
            line = use.lines.new()
            line.product = product
            line.quantity = 2
            line.count_card = card
            use.save()
            Sale.apply_count_cards([use.id], context)
            Sale.process([use.id], context)
            used += 1
    if sold:
        log(f'{sold} cards sold at the POS, {used} used twice')
