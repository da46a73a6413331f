"""Customer pole display (2 x 20 VFD), CD5220 or Epson DM-D command dialect."""

from .. import commands as cmd
from ..exceptions import BadRequest, ConfigError
from ..transports import make_transport
from .base import CONNECTED, Device

CLEAR = b"\x0c"


def cd5220_frame(line1, line2):
    """CD5220: ``ESC Q A`` upper line ``CR``, ``ESC Q B`` lower line ``CR``."""
    return CLEAR + b"\x1bQA" + line1 + b"\r" + b"\x1bQB" + line2 + b"\r"


def dmd_frame(line1, line2):
    """Epson DM-D: clear, ``US $ x y`` cursor to column 1 of each row, then the text."""
    return CLEAR + b"\x1f$\x01\x01" + line1 + b"\x1f$\x01\x02" + line2


DIALECTS = {"cd5220": cd5220_frame, "dmd": dmd_frame, "epson": dmd_frame}


class CustomerDisplay(Device):
    type = "display"
    commands = ("show", "clear", "status")

    def __init__(self, config, proxy):
        super().__init__(config, proxy)
        opts = self.options
        self.dialect = str(opts.get("dialect", "cd5220")).lower()
        if self.dialect not in DIALECTS:
            raise ConfigError(f"display {self.name}: dialect must be cd5220 or dmd")
        self.columns = int(opts.get("columns", 20))
        self.encoding = str(opts.get("encoding", "ascii")).lower()
        if self.encoding not in {"ascii", "gb18030"}:
            raise ConfigError(f"display {self.name}: encoding must be ascii or gb18030")
        self.symbol = opts.get("currency_symbol", "\uffe5" if self.encoding == "gb18030" else "")
        self.labels = {"welcome": "Welcome", "welcome2": "", "total": "TOTAL",
                       "paid": "PAID", "change": "CHANGE"}
        self.labels.update({k: str(v) for k, v in opts.get("labels", {}).items()})
        self.lines = ["", ""]
        if self.url.scheme not in {"serial", "tcp", "dummy"}:
            raise ConfigError(f"display {self.name}: use serial://, tcp:// or dummy://")

    async def start(self):
        await super().start()
        if self.url.scheme == "dummy":
            self.set_state(CONNECTED, "dummy display")

    # -- text layout --
    def fit(self, text):
        text = cmd.sanitize(text)
        if self.encoding == "ascii":
            text = "".join(c if ord(c) < 0x80 else "?" for c in text)
        out, width = "", 0
        for ch in text:
            if width + cmd.char_width(ch) > self.columns:
                break
            out, width = out + ch, width + cmd.char_width(ch)
        return out, width

    def line(self, left="", right=""):
        right, rw = self.fit(right)
        left, lw = self.fit(left)
        while lw + rw + (1 if left and right else 0) > self.columns and left:
            left = left[:-1]
            lw = cmd.text_width(left)
        return left + " " * (self.columns - lw - rw) + right

    def center(self, text):
        text, width = self.fit(text)
        pad = (self.columns - width) // 2
        return " " * pad + text + " " * (self.columns - width - pad)

    def money(self, value, where):
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise BadRequest(f"body.{where} must be a decimal string")
        return self.symbol + str(value)

    def compose(self, payload):
        mode = payload.get("mode", "lines")
        lb = self.labels
        if mode == "welcome":
            return [self.center(payload.get("text") or lb["welcome"]),
                    self.center(payload.get("text2") or lb["welcome2"])]
        if mode == "item":
            name = payload.get("name")
            if not isinstance(name, str):
                raise BadRequest("body.name (the item name) is required")
            qty = payload.get("qty")
            price = self.money(payload.get("price"), "price")
            left = f"{qty} x" if qty not in (None, "", "1", 1) else ""
            return [self.line(name), self.line(left, price)]
        if mode == "total":
            amount = self.money(payload.get("amount"), "amount")
            return [self.line(lb["total"]), self.line("", amount)]
        if mode == "change":
            return [self.line(lb["paid"], self.money(payload.get("paid"), "paid")),
                    self.line(lb["change"], self.money(payload.get("change"), "change"))]
        if mode == "lines":
            lines = payload.get("lines")
            if (not isinstance(lines, list) or not 1 <= len(lines) <= 2
                    or not all(isinstance(x, str) for x in lines)):
                raise BadRequest("body.lines must be a list of one or two strings")
            return [self.line(x) for x in lines + [""] * (2 - len(lines))]
        raise BadRequest("body.mode must be welcome, item, total, change or lines")

    def encode(self, lines):
        enc = [x.encode(self.encoding) for x in lines]
        return DIALECTS[self.dialect](*enc)

    # -- commands --
    async def cmd_show(self, payload):
        lines = self.compose(payload)
        job = self.submit("display", (lines, self.encode(lines)), float(self.options.get("ttl", 5)))
        return await self.proxy.wait_jobs([job], payload.get("wait", 5))

    async def cmd_clear(self, payload):
        lines = ["", ""]
        job = self.submit("display", (lines, CLEAR), float(self.options.get("ttl", 5)))
        return await self.proxy.wait_jobs([job], payload.get("wait", 5))

    async def cmd_status(self, payload):
        return 200, {"device": self.status()}

    def status(self):
        data = super().status()
        data.update(dialect=self.dialect, lines=self.lines)
        return data

    async def execute(self, job):
        lines, data = job.payload
        if self.url.scheme != "dummy":
            transport = make_transport(self.url, self.options,
                                       runtime_dir=self.proxy.config.runtime_dir)
            async with transport:
                job.check()
                await transport.write(data)
            self.set_state(CONNECTED)
        self.lines = [x.rstrip() for x in lines]
        return {"lines": self.lines}
