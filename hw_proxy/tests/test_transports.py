"""Serial (pty) and file printer transports, with DLE EOT status over the serial line."""

import asyncio
import os
import tty

import pytest_asyncio
from conftest import auth, pair
from huiyuan_hw_proxy.receipt import render_receipt
from huiyuan_hw_proxy.virtual import PRINTER_MODES


class PtyPrinter:
    """A serial printer on a pty: answers DLE EOT like the fake network printer."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.mode = "online"
        self.received = bytearray()
        self.buf = b""
        asyncio.get_running_loop().add_reader(self.master, self._read)

    def _read(self):
        try:
            self.buf += os.read(self.master, 4096)
        except OSError:
            return
        while self.buf:
            i = self.buf.find(b"\x10\x04")
            if i < 0 or i + 2 >= len(self.buf):
                keep = self.buf[i:] if i >= 0 else (b"\x10" if self.buf.endswith(b"\x10") else b"")
                self.received += self.buf[:len(self.buf) - len(keep)]
                self.buf = keep
                return
            self.received += self.buf[:i]
            answer = PRINTER_MODES[self.mode][{1: 0, 2: 1, 4: 2}[self.buf[i + 2]]]
            if answer is not None:
                os.write(self.master, bytes([answer]))
            self.buf = self.buf[i + 3:]

    def close(self):
        asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)
        os.close(self.slave)


@pytest_asyncio.fixture
async def pty_printer():
    printer = PtyPrinter()
    yield printer
    printer.close()


async def wait_until(predicate, timeout=5.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.01)


async def test_serial_printer_with_status(make_config, start, pty_printer, sample):
    client, proxy = await start(make_config(
        {"printer": {"type": "printer", "url": f"serial://{pty_printer.path}?baud=38400",
                     "paper": "58mm", "status_interval": 0}}))
    token = await pair(client, proxy)
    resp = await client.post("/api/v1/devices/printer/receipt", headers=auth(token),
                             json={"receipt": sample("zh")})
    assert resp.status == 200, await resp.text()
    expected = render_receipt(sample("zh"), "58mm")
    await wait_until(lambda: len(pty_printer.received) >= len(expected))
    assert bytes(pty_printer.received) == expected
    pty_printer.mode = "paper_out"
    resp = await client.post("/api/v1/devices/printer/status", headers=auth(token), json={})
    assert (await resp.json())["device"]["state"] == "paper_out"
    pty_printer.mode = "silent"  # a printer that never answers DLE EOT still prints
    resp = await client.post("/api/v1/devices/printer/drawer", headers=auth(token), json={})
    assert resp.status == 200
    assert "no status answer" in proxy.devices["printer"].message
    await wait_until(lambda: pty_printer.received.endswith(b"\x1bp\x00\x32\xfa"))


async def test_file_printer(make_config, start, tmp_path, sample):
    lp = tmp_path / "lp0"
    client, proxy = await start(make_config(
        {"printer": {"type": "printer", "url": f"file://{lp}", "status_interval": 0}}))
    token = await pair(client, proxy)
    resp = await client.post("/api/v1/devices/printer/receipt", headers=auth(token),
                             json={"receipt": sample("en"), "wait": 0.2})
    assert resp.status == 202  # /dev/usb/lp0 absent (printer unplugged): queued
    assert proxy.devices["printer"].state == "offline"
    lp.touch()  # plugged in
    job = proxy.jobs[(await resp.json())["jobs"][0]["job"]]
    await wait_until(lambda: job.state == "done")
    assert lp.read_bytes() == render_receipt(sample("en"), "80mm")
