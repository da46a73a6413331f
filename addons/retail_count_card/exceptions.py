# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class CountCardError(UserError):
    "A count card cannot do what was asked (shown to the cashier)"


class CountCardConfigurationError(ValidationError):
    "A template or payment method is not configured right"
