"""Demo data of member notifications (会员通知): a fake SMS and a fake WeChat
provider (their messages land in *Notifications > Fake Provider Outbox*, no
message leaves the machine), the company's notification configuration
(quiet hours 21:00-09:00 for marketing, e-mail off: the demo has no SMTP
server), WeChat ids and consent on some members, a few members in English,
and one run of the birthday greeting task.

The default templates (zh_CN and en) come with the module.  The stored value
demo (demo_wallet.py, run after this one) tops members up through the real
API, so its top-ups produce the balance notices seen in the outbox.

Run by data/demo.py (seed_areas) when retail_notify is activated;
idempotent: every record is looked up before it is created.
"""

MODULES = ('retail_notify',)

SMS_PROVIDER = '演示短信 Demo SMS (fake)'
WECHAT_PROVIDER = '演示微信 Demo WeChat (fake)'
# members (by member number) who read English, and who follow the WeChat
# official account
ENGLISH = [f'M{i:07d}' for i in range(1, 6)]
WECHAT = [f'M{i:07d}' for i in range(1, 21)]


def log(msg):
    print(f'  notify: {msg}', flush=True)


def seed(ctx):
    import datetime as dt

    from proteus import Model
    Provider = Model.get('retail.notify.provider')
    Configuration = Model.get('retail.notify.configuration')
    Party = Model.get('party.party')
    Lang = Model.get('ir.lang')
    Cron = Model.get('ir.cron')
    company = ctx['company']

    providers = {}
    for name, channel in [(SMS_PROVIDER, 'sms'), (WECHAT_PROVIDER, 'wechat')]:
        found = Provider.find([('name', '=', name)], limit=1)
        if found:
            providers[channel] = found[0]
            continue
        log(f'provider {name}')
        provider = Provider(name=name, channel=channel, type='fake')
        provider.sender = '会员通 Huiyuan'
        provider.save()
        providers[channel] = provider

    if not Configuration.find([('company', '=', company.id)]):
        log('configuration: SMS and WeChat, quiet hours 21:00-09:00')
        config = Configuration(company=company)
        zh = Lang.find([('code', '=', 'zh_CN')], limit=1)
        if zh:
            config.language = zh[0]
        config.email = False
        config.sms_provider = providers['sms']
        config.wechat_provider = providers['wechat']
        config.quiet_start = dt.time(21)
        config.quiet_end = dt.time(9)
        config.quiet_scope = 'marketing'
        config.save()

    en, = Lang.find([('code', '=', 'en')], limit=1)
    to_save = []
    for member in Party.find([('member_number', 'in', ENGLISH + WECHAT)]):
        changed = False
        if member.member_number in ENGLISH and member.lang != en:
            member.lang = en
            changed = True
        if member.member_number in WECHAT and not member.wechat_id:
            member.wechat_id = f'oDemo{member.member_number}'
            member.consent_wechat = True
            changed = True
        if changed:
            to_save.append(member)
    if to_save:
        log(f'{len(to_save)} members with WeChat ids or English')
        Party.save(to_save)

    cron, = Cron.find([
            ('method', '=', 'retail.notify.message|birthday_cron')], limit=1)
    cron.click('run_once')
