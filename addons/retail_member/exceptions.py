# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class MemberValidationError(ValidationError):
    pass


class CardValidationError(ValidationError):
    pass


class CardUnusableError(UserError):
    pass


class IdentifyError(UserError):
    pass


class MemberImportError(UserError):
    pass
