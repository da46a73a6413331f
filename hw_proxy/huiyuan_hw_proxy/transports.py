"""Byte transports for printers, displays and scales.

TCP uses asyncio streams. pyserial, pyusb (through python-escpos) and plain files block,
so they run in a worker thread (``asyncio.to_thread``); the owning device's lock makes
sure only one thread uses a transport at a time.
"""

import asyncio
import itertools
import os
from pathlib import Path

from .exceptions import ConfigError, DeviceError, DeviceOffline, DeviceUnavailable


class Transport:
    supports_status = False

    def __init__(self, url, options=None):
        self.url = url
        self.options = options or {}

    async def open(self):
        pass

    async def write(self, data):
        raise NotImplementedError

    async def query(self, command, size=1, timeout=1.0):
        """Send ``command`` and read ``size`` bytes back; None when nothing came back."""
        return None

    async def read_until(self, terminator, timeout=1.0, limit=64):
        return None

    async def close(self):
        pass

    async def __aenter__(self):
        await self.open()
        return self

    async def __aexit__(self, *exc):
        await self.close()


class TcpTransport(Transport):
    supports_status = True

    def __init__(self, url, options=None):
        super().__init__(url, options)
        self.connect_timeout = float(url.query.get("timeout", 3))
        self.supports_status = url.query.get("status", "1") not in {"0", "false", "no"}
        self.reader = self.writer = None

    async def open(self):
        try:
            self.reader, self.writer = await asyncio.wait_for(
                asyncio.open_connection(self.url.host, self.url.port), self.connect_timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            raise DeviceOffline(
                f"cannot reach {self.url.host}:{self.url.port}: {exc or 'timeout'}") from None

    async def write(self, data):
        try:
            self.writer.write(data)
            await asyncio.wait_for(self.writer.drain(), 30)
        except (OSError, asyncio.TimeoutError) as exc:
            raise DeviceOffline(f"connection to {self.url.host}:{self.url.port} lost: "
                                f"{exc or 'timeout'}") from None

    async def query(self, command, size=1, timeout=1.0):
        await self.write(command)
        try:
            return await asyncio.wait_for(self.reader.readexactly(size), timeout)
        except asyncio.TimeoutError:
            return None
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise DeviceOffline(f"{self.url.host}:{self.url.port} closed the connection: "
                                f"{exc}") from None

    async def close(self):
        if self.writer is not None:
            self.writer.close()
            try:
                await asyncio.wait_for(self.writer.wait_closed(), 2)
            except (OSError, asyncio.TimeoutError):
                pass
            self.writer = self.reader = None


SERIAL_PARITY = {"N": "N", "E": "E", "O": "O", "M": "M", "S": "S"}


def serial_kwargs(url, defaults=None):
    """``serial:///dev/ttyUSB0?baud=9600&bytesize=7&parity=E&stopbits=1``."""
    q = dict(defaults or {})
    q.update(url.query)
    try:
        parity = str(q.get("parity", "N")).upper()[:1]
        if parity not in SERIAL_PARITY:
            raise ValueError(f"parity {parity!r}")
        return {
            "port": url.path,
            "baudrate": int(q.get("baud", 9600)),
            "bytesize": int(q.get("bytesize", 8)),
            "parity": parity,
            "stopbits": float(q.get("stopbits", 1)) if str(q.get("stopbits", 1)) == "1.5"
            else int(q.get("stopbits", 1)),
            "rtscts": q.get("rtscts", "0") in {"1", "true", "yes"},
            "xonxoff": q.get("xonxoff", "0") in {"1", "true", "yes"},
        }
    except ValueError as exc:
        raise ConfigError(f"serial url {url}: {exc}") from None


def open_serial(kwargs, timeout):
    """pyserial ``Serial`` for ``kwargs``. Linux pseudo-terminals (the virtual twins) refuse
    7-bit or parity settings with EINVAL; there, and only there, fall back to 8N1 (a pty
    carries bytes, not bits)."""
    import termios

    import serial

    try:
        return serial.Serial(timeout=timeout, write_timeout=10, **kwargs)
    except (termios.error, serial.SerialException) as exc:
        is_pty = os.path.realpath(kwargs["port"]).startswith("/dev/pts/")
        if not is_pty or (kwargs.get("bytesize") == 8 and kwargs.get("parity") == "N"):
            raise serial.SerialException(str(exc)) from None
        return serial.Serial(timeout=timeout, write_timeout=10,
                             **{**kwargs, "bytesize": 8, "parity": "N"})


class SerialTransport(Transport):
    supports_status = True

    def __init__(self, url, options=None, defaults=None, timeout=1.0):
        super().__init__(url, options)
        self.kwargs = serial_kwargs(url, defaults)
        self.timeout = timeout
        self.supports_status = url.query.get("status", "1") not in {"0", "false", "no"}
        self.port = None

    async def open(self):
        import serial

        def _open():
            return open_serial(self.kwargs, self.timeout)

        try:
            self.port = await asyncio.to_thread(_open)
        except (serial.SerialException, OSError) as exc:
            raise DeviceOffline(f"cannot open {self.kwargs['port']}: {exc}") from None

    async def write(self, data):
        import serial

        def _write():
            self.port.write(data)
            self.port.flush()

        try:
            await asyncio.to_thread(_write)
        except (serial.SerialException, OSError) as exc:
            raise DeviceOffline(f"write to {self.kwargs['port']} failed: {exc}") from None

    async def query(self, command, size=1, timeout=1.0):
        import serial

        def _query():
            self.port.reset_input_buffer()
            self.port.write(command)
            if self.port.timeout != timeout:  # reconfiguring costs a tcsetattr
                self.port.timeout = timeout
            return self.port.read(size)

        try:
            answer = await asyncio.to_thread(_query)
        except (serial.SerialException, OSError) as exc:
            raise DeviceOffline(f"{self.kwargs['port']}: {exc}") from None
        return answer if len(answer) == size else None

    async def read_until(self, terminator, timeout=1.0, limit=64):
        import serial

        def _read():
            if self.port.timeout != timeout:  # reconfiguring costs a tcsetattr
                self.port.timeout = timeout
            return self.port.read_until(terminator, limit)

        try:
            answer = await asyncio.to_thread(_read)
        except (serial.SerialException, OSError) as exc:
            raise DeviceOffline(f"{self.kwargs['port']}: {exc}") from None
        return answer if answer.endswith(terminator) else None

    async def write_then_read(self, data, terminator, timeout=1.0, limit=64):
        import serial

        def _io():
            self.port.reset_input_buffer()
            self.port.write(data)
            if self.port.timeout != timeout:  # reconfiguring costs a tcsetattr
                self.port.timeout = timeout
            return self.port.read_until(terminator, limit)

        try:
            answer = await asyncio.to_thread(_io)
        except (serial.SerialException, OSError) as exc:
            raise DeviceOffline(f"{self.kwargs['port']}: {exc}") from None
        return answer if answer.endswith(terminator) else None

    async def close(self):
        if self.port is not None:
            port, self.port = self.port, None
            await asyncio.to_thread(port.close)


class UsbTransport(Transport):
    """USB printer through python-escpos's ``Usb`` (pyusb + libusb-1.0)."""

    def __init__(self, url, options=None):
        super().__init__(url, options)
        self.supports_status = url.query.get("status", "0") in {"1", "true", "yes"}
        self.printer = None

    async def open(self):
        try:
            import usb.core
            from escpos.printer import Usb
        except ImportError as exc:  # pragma: no cover - declared dependencies
            raise DeviceUnavailable(f"USB printing needs pyusb: {exc}") from None
        vendor, product = self.url.usb_ids()
        kwargs = {}
        for key in ("in_ep", "out_ep", "interface"):
            if key in self.url.query:
                kwargs[key] = int(self.url.query[key], 0)

        def _open():
            printer = Usb(vendor, product, timeout=int(self.url.query.get("timeout", 2000)),
                          **kwargs)
            printer.open(raise_not_found=True)
            return printer

        try:
            self.printer = await asyncio.to_thread(_open)
        except usb.core.NoBackendError:
            raise DeviceUnavailable(
                "pyusb found no backend: install libusb-1.0-0 (Debian) for USB printers"
            ) from None
        except Exception as exc:  # escpos raises DeviceNotFoundError, USBError, ...
            raise DeviceOffline(f"USB printer {self.url.host}: {exc}") from None

    async def write(self, data):
        try:
            await asyncio.to_thread(self.printer._raw, data)
        except Exception as exc:
            raise DeviceOffline(f"USB write failed: {exc}") from None

    async def query(self, command, size=1, timeout=1.0):
        def _query():
            self.printer._raw(command)
            return bytes(self.printer._read())[:size]

        try:
            answer = await asyncio.to_thread(_query)
        except Exception:
            return None
        return answer if len(answer) == size else None

    async def close(self):
        if self.printer is not None:
            printer, self.printer = self.printer, None
            await asyncio.to_thread(printer.close)


class FileTransport(Transport):
    """A character device such as ``/dev/usb/lp0`` (write-only here)."""

    async def open(self):
        try:
            self.fd = await asyncio.to_thread(os.open, self.url.path, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            raise DeviceOffline(f"cannot open {self.url.path}: {exc.strerror}") from None

    async def write(self, data):
        def _write():
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view):]

        try:
            await asyncio.to_thread(_write)
        except OSError as exc:
            raise DeviceOffline(f"write to {self.url.path} failed: {exc.strerror}") from None

    async def close(self):
        fd, self.fd = getattr(self, "fd", None), None
        if fd is not None:
            os.close(fd)


class DummyTransport(Transport):
    """Writes each job (open ... close) to its own file: ``<dir>/<name>-0001.bin``."""

    _seq = itertools.count(1)

    def __init__(self, url, options=None, directory=None):
        super().__init__(url, options)
        self.directory = Path(url.query.get("dir") or directory or ".")
        self.buffer = bytearray()

    async def open(self):
        self.buffer = bytearray()

    async def write(self, data):
        self.buffer += data

    async def close(self):
        if not self.buffer:
            return
        data, self.buffer = bytes(self.buffer), bytearray()

        def _save():
            self.directory.mkdir(parents=True, exist_ok=True)
            while True:
                path = self.directory / f"{self.url.host}-{next(self._seq):04d}.bin"
                try:
                    with open(path, "xb") as fh:
                        fh.write(data)
                    return path
                except FileExistsError:
                    continue

        try:
            await asyncio.to_thread(_save)
        except OSError as exc:
            raise DeviceError(f"dummy printer cannot write to {self.directory}: {exc}") from None


def make_transport(url, options=None, *, runtime_dir=None, serial_defaults=None):
    if url.scheme == "tcp":
        return TcpTransport(url, options)
    if url.scheme == "serial":
        return SerialTransport(url, options, serial_defaults)
    if url.scheme == "usb":
        return UsbTransport(url, options)
    if url.scheme == "file":
        return FileTransport(url, options)
    if url.scheme == "dummy":
        return DummyTransport(url, options, Path(runtime_dir or ".") / "dummy")
    raise ConfigError(f"{url}: {url.scheme}:// cannot be used for this device")
