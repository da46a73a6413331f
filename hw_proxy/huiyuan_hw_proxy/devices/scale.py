"""Weighing scale, Toledo 8217 protocol (7 data bits, even parity, 1 stop bit; ``W``)."""

import asyncio
import logging

from ..exceptions import ConfigError, DeviceError, DeviceOffline
from ..parsers import parse_toledo_8217, toledo_reply
from ..transports import SerialTransport
from .base import CONNECTED, Device

log = logging.getLogger(__name__)
TOLEDO_SERIAL = {"baud": 9600, "bytesize": 7, "parity": "E", "stopbits": 1}


class Scale(Device):
    type = "scale"
    commands = ("read", "status")
    retryable = ()  # a weight is wanted now or not at all

    def __init__(self, config, proxy):
        super().__init__(config, proxy)
        protocol = self.options.get("protocol", "toledo8217")
        if protocol != "toledo8217":
            raise ConfigError(f"scale {self.name}: only protocol = \"toledo8217\" is supported")
        if self.url.scheme not in {"serial", "dummy"}:
            raise ConfigError(f"scale {self.name}: use serial:// or dummy://")
        self.unit = self.options.get("unit", "kg")
        self.poll_interval = float(self.options.get("poll_interval", 0))
        self.timeout = float(self.options.get("timeout", 1))
        self.last = None

    async def start(self):
        await super().start()
        if self.url.scheme == "dummy":
            self.set_state(CONNECTED, "dummy scale")
        if self.poll_interval > 0:
            self.tasks.append(asyncio.create_task(self._poll(), name=f"{self.name}-poll"))

    async def _poll(self):
        """While someone listens on the WebSocket, publish each change of weight."""
        while True:
            if self.proxy.events.subscribers:
                job = self.submit("read", None, self.timeout + 4)
                await job.future
            await self.proxy.sleep(self.poll_interval)

    async def execute(self, job):
        if self.url.scheme == "dummy":
            reply = toledo_reply(self.options.get("weight", "0.000"))
        else:
            transport = SerialTransport(self.url, self.options, TOLEDO_SERIAL, self.timeout)
            async with transport:
                reply = await transport.write_then_read(b"W", b"\r", timeout=self.timeout)
            if reply is None:
                raise DeviceOffline("the scale did not answer W")
        try:
            reading = parse_toledo_8217(reply[reply.rfind(b"\x02"):], self.unit)
        except ValueError as exc:
            raise DeviceError(str(exc)) from None
        self.set_state(CONNECTED)
        if reading != self.last:
            self.last = reading
            self.proxy.events.publish("weight", device=self.name, **reading)
        return reading

    async def cmd_read(self, payload):
        job = self.submit("read", None, self.timeout + 4)
        return await self.proxy.wait_jobs([job], payload.get("wait", 5))

    async def cmd_status(self, payload):
        return 200, {"device": self.status()}

    def status(self):
        data = super().status()
        data.update(last=self.last)
        return data
