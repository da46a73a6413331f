# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Events of retail_count_card and retail_coupon (registered only when those
modules are activated)."""
import datetime as dt

from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .event import _translated


class Message_CountCard(metaclass=PoolMeta):
    __name__ = 'retail.notify.message'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + [
            'retail.count.card.line',
            'retail.count.card.expiry.warning',
            ]


class CountCardLine(metaclass=PoolMeta):
    __name__ = 'retail.count.card.line'

    @classmethod
    def on_modification(cls, mode, lines, field_names=None):
        super().on_modification(mode, lines, field_names=field_names)
        if mode == 'create':
            cls._notify_uses(lines)

    @classmethod
    def _notify_uses(cls, lines):
        "One notice per use line with the uses left of the service"
        Message = Pool().get('retail.notify.message')
        with without_check_access():
            for line in cls.browse(lines):
                if line.kind != 'use':
                    continue
                card = line.card
                Message.notify(
                    'count_card_use', card.party, str(line),
                    values={
                        'card': _translated(card.template, 'name'),
                        'service': _translated(line.service.product, 'rec_name'),
                        'uses': -line.uses,
                        'uses_left': line.uses_after,
                        },
                    company=card.company, origin=line)


class CountCardExpiryWarning(metaclass=PoolMeta):
    __name__ = 'retail.count.card.expiry.warning'

    @classmethod
    def on_modification(cls, mode, warnings, field_names=None):
        super().on_modification(mode, warnings, field_names=field_names)
        if mode == 'create':
            cls._notify_warnings(warnings)

    @classmethod
    def _notify_warnings(cls, warnings):
        Message = Pool().get('retail.notify.message')
        with without_check_access():
            for warning in cls.browse(warnings):
                card = warning.card
                Message.notify(
                    'count_card_expiry', warning.party, str(warning),
                    values={
                        'card': _translated(card.template, 'name'),
                        'expiry_date': warning.valid_until,
                        'uses_left': warning.uses_left,
                        },
                    company=card.company, origin=warning)


class Message_Coupon(metaclass=PoolMeta):
    __name__ = 'retail.notify.message'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['retail.coupon']

    @classmethod
    def birthday_cron(cls, date=None):
        # the birthday coupons first (idempotent by their issue key), so
        # the greeting can name them
        Campaign = Pool().get('retail.coupon.campaign')
        Campaign.issue_birthdays(date=date)
        return super().birthday_cron(date=date)

    @classmethod
    def birthday_values(cls, member, company, day):
        Coupon = Pool().get('retail.coupon')
        values = super().birthday_values(member, company, day)
        with without_check_access():
            coupons = Coupon.search([
                    ('company', '=', company.id),
                    ('member', '=', member.id),
                    ('campaign.kind', '=', 'birthday'),
                    ('state', '=', 'available'),
                    ('issue_key', 'like', '%%:%s:%%' % day.year),
                    ], order=[('id', 'ASC')])
        if coupons:
            codes = ', '.join(c.code for c in coupons)

            def phrase(language):
                with Transaction().set_context(language=language):
                    return gettext(
                        'retail_notify.msg_birthday_coupon', codes=codes)
            values['coupon'] = phrase
        return values

    @classmethod
    def coupon_expiry_cron(cls, date=None):
        """Cron: warn members of their available coupons whose validity ends
        within the configured days (once per coupon)"""
        pool = Pool()
        Configuration = pool.get('retail.notify.configuration')
        Coupon = pool.get('retail.coupon')
        total = 0
        with without_check_access():
            configs = Configuration.search([])
        for configuration in configs:
            days = configuration.coupon_warning_days
            if not days:
                continue
            company = configuration.company
            day = date or configuration.local_now(cls._now()).date()
            with without_check_access():
                coupons = Coupon.search([
                        ('company', '=', company.id),
                        ('state', '=', 'available'),
                        ('valid_until', '>=', day),
                        ('valid_until', '<=', day + dt.timedelta(days=days)),
                        ])
            for sub in grouped_slice(coupons, 200):
                for coupon in sub:
                    total += len(cls.notify(
                            'coupon_expiry', coupon.member, str(coupon),
                            values={
                                'coupon': coupon.code,
                                'expiry_date': coupon.valid_until,
                                },
                            company=company, origin=coupon))
        return total
