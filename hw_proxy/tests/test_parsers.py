"""Card, magstripe, scale and keyboard-wedge parsers."""

import pytest
from huiyuan_hw_proxy.parsers import (
    CardStreamParser,
    WedgeBuffer,
    card_number_to_tag,
    em4100_frame,
    parse_magstripe,
    parse_toledo_8217,
    toledo_reply,
)

FRAME = em4100_frame("0012345678")


def test_em4100_frame_layout():
    # STX + 10 hex + XOR checksum (00^12^34^56^78 = 08) + ETX
    assert FRAME == b"\x02" + b"0012345678" + b"08" + b"\x03"


@pytest.mark.parametrize("split", range(1, len(FRAME)))
def test_em4100_frame_split_anywhere(split):
    parser = CardStreamParser()
    assert parser.feed(FRAME[:split]) == []
    reads = parser.feed(FRAME[split:])
    assert reads == [{"kind": "em4100", "tag": "0012345678", "number": "0305419896"}]


def test_em4100_byte_by_byte_with_noise_and_bad_checksum():
    bad = FRAME[:11] + b"FF" + b"\x03"
    stream = b"\x00\xffnoise" + bad + FRAME + b"\x02\x02" + em4100_frame("01ABCDEF99")
    parser = CardStreamParser("em4100")
    reads = []
    for b in stream:
        reads += parser.feed(bytes([b]))
    assert [r["tag"] for r in reads] == ["0012345678", "01ABCDEF99"]
    assert parser.rejected >= 1


def test_magstripe_tracks():
    read = parse_magstripe("%B6222021234567890^ZHANG/SAN^2812101123456?"
                           ";6222021234567890=2812101123456?")
    assert read == {"kind": "magstripe", "tracks": [1, 2], "number": "6222021234567890",
                    "name": "SAN ZHANG", "expiry": "2812"}
    assert parse_magstripe(";88001234?")["number"] == "88001234"
    assert parse_magstripe("%E?") is None
    parser = CardStreamParser()
    reads = parser.feed(b";8800")
    reads += parser.feed(b"1234?\r\n0012345\r")
    assert [r.get("number") for r in reads] == ["88001234", "0012345"]


def test_card_number_to_tag_round_trip():
    tag = card_number_to_tag("0305419896")
    assert tag == "0012345678"
    assert CardStreamParser().feed(em4100_frame(tag))[0]["number"] == "0305419896"
    with pytest.raises(ValueError):
        card_number_to_tag("99999999999")


def test_toledo_8217_replies():
    assert toledo_reply("1.234") == b"\x0201.234\r"
    assert parse_toledo_8217(b"\x0201.234\r") == {
        "weight": "1.234", "unit": "kg", "stable": True, "state": "ok", "net": False}
    assert parse_toledo_8217(b"\x02?A\r")["state"] == "motion"  # 0x41
    assert parse_toledo_8217(b"\x02?B\r")["state"] == "over_capacity"
    assert parse_toledo_8217(b"\x02?D\r")["state"] == "under_zero"
    assert parse_toledo_8217(toledo_reply(motion=True, under=True))["state"] == "under_zero"
    with pytest.raises(ValueError):
        parse_toledo_8217(b"garbage\r")


def test_wedge_buffer():
    buf = WedgeBuffer()
    keys = [(42, 1), (39, 1), (39, 0), (42, 0)]  # shift + ; -> ':'? no: ';' shifted is ':'
    out = [buf.key(c, v) for c, v in keys]
    assert out == [None] * 4 and buf.text == [":"]
    buf = WedgeBuffer()
    for code in (39, 9, 9, 11, 2):  # ; 8 8 0 1
        buf.key(code, 1)
        buf.key(code, 0)
    buf.key(42, 1)
    buf.key(53, 1)  # shift + / -> ?
    buf.key(42, 0)
    assert buf.key(28, 1) == ";8801?"
