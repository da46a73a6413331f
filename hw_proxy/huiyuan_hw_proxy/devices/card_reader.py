"""Card readers: serial (EM4100 RFID frames, magstripe tracks, plain numbers) and USB
keyboard-wedge readers grabbed through evdev. Every read becomes one ``card`` event."""

import asyncio
import logging
import threading

from ..exceptions import BadRequest, ConfigError
from ..parsers import CardStreamParser, WedgeBuffer, parse_magstripe, wedge_read
from ..transports import open_serial, serial_kwargs
from .base import CONNECTED, DISCONNECTED, UNAVAILABLE, Device

log = logging.getLogger(__name__)


def mask(number):
    number = str(number or "")
    return number if len(number) <= 4 else "*" * (len(number) - 4) + number[-4:]


class CardReader(Device):
    type = "card_reader"
    commands = ("status",)

    def __init__(self, config, proxy):
        super().__init__(config, proxy)
        if self.url.scheme not in {"serial", "evdev", "dummy"}:
            raise ConfigError(f"card reader {self.name}: use serial://, evdev:// or dummy://")
        self.protocol = self.options.get("protocol", "auto")
        try:
            CardStreamParser(self.protocol)
        except ValueError as exc:
            raise ConfigError(f"card reader {self.name}: {exc}") from None
        self.reconnect_interval = float(self.options.get("reconnect_interval", 2))
        if self.url.scheme == "dummy":
            self.commands = ("status", "simulate")
        self._stop = threading.Event()
        self._thread = None
        self.reads = 0

    async def start(self):
        await super().start()
        if self.url.scheme == "serial":
            loop = asyncio.get_running_loop()
            self._thread = threading.Thread(target=self._serial_loop, args=(loop,),
                                            name=f"{self.name}-serial", daemon=True)
            self._thread.start()
        elif self.url.scheme == "evdev":
            self.tasks.append(asyncio.create_task(self._evdev_loop(), name=f"{self.name}-evdev"))
        else:
            self.set_state(CONNECTED, "dummy reader: POST .../simulate {\"number\": ...} "
                           "makes a read")

    async def stop(self):
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 3)
            self._thread = None
        await super().stop()

    async def cmd_status(self, payload):
        return 200, {"device": self.status()}

    async def cmd_simulate(self, payload):
        """Dummy readers only: turn a number into a read as if a card was presented."""
        number = payload.get("number")
        if not isinstance(number, str) or not number.strip() or len(number) > 64:
            raise BadRequest("body.number must be the card number (a string)")
        read = parse_magstripe(number) or {"kind": "dummy", "number": number.strip()}
        self.emit(read)
        return 200, {"read": read}

    def status(self):
        data = super().status()
        data.update(reads=self.reads, protocol=self.protocol)
        return data

    def emit(self, read):
        self.reads += 1
        log.info("%s: %s card %s", self.name, read.get("kind"), mask(read.get("number")))
        self.proxy.events.publish("card", device=self.name, **read)

    # -- serial: a dedicated thread blocks in pyserial, the loop parses and publishes --
    def _serial_loop(self, loop):
        import serial

        kwargs = serial_kwargs(self.url)
        parser = CardStreamParser(self.protocol)

        def call(fn, *args):
            loop.call_soon_threadsafe(fn, *args)

        while not self._stop.is_set():
            try:
                port = open_serial(kwargs, 0.2)
            except (serial.SerialException, OSError) as exc:
                call(self.set_state, DISCONNECTED, f"cannot open {kwargs['port']}: {exc}")
                self._stop.wait(self.reconnect_interval)
                continue
            call(self.set_state, CONNECTED, "")
            try:
                while not self._stop.is_set():
                    data = port.read(1)
                    if not data:
                        continue
                    waiting = port.in_waiting
                    if waiting:
                        data += port.read(waiting)
                    for read in parser.feed(data):
                        call(self.emit, read)
            except (serial.SerialException, OSError) as exc:
                call(self.set_state, DISCONNECTED, f"{kwargs['port']}: {exc}")
                self._stop.wait(self.reconnect_interval)
            finally:
                try:
                    port.close()
                except Exception:
                    pass

    # -- USB keyboard wedge through evdev (optional dependency) --
    async def _evdev_loop(self):
        try:
            import evdev
        except ImportError:
            self.set_state(UNAVAILABLE, "install the 'evdev' Python package to use "
                                        "keyboard-wedge readers")
            return
        grab = str(self.options.get("grab", True)).lower() not in {"0", "false", "no"}
        while True:
            try:
                device = evdev.InputDevice(self.url.path)
            except OSError as exc:
                self.set_state(DISCONNECTED, f"cannot open {self.url.path}: {exc.strerror}")
                await self.proxy.sleep(self.reconnect_interval)
                continue
            buffer = WedgeBuffer()
            try:
                if grab:
                    device.grab()  # keystrokes no longer reach the focused window
                self.set_state(CONNECTED, f"{device.name}" + (" (grabbed)" if grab else ""))
                async for event in device.async_read_loop():
                    if event.type == evdev.ecodes.EV_KEY:
                        text = buffer.key(event.code, event.value)
                        if text:
                            self.emit(wedge_read(text))
            except OSError as exc:
                self.set_state(DISCONNECTED, f"{self.url.path}: {exc.strerror}")
                await self.proxy.sleep(self.reconnect_interval)
            finally:
                try:
                    device.close()
                except Exception:
                    pass
