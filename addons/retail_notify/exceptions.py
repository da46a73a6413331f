# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class NotifyError(UserError):
    pass


class TemplateError(ValidationError):
    pass


class ConfigurationError(ValidationError):
    pass


class MessageAccessError(AccessError):
    pass


class GatewayError(Exception):
    "A provider refused or could not take a message (retried)"
    pass
