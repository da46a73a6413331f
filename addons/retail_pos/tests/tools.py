# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A complete till for tests and benchmarks, built through the Python API
in the current transaction: company with chart, fiscal year, 13 % VAT,
products, a point of sale with its own strict sequence, cash / bank card /
WeChat / stored value / points payment methods, the stored value and
points configuration, a member with card, tier, wallet (PIN 2468) and
points, an employee and a cashier (PIN 1234, badge B-<company id>)."""
import datetime as dt
from decimal import Decimal

from trytond.pool import Pool
from trytond.transaction import Transaction

MEMBER_PIN = '2468'
CASHIER_PIN = '1234'


def create_till(company, name, journal, storage, customer):
    pool = Pool()
    POS = pool.get('sale.point')
    Sequence = pool.get('ir.sequence.strict')
    SequenceType = pool.get('ir.sequence.type')
    sequence_type, = SequenceType.search([('name', '=', 'POS')], limit=1)
    sequence = Sequence(name=name, company=company,
        sequence_type=sequence_type, prefix=name[-2:] + '-')
    sequence.save()
    point = POS(name=name, company=company, journal=journal,
        sequence=sequence, storage_location=storage,
        customer_location=customer, tax_included=True)
    point.save()
    return point


def setup_pos(n_products=6, n_tills=1, members=1):
    from trytond.modules.account.tests.test_module import create_chart, get_fiscalyear
    from trytond.modules.company.tests import create_company, create_employee
    pool = Pool()
    Account = pool.get('account.account')
    Journal = pool.get('account.journal')
    Tax = pool.get('account.tax')
    Category = pool.get('product.category')
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    Location = pool.get('stock.location')
    Method = pool.get('sale.point.payment.method')
    Shop = pool.get('retail.shop')
    Tier = pool.get('retail.member.tier')
    Party = pool.get('party.party')
    Card = pool.get('retail.member.card')
    Wallet = pool.get('retail.wallet')
    WalletConfig = pool.get('retail.wallet.configuration')
    PointsValue = pool.get('retail.points.configuration.company')
    Cashier = pool.get('retail.pos.cashier')
    User = pool.get('res.user')
    TransferType = pool.get('sale.point.cash.transfer.type')
    FiscalYear = pool.get('account.fiscalyear')

    company = create_company()
    with Transaction().set_context(company=company.id), \
            Transaction().set_user(0):
        create_chart(company, tax=True)
        fiscalyear = get_fiscalyear(company)
        fiscalyear.save()
        FiscalYear.create_period([fiscalyear])
        employee = create_employee(company, "Li Lei")

        def account(**clause):
            domain = [('company', '=', company.id), ('closed', '!=', True)]
            domain += [(k.replace('__', '.'), '=', v)
                for k, v in clause.items()]
            return Account.search(domain, limit=1)[0]
        revenue = account(type__revenue=True)
        expense = account(type__expense=True)
        payable = account(type__payable=True)
        cash_account = account(code='1.1.1')

        def duplicate(template, name, **values):
            new, = Account.copy([template], default=dict(
                    name=name, code=None, **values))
            return new
        liability = duplicate(payable, "Stored Value",
            party_required=False, reconcile=False)
        bonus = duplicate(expense, "Stored Value Bonus")
        closing_income = duplicate(revenue, "Closing Income")
        clearing = duplicate(cash_account, "Stored Value Clearing")
        card_account = duplicate(cash_account, "Bank Card")
        wechat_account = duplicate(cash_account, "WeChat")
        points_account = duplicate(expense, "Points Redeemed")

        tax, = Tax.search([('company', '=', company.id)], limit=1)
        tax.rate = Decimal('0.13')
        tax.save()
        category = Category(name="Goods", accounting=True,
            account_revenue=revenue, customer_taxes=[tax])
        category.save()
        unit, = Uom.search([('name', '=', 'Unit')], limit=1)
        templates = []
        for i in range(n_products):
            template = Template(name="Product %02d" % i, default_uom=unit,
                sale_uom=unit, type='goods' if i % 3 else 'service',
                salable=True, account_category=category,
                list_price=Decimal('10') + i,
                code='P%02d-%s' % (i, company.id),
                products=[{'identifiers': [{
                                'type': 'ean',
                                'code': '69%010d' % (i + 1) + str(
                                    _ean_check('69%010d' % (i + 1))),
                                }]}])
            templates.append(template)
        Template.save(templates)
        for template in templates:
            template.gross_price = (template.list_price * Decimal('1.13')
                ).quantize(Decimal('0.01'))
        Template.save(templates)
        products = [t.products[0] for t in templates]

        journal, = Journal.search([('type', '=', 'revenue')], limit=1)
        cash_journal, = Journal.search([('type', '=', 'cash')], limit=1)
        storage, = Location.search([('code', '=', 'STO')], limit=1)
        customer, = Location.search([('code', '=', 'CUS')], limit=1)
        shop = Shop(name="Main Street", code="MS", company=company)
        shop.save()
        points_ = []
        for i in range(n_tills):
            point = create_till(company, "Till %02d" % (i + 1), journal,
                storage, customer)
            point.shop = shop
            point.save()
            points_.append(point)

        methods = {}
        for key, name, acc, values in [
                ('cash', "Cash", cash_account, {'cash': True}),
                ('card', "Bank Card", card_account,
                    {'retail_pos_kind': 'card'}),
                ('wechat', "WeChat", wechat_account,
                    {'retail_pos_kind': 'wechat'}),
                ('wallet', "Stored Value", clearing,
                    {'retail_wallet': True}),
                ('points', "Points", points_account,
                    {'retail_points': True}),
                ]:
            method = Method(name=name, account=acc, company=company,
                **values)
            method.save()
            methods[key] = method
        transfer_type = TransferType(name="Stored value cash",
            journal=cash_journal, account=liability, company=company)
        transfer_type.save()
        WalletConfig.create([{
                    'company': company.id,
                    'liability_account': liability.id,
                    'clearing_account': clearing.id,
                    'bonus_account': bonus.id,
                    'closing_income_account': closing_income.id,
                    'journal': cash_journal.id,
                    'cash_transfer_type': transfer_type.id,
                    }])
        PointsValue.create([{
                    'company': company.id,
                    'earn_rate': Decimal(1),
                    'redeem_value': Decimal('0.01'),
                    'redeem_minimum': 0,
                    'redeem_max_share': Decimal('0.5'),
                    'lock_days': 0,
                    }])
        pool.get('retail.points.configuration')._settings_cache.clear()

        tier = Tier(name="Gold", code='GOLD', rank=1, company=company,
            discount=Decimal('0.05'), points_multiplier=Decimal(1))
        tier.save()
        created = []
        for i in range(members):
            member = Party(name="Member %d" % i, is_member=True,
                member_company=company, member_tier=tier,
                member_number='M%05d' % i,
                member_mobile='+861380000%04d' % i)
            member.save()
            card = Card(number='8800%06d' % i, party=member,
                company=company)
            card.save()
            wallet = Wallet.find(member, company, create=True)
            wallet.post_line('topup', principal=Decimal('500'))
            wallet.change_pin(MEMBER_PIN)
            created.append((member, card, wallet))

        login = 'till_cashier'
        if User.search([('login', '=', login)]):
            login += str(company.id)
        user = User(login=login, name="Han Meimei",
            companies=[company], company=company, employee=employee,
            employees=[employee])
        user.save()
        cashier = Cashier(user=user, company=company,
            badge='B-%04d' % company.id,
            default_point=points_[0])
        cashier.save()
        Cashier.write([cashier], {'new_pin': CASHIER_PIN})
    return {
        'company': company, 'point': points_[0], 'points': points_,
        'products': products, 'methods': methods, 'tier': tier,
        'member': created[0][0], 'card': created[0][1],
        'wallet': created[0][2], 'members': created,
        'cashier': cashier, 'employee': employee, 'user': user,
        'liability': liability, 'tax': tax,
        }


def _ean_check(digits):
    total = sum(int(d) * (3 if i % 2 else 1)
        for i, d in enumerate(digits))
    return (10 - total % 10) % 10


def context_of(env, language='en'):
    return {
        'company': env['company'].id,
        'companies': [env['company'].id],
        'language': language,
        'employee': env['employee'].id,
        }


def give_points(env, member, points):
    Account = Pool().get('retail.points.account')
    account = Account.get_account(env['company'], member)
    account.credit('adjust', points, dt.date.today(),
        reason="test", origin=None)
