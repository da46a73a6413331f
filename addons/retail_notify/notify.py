# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
import json
import logging
import string
from decimal import Decimal
from email.message import EmailMessage
from email.utils import formataddr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sql.functions import Extract
from sql.operators import Equal

import trytond.config as config
from trytond.i18n import gettext
from trytond.model import (
    Check,
    DeactivableMixin,
    Exclude,
    Index,
    ModelSQL,
    ModelView,
    Unique,
    fields,
)
from trytond.modules.retail_member.tools import format_money
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.sendmail import send_message
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .exceptions import GatewayError, MessageAccessError, TemplateError
from .gateway import get_gateway

logger = logging.getLogger(__name__)

UTC = dt.timezone.utc

EVENTS = [
    ('birthday', "Birthday Greeting"),
    ('wallet_topup', "Stored Value Top-up"),
    ('wallet_payment', "Stored Value Payment"),
    ('wallet_change', "Stored Value Change"),
    ('points_expiry', "Points Expiry Warning"),
    ('tier_upgrade', "Tier Upgrade"),
    ('count_card_use', "Count Card Use"),
    ('count_card_expiry', "Count Card Expiry Warning"),
    ('coupon_expiry', "Coupon Expiry Warning"),
    ]
# Marketing messages need the member's marketing consent for the channel;
# every other event is a service notice that follows the notice settings.
MARKETING = {'birthday'}
COMMON_PLACEHOLDERS = {'member', 'company', 'date'}
PLACEHOLDERS = {
    'birthday': {'coupon'},
    'wallet_topup': {'amount', 'bonus', 'balance'},
    'wallet_payment': {'amount', 'balance'},
    'wallet_change': {'amount', 'balance', 'reason'},
    'points_expiry': {'points', 'expiry_date'},
    'tier_upgrade': {'tier', 'old_tier'},
    'count_card_use': {'card', 'service', 'uses', 'uses_left'},
    'count_card_expiry': {'card', 'expiry_date', 'uses_left'},
    'coupon_expiry': {'coupon', 'expiry_date'},
    }
CHANNELS = [
    ('email', "E-mail"),
    ('sms', "SMS"),
    ('wechat', "WeChat"),
    ]
STATES = [
    ('queued', "Queued"),
    ('sent', "Sent"),
    ('failed', "Failed"),
    ('skipped', "Skipped"),
    ]
SKIP_REASONS = [
    (None, ""),
    ('consent', "No Marketing Consent"),
    ('opted_out', "Notices Turned Off"),
    ('no_recipient', "No Address"),
    ]


def utcnow():
    return dt.datetime.now(UTC).replace(tzinfo=None)


class _SafeFormatter(string.Formatter):
    """str.format without attribute or index access, conversions or format
    specifications: a template can only insert the given values"""

    def get_field(self, field_name, args, kwargs):
        if not field_name.isidentifier():
            raise KeyError(field_name)
        return kwargs[field_name], field_name

    def convert_field(self, value, conversion):
        if conversion:
            raise ValueError(conversion)
        return value

    def format_field(self, value, format_spec):
        if format_spec:
            raise ValueError(format_spec)
        return str(value)


_formatter = _SafeFormatter()


def render(text, params):
    return _formatter.vformat(text or '', (), params)


def placeholders(text):
    "The names used by a template text (raise ValueError when malformed)"
    names = set()
    for _, name, spec, conversion in _formatter.parse(text or ''):
        if name is None:
            continue
        if spec or conversion or not name.isidentifier():
            raise ValueError(name)
        names.add(name)
    return names


class Configuration(ModelSQL, ModelView):
    "Notification Configuration (one per company)"
    __name__ = 'retail.notify.configuration'

    company = fields.Many2One(
        'company.company', "Company", required=True, ondelete='CASCADE')
    language = fields.Many2One(
        'ir.lang', "Default Language", required=True,
        help="For members without a language.")
    email = fields.Boolean(
        "E-mail", help="Send e-mails through the SMTP server of the "
        "[email] uri setting of trytond.conf.")
    email_from = fields.Char(
        "E-mail From",
        states={'invisible': ~Eval('email', False)},
        help="Empty: the [email] from setting.")
    sms_provider = fields.Many2One(
        'retail.notify.provider', "SMS Provider", ondelete='RESTRICT',
        domain=[
            ('channel', '=', 'sms'),
            ('company', 'in', [Eval('company', -1), None]),
            ])
    wechat_provider = fields.Many2One(
        'retail.notify.provider', "WeChat Provider", ondelete='RESTRICT',
        domain=[
            ('channel', '=', 'wechat'),
            ('company', 'in', [Eval('company', -1), None]),
            ])
    quiet_start = fields.Time(
        "Quiet From", help="Local time (company timezone) from which "
        "messages are held. Empty: no quiet hours.")
    quiet_end = fields.Time(
        "Quiet Until", help="Local time until which messages are held.")
    quiet_scope = fields.Selection([
            ('marketing', "Marketing Messages"),
            ('all', "All Messages"),
            ], "Quiet Hours Apply To", required=True)
    max_attempts = fields.Integer(
        "Attempts", required=True, domain=[('max_attempts', '>=', 1)],
        help="A message is failed after this many attempts.")
    coupon_warning_days = fields.Integer(
        "Coupon Warning Days", required=True,
        domain=[('coupon_warning_days', '>=', 0)],
        help="Warn members of coupons whose validity ends within this many "
        "days (0: never; needs the coupon module).")
    retry_delay = fields.Integer(
        "Retry Delay", required=True, domain=[('retry_delay', '>=', 0)],
        help="Minutes before the first retry; doubled at each attempt.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('company_unique', Unique(t, t.company),
                'retail_notify.msg_configuration_company_unique'),
            ]

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_language(cls):
        Lang = Pool().get('ir.lang')
        langs = Lang.search([('code', '=', 'zh_CN')], limit=1)
        if langs:
            return langs[0].id
        return Lang.get().id

    @classmethod
    def default_email(cls):
        return False

    @classmethod
    def default_quiet_scope(cls):
        return 'marketing'

    @classmethod
    def default_max_attempts(cls):
        return 5

    @classmethod
    def default_retry_delay(cls):
        return 5

    @classmethod
    def default_coupon_warning_days(cls):
        return 3

    def get_rec_name(self, name):
        return self.company.rec_name

    @classmethod
    def get_for(cls, company):
        "The configuration of company or None"
        with without_check_access():
            configs = cls.search([('company', '=', int(company))], limit=1)
        return configs[0] if configs else None

    def channels(self):
        result = []
        if self.email:
            result.append('email')
        if self.sms_provider:
            result.append('sms')
        if self.wechat_provider:
            result.append('wechat')
        return result

    def provider(self, channel):
        return {
            'sms': self.sms_provider,
            'wechat': self.wechat_provider,
            }.get(channel)

    def tzinfo(self):
        try:
            return ZoneInfo(self.company.timezone or 'UTC')
        except (ZoneInfoNotFoundError, ValueError):
            return UTC

    def local_now(self, now):
        return now.replace(tzinfo=UTC).astimezone(self.tzinfo())

    def hold_until(self, now, marketing=True):
        """The UTC time (naive) at which the quiet period that covers now
        ends, or None when now is not quiet (or quiet hours do not apply)"""
        start, end = self.quiet_start, self.quiet_end
        if start is None or end is None or start == end:
            return None
        if not marketing and self.quiet_scope != 'all':
            return None
        local = self.local_now(now)
        time = local.time().replace(tzinfo=None)
        if start < end:
            quiet = start <= time < end
        else:
            quiet = time >= start or time < end
        if not quiet:
            return None
        until = local.replace(
            hour=end.hour, minute=end.minute, second=end.second,
            microsecond=0)
        if until <= local:
            until = (local + dt.timedelta(days=1)).replace(
                hour=end.hour, minute=end.minute, second=end.second,
                microsecond=0)
        return until.astimezone(UTC).replace(tzinfo=None)

    def retry_at(self, now, attempts):
        delay = (self.retry_delay or 0) * 2 ** max(attempts - 1, 0)
        return now + dt.timedelta(minutes=delay)


class Provider(DeactivableMixin, ModelSQL, ModelView):
    "SMS / WeChat Provider"
    __name__ = 'retail.notify.provider'

    name = fields.Char("Name", required=True)
    company = fields.Many2One(
        'company.company', "Company", ondelete='CASCADE',
        help="Empty: every company.")
    channel = fields.Selection([
            ('sms', "SMS"),
            ('wechat', "WeChat"),
            ], "Channel", required=True)
    type = fields.Selection([
            ('fake', "Local Fake (stores messages)"),
            ('http', "HTTP JSON"),
            ], "Type", required=True)
    url = fields.Char(
        "URL", states={
            'invisible': Eval('type') != 'http',
            'required': Eval('type') == 'http',
            })
    api_key = fields.Char(
        "API Key", states={'invisible': Eval('type') != 'http'},
        help="Sent as a bearer token.")
    sender = fields.Char(
        "Sender", help="Sender id or SMS signature (签名) passed to the "
        "provider.")
    fake_fail = fields.Boolean(
        "Simulate Failure", states={'invisible': Eval('type') != 'fake'},
        help="The fake provider refuses every message (to test retries).")

    @classmethod
    def default_type(cls):
        return 'fake'

    @classmethod
    def default_channel(cls):
        return 'sms'

    @classmethod
    def default_fake_fail(cls):
        return False

    def send(self, recipient, text, template_code=None, params=None):
        return get_gateway(self).send(
            recipient, text, template_code=template_code, params=params)


class Template(DeactivableMixin, ModelSQL, ModelView):
    "Notification Template"
    __name__ = 'retail.notify.template'

    company = fields.Many2One(
        'company.company', "Company", ondelete='CASCADE',
        help="Empty: the default of every company; a template of the "
        "company replaces it.")
    event = fields.Selection(EVENTS, "Event", required=True)
    channel = fields.Selection(
        CHANNELS, "Channel", required=True,
        help="WeChat uses the SMS template when it has none of its own.")
    event_string = event.translated('event')
    channel_string = channel.translated('channel')
    language = fields.Char(
        "Language", required=True, strip=True,
        help="The language code (zh_CN, en) of the members who get it.")
    subject = fields.Char(
        "Subject", states={
            'invisible': Eval('channel') != 'email',
            'required': Eval('channel') == 'email',
            })
    body = fields.Text("Body", required=True)
    provider_template = fields.Char(
        "Provider Template Code",
        states={'invisible': Eval('channel') == 'email'},
        help="The template id registered with the SMS / WeChat provider.")
    placeholders = fields.Function(
        fields.Char("Placeholders"), 'on_change_with_placeholders')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('company_unique',
                Exclude(t, (t.company, Equal), (t.event, Equal),
                    (t.channel, Equal), (t.language, Equal),
                    where=(t.company != None) & (t.active == True)),  # noqa
                'retail_notify.msg_template_unique'),
            ('default_unique',
                Exclude(t, (t.event, Equal),
                    (t.channel, Equal), (t.language, Equal),
                    where=(t.company == None) & (t.active == True)),  # noqa
                'retail_notify.msg_template_unique'),
            ]
        cls._order = [
            ('event', 'ASC'), ('channel', 'ASC'), ('language', 'ASC'),
            ('id', 'ASC')]

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @fields.depends('event')
    def on_change_with_placeholders(self, name=None):
        if not self.event:
            return ''
        names = COMMON_PLACEHOLDERS | PLACEHOLDERS.get(self.event, set())
        return ' '.join('{%s}' % n for n in sorted(names))

    def get_rec_name(self, name):
        return '%s / %s / %s' % (
            self.event_string, self.channel_string, self.language)

    @classmethod
    def validate_fields(cls, templates, field_names):
        super().validate_fields(templates, field_names)
        if field_names & {'subject', 'body', 'event'}:
            for template in templates:
                template.check_text()

    def check_text(self):
        allowed = COMMON_PLACEHOLDERS | PLACEHOLDERS.get(self.event, set())
        for text in [self.subject, self.body]:
            try:
                names = placeholders(text)
            except ValueError as e:
                raise TemplateError(gettext(
                        'retail_notify.msg_template_syntax',
                        template=self.rec_name, error=str(e))) from e
            if unknown := names - allowed:
                raise TemplateError(gettext(
                        'retail_notify.msg_template_placeholder',
                        template=self.rec_name,
                        names=', '.join(sorted(unknown)),
                        allowed=', '.join(sorted(allowed))))

    @classmethod
    def find(cls, company, event, channel, languages):
        """The template for the first language that has one: the company's
        own before the default"""
        channels = [channel]
        if channel == 'wechat':
            channels.append('sms')
        with without_check_access():
            templates = cls.search([
                    ('company', 'in', [int(company), None]),
                    ('event', '=', event),
                    ('channel', 'in', channels),
                    ('language', 'in', languages),
                    ])
        best = None
        for template in templates:
            rank = (channels.index(template.channel),
                languages.index(template.language),
                template.company is None)
            if best is None or rank < best[0]:
                best = (rank, template)
        return best[1] if best else None

    def render(self, params):
        return render(self.subject, params), render(self.body, params)


class Message(ModelSQL, ModelView):
    "Member Notification"
    __name__ = 'retail.notify.message'

    _readonly = {'readonly': True}

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    member = fields.Many2One(
        'party.party', "Member", required=True, readonly=True,
        ondelete='CASCADE',
        context={'company': Eval('company', -1)}, depends={'company'})
    event = fields.Selection(EVENTS, "Event", required=True, readonly=True)
    event_key = fields.Char(
        "Event Key", required=True, readonly=True,
        help="Identifies the event: one message per event, channel and "
        "member.")
    marketing = fields.Boolean("Marketing", readonly=True)
    origin = fields.Reference(
        "Origin", selection='get_origin', readonly=True)
    channel = fields.Selection(
        CHANNELS, "Channel", required=True, readonly=True)
    event_string = event.translated('event')
    channel_string = channel.translated('channel')
    recipient = fields.Char("Recipient", readonly=True)
    language = fields.Char("Language", readonly=True)
    template = fields.Many2One(
        'retail.notify.template', "Template", readonly=True,
        ondelete='SET NULL')
    subject = fields.Char("Subject", readonly=True)
    body = fields.Text("Body", readonly=True)
    params = fields.Text("Parameters", readonly=True)
    state = fields.Selection(STATES, "State", required=True, readonly=True)
    skip_reason = fields.Selection(
        SKIP_REASONS, "Skip Reason", readonly=True, sort=False)
    attempts = fields.Integer("Attempts", required=True, readonly=True)
    last_error = fields.Text("Last Error", readonly=True)
    scheduled_at = fields.Timestamp(
        "Scheduled At", readonly=True,
        help="Not sent before (quiet hours, retry back-off).")
    sent_at = fields.Timestamp("Sent At", readonly=True)
    provider_message_id = fields.Char("Provider Message ID", readonly=True)

    del _readonly

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('event_unique', Unique(t, t.event_key, t.channel, t.member),
                'retail_notify.msg_message_event_unique'),
            ('attempts_positive', Check(t, t.attempts >= 0),
                'retail_notify.msg_message_attempts_positive'),
            ]
        cls._sql_indexes.update({
                Index(t,
                    (t.state, Index.Equality(cardinality='low')),
                    (t.scheduled_at, Index.Range(nulls_first=True)),
                    where=t.state == 'queued'),
                Index(t, (t.member, Index.Range())),
                })
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]
        cls._buttons.update(
            retry={
                'invisible': Eval('state') != 'failed',
                'depends': ['state'],
                },
            )

    @classmethod
    def default_state(cls):
        return 'queued'

    @classmethod
    def default_attempts(cls):
        return 0

    @classmethod
    def _get_origin(cls):
        return [
            'party.party',
            'retail.wallet.line',
            'retail.wallet.topup',
            'retail.points.expiry.warning',
            'retail.member.tier.history',
            ]

    @classmethod
    def get_origin(cls):
        IrModel = Pool().get('ir.model')
        get_name = IrModel.get_name
        return [(None, '')] + [(m, get_name(m)) for m in cls._get_origin()]

    def get_rec_name(self, name):
        return '%s / %s / %s' % (
            self.event_string, self.channel_string, self.member.rec_name)

    @classmethod
    def check_modification(cls, mode, messages, values=None, external=False):
        super().check_modification(
            mode, messages, values=values, external=external)
        if mode == 'delete' or (mode == 'write' and external):
            raise MessageAccessError(gettext(
                    'retail_notify.msg_message_readonly'))

    @staticmethod
    def _now():
        return utcnow()

    # Events -> messages ------------------------------------------------

    @classmethod
    def member_languages(cls, member, config):
        "The template languages to try for member, best first"
        languages = []
        lang = getattr(member, 'lang', None)
        for code in [lang.code if lang else None,
                config.language.code if config.language else None,
                'zh_CN', 'en']:
            if not code:
                continue
            for candidate in [code, code.split('_')[0]]:
                if candidate not in languages:
                    languages.append(candidate)
        return languages

    @classmethod
    def format_params(cls, values, language, company):
        "Format the event values as text in the language"
        pool = Pool()
        Lang = pool.get('ir.lang')
        lang = Lang.get(language)
        currency = company.currency
        params = {}
        for key, value in values.items():
            if callable(value):
                value = value(language)
            if value is None:
                value = ''
            elif isinstance(value, Decimal):
                value = format_money(lang, value, currency, grouping=True)
            elif isinstance(value, dt.date):
                value = lang.strftime(value)
            params[key] = str(value)
        return params

    @classmethod
    def get_recipient(cls, member, channel):
        if channel == 'email':
            return member.email or None
        elif channel == 'sms':
            return member.member_mobile or None
        elif channel == 'wechat':
            return member.wechat_id or None

    @classmethod
    def allowed(cls, member, channel, marketing):
        "Return the skip reason or None when the member may get it"
        if marketing:
            consent = {
                'email': member.consent_email,
                'sms': member.consent_sms,
                'wechat': member.consent_wechat,
                }[channel]
            return None if consent else 'consent'
        notice = {
            'email': member.notice_email,
            'sms': member.notice_sms,
            'wechat': member.notice_wechat,
            }[channel]
        return None if notice else 'opted_out'

    @classmethod
    def notify(cls, event, member, key, values=None, company=None,
            origin=None):
        """Create the messages of one event for member (one per configured
        channel with a template), queued for sending after commit.

        key identifies the event: a second call with the same key creates
        nothing (and the database refuses a duplicate).  Returns the
        messages created."""
        pool = Pool()
        Configuration = pool.get('retail.notify.configuration')
        Template = pool.get('retail.notify.template')
        Lang = pool.get('ir.lang')
        Date = pool.get('ir.date')
        assert event in dict(EVENTS), event
        with without_check_access():
            if not member or not member.is_member:
                return []
            company = company or member.member_company
            if not company:
                return []
            config = Configuration.get_for(company)
            if not config:
                return []
            channels = config.channels()
            if not channels:
                return []
            marketing = event in MARKETING
            existing = {m.channel for m in cls.search([
                        ('event_key', '=', key),
                        ('member', '=', member.id),
                        ])}
            languages = cls.member_languages(member, config)
            now = cls._now()
            hold = config.hold_until(now, marketing=marketing)
            with Transaction().set_context(company=company.id):
                today = Date.today()
            to_create = []
            for channel in channels:
                if channel in existing:
                    continue
                template = Template.find(company, event, channel, languages)
                if not template:
                    continue
                vals = {
                    'company': company.id,
                    'member': member.id,
                    'event': event,
                    'event_key': key,
                    'marketing': marketing,
                    'origin': str(origin) if origin else None,
                    'channel': channel,
                    'language': template.language,
                    'template': template.id,
                    }
                reason = cls.allowed(member, channel, marketing)
                recipient = cls.get_recipient(member, channel)
                if not reason and not recipient:
                    reason = 'no_recipient'
                if reason:
                    vals.update(state='skipped', skip_reason=reason)
                    to_create.append(vals)
                    continue
                if Lang.search([('code', '=', template.language)]):
                    lang_code = template.language
                else:
                    lang_code = config.language.code
                params = cls.format_params(
                    {
                        **{n: '' for n in PLACEHOLDERS.get(event, ())},
                        'member': member.name,
                        'company': company.rec_name,
                        'date': today,
                        **(values or {}),
                        }, lang_code, company)
                subject, body = template.render(params)
                vals.update(
                    recipient=recipient, subject=subject, body=body,
                    params=json.dumps(
                        params, ensure_ascii=False, sort_keys=True),
                    scheduled_at=hold, state='queued')
                to_create.append(vals)
            messages = cls.create(to_create)
        queued = [m for m in messages if m.state == 'queued']
        if queued:
            cls._enqueue(queued, now)
        return messages

    @classmethod
    def _enqueue(cls, messages, now):
        "Send the messages through Tryton's queue after commit"
        by_delay = {}
        for message in messages:
            delay = None
            if message.scheduled_at and message.scheduled_at > now:
                delay = message.scheduled_at - now
            by_delay.setdefault(delay, []).append(message)
        for delay, sub in by_delay.items():
            with Transaction().set_context(
                    queue_name='retail_notify', queue_scheduled_at=delay):
                cls.__queue__.send(sub)

    # Sending -----------------------------------------------------------

    @classmethod
    def send(cls, messages):
        """Send the queued messages that are due; reschedule the failed
        ones with back-off (failed after the configured attempts)"""
        pool = Pool()
        Configuration = pool.get('retail.notify.configuration')
        now = cls._now()
        with without_check_access():
            messages = cls.browse([int(m) for m in messages])
            if not messages:
                return
            cls.lock(messages)
            messages = cls.browse([m.id for m in messages])
            to_save, to_requeue = [], []
            for message in messages:
                if message.state != 'queued':
                    continue  # sent by another task: never twice
                if message.scheduled_at and message.scheduled_at > now:
                    continue  # a later task or the cron sends it
                config = Configuration.get_for(message.company)
                if not config:
                    continue
                hold = config.hold_until(now, marketing=message.marketing)
                if hold:
                    message.scheduled_at = hold
                    to_save.append(message)
                    to_requeue.append(message)
                    continue
                message.attempts += 1
                try:
                    message.provider_message_id = message._deliver(config)
                except Exception as e:
                    logger.info(
                        'notification %s failed (attempt %s)',
                        message.id, message.attempts, exc_info=True)
                    message.last_error = (
                        '%s: %s' % (e.__class__.__name__, e))[:2000]
                    if message.attempts >= config.max_attempts:
                        message.state = 'failed'
                    else:
                        message.scheduled_at = config.retry_at(
                            now, message.attempts)
                        to_requeue.append(message)
                else:
                    message.state = 'sent'
                    message.sent_at = now
                    message.scheduled_at = None
                to_save.append(message)
            cls.save(to_save)
        if to_requeue:
            cls._enqueue(to_requeue, now)

    def _deliver(self, config):
        "Send through the channel; return the provider message id"
        if self.channel == 'email':
            return self._deliver_email(config)
        provider = config.provider(self.channel)
        if not provider:
            raise GatewayError('no %s provider configured' % self.channel)
        template_code = (
            self.template.provider_template if self.template else None)
        return provider.send(
            self.recipient, self.body, template_code=template_code,
            params=json.loads(self.params or '{}'))

    def _deliver_email(self, config):
        if not config.email:
            raise GatewayError('e-mail is not enabled')
        from_ = config.email_from or config_get('email', 'from')
        msg = EmailMessage()
        msg['From'] = formataddr((self.company.rec_name, from_))
        msg['To'] = self.recipient
        msg['Subject'] = self.subject or ''
        if self.language:
            msg['Content-Language'] = self.language.replace('_', '-')
        msg['X-Huiyuan-Event'] = self.event_key
        msg.set_content(self.body or '', charset='utf-8')
        send_message(msg, strict=True)
        return msg['Message-ID']

    @classmethod
    @ModelView.button
    def retry(cls, messages):
        "A failed message is queued again (it was never sent)"
        to_retry = [m for m in messages if m.state == 'failed']
        if not to_retry:
            return
        with without_check_access():
            cls.write(to_retry, {
                    'state': 'queued',
                    'attempts': 0,
                    'scheduled_at': None,
                    })
        cls._enqueue(to_retry, cls._now())

    @classmethod
    def send_due(cls, limit=1000):
        "Cron: send the queued messages that are due (limit per run)"
        now = cls._now()
        messages = cls.search([
                ('state', '=', 'queued'),
                ['OR',
                    ('scheduled_at', '=', None),
                    ('scheduled_at', '<=', now),
                    ],
                ], order=[('scheduled_at', 'ASC NULLS FIRST'), ('id', 'ASC')],
            limit=limit)
        # Lock them all before sending any: a lock taken later would
        # restart the transaction and roll back the states of messages
        # already handed to SMTP (sent twice)
        cls.lock(messages)
        for sub in grouped_slice(messages, 100):
            cls.send(list(sub))

    # Birthday ----------------------------------------------------------

    @classmethod
    def birthday_cron(cls, date=None):
        "Cron: the birthday greeting of every member born on date"
        pool = Pool()
        Configuration = pool.get('retail.notify.configuration')
        Party = pool.get('party.party')
        Date = pool.get('ir.date')
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        total = 0
        with without_check_access():
            configs = Configuration.search([])
        for configuration in configs:
            company = configuration.company
            if date is None:
                day = configuration.local_now(cls._now()).date()
            else:
                day = date
            days = [(day.month, day.day)]
            # Members born on 29 February are greeted on 28 February
            if (day.month, day.day) == (2, 28):
                try:
                    day.replace(day=29)
                except ValueError:
                    days.append((2, 29))
            where = ((party.is_member == True)  # noqa: E712
                & (party.member_company == company.id)
                & (party.active == True))  # noqa: E712
            match = None
            for month, mday in days:
                m = ((Extract('MONTH', party.birth_date) == month)
                    & (Extract('DAY', party.birth_date) == mday))
                match = m if match is None else (match | m)
            cursor.execute(*party.select(party.id, where=where & match))
            ids = [r[0] for r in cursor]
            for sub in grouped_slice(ids, 200):
                with without_check_access():
                    members = Party.browse(list(sub))
                for member in members:
                    total += len(cls.greet_birthday(member, company, day))
        del Date
        return total

    @classmethod
    def coupon_expiry_cron(cls, date=None):
        "Cron: coupon expiry warnings (implemented with retail_coupon)"
        return 0

    @classmethod
    def greet_birthday(cls, member, company, day):
        "Create the birthday greeting of member (once a year)"
        values = cls.birthday_values(member, company, day)
        return cls.notify(
            'birthday', member, 'birthday:%s:%s' % (company.id, day.year),
            values=values, company=company, origin=member)

    @classmethod
    def birthday_values(cls, member, company, day):
        "Extra placeholder values of a birthday greeting (coupon modules)"
        return {'coupon': ''}


def config_get(section, option, default=None):
    return config.get(section, option, default=default)


class FakeOutbox(ModelSQL, ModelView):
    "Fake Provider Outbox"
    __name__ = 'retail.notify.fake.outbox'

    provider = fields.Many2One(
        'retail.notify.provider', "Provider", readonly=True,
        ondelete='CASCADE')
    channel = fields.Char("Channel", readonly=True)
    recipient = fields.Char("Recipient", readonly=True)
    text = fields.Text("Text", readonly=True)
    template_code = fields.Char("Template Code", readonly=True)
    params = fields.Text("Parameters", readonly=True)
    provider_message_id = fields.Char("Provider Message ID", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]

