"""ESC/POS command bytes and Chinese-safe text encoding.

Han text goes to the printer as GB18030 *inside* ``FS &`` (select Kanji mode) ...
``FS .`` (cancel Kanji mode); ASCII stays single-byte outside it. In Kanji mode every
double-byte character prints two columns wide, so the display width of a character is the
length of its GB18030 encoding. Characters GB18030 can only write with four bytes (outside
GBK, e.g. ``¥`` U+00A5) garble on most printers: they are mapped (``¥`` -> ``￥``) or
replaced with ``?``.
"""

import unicodedata

from escpos import constants as C

ESC, GS, FS, DLE, EOT, LF = b"\x1b", b"\x1d", b"\x1c", b"\x10", b"\x04", b"\n"

INIT = ESC + b"@"
KANJI_ON = FS + b"&"
KANJI_OFF = FS + b"."
BOLD_ON, BOLD_OFF = ESC + b"E\x01", ESC + b"E\x00"
ALIGN_LEFT, ALIGN_CENTER, ALIGN_RIGHT = ESC + b"a\x00", ESC + b"a\x01", ESC + b"a\x02"
SIZE_NORMAL = GS + b"!\x00"
SIZE_DOUBLE = GS + b"!\x11"  # double width and height (affects Kanji too)
SIZE_TALL = GS + b"!\x01"  # double height only: columns unchanged
PARTIAL_CUT = GS + b"V\x01"
STATUS_PRINTER = C.RT_STATUS_ONLINE  # DLE EOT 1
STATUS_OFFLINE_CAUSE = C.RT_STATUS + b"\x02"  # DLE EOT 2
STATUS_PAPER = C.RT_STATUS_PAPER  # DLE EOT 4

# Characters mapped before encoding (the printer cannot print them as they are).
TRANSLATE = {
    "\u00a5": "\uffe5",  # YEN SIGN -> FULLWIDTH YEN SIGN (A3A4 in GB2312)
    "\u00a0": " ",
    "\t": " ",
    "\u3000": "  ",  # ideographic space: keep it two columns in ASCII
}


def feed(lines):
    return ESC + b"d" + bytes([max(0, min(255, int(lines)))])


def drawer_kick(pin=2, on_ms=100, off_ms=500):
    """``ESC p m t1 t2``: pulse connector pin 2 (m=0) or 5 (m=1); t1/t2 in 2 ms units."""
    if pin not in (2, 5):
        raise ValueError("drawer pin must be 2 or 5")
    t1 = max(1, min(255, round(on_ms / 2)))
    t2 = max(1, min(255, round(off_ms / 2)))
    return ESC + b"p" + bytes([0 if pin == 2 else 1, t1, t2])


def sanitize(text):
    """Map or drop what the printer cannot print: control characters go, four-byte
    GB18030 characters become ``?``."""
    out = []
    for ch in str(text):
        ch = TRANSLATE.get(ch, ch)
        for c in ch:
            code = ord(c)
            if code < 0x20 or 0x7F <= code < 0xA0 or unicodedata.category(c) in {"Cf", "Cs"}:
                continue
            if code >= 0x80 and len(c.encode("gb18030")) != 2:
                c = "?"
            out.append(c)
    return "".join(out)


def char_width(ch):
    """Columns a (sanitized) character takes: 1 for ASCII, 2 for a GB18030 double-byte."""
    return 1 if ord(ch) < 0x80 else 2


def text_width(text):
    return sum(char_width(c) for c in text)


def encode_text(text):
    """Sanitized text -> bytes: ASCII as-is, non-ASCII runs as FS & GB18030 FS ."""
    out = bytearray()
    run = []
    for ch in text:
        if ord(ch) < 0x80:
            if run:
                out += KANJI_ON + "".join(run).encode("gb18030") + KANJI_OFF
                run = []
            out += ch.encode("ascii")
        else:
            run.append(ch)
    if run:
        out += KANJI_ON + "".join(run).encode("gb18030") + KANJI_OFF
    return bytes(out)


BARCODE_TYPES = {
    # name: (GS k function B code, validator)
    "CODE128": 73,
    "EAN13": 67,
    "CODE39": 69,
}
CODE39_CHARS = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ -.$/+%")


def barcode(kind, data, *, height=80, module=2, hri=True):
    kind = str(kind).upper().replace("-", "")
    if kind not in BARCODE_TYPES:
        raise ValueError(f"barcode type must be one of {', '.join(BARCODE_TYPES)}")
    if not isinstance(data, str) or not data:
        raise ValueError("barcode data must be a non-empty string")
    if kind == "CODE128":
        if len(data) > 64 or any(not 0x20 <= ord(c) <= 0x7E for c in data):
            raise ValueError("CODE128 data: 1-64 printable ASCII characters")
        payload = b"{B" + data.replace("{", "{{").encode("ascii")
    elif kind == "EAN13":
        if not data.isdigit() or len(data) not in (12, 13):
            raise ValueError("EAN13 data: 12 or 13 digits")
        if len(data) == 13 and ean13_check_digit(data[:12]) != data[12]:
            raise ValueError("EAN13 data: wrong check digit")
        payload = data[:12].encode("ascii")
    else:
        if len(data) > 40 or set(data) - CODE39_CHARS:
            raise ValueError("CODE39 data: 1-40 of 0-9 A-Z space - . $ / + %")
        payload = data.encode("ascii")
    height = max(1, min(255, int(height)))
    module = max(2, min(6, int(module)))
    return (GS + b"h" + bytes([height]) + GS + b"w" + bytes([module])
            + GS + b"H" + (b"\x02" if hri else b"\x00")
            + GS + b"k" + bytes([BARCODE_TYPES[kind], len(payload)]) + payload)


def ean13_check_digit(digits12):
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits12))
    return str((10 - total % 10) % 10)


QR_EC = {"L": 48, "M": 49, "Q": 50, "H": 51}


def qr(data, *, size=6, ec="M"):
    """Native QR (``GS ( k``): model 2, module size, error correction, store, print."""
    raw = str(data).encode("utf-8")
    if not raw or len(raw) > 700:
        raise ValueError("QR data: 1-700 bytes")
    if ec not in QR_EC:
        raise ValueError("QR error correction must be L, M, Q or H")
    size = max(1, min(16, int(size)))
    store_len = len(raw) + 3

    def fn(pl, body):
        return GS + b"(k" + bytes([pl & 0xFF, pl >> 8]) + body

    return (fn(4, b"1A2\x00") + fn(3, b"1C" + bytes([size])) + fn(3, b"1E" + bytes([QR_EC[ec]]))
            + fn(store_len, b"1P0" + raw) + fn(3, b"1Q0"))


# --- human-readable dump, used to review golden files and in test failure messages ---

_NAMES = [
    (INIT, "<INIT>"), (KANJI_ON, "<FS &>"), (KANJI_OFF, "<FS .>"),
    (BOLD_ON, "<BOLD>"), (BOLD_OFF, "</BOLD>"), (ALIGN_LEFT, "<LEFT>"),
    (ALIGN_CENTER, "<CENTER>"), (ALIGN_RIGHT, "<RIGHT>"), (SIZE_NORMAL, "<SIZE 0>"),
    (SIZE_DOUBLE, "<SIZE 2x2>"), (SIZE_TALL, "<SIZE 1x2>"), (PARTIAL_CUT, "<CUT>"),
]


def dump(data):
    """Render ESC/POS bytes as text: commands in <...>, Kanji runs decoded from GB18030."""
    out, i, kanji = [], 0, False
    while i < len(data):
        for seq, name in _NAMES:
            if data.startswith(seq, i):
                out.append(name)
                i += len(seq)
                kanji = seq == KANJI_ON if seq in (KANJI_ON, KANJI_OFF) else kanji
                break
        else:
            b = data[i]
            if kanji and b >= 0x81:
                out.append(data[i:i + 2].decode("gb18030"))
                i += 2
            elif data.startswith(ESC + b"d", i):
                out.append(f"<FEED {data[i + 2]}>")
                i += 3
            elif data.startswith(ESC + b"p", i):
                out.append(f"<DRAWER {data[i + 2]} {data[i + 3]} {data[i + 4]}>")
                i += 5
            elif data.startswith(GS + b"k", i):
                n = data[i + 3]
                out.append(f"<BARCODE {data[i + 2]} {data[i + 4:i + 4 + n].decode('ascii')}>")
                i += 4 + n
            elif data.startswith(GS + b"(k", i):
                n = data[i + 3] | data[i + 4] << 8
                body = data[i + 5:i + 5 + n]
                if body.startswith(b"1P0"):
                    out.append(f"<QR {body[3:].decode('utf-8')}>")
                else:
                    out.append(f"<QR-FN {body[:2].decode('ascii')} {body[2:].hex()}>")
                i += 5 + n
            elif data[i:i + 1] in (GS,) and data[i + 1:i + 2] in (b"h", b"w", b"H"):
                out.append(f"<GS {chr(data[i + 1])} {data[i + 2]}>")
                i += 3
            elif b == 0x0A:
                out.append("\n")
                i += 1
            elif 0x20 <= b < 0x7F:
                out.append(chr(b))
                i += 1
            else:
                out.append(f"<{b:02x}>")
                i += 1
    return "".join(out)
