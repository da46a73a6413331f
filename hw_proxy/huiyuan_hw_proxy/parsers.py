"""Pure byte-stream parsers for card readers and scales (no I/O, easy to test).

* :class:`CardStreamParser` turns the bytes of a serial card reader into reads:
  EM4100 frames (STX + 10 hex + 2 hex XOR checksum + ETX), magnetic-stripe tracks
  (``%B...^...^...?`` / ``;...=...?``) and plain ``digits CR`` lines. Frames may arrive
  split across any number of reads; bad checksums and garbage are dropped.
* :func:`parse_toledo_8217` reads a Toledo 8217 reply to ``W``.
* :class:`WedgeBuffer` assembles keyboard-wedge key codes (evdev) into one read per Enter.
"""

import logging
import re
from decimal import Decimal, InvalidOperation

log = logging.getLogger(__name__)

STX, ETX, CR, LF = 0x02, 0x03, 0x0D, 0x0A
EM4100_FRAME_LEN = 14  # STX + 10 data + 2 checksum + ETX
MAX_LINE = 256
HEX = set(b"0123456789ABCDEFabcdef")


def em4100_frame(tag_hex):
    """Build the reader frame for a 10-hex-digit tag (used by the virtual reader)."""
    tag_hex = tag_hex.upper()
    if len(tag_hex) != 10 or set(tag_hex.encode()) - HEX:
        raise ValueError("EM4100 tag must be 10 hex digits")
    checksum = 0
    for i in range(0, 10, 2):
        checksum ^= int(tag_hex[i:i + 2], 16)
    return bytes([STX]) + tag_hex.encode() + f"{checksum:02X}".encode() + bytes([ETX])


def em4100_read(tag_hex):
    """The read for a tag: ``number`` is the 10-digit decimal of the low 32 bits, the
    number printed on most EM4100 cards and keyfobs."""
    tag_hex = tag_hex.upper()
    return {"kind": "em4100", "tag": tag_hex, "number": f"{int(tag_hex[2:], 16):010d}"}


def card_number_to_tag(number):
    """Accept what a cashier would type for ``hw-proxy swipe``: 10 hex digits as-is, or a
    decimal card number (<= 2**32-1) as printed on the card."""
    number = number.strip()
    if len(number) == 10 and not set(number.encode()) - HEX and not number.isdigit():
        return number.upper()
    if number.isdigit() and int(number) < 2**32:
        return f"00{int(number):08X}"
    if len(number) == 10 and not set(number.encode()) - HEX:
        return number.upper()
    raise ValueError("card number: 10 hex digits or a decimal number below 4294967296")


TRACK1 = re.compile(r"%B(\d{1,19})\^([^^?]{0,26})\^(\d{4})?[^?]*\?")
TRACK2 = re.compile(r";(\d{1,19})(?:=(\d{4})?[^?]*)?\?")


def parse_magstripe(text):
    """Parse track 1 and/or track 2 of one swipe. Returns a read dict or None.

    Only the account number, the name and the expiry are kept; discretionary data (which
    on bank cards holds verification values) never leaves the parser."""
    t1, t2 = TRACK1.search(text), TRACK2.search(text)
    if not t1 and not t2:
        return None
    read = {"kind": "magstripe", "tracks": []}
    if t1:
        read["tracks"].append(1)
        read["number"] = t1.group(1)
        name = t1.group(2).strip()
        if "/" in name:
            surname, _, given = name.partition("/")
            name = f"{given.strip()} {surname.strip()}".strip()
        if name:
            read["name"] = name
        if t1.group(3):
            read["expiry"] = t1.group(3)
    if t2:
        read["tracks"].append(2)
        read.setdefault("number", t2.group(1))
        if t2.group(2) and "expiry" not in read:
            read["expiry"] = t2.group(2)
    return read


class CardStreamParser:
    """Feed bytes in any chunking; get back complete reads."""

    def __init__(self, protocol="auto"):
        if protocol not in {"auto", "em4100", "magstripe"}:
            raise ValueError("card reader protocol must be auto, em4100 or magstripe")
        self.protocol = protocol
        self.buf = bytearray()
        self.rejected = 0

    def feed(self, data):
        self.buf += data
        reads = []
        while self.buf:
            if self.buf[0] == STX and self.protocol != "magstripe":
                if len(self.buf) < EM4100_FRAME_LEN:
                    # wait for the rest, unless what we have is already not a frame
                    if set(self.buf[1:]) - HEX:
                        self._reject(1)
                        continue
                    break
                frame = bytes(self.buf[:EM4100_FRAME_LEN])
                read = self._em4100(frame)
                if read is None:
                    self._reject(1)  # resync on the next STX
                    continue
                del self.buf[:EM4100_FRAME_LEN]
                reads.append(read)
                continue
            if self.protocol == "em4100":
                stx = self.buf.find(STX)
                del self.buf[:len(self.buf) if stx < 0 else stx]
                continue
            # text line: magstripe tracks or a plain number, ended by CR or LF
            end = next((i for i, b in enumerate(self.buf) if b in (CR, LF, STX)), -1)
            if end < 0:
                if len(self.buf) > MAX_LINE:
                    self._reject(len(self.buf))
                break
            line = bytes(self.buf[:end])
            del self.buf[:end + (0 if self.buf[end] == STX else 1)]
            read = self._line(line)
            if read:
                reads.append(read)
        return reads

    def _reject(self, n):
        self.rejected += 1
        del self.buf[:n]

    @staticmethod
    def _em4100(frame):
        if frame[-1] != ETX or set(frame[1:13]) - HEX:
            return None
        data = frame[1:11].decode()
        checksum = 0
        for i in range(0, 10, 2):
            checksum ^= int(data[i:i + 2], 16)
        if checksum != int(frame[11:13].decode(), 16):
            log.warning("EM4100 frame with a bad checksum dropped")
            return None
        return em4100_read(data)

    def _line(self, line):
        text = line.decode("ascii", "replace").strip()
        if not text:
            return None
        read = parse_magstripe(text)
        if read:
            return read
        if self.protocol == "auto" and text.isdigit() and len(text) <= 32:
            return {"kind": "serial", "number": text}
        self.rejected += 1
        log.warning("unrecognised card reader line dropped (%d bytes)", len(line))
        return None


# --- Toledo 8217 -------------------------------------------------------------------

TOLEDO_WEIGHT = re.compile(rb"^\x02\s*([0-9.]+)(N?)\r$")
TOLEDO_STATUS = re.compile(rb"^\x02\?(.)\r$", re.S)
TOLEDO_BITS = [(0x01, "motion"), (0x02, "over_capacity"), (0x04, "under_zero"),
               (0x08, "outside_zero_capture"), (0x10, "center_of_zero")]


def parse_toledo_8217(reply, unit="kg"):
    """``STX 01.234 CR`` -> stable weight; ``STX ? s CR`` -> status byte s, whose bits are
    0 in motion, 1 over capacity, 2 under zero, 3 outside zero capture, 4 centre of zero
    (bits 5 and 6 always set, bit 7 parity)."""
    m = TOLEDO_WEIGHT.match(reply)
    if m:
        try:
            weight = Decimal(m.group(1).decode())
        except InvalidOperation:
            raise ValueError(f"scale reply {reply!r}: bad weight") from None
        return {"weight": str(weight), "unit": unit, "stable": True,
                "state": "ok", "net": bool(m.group(2))}
    m = TOLEDO_STATUS.match(reply)
    if m:
        status = m.group(1)[0] & 0x7F
        flags = [name for bit, name in TOLEDO_BITS if status & bit]
        state = next((f for f in ("over_capacity", "under_zero", "motion") if f in flags),
                     "no_weight")
        return {"weight": None, "unit": unit, "stable": False, "state": state,
                "flags": flags}
    raise ValueError(f"scale reply {reply!r} is not a Toledo 8217 answer")


def toledo_reply(weight=None, *, motion=False, over=False, under=False):
    """Build what a Toledo 8217 sends back (used by the virtual scale)."""
    status = 0x60 | (0x01 if motion else 0) | (0x02 if over else 0) | (0x04 if under else 0)
    if status != 0x60 or weight is None:
        return b"\x02?" + bytes([status]) + b"\r"
    return b"\x02" + f"{Decimal(weight):06.3f}".encode() + b"\r"


# --- keyboard wedge ------------------------------------------------------------------

_ROW = {2: "1!", 3: "2@", 4: "3#", 5: "4$", 6: "5%", 7: "6^", 8: "7&", 9: "8*", 10: "9(",
        11: "0)", 12: "-_", 13: "=+", 39: ";:", 40: "'\"", 51: ",<", 52: ".>", 53: "/?",
        57: "  ", 71: "77", 72: "88", 73: "99", 75: "44", 76: "55", 77: "66", 79: "11",
        80: "22", 81: "33", 82: "00", 83: "..", 74: "--"}
for _codes, _letters in (((16, 25), "qwertyuiop"), ((30, 38), "asdfghjkl"), ((44, 50), "zxcvbnm")):
    for _code, _ch in zip(range(_codes[0], _codes[1] + 1), _letters):
        _ROW[_code] = _ch + _ch.upper()
KEY_ENTER, KEY_KPENTER, KEY_LEFTSHIFT, KEY_RIGHTSHIFT = 28, 96, 42, 54


class WedgeBuffer:
    """Linux key events (code, value: 1 down, 0 up, 2 repeat) -> one text per Enter."""

    def __init__(self):
        self.text = []
        self.shift = False

    def key(self, code, value):
        if code in (KEY_LEFTSHIFT, KEY_RIGHTSHIFT):
            self.shift = value != 0
            return None
        if value != 1:
            return None
        if code in (KEY_ENTER, KEY_KPENTER):
            text, self.text = "".join(self.text), []
            return text or None
        chars = _ROW.get(code)
        if chars and len(self.text) < MAX_LINE:
            self.text.append(chars[1] if self.shift else chars[0])
        return None


def wedge_read(text):
    read = parse_magstripe(text)
    if read:
        read["kind"] = "wedge_magstripe"
        return read
    return {"kind": "wedge", "number": text.strip()}
