# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class CommissionError(UserError):
    pass


class SchemeValidationError(ValidationError):
    pass


class StaffValidationError(ValidationError):
    pass


class StatementError(UserError):
    pass


class CommissionAccessError(AccessError):
    pass
