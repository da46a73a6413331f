"""The command line: `hw-proxy serve --virtual` as a real process, swipe/weigh/printer-mode,
render, and configuration errors."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from conftest import POS, RECEIPTS
from huiyuan_hw_proxy.cli import DEMO_CONFIG, main
from huiyuan_hw_proxy.config import Config, DeviceURL
from huiyuan_hw_proxy.exceptions import ConfigError
from huiyuan_hw_proxy.receipt import render_receipt

BIN = Path(sys.executable).parent / "hw-proxy"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args, runtime):
    return subprocess.run([str(BIN), *args, "--config", str(runtime / "demo.toml"),
                           "--runtime-dir", str(runtime)],
                          capture_output=True, text=True, timeout=30)


@pytest.fixture
def demo_process(tmp_path):
    port, printer_port = free_port(), free_port()
    text = DEMO_CONFIG.read_text().replace("tcp://127.0.0.1:9100",
                                           f"tcp://127.0.0.1:{printer_port}")
    (tmp_path / "demo.toml").write_text(text)
    proc = subprocess.Popen(
        [str(BIN), "serve", "--config", str(tmp_path / "demo.toml"), "--virtual", "--pair",
         "--port", str(port), "--runtime-dir", str(tmp_path), "--origin", POS],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    code = None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "Pairing code" in line:
            code = line.rsplit(":", 1)[1].replace("*", "").replace(" ", "").strip()
            break
    assert code, "".join(lines)
    yield proc, port, code, tmp_path
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    proc.stdout.close()


async def test_serve_virtual_end_to_end(demo_process):
    proc, port, code, runtime = demo_process
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession(headers={"Origin": POS}) as http:
        async with http.get(f"{base}/api/v1/hello") as r:
            assert r.status == 200
        async with http.post(f"{base}/api/v1/pair/confirm", json={"code": code}) as r:
            assert r.status == 200, await r.text()
            token = (await r.json())["token"]
        headers = {"Authorization": f"Bearer {token}"}
        ws = await http.ws_connect(f"{base}/api/v1/events")
        await ws.send_json({"type": "auth", "token": token})
        assert (await ws.receive_json())["type"] == "hello"
        for _ in range(100):  # the reader thread opens its port right after start
            async with http.get(f"{base}/api/v1/status") as r:
                if (await r.json())["devices"]["reader"]["state"] == "connected":
                    break
            await asyncio.sleep(0.05)
        swipe = await asyncio.to_thread(cli, "swipe", "0305419896", runtime=runtime)
        assert swipe.returncode == 0, swipe.stderr
        while True:
            event = await asyncio.wait_for(ws.receive_json(), 10)
            if event["type"] == "card":
                break
        assert event["number"] == "0305419896" and event["device"] == "reader"
        # a 12-digit member card number does not fit EM4100: it goes as a magstripe
        swipe = await asyncio.to_thread(cli, "swipe", "880000000001", runtime=runtime)
        assert swipe.returncode == 0, swipe.stderr
        while True:
            event = await asyncio.wait_for(ws.receive_json(), 10)
            if event["type"] == "card":
                break
        assert (event["kind"], event["number"]) == ("magstripe", "880000000001")

        weigh = await asyncio.to_thread(cli, "weigh", "2.345", runtime=runtime)
        assert weigh.returncode == 0, weigh.stderr
        async with http.post(f"{base}/api/v1/devices/scale/read", json={},
                             headers=headers) as r:
            assert (await r.json())["jobs"][0]["result"]["weight"] == "2.345"

        receipt = json.loads((RECEIPTS / "sample_zh.json").read_text("utf-8"))
        async with http.post(f"{base}/api/v1/devices/printer/receipt",
                             json={"receipt": receipt}, headers=headers) as r:
            assert r.status == 200, await r.text()
        printed = sorted((runtime / "printed").glob("*.bin"))
        for _ in range(100):
            printed = sorted((runtime / "printed").glob("*.bin"))
            if printed:
                break
            await asyncio.sleep(0.05)
        assert printed[-1].read_bytes() == render_receipt(receipt, "80mm")

        async with http.post(f"{base}/api/v1/devices/display/show", headers=headers,
                             json={"mode": "total", "amount": "33.98"}) as r:
            assert r.status == 200
        for _ in range(100):
            shown = runtime / "display.txt"
            if shown.exists() and "33.98" in shown.read_text():
                break
            await asyncio.sleep(0.05)
        assert (runtime / "display.txt").read_text().split("\n")[0] == "TOTAL"

        mode = await asyncio.to_thread(cli, "printer-mode", "paper_out", runtime=runtime)
        assert mode.returncode == 0
        for _ in range(100):
            async with http.post(f"{base}/api/v1/devices/printer/status", json={},
                                 headers=headers) as r:
                if (await r.json())["device"]["state"] == "paper_out":
                    break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("printer never reported paper_out")
        # stopping with a POS still listening closes its WebSocket and exits promptly
        proc.send_signal(signal.SIGTERM)
        while True:  # events still queued, then the close
            msg = await asyncio.wait_for(ws.receive(), 10)
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert await asyncio.to_thread(proc.wait, 10) == 0
    assert not (runtime / "card-reader").exists()  # twins cleaned up


def test_swipe_without_running_demo_is_a_clear_error(tmp_path):
    (tmp_path / "demo.toml").write_text(DEMO_CONFIG.read_text())
    result = cli("swipe", "123", runtime=tmp_path)
    assert result.returncode == 2
    assert "is `hw-proxy demo` running" in result.stderr


def test_render_command(tmp_path, capsys):
    out = tmp_path / "r.bin"
    assert main(["render", str(RECEIPTS / "sample_en.json"), "--paper", "58mm",
                 "-o", str(out)]) == 0
    assert out.read_bytes() == (RECEIPTS / "en_58mm.bin").read_bytes()
    assert main(["render", str(tmp_path / "missing.json")]) == 2


def test_demo_config_loads():
    config = Config.load(DEMO_CONFIG)
    assert config.port == 8400 and config.host == "127.0.0.1"
    assert {d.type for d in config.devices.values()} == {"printer", "card_reader", "display",
                                                          "scale"}
    Config.load(DEMO_CONFIG.parent / "example.toml")


@pytest.mark.parametrize("data,message", [
    ({"server": {"host": "0.0.0.0"}}, "loopback"),
    ({"server": {"bogus": 1}}, "unknown key"),
    ({"security": {"allowed_origins": ["http://x/pos"]}}, "exactly scheme://host"),
    ({"devices": {"p": {"type": "printer", "url": "lpt://1"}}}, "unknown scheme"),
    ({"devices": {"p": {"type": "printer", "url": "usb://epson"}}}, "hex ids"),
    ({"devices": {"p": {"type": "toaster", "url": "dummy://x"}}}, "type must be"),
    ({"devices": {"p": {"type": "printer"}}}, "url is missing"),
])
def test_config_errors(data, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_dict(data)


def test_device_urls():
    url = DeviceURL.parse("serial:///dev/serial/by-id/usb-1a86-port0?baud=9600&parity=E")
    assert url.path == "/dev/serial/by-id/usb-1a86-port0"
    assert url.query == {"baud": "9600", "parity": "E"}
    assert DeviceURL.parse("usb://04b8:0202").usb_ids() == (0x04B8, 0x0202)
    assert DeviceURL.parse("tcp://192.168.1.50").port == 9100
    assert DeviceURL.parse("file:///dev/usb/lp0").path == "/dev/usb/lp0"
    assert DeviceURL.parse("dummy://front").host == "front"
    assert os.sep in DeviceURL.parse("evdev:///dev/input/event3").path


async def test_virtual_printer_moves_when_its_port_is_busy(tmp_path):
    from huiyuan_hw_proxy.virtual import start_virtual_devices

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        config = Config.from_dict({
            "server": {"runtime_dir": str(tmp_path)},
            "devices": {"printer": {"type": "printer", "url": f"tcp://127.0.0.1:{port}",
                                    "virtual": True}}})
        twins = await start_virtual_devices(config)
        try:
            moved = config.devices["printer"].url
            assert moved.port == twins["printer"].port != port
        finally:
            for twin in twins.values():
                await twin.stop()
    finally:
        busy.close()
