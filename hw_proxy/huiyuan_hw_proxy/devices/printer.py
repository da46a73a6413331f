"""ESC/POS receipt printer and the cash drawer wired to it."""

import asyncio
import logging

from .. import commands as cmd
from ..exceptions import BadRequest, DeviceError, DeviceOffline, PaperOut
from ..receipt import ReceiptRenderer, columns_for
from ..transports import make_transport
from .base import CONNECTED, Device

log = logging.getLogger(__name__)


def parse_printer_status(byte):
    """DLE EOT 1 answer -> offline flag (bit 3); None if it is not a status byte."""
    if byte is None or (byte & 0x93) != 0x12:
        return None
    return {"offline": bool(byte & 0x08), "drawer_pin3": bool(byte & 0x04)}


def parse_paper_status(byte):
    """DLE EOT 4 answer -> paper near end (bits 2-3) / paper end (bits 5-6)."""
    if byte is None or (byte & 0x93) != 0x12:
        return None
    return {"near_end": bool(byte & 0x0C), "paper_out": bool(byte & 0x60)}


class Printer(Device):
    type = "printer"
    commands = ("receipt", "drawer", "status", "test")
    urgent = ("drawer",)

    def __init__(self, config, proxy):
        super().__init__(config, proxy)
        opts = self.options
        try:
            self.columns = columns_for(opts.get("columns") or opts.get("paper", "80mm"))
            self.drawer_pin = int(opts.get("drawer_pin", 2))
            self.drawer_bytes = cmd.drawer_kick(self.drawer_pin, int(opts.get("drawer_on_ms", 100)),
                                                int(opts.get("drawer_off_ms", 500)))
        except (ValueError, BadRequest) as exc:
            from ..exceptions import ConfigError
            raise ConfigError(f"printer {self.name}: {getattr(exc, 'message', exc)}") from None
        self.cut = bool(opts.get("cut", True))
        self.status_interval = float(opts.get("status_interval", 10))
        self.paper = None

    def transport(self):
        return make_transport(self.url, self.options, runtime_dir=self.proxy.config.runtime_dir)

    async def start(self):
        await super().start()
        if self.url.scheme == "dummy":
            self.set_state(CONNECTED, "dummy printer: jobs are written to files")
        if self.status_interval > 0 and self.url.scheme != "dummy":
            self.tasks.append(asyncio.create_task(self._monitor(), name=f"{self.name}-status"))

    async def _monitor(self):
        while True:
            if not self.lock.locked() and self.queue.empty():
                try:
                    async with self.lock:
                        await self.probe()
                except DeviceError as exc:
                    self._failed(exc)
                except Exception:  # keep monitoring whatever happens
                    log.exception("%s: status probe failed", self.name)
            await self.proxy.sleep(self.status_interval)

    async def probe(self, transport=None, *, need_paper=False):
        """Open (or use) a connection and read DLE EOT status where the transport allows;
        raise DeviceOffline / PaperOut, else mark the printer connected."""
        if transport is None:
            async with self.transport() as transport:
                return await self.probe(transport, need_paper=need_paper)
        message = ""
        if transport.supports_status:
            printer = parse_printer_status(_byte(await transport.query(cmd.STATUS_PRINTER)))
            if printer is None:
                message = "no status answer (DLE EOT unsupported?)"
            else:
                paper = parse_paper_status(_byte(await transport.query(cmd.STATUS_PAPER)))
                self.paper = paper
                if paper and paper["paper_out"]:
                    self.set_state("paper_out", "paper roll is empty")
                    if need_paper:
                        raise PaperOut("the printer is out of paper")
                    return
                if printer["offline"]:
                    raise DeviceOffline("the printer reports offline (cover open or error)")
                if paper and paper["near_end"]:
                    message = "paper roll near its end"
        else:
            message = "status not available on this connection"
        self.set_state(CONNECTED, message)

    async def execute(self, job):
        async with self.transport() as transport:
            await self.probe(transport, need_paper=job.kind == "receipt")
            job.check()  # last moment: never print or pop the drawer late
            await transport.write(job.payload)
        return {"bytes": len(job.payload)}

    # -- commands --
    async def cmd_receipt(self, payload):
        receipt = payload.get("receipt")
        if not isinstance(receipt, dict):
            raise BadRequest("body.receipt must be the receipt object")
        columns = columns_for(receipt.get("paper", self.columns))
        data = ReceiptRenderer(columns, cut=self.cut).render(receipt)
        copies = payload.get("copies", 1)
        if not isinstance(copies, int) or isinstance(copies, bool) or not 1 <= copies <= 5:
            raise BadRequest("body.copies must be an integer from 1 to 5")
        jobs = []
        if payload.get("open_drawer"):
            jobs.append(self.submit("drawer", self.drawer_bytes, self.proxy.config.drawer_ttl))
        jobs.append(self.submit("receipt", data * copies, self.proxy.config.receipt_ttl))
        return await self.proxy.wait_jobs(jobs, payload.get("wait"))

    async def cmd_drawer(self, payload):
        job = self.submit("drawer", self.drawer_bytes, self.proxy.config.drawer_ttl)
        return await self.proxy.wait_jobs([job], payload.get("wait"))

    async def cmd_test(self, payload):
        receipt = {"header": {"title": "测试 TEST"}, "lines": [
            {"name": "打印测试 Printer test", "amount": "0.00"}],
            "footer": [f"{self.name} {self.columns} 列 columns"]}
        job = self.submit("receipt", ReceiptRenderer(self.columns, cut=self.cut).render(receipt),
                          self.proxy.config.receipt_ttl)
        return await self.proxy.wait_jobs([job], payload.get("wait"))

    async def cmd_status(self, payload):
        if self.url.scheme != "dummy":
            try:
                async with self.lock:
                    await self.probe()
            except DeviceError as exc:
                self._failed(exc)
        return 200, {"device": self.status()}

    def status(self):
        data = super().status()
        data.update(columns=self.columns, paper=self.paper)
        return data


def _byte(answer):
    return answer[0] if answer else None
