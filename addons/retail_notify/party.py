# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    _states = {'invisible': ~Eval('is_member')}

    consent_wechat = fields.Boolean(
        "WeChat Consent", states=_states,
        help="The member accepts marketing messages by WeChat.")
    wechat_id = fields.Char(
        "WeChat ID", states=_states, strip=True,
        help="The member's WeChat OpenID for the official account.")
    notice_sms = fields.Boolean(
        "SMS Notices", states=_states,
        help="Send balance, points and expiry notices by SMS.")
    notice_email = fields.Boolean(
        "E-mail Notices", states=_states,
        help="Send balance, points and expiry notices by e-mail.")
    notice_wechat = fields.Boolean(
        "WeChat Notices", states=_states,
        help="Send balance, points and expiry notices by WeChat.")
    notify_messages = fields.One2Many(
        'retail.notify.message', 'member', "Notifications", readonly=True,
        states=_states)

    del _states

    @classmethod
    def default_consent_wechat(cls):
        return False

    @classmethod
    def default_notice_sms(cls):
        return True

    @classmethod
    def default_notice_email(cls):
        return True

    @classmethod
    def default_notice_wechat(cls):
        return True
