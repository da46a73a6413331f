# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError


class PosError(UserError):
    """An error of the POS API, safe to show to a cashier.

    ``code`` is the stable machine code of the contract (e.g.
    ``insufficient_balance``), ``status`` the HTTP status and ``field`` the
    path of the request field at fault (e.g. ``payments[1].amount``)."""

    def __init__(self, message, code='rejected', status=422, field=None):
        super().__init__(message)
        self.code = code
        self.status = status
        self.field = field


def pos_error(msg_id, code, status=422, field=None, **variables):
    from trytond.i18n import gettext
    return PosError(
        gettext('retail_pos.' + msg_id, **variables), code=code,
        status=status, field=field)
