# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class PointsError(UserError):
    pass


class InsufficientPoints(PointsError):
    pass


class RedemptionError(PointsError):
    pass


class PointsValidationError(ValidationError):
    pass


class LedgerAccessError(AccessError):
    pass
