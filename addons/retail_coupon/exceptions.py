# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class CouponError(UserError):
    "A coupon cannot be used or issued"


class PromotionError(ValidationError):
    "A promotion is badly configured"


class CouponAccessError(AccessError):
    "A coupon or its use cannot be changed"
