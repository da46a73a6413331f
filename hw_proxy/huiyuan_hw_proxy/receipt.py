"""Render a structured receipt (JSON from the POS, never raw bytes) into ESC/POS bytes.

Receipt JSON (every key optional except ``lines``)::

    {
      "header": {"title": "会员超市", "lines": ["地址 ...", "电话 ..."]},
      "meta": [["单号", "S0001"], ["收银员", "张三"]],
      "lines": [{"name": "可口可乐", "qty": "2", "unit_price": "3.50",
                 "amount": "7.00", "note": "会员价"}],
      "totals": [{"label": "合计", "amount": "7.00", "bold": true, "big": true}],
      "payments": [{"label": "现金", "amount": "10.00"}],
      "member": {"title": "会员信息", "rows": [["会员", "李四"], ["积分余额", "1234"]]},
      "barcode": {"type": "CODE128", "data": "S0001"},
      "qr": {"data": "https://...", "size": 6},
      "footer": ["谢谢惠顾"],
      "currency_symbol": "￥"
    }

Amounts are strings (or integers) the POS already rounded; the proxy does no money maths.
Layout is computed in columns: 32 for 58 mm paper, 48 for 80 mm.
"""

from decimal import Decimal, InvalidOperation

from . import commands as cmd
from .exceptions import ReceiptError

PAPER_COLUMNS = {"58mm": 32, "80mm": 48}
MAX_LINES = 500


def columns_for(paper):
    if isinstance(paper, int) and 16 <= paper <= 64:
        return paper
    try:
        return PAPER_COLUMNS[str(paper)]
    except KeyError:
        raise ReceiptError(f"paper must be one of {', '.join(PAPER_COLUMNS)}") from None


def wrap(text, width):
    """Split sanitized text into lines of at most ``width`` columns, breaking ASCII at
    spaces when possible and Han text anywhere."""
    lines, line, line_w = [], "", 0
    for word in _tokens(text):
        w = cmd.text_width(word)
        if line_w + w <= width:
            line, line_w = line + word, line_w + w
            continue
        if word == " ":
            lines.append(line.rstrip())
            line, line_w = "", 0
            continue
        if line.strip():
            lines.append(line.rstrip())
        line, line_w = "", 0
        for ch in word:  # a word longer than the line, or the start of a new line
            cw = cmd.char_width(ch)
            if line_w + cw > width:
                lines.append(line)
                line, line_w = "", 0
            line, line_w = line + ch, line_w + cw
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def _tokens(text):
    """ASCII words and spaces as tokens; each non-ASCII character its own token."""
    token = ""
    for ch in text:
        if ch == " " or ord(ch) >= 0x80:
            if token:
                yield token
                token = ""
            yield ch
        else:
            token += ch
    if token:
        yield token


def two_columns(left, right, width):
    """``left`` and ``right`` on one line padded to ``width`` columns, or ``left``
    wrapped with ``right`` right-aligned on its own line when they do not fit."""
    lw, rw = cmd.text_width(left), cmd.text_width(right)
    if lw + 1 + rw <= width:
        return [left + " " * (width - lw - rw) + right]
    out = wrap(left, width)
    last_w = cmd.text_width(out[-1])
    if last_w + 1 + rw <= width:
        out[-1] = out[-1] + " " * (width - last_w - rw) + right
        return out
    for part in wrap(right, width):
        out.append(" " * (width - cmd.text_width(part)) + part)
    return out


class ReceiptRenderer:
    def __init__(self, columns, *, cut=True, qr_size=None, feed_before_cut=4):
        self.columns = columns
        self.cut = cut
        self.qr_size = qr_size or (6 if columns >= 48 else 5)
        self.feed_before_cut = feed_before_cut

    def render(self, receipt):
        if not isinstance(receipt, dict):
            raise ReceiptError("receipt must be a JSON object")
        unknown = set(receipt) - {
            "header", "meta", "lines", "totals", "payments", "member", "barcode", "qr",
            "footer", "currency_symbol", "paper", "open_drawer", "copies"}
        if unknown:
            raise ReceiptError(f"unknown receipt key(s): {', '.join(sorted(unknown))}")
        lines = receipt.get("lines")
        if not isinstance(lines, list):
            raise ReceiptError("receipt.lines must be a list")
        if len(lines) > MAX_LINES:
            raise ReceiptError(f"receipt.lines: at most {MAX_LINES} lines")
        symbol = receipt.get("currency_symbol", "\uffe5")
        self.symbol = cmd.sanitize(_text(symbol, "currency_symbol"))
        out = bytearray(cmd.INIT)
        self._header(out, receipt.get("header"))
        meta = _rows(receipt.get("meta", []), "meta")
        if meta:
            self._rule(out)
            for label, value in meta:
                self._text_lines(out, two_columns(label, value, self.columns))
        self._rule(out)
        for index, line in enumerate(lines):
            self._item(out, line, f"lines[{index}]")
        for key in ("totals", "payments"):
            entries = receipt.get(key, [])
            if not isinstance(entries, list):
                raise ReceiptError(f"receipt.{key} must be a list")
            if entries:
                self._rule(out)
            for index, entry in enumerate(entries):
                self._total(out, entry, f"{key}[{index}]")
        self._member(out, receipt.get("member"))
        self._codes(out, receipt.get("barcode"), receipt.get("qr"))
        footer = receipt.get("footer", [])
        if not isinstance(footer, list):
            raise ReceiptError("receipt.footer must be a list of strings")
        if footer:
            out += cmd.ALIGN_CENTER
            for index, text in enumerate(footer):
                for part in wrap(cmd.sanitize(_text(text, f"footer[{index}]")), self.columns):
                    out += cmd.encode_text(part) + cmd.LF
            out += cmd.ALIGN_LEFT
        if self.cut:
            out += cmd.feed(self.feed_before_cut) + cmd.PARTIAL_CUT
        return bytes(out)

    # -- blocks --
    def _header(self, out, header):
        if header is None:
            return
        if not isinstance(header, dict):
            raise ReceiptError("receipt.header must be an object")
        out += cmd.ALIGN_CENTER
        title = header.get("title")
        if title:
            out += cmd.SIZE_DOUBLE + cmd.BOLD_ON
            for part in wrap(cmd.sanitize(_text(title, "header.title")), self.columns // 2):
                out += cmd.encode_text(part) + cmd.LF
            out += cmd.BOLD_OFF + cmd.SIZE_NORMAL
        extra = header.get("lines", [])
        if not isinstance(extra, list):
            raise ReceiptError("receipt.header.lines must be a list of strings")
        for index, text in enumerate(extra):
            for part in wrap(cmd.sanitize(_text(text, f"header.lines[{index}]")), self.columns):
                out += cmd.encode_text(part) + cmd.LF
        out += cmd.ALIGN_LEFT

    def _item(self, out, line, where):
        if not isinstance(line, dict):
            raise ReceiptError(f"receipt.{where} must be an object")
        name = cmd.sanitize(_text(line.get("name"), f"{where}.name", required=True))
        amount = self.money(line.get("amount"), f"{where}.amount", required=True)
        qty = line.get("qty")
        price = line.get("unit_price")
        self._text_lines(out, wrap(name, self.columns))
        detail = "  "
        if qty is not None:
            detail += _number(qty, f"{where}.qty")
            if price is not None:
                detail += " x " + self.money(price, f"{where}.unit_price")
        elif price is not None:
            detail += "@ " + self.money(price, f"{where}.unit_price")
        self._text_lines(out, two_columns(detail.rstrip() if detail.strip() else "", amount,
                                          self.columns))
        note = line.get("note")
        if note:
            self._text_lines(out, wrap("  " + cmd.sanitize(_text(note, f"{where}.note")),
                                       self.columns))

    def _total(self, out, entry, where):
        if not isinstance(entry, dict):
            raise ReceiptError(f"receipt.{where} must be an object")
        label = cmd.sanitize(_text(entry.get("label"), f"{where}.label", required=True))
        amount = self.money(entry.get("amount"), f"{where}.amount", required=True)
        if entry.get("big"):
            out += cmd.SIZE_TALL
        if entry.get("bold"):
            out += cmd.BOLD_ON
        self._text_lines(out, two_columns(label, amount, self.columns))
        if entry.get("bold"):
            out += cmd.BOLD_OFF
        if entry.get("big"):
            out += cmd.SIZE_NORMAL

    def _member(self, out, member):
        if member is None:
            return
        if not isinstance(member, dict):
            raise ReceiptError("receipt.member must be an object")
        rows = _rows(member.get("rows", []), "member.rows")
        title = member.get("title")
        if not rows and not title:
            return
        self._rule(out)
        if title:
            out += cmd.ALIGN_CENTER + cmd.BOLD_ON
            out += cmd.encode_text(cmd.sanitize(_text(title, "member.title"))) + cmd.LF
            out += cmd.BOLD_OFF + cmd.ALIGN_LEFT
        for label, value in rows:
            self._text_lines(out, two_columns(label, value, self.columns))

    def _codes(self, out, barcode, qr):
        if barcode is None and qr is None:
            return
        self._rule(out)
        out += cmd.ALIGN_CENTER
        try:
            if barcode is not None:
                if not isinstance(barcode, dict):
                    raise ReceiptError("receipt.barcode must be an object")
                out += cmd.barcode(barcode.get("type", "CODE128"), barcode.get("data"),
                                   height=barcode.get("height", 80),
                                   module=2 if self.columns < 48 else 3,
                                   hri=barcode.get("hri", True)) + cmd.LF
            if qr is not None:
                if not isinstance(qr, dict):
                    raise ReceiptError("receipt.qr must be an object")
                out += cmd.qr(qr.get("data", ""), size=qr.get("size", self.qr_size),
                              ec=qr.get("ec", "M")) + cmd.LF
        except (ValueError, TypeError) as exc:
            raise ReceiptError(f"receipt code: {exc}") from None
        out += cmd.ALIGN_LEFT

    # -- helpers --
    def _rule(self, out, char="-"):
        out += (char * self.columns).encode("ascii") + cmd.LF

    def _text_lines(self, out, lines):
        for text in lines:
            out += cmd.encode_text(text) + cmd.LF

    def money(self, value, where, required=False):
        number = _number(value, where, required=required)
        if number.startswith("-"):
            return "-" + self.symbol + number[1:]
        return self.symbol + number


def _text(value, where, required=False):
    if value is None:
        if required:
            raise ReceiptError(f"receipt.{where} is required")
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ReceiptError(f"receipt.{where} must be a string")
    value = str(value)
    if len(value) > 1000:
        raise ReceiptError(f"receipt.{where}: at most 1000 characters")
    return value


def _number(value, where, required=False):
    """Amounts and quantities: a decimal string or an integer, printed as given."""
    if value is None:
        if required:
            raise ReceiptError(f"receipt.{where} is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ReceiptError(f"receipt.{where} must be a decimal string such as \"12.50\"")
    text = str(value).strip()
    try:
        if not Decimal(text).is_finite() or len(text) > 20:
            raise InvalidOperation
    except InvalidOperation:
        raise ReceiptError(f"receipt.{where}: {value!r} is not a decimal number") from None
    return text


def _rows(rows, where):
    if not isinstance(rows, list):
        raise ReceiptError(f"receipt.{where} must be a list of [label, value] pairs")
    out = []
    for index, row in enumerate(rows):
        if not (isinstance(row, list) and len(row) == 2):
            raise ReceiptError(f"receipt.{where}[{index}] must be a [label, value] pair")
        out.append((cmd.sanitize(_text(row[0], f"{where}[{index}][0]")),
                    cmd.sanitize(_text(row[1], f"{where}[{index}][1]"))))
    return out


def render_receipt(receipt, paper="80mm", **options):
    paper = receipt.get("paper", paper) if isinstance(receipt, dict) else paper
    return ReceiptRenderer(columns_for(paper), **options).render(receipt)
