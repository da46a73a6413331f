"""Demo data of coupons and promotions (优惠券与促销): 满300减30 / 满500减60 on
clothing, 8折 cosmetics on member day (Wednesday), the tier discount, a 20元
new-member coupon, a birthday coupon, a spend-threshold coupon and a batch of
come-back coupons issued to the Diamond members.

Run by data/demo.py (seed_areas) when retail_coupon is activated;
idempotent: every record is looked up before it is created.
"""
from decimal import Decimal

MODULES = ('retail_coupon',)

SPEND = '满300减30 / 满500减60 服装 Clothing'
MEMBER_DAY = '会员日化妆品8折 Member day cosmetics -20%'
TIER = '会员等级折扣 Tier discount'
TEMPLATES = [
    # name, threshold, discount, valid days, per member limit
    ('新人20元券 Welcome 20', '100', '20', 30, 1),
    ('生日50元券 Birthday 50', '200', '50', 30, 0),
    ('复购10元券 Come-back 10', '50', '10', 60, 0),
    ]
CAMPAIGNS = [
    # name, kind, template index, threshold
    ('新会员礼 New member gift', 'new_member', 0, None),
    ('生日礼 Birthday gift', 'birthday', 1, None),
    ('满800送复购券 Spend 800 get 10', 'spend', 2, '800'),
    ('钻石会员专享 Diamond members', 'batch', 2, None),
    ]


def log(msg):
    print(f'  coupon: {msg}', flush=True)


def find(Model_, domain):
    found = Model_.find(domain, limit=1)
    return found[0] if found else None


def seed(ctx):
    seed_promotions()
    templates = seed_templates()
    seed_campaigns(templates, ctx['tiers'])


def category(en):
    from proteus import Model
    Category = Model.get('product.category')
    return find(Category, [('name', 'like', f'% {en}')])


def seed_promotions():
    from proteus import Model
    Promotion = Model.get('sale.promotion')
    Category = Model.get('product.category')
    if not find(Promotion, [('name', '=', SPEND)]):
        log(SPEND)
        promotion = Promotion(name=SPEND, retail_kind='spend')
        promotion.retail_description = '服装满300减30，满500减60'
        clothing = category('Clothing')
        if clothing:
            promotion.categories.append(Category(clothing.id))
        for threshold, discount in [('300', '30'), ('500', '60')]:
            step = promotion.retail_steps.new()
            step.threshold = Decimal(threshold)
            step.discount = Decimal(discount)
        promotion.save()
    if not find(Promotion, [('name', '=', MEMBER_DAY)]):
        log(MEMBER_DAY)
        promotion = Promotion(name=MEMBER_DAY)
        promotion.retail_description = '每周三会员日，化妆品8折'
        cosmetics = category('Cosmetics')
        if cosmetics:
            promotion.categories.append(Category(cosmetics.id))
        promotion.formula = 'unit_price * 0.8'
        promotion.retail_members_only = True
        promotion.retail_weekdays = ['2']
        promotion.retail_priority = 10
        promotion.save()
    if not find(Promotion, [('name', '=', TIER)]):
        log(TIER)
        promotion = Promotion(name=TIER, retail_kind='tier')
        promotion.retail_description = '按会员等级折扣'
        promotion.formula = 'unit_price * (1 - tier_discount)'
        promotion.retail_members_only = True
        promotion.save()


def seed_templates():
    from proteus import Model
    Promotion = Model.get('sale.promotion')
    Template = Model.get('sale.promotion.coupon')
    templates = []
    for name, threshold, discount, days, limit in TEMPLATES:
        template = find(Template, [('retail_name', '=', name)])
        if not template:
            log(f'coupon template {name}')
            promotion = Promotion(name=name, retail_kind='spend')
            promotion.retail_description = (
                f'满{threshold}减{discount}，领取后{days}天内有效')
            step = promotion.retail_steps.new()
            step.threshold = Decimal(threshold)
            step.discount = Decimal(discount)
            promotion.save()
            template = Template(promotion=promotion)
            template.retail_name = name
            template.number_of_use = 1
            template.retail_valid_days = days
            template.retail_per_member_limit = limit
            template.save()
        templates.append(template)
    return templates


def seed_campaigns(templates, tiers):
    from proteus import Model
    Campaign = Model.get('retail.coupon.campaign')
    Tier = Model.get('retail.member.tier')
    for name, kind, index, threshold in CAMPAIGNS:
        campaign = find(Campaign, [('name', '=', name)])
        if not campaign:
            log(f'campaign {name}')
            campaign = Campaign(name=name, kind=kind,
                template=templates[index])
            if threshold:
                campaign.threshold = Decimal(threshold)
            if kind == 'batch' and 'DIAMOND' in tiers:
                campaign.tiers.append(Tier(tiers['DIAMOND'].id))
            campaign.save()
        if kind == 'batch' and not campaign.last_run:
            campaign.click('issue_batch')
            campaign.reload()
            log(f'{campaign.last_count} coupons issued by {name}')
