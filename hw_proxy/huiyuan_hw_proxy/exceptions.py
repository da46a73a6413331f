"""One exceptions hierarchy for the proxy.

Every error that reaches the HTTP layer is a :class:`ProxyError`; it carries a stable
machine ``code`` and an HTTP ``status`` so the API answers with a clear JSON error.
"""


class ProxyError(Exception):
    code = "error"
    status = 500

    def __init__(self, message, *, code=None, status=None, **details):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details

    def to_json(self):
        data = {"error": self.code, "message": self.message}
        if self.details:
            data["details"] = self.details
        return data


class ConfigError(ProxyError):
    code = "config_error"


class BadRequest(ProxyError):
    code = "bad_request"
    status = 400


class ReceiptError(BadRequest):
    code = "invalid_receipt"


class Forbidden(ProxyError):
    code = "forbidden"
    status = 403


class Unauthorized(ProxyError):
    code = "unauthorized"
    status = 401


class UnknownDevice(ProxyError):
    code = "unknown_device"
    status = 404


class UnknownCommand(ProxyError):
    code = "unknown_command"
    status = 404


class DeviceError(ProxyError):
    """A device could not do what was asked (I/O error, no answer, bad answer)."""

    code = "device_error"
    status = 503


class DeviceOffline(DeviceError):
    code = "device_offline"


class PaperOut(DeviceError):
    code = "paper_out"


class DeviceUnavailable(DeviceError):
    """A backend library or system component is missing (libusb, evdev)."""

    code = "device_unavailable"
