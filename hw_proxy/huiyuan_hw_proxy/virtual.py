"""Virtual twins of every device, for demos and tests (no hardware needed).

* :class:`FakeNetworkPrinter`: a TCP "port 9100" printer that stores what it receives,
  answers DLE EOT status and can be switched off, offline or out of paper.
* :class:`PtyLink`: two pseudo-terminals joined like ``socat pty pty``: the proxy opens one
  end as a serial card reader; ``hw-proxy swipe`` writes card frames into the other end.
* :class:`VirtualDisplay`: a pty that understands CD5220 and Epson DM-D and keeps the two
  lines it shows (also written to a text file).
* :class:`VirtualScale`: a pty that answers Toledo 8217 ``W`` with a settable weight.
"""

import asyncio
import errno
import json
import logging
import os
import tty
from pathlib import Path

from .config import DeviceURL
from .parsers import toledo_reply

log = logging.getLogger(__name__)

DLE, EOT = 0x10, 0x04
PRINTER_MODES = {
    # mode: (DLE EOT 1, DLE EOT 2, DLE EOT 4); None = does not answer
    "online": (0x12, 0x12, 0x12),
    "near_end": (0x12, 0x12, 0x1E),
    "offline": (0x1A, 0x16, 0x12),  # cover open
    "paper_out": (0x1A, 0x32, 0x7E),
    "silent": (None, None, None),
    "off": (None, None, None),  # not listening at all
}


class FakeNetworkPrinter:
    def __init__(self, host="127.0.0.1", port=0, *, record_dir=None, mode_file=None):
        self.host, self.port = host, port
        self.mode = "online"
        self.received = bytearray()
        self.jobs = []  # bytes received per connection (status queries removed)
        self.status_queries = 0
        self.last_byte_at = None
        self.record_dir = Path(record_dir) if record_dir else None
        self.mode_file = Path(mode_file) if mode_file else None
        self.server = None
        self.connections = set()
        self.changed = asyncio.Condition()
        self._watch = None

    async def start(self):
        await self._listen()
        if self.mode_file:
            self._watch = asyncio.create_task(self._watch_mode_file())
        return self

    async def _listen(self):
        self.server = await asyncio.start_server(self._handle, self.host, self.port,
                                                 reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self):
        if self._watch:
            self._watch.cancel()
        await self._close_server()

    async def _close_server(self):
        if self.server is not None:
            self.server.close()
            for writer in list(self.connections):
                writer.close()
            await self.server.wait_closed()
            self.server = None

    async def set_mode(self, mode):
        if mode not in PRINTER_MODES:
            raise ValueError(f"mode must be one of {', '.join(PRINTER_MODES)}")
        old, self.mode = self.mode, mode
        if mode == "off" and old != "off":
            await self._close_server()
        elif mode != "off" and self.server is None:
            await self._listen()
        log.info("fake printer %s:%s is now %s", self.host, self.port, mode)

    async def _watch_mode_file(self):
        while True:
            try:
                mode = self.mode_file.read_text().strip()
                if mode in PRINTER_MODES and mode != self.mode:
                    await self.set_mode(mode)
            except OSError:
                pass
            await asyncio.sleep(0.5)

    async def _handle(self, reader, writer):
        self.connections.add(writer)
        job = bytearray()
        pending = b""
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                data = pending + chunk
                pending = b""
                i = 0
                out = bytearray()
                while i < len(data):
                    b = data[i]
                    if b == DLE and i + 1 >= len(data) or (
                            b == DLE and data[i + 1] == EOT and i + 2 >= len(data)):
                        pending = data[i:]  # a status query split across reads
                        break
                    if b == DLE and data[i + 1] == EOT:
                        self._answer(writer, data[i + 2])
                        i += 3
                        continue
                    out.append(b)
                    i += 1
                if out:
                    job += out
                    self.received += out
                    self.last_byte_at = asyncio.get_running_loop().time()
                    async with self.changed:
                        self.changed.notify_all()
        except (ConnectionError, OSError):
            pass
        finally:
            self.connections.discard(writer)
            writer.close()
            if job:
                self.jobs.append(bytes(job))
                self._record(bytes(job))
            async with self.changed:
                self.changed.notify_all()

    def _answer(self, writer, n):
        self.status_queries += 1
        answers = PRINTER_MODES[self.mode]
        index = {1: 0, 2: 1, 4: 2}.get(n)
        if index is not None and answers[index] is not None:
            writer.write(bytes([answers[index]]))

    def _record(self, job):
        if not self.record_dir:
            return
        self.record_dir.mkdir(parents=True, exist_ok=True)
        path = self.record_dir / f"fake-printer-{len(self.jobs):04d}.bin"
        tmp = path.with_suffix(".part")
        tmp.write_bytes(job)
        tmp.replace(path)  # readers never see half a job
        log.info("fake printer: job of %d bytes saved to %s", len(job), path)

    async def wait_for(self, predicate, timeout=5.0):
        async def _wait():
            async with self.changed:
                await self.changed.wait_for(lambda: predicate(self))

        await asyncio.wait_for(_wait(), timeout)


def _open_pty():
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    return master, slave


def _link(path, target):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.exists():
        path.unlink()
    path.symlink_to(target)


class PtyLink:
    """A virtual null-modem cable between two pty ends (symlinked at fixed paths)."""

    def __init__(self, device_path, host_path):
        self.device_path, self.host_path = Path(device_path), Path(host_path)
        self.fds = []

    async def start(self):
        loop = asyncio.get_running_loop()
        m1, s1 = _open_pty()
        m2, s2 = _open_pty()
        self.fds = [m1, s1, m2, s2]  # keeping the slaves open avoids EIO on the masters
        _link(self.device_path, os.ttyname(s1))
        _link(self.host_path, os.ttyname(s2))
        loop.add_reader(m1, self._relay, m1, m2)
        loop.add_reader(m2, self._relay, m2, m1)
        return self

    @staticmethod
    def _relay(src, dst):
        try:
            data = os.read(src, 4096)
        except (BlockingIOError, OSError):
            return
        while data:
            try:
                data = data[os.write(dst, data):]
            except BlockingIOError:
                continue

    async def stop(self):
        loop = asyncio.get_running_loop()
        for fd in self.fds[::2]:
            loop.remove_reader(fd)
        for fd in self.fds:
            os.close(fd)
        self.fds = []
        for path in (self.device_path, self.host_path):
            if path.is_symlink():
                path.unlink()


class _PtyDevice:
    def __init__(self, path):
        self.path = Path(path)
        self.master = self.slave = None

    async def start(self):
        self.master, self.slave = _open_pty()
        _link(self.path, os.ttyname(self.slave))
        asyncio.get_running_loop().add_reader(self.master, self._readable)
        return self

    async def stop(self):
        if self.master is not None:
            asyncio.get_running_loop().remove_reader(self.master)
            os.close(self.master)
            os.close(self.slave)
            self.master = self.slave = None
        if self.path.is_symlink():
            self.path.unlink()

    def _readable(self):
        try:
            data = os.read(self.master, 4096)
        except (BlockingIOError, OSError):
            return
        self.feed(data)

    def feed(self, data):
        raise NotImplementedError


class VirtualDisplay(_PtyDevice):
    """Interprets CD5220 (ESC Q A/B ... CR) and Epson DM-D (US $ x y, text) bytes."""

    def __init__(self, path, columns=20, text_file=None):
        super().__init__(path)
        self.columns = columns
        self.rows = [" " * columns, " " * columns]
        self.text_file = Path(text_file) if text_file else None
        self.buf = bytearray()
        self.cursor = [0, 0]
        self.updates = 0

    @property
    def lines(self):
        return [r.rstrip() for r in self.rows]

    def feed(self, data):
        self.buf += data
        b = self.buf
        while b:
            if b[0] == 0x0C:  # CLR
                self.rows = [" " * self.columns] * 2
                self.cursor = [0, 0]
                del b[:1]
            elif b[0] == 0x1B:
                if len(b) < 2:
                    break
                if b[1] == ord("@"):
                    self.rows = [" " * self.columns] * 2
                    del b[:2]
                elif b[1] == ord("Q"):
                    end = b.find(b"\r")
                    if end < 0:
                        break
                    row = 0 if b[2:3] == b"A" else 1
                    self._put(row, 0, bytes(b[3:end]).decode("gb18030", "replace"))
                    del b[:end + 1]
                else:
                    del b[:2]
            elif b[0] == 0x1F:
                if len(b) < 4:
                    break
                if b[1] == ord("$"):
                    self.cursor = [max(0, b[3] - 1), max(0, b[2] - 1)]
                del b[:4]
            else:
                end = next((i for i, c in enumerate(b) if c in (0x0C, 0x1B, 0x1F)), len(b))
                text = bytes(b[:end]).decode("gb18030", "replace").replace("\r", "")
                row, col = self.cursor
                self._put(row, col, text)
                self.cursor = [row, col + len(text)]
                del b[:end]
        self.updates += 1
        if self.text_file:
            self.text_file.write_text("\n".join(self.lines) + "\n", encoding="utf-8")

    def _put(self, row, col, text):
        if not 0 <= row < 2:
            return
        line = self.rows[row].ljust(self.columns)
        self.rows[row] = (line[:col] + text + line[col + len(text):])[:self.columns]


class VirtualScale(_PtyDevice):
    """Answers ``W`` like a Toledo 8217; the weight comes from :attr:`reading` or a JSON
    state file (``{"weight": "1.234", "motion": false, "over": false, "under": false}``)."""

    def __init__(self, path, state_file=None):
        super().__init__(path)
        self.state_file = Path(state_file) if state_file else None
        self.reading = {"weight": "0.000"}
        self.requests = 0

    def current(self):
        if self.state_file and self.state_file.exists():
            try:
                return json.loads(self.state_file.read_text())
            except (OSError, ValueError):
                pass
        return self.reading

    def feed(self, data):
        for _ in range(data.count(b"W")):
            self.requests += 1
            r = self.current()
            reply = toledo_reply(r.get("weight"), motion=r.get("motion", False),
                                 over=r.get("over", False), under=r.get("under", False))
            os.write(self.master, reply)


async def start_virtual_devices(config):
    """Start a twin for every device marked ``virtual = true``; return them (to stop)."""
    runtime = Path(config.runtime_dir)
    runtime.mkdir(parents=True, exist_ok=True)
    twins = {}
    for name, dev in config.devices.items():
        if not dev.virtual:
            continue
        url = dev.url
        if dev.type == "printer" and url.scheme == "tcp":
            printer = FakeNetworkPrinter(url.host, url.port, record_dir=runtime / "printed",
                                         mode_file=runtime / f"{name}.mode")
            try:
                await printer.start()
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                # another demo holds the port: the twin is internal, take any free port
                printer.port = 0
                await printer.start()
                dev.url = DeviceURL.parse(url.text.replace(f":{url.port}", f":{printer.port}", 1))
                log.warning("port %s busy: virtual printer %s moved to %s", url.port, name,
                            dev.url)
            twins[name] = printer
        elif dev.type == "card_reader" and url.scheme == "serial":
            twins[name] = await PtyLink(url.path, f"{url.path}-host").start()
        elif dev.type == "display" and url.scheme == "serial":
            twins[name] = await VirtualDisplay(
                url.path, int(dev.options.get("columns", 20)),
                text_file=runtime / f"{name}.txt").start()
        elif dev.type == "scale" and url.scheme == "serial":
            twins[name] = await VirtualScale(url.path, state_file=runtime / f"{name}.json").start()
        # dummy:// devices need no twin
    return twins
