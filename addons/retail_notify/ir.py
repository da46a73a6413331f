# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.pool import PoolMeta


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('retail.notify.message|send_due',
                    "Send Due Member Notifications"),
                ('retail.notify.message|birthday_cron',
                    "Send Member Birthday Greetings"),
                ('retail.notify.message|coupon_expiry_cron',
                    "Send Coupon Expiry Warnings"),
                ])
