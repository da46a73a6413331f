"""Shared device base: state, one job queue + worker + lock per device, job expiry."""

import asyncio
import collections
import itertools
import logging
import secrets

from ..exceptions import (
    DeviceError,
    DeviceOffline,
    DeviceUnavailable,
    PaperOut,
    ProxyError,
    UnknownCommand,
)

log = logging.getLogger(__name__)

CONNECTED, DISCONNECTED, OFFLINE, PAPER_OUT, UNAVAILABLE, UNKNOWN = (
    "connected", "disconnected", "offline", "paper_out", "unavailable", "unknown")


class JobExpired(ProxyError):
    code = "job_expired"
    status = 504


class Job:
    """A unit of work for one device. It is never run after ``expires_at``: a printer that
    comes back after an outage must not pop the drawer for a sale long gone."""

    _seq = itertools.count(1)

    def __init__(self, device, kind, payload, *, ttl, clock):
        self.id = f"{next(self._seq)}-{secrets.token_hex(4)}"
        self.device = device
        self.kind = kind
        self.payload = payload
        self.clock = clock
        self.created = clock()
        self.ttl = ttl
        self.expires_at = self.created + ttl
        self.state = "queued"
        self.attempts = 0
        self.result = None
        self.error = None
        self.future = asyncio.get_running_loop().create_future()

    def expired(self):
        return self.clock() > self.expires_at

    def check(self):
        """Raise :class:`JobExpired` if the job is past its expiry (call right before the
        bytes go out)."""
        if self.expired():
            raise JobExpired(f"{self.kind} job expired after {self.ttl:g} s before the "
                             f"device {self.device} could take it")

    def finish(self, state, result=None, error=None):
        self.state, self.result, self.error = state, result, error
        if not self.future.done():
            self.future.set_result(self)

    def to_json(self):
        data = {"job": self.id, "device": self.device, "kind": self.kind, "state": self.state,
                "attempts": self.attempts}
        if self.result is not None:
            data["result"] = self.result
        if self.error is not None:
            data.update(self.error.to_json())
        return data


class JobQueue:
    """FIFO of jobs, from which urgent kinds (the drawer) can be taken out of turn."""

    def __init__(self):
        self.jobs = collections.deque()
        self.ready = asyncio.Event()

    def put_nowait(self, job):
        self.jobs.append(job)
        self.ready.set()

    async def get(self):
        while not self.jobs:
            self.ready.clear()
            await self.ready.wait()
        return self.jobs.popleft()

    def get_nowait(self):
        return self.jobs.popleft()

    def take(self, kinds):
        """Remove and return the queued jobs of the given kinds, oldest first."""
        taken = [j for j in self.jobs if j.kind in kinds]
        for job in taken:
            self.jobs.remove(job)
        return taken

    def empty(self):
        return not self.jobs

    def qsize(self):
        return len(self.jobs)


class Device:
    type = "device"
    commands = ()  # names of the HTTP commands; each maps to cmd_<name>(payload)
    retryable = (DeviceOffline, PaperOut)
    # kinds that may overtake a job stuck waiting for the device (the drawer must open
    # for change even while a receipt waits for paper)
    urgent = ()

    def __init__(self, config, proxy):
        self.config = config
        self.name = config.name
        self.url = config.url
        self.options = dict(config.options)
        self.proxy = proxy
        self.clock = proxy.clock
        self.state = UNKNOWN
        self.message = ""
        self.lock = asyncio.Lock()
        self.queue = JobQueue()
        self.tasks = []
        self.current = None

    # -- lifecycle --
    async def start(self):
        self.tasks.append(asyncio.create_task(self._worker(), name=f"{self.name}-worker"))

    async def stop(self):
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self.tasks.clear()
        while not self.queue.empty():
            job = self.queue.get_nowait()
            job.finish("cancelled", error=DeviceError("the proxy is shutting down"))

    # -- state --
    def set_state(self, state, message=""):
        changed = state != self.state
        self.state, self.message = state, message
        if changed:
            log.info("%s %s: %s %s", self.type, self.name, state, message)
            self.proxy.events.publish("device", device=self.name, device_type=self.type,
                                      state=state, message=message)

    def status(self):
        return {"name": self.name, "type": self.type, "url": str(self.url),
                "state": self.state, "message": self.message,
                "queued": self.queue.qsize() + (1 if self.current else 0),
                "commands": list(self.commands)}

    # -- commands and jobs --
    async def command(self, name, payload):
        if name not in self.commands:
            raise UnknownCommand(
                f"{self.type} {self.name!r} has no command {name!r} "
                f"(it has: {', '.join(self.commands) or 'none'})",
                commands=list(self.commands))
        return await getattr(self, f"cmd_{name}")(payload)

    def submit(self, kind, payload, ttl):
        job = Job(self.name, kind, payload, ttl=ttl, clock=self.clock)
        self.proxy.remember(job)
        self.queue.put_nowait(job)
        return job

    async def execute(self, job):
        """Run one job with ``self.lock`` held; return a JSON-able result."""
        raise NotImplementedError

    async def _worker(self):
        while True:
            job = await self.queue.get()
            self.current = job
            try:
                await self._run(job)
            except asyncio.CancelledError:
                job.finish("cancelled", error=DeviceError("the proxy is shutting down"))
                raise
            except Exception as exc:  # never let one job kill the worker
                log.exception("%s: job %s crashed", self.name, job.id)
                job.finish("failed", error=DeviceError(f"internal error: {exc}"))
            finally:
                self.current = None

    async def _run(self, job, interleave=True):
        while True:
            if job.expired():
                log.warning("%s: %s job %s expired, dropped", self.name, job.kind, job.id)
                job.finish("expired", error=JobExpired(
                    f"{job.kind} job expired after {job.ttl:g} s: {self.name} was "
                    f"{self.state}" + (f" ({self.message})" if self.message else "")))
                return
            job.state = "running"
            job.attempts += 1
            try:
                async with self.lock:
                    result = await self.execute(job)
            except JobExpired as exc:
                job.finish("expired", error=exc)
                return
            except self.retryable as exc:
                self._failed(exc)
                job.state, job.error = "waiting", exc
                if job.ttl <= 0:
                    job.finish("failed", error=exc)
                    return
                if interleave and job.kind not in self.urgent:
                    for urgent in self.queue.take(self.urgent):
                        try:
                            await self._run(urgent, interleave=False)
                        except ProxyError as exc2:
                            urgent.finish("failed", error=exc2)
                await self.proxy.sleep(self.proxy.config.retry_interval)
                continue
            except ProxyError as exc:
                self._failed(exc)
                job.finish("failed", error=exc)
                return
            job.finish("done", result=result)
            return

    def _failed(self, exc):
        if isinstance(exc, PaperOut):
            self.set_state(PAPER_OUT, exc.message)
        elif isinstance(exc, DeviceUnavailable):
            self.set_state(UNAVAILABLE, exc.message)
        elif isinstance(exc, DeviceOffline):
            self.set_state(OFFLINE, exc.message)
