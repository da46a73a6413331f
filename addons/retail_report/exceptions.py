# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
from trytond.exceptions import UserError


class ReportError(UserError):
    pass
