"""Receipt rendering: golden bytes, column widths, Chinese encoding, validation."""

import re
import unicodedata

import pytest
from conftest import RECEIPTS
from huiyuan_hw_proxy import commands as cmd
from huiyuan_hw_proxy.exceptions import ReceiptError
from huiyuan_hw_proxy.receipt import render_receipt, two_columns, wrap

CASES = [(lang, paper) for lang in ("zh", "en") for paper in ("58mm", "80mm")]


@pytest.mark.parametrize("lang,paper", CASES)
def test_golden_bytes(lang, paper, sample):
    data = render_receipt(sample(lang), paper)
    golden = (RECEIPTS / f"{lang}_{paper}.bin").read_bytes()
    assert data == golden, "receipt changed; review:\n" + cmd.dump(data)
    # the reviewed human-readable dump matches the bytes too
    assert cmd.dump(golden) == (RECEIPTS / f"{lang}_{paper}.txt").read_text("utf-8")


def printed_lines(data):
    """Text lines as the printer lays them out (commands removed), with their size."""
    text = cmd.dump(data)
    lines = []
    for raw in text.split("\n"):
        wide = "<SIZE 2x2>" in raw
        plain = re.sub(r"<[^>]*>", "", raw)
        lines.append((plain, wide))
    return lines


def eaw(s):
    """Reference width from Unicode east-asian width (ambiguous counted wide, as the
    printer's Chinese font does)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WFA" else 1 for c in s)


@pytest.mark.parametrize("lang,paper", CASES)
def test_every_line_fits_and_two_column_rows_are_flush(lang, paper, sample):
    columns = 32 if paper == "58mm" else 48
    lines = printed_lines(render_receipt(sample(lang), paper))
    assert len(lines) > 20
    for plain, wide in lines:
        assert eaw(plain) * (2 if wide else 1) <= columns, plain
    # label/amount rows end exactly at the right margin
    amounts = [p for p, _ in lines if p.endswith(("￥4.00", "￥33.98", "￥16.02", "1,268"))]
    assert len(amounts) == 4
    assert all(eaw(p) == columns for p in amounts), amounts


def test_han_text_only_inside_fs_ampersand(sample):
    data = render_receipt(sample("zh"), "58mm")
    inside = False
    i = 0
    while i < len(data):
        if data.startswith(cmd.KANJI_ON, i):
            inside, i = True, i + 2
            continue
        if data.startswith(cmd.KANJI_OFF, i):
            inside, i = False, i + 2
            continue
        if data[i] >= 0x81 and not inside:
            # only binary command arguments may be >= 0x81 outside Kanji mode
            assert data[i - 2:i] in (b"\x1dh",), (i, data[i - 8:i + 4])
        i += 1
    assert not inside
    assert "会员生活超市".encode("gb18030") in data


def test_yen_sign_becomes_fullwidth_never_four_byte_gb18030(sample):
    data = render_receipt(sample("en"), "80mm")  # its member block uses U+00A5
    assert "¥".encode("gb18030") not in data  # 81 30 84 36
    assert cmd.KANJI_ON + "￥".encode("gb18030") + cmd.KANJI_OFF in data
    assert "￥".encode("gb18030") == b"\xa3\xa4"


def test_width_follows_gb18030_and_matches_east_asian_width():
    for ch in "会员￥（），A1 ":
        assert cmd.char_width(ch) == (2 if unicodedata.east_asian_width(ch) in "WF" else 1)
    assert cmd.sanitize("a\x1bb\u00a5\U0001F600") == "ab￥?"  # ESC dropped, emoji replaced


def test_wrap_and_columns():
    assert wrap("康师傅红烧牛肉面", 7) == ["康师傅", "红烧牛", "肉面"]
    assert wrap("Instant noodles family pack", 12) == ["Instant", "noodles", "family pack"]
    assert two_columns("小计", "￥1.00", 16) == ["小计" + " " * 6 + "￥1.00"]
    long = two_columns("很长很长很长的名字", "￥100.00", 16)
    assert long[-1].endswith("￥100.00") and all(cmd.text_width(x) <= 16 for x in long)


def test_drawer_kick_and_cut_bytes():
    assert cmd.drawer_kick(2, 100, 500) == b"\x1bp\x00\x32\xfa"
    assert cmd.drawer_kick(5, 50, 50) == b"\x1bp\x01\x19\x19"
    data = render_receipt({"lines": [{"name": "x", "amount": "1"}]}, "58mm")
    assert data.endswith(b"\x1bd\x04\x1dV\x01")


def test_barcode_and_qr_bytes():
    assert cmd.barcode("CODE128", "S1").endswith(b"\x1dkI\x04{BS1")
    assert cmd.barcode("EAN13", "6901234567892").endswith(b"\x1dkC\x0c690123456789")
    with pytest.raises(ValueError):
        cmd.barcode("EAN13", "6901234567891")  # wrong check digit
    qr = cmd.qr("HY")
    assert b"\x1d(k\x05\x001P0HY" in qr and qr.endswith(b"\x1d(k\x03\x001Q0")


@pytest.mark.parametrize("receipt,message", [
    ({}, "lines must be a list"),
    ({"lines": [{"name": "x"}]}, "amount is required"),
    ({"lines": [{"name": "x", "amount": "abc"}]}, "not a decimal"),
    ({"lines": [{"name": "x", "amount": 1.5}]}, "decimal string"),
    ({"lines": [], "barcode": {"type": "EAN13", "data": "12"}}, "EAN13"),
    ({"lines": [], "bogus": 1}, "unknown receipt key"),
    ({"lines": [], "paper": "76mm"}, "paper must be"),
])
def test_invalid_receipts_are_refused(receipt, message):
    with pytest.raises(ReceiptError, match=message):
        render_receipt(receipt)
