# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class WalletError(UserError):
    pass


class WalletAmountError(WalletError):
    pass


class InsufficientBalanceError(WalletError):
    pass


class PINError(WalletError):
    pass


class ComplianceError(WalletError):
    pass


class WalletConfigurationError(WalletError):
    pass


class WalletValidationError(ValidationError):
    pass


class LedgerAccessError(AccessError):
    pass
