"""TOML configuration: server, security, job expiry and the devices, each given by URL."""

import ipaddress
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from .exceptions import ConfigError

SCHEMES = {"tcp", "usb", "serial", "file", "dummy", "evdev"}
DEVICE_TYPES = {"printer", "card_reader", "display", "scale"}
DEFAULT_PORT = 8400


@dataclass(frozen=True)
class DeviceURL:
    """``tcp://host:9100``, ``usb://04b8:0202``, ``serial:///dev/ttyUSB0?baud=9600``,
    ``file:///dev/usb/lp0``, ``dummy://name``, ``evdev:///dev/input/by-id/...``."""

    scheme: str
    host: str = ""
    port: int | None = None
    path: str = ""
    query: dict = field(default_factory=dict)
    text: str = ""

    @classmethod
    def parse(cls, text):
        if not isinstance(text, str) or "://" not in text:
            raise ConfigError(f"device url {text!r} must look like scheme://...")
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise ConfigError(
                f"device url {text!r}: unknown scheme {scheme!r} "
                f"(expected one of {', '.join(sorted(SCHEMES))})")
        query = dict(parse_qsl(parts.query))
        host = parts.hostname or ""
        try:
            port = parts.port
        except ValueError as exc:
            raise ConfigError(f"device url {text!r}: {exc}") from None
        path = unquote(parts.path)
        if scheme == "tcp":
            if not host:
                raise ConfigError(f"device url {text!r}: tcp needs a host")
            port = port or 9100
        elif scheme == "usb":
            # usb://04b8:0202 : netloc is vendor:product (hex)
            try:
                vendor, product = parts.netloc.split(":")
                int(vendor, 16), int(product, 16)
            except ValueError:
                raise ConfigError(
                    f"device url {text!r}: usb needs usb://VVVV:PPPP (hex ids)") from None
            host, port, path = parts.netloc, None, ""
        elif scheme in {"serial", "file", "evdev"}:
            if not path:
                raise ConfigError(f"device url {text!r}: {scheme} needs a path")
        elif scheme == "dummy":
            host = host or path.strip("/") or "dummy"
        return cls(scheme, host, port, path, query, text)

    def usb_ids(self):
        vendor, product = self.host.split(":")
        return int(vendor, 16), int(product, 16)

    def __str__(self):
        return self.text


@dataclass
class DeviceConfig:
    name: str
    type: str
    url: DeviceURL
    options: dict
    virtual: bool = False


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    allowed_origins: tuple = ()
    allow_no_origin: bool = True
    runtime_dir: Path = Path("var/hw_proxy")
    max_body: int = 256 * 1024
    token_store: Path | None = None
    pairing_ttl: float = 120.0
    pairing_attempts: int = 5
    drawer_ttl: float = 12.0
    receipt_ttl: float = 3600.0
    retry_interval: float = 1.0
    devices: dict = field(default_factory=dict)
    source: Path | None = None

    @classmethod
    def load(cls, path):
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        return cls.from_dict(data, base=path.parent, source=path)

    @classmethod
    def from_dict(cls, data, *, base=None, source=None):
        base = Path(base or os.getcwd())
        known = {"server", "security", "jobs", "devices"}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown config section(s): {', '.join(sorted(unknown))}")
        server = dict(data.get("server", {}))
        security = dict(data.get("security", {}))
        jobs = dict(data.get("jobs", {}))
        cfg = cls(source=source)
        cfg.host = server.pop("host", cfg.host)
        try:
            if not ipaddress.ip_address(cfg.host).is_loopback:
                raise ValueError
        except ValueError:
            raise ConfigError(
                f"server.host {cfg.host!r}: the proxy only listens on a loopback "
                "address (127.0.0.1 or ::1)") from None
        cfg.port = int(server.pop("port", cfg.port))
        runtime = Path(os.path.expanduser(str(server.pop("runtime_dir", cfg.runtime_dir))))
        cfg.runtime_dir = runtime if runtime.is_absolute() else base / runtime
        cfg.max_body = int(server.pop("max_body", cfg.max_body))
        origins = security.pop("allowed_origins", server.pop("allowed_origins", []))
        if isinstance(origins, str):
            origins = [origins]
        cfg.allowed_origins = tuple(normalize_origin(o) for o in origins)
        cfg.allow_no_origin = bool(security.pop("allow_no_origin", True))
        store = security.pop("token_store", "tokens.json")
        store = Path(os.path.expanduser(store))
        cfg.token_store = store if store.is_absolute() else cfg.runtime_dir / store
        cfg.pairing_ttl = float(security.pop("pairing_ttl", cfg.pairing_ttl))
        cfg.pairing_attempts = int(security.pop("pairing_attempts", cfg.pairing_attempts))
        cfg.drawer_ttl = float(jobs.pop("drawer_ttl", cfg.drawer_ttl))
        cfg.receipt_ttl = float(jobs.pop("receipt_ttl", cfg.receipt_ttl))
        cfg.retry_interval = float(jobs.pop("retry_interval", cfg.retry_interval))
        for section, rest in (("server", server), ("security", security), ("jobs", jobs)):
            if rest:
                raise ConfigError(f"[{section}]: unknown key(s) {', '.join(sorted(rest))}")
        for name, dev in data.get("devices", {}).items():
            cfg.devices[name] = cls._device(name, dict(dev), cfg)
        return cfg

    @staticmethod
    def _device(name, dev, cfg):
        if not name.replace("_", "").replace("-", "").isalnum():
            raise ConfigError(f"device name {name!r}: letters, digits, - and _ only")
        dtype = dev.pop("type", None)
        if dtype not in DEVICE_TYPES:
            raise ConfigError(
                f"device {name!r}: type must be one of {', '.join(sorted(DEVICE_TYPES))}")
        url = dev.pop("url", None)
        if url is None:
            raise ConfigError(f"device {name!r}: url is missing")
        url = url.replace("{runtime_dir}", str(cfg.runtime_dir))
        virtual = bool(dev.pop("virtual", False))
        return DeviceConfig(name, dtype, DeviceURL.parse(url), dev, virtual)


def normalize_origin(origin):
    """``scheme://host[:port]`` lower-cased, without a trailing slash or path."""
    if not isinstance(origin, str):
        raise ConfigError(f"allowed origin {origin!r} must be a string")
    parts = urlsplit(origin.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path not in {"", "/"}:
        raise ConfigError(
            f"allowed origin {origin!r} must be exactly scheme://host[:port], "
            "e.g. http://127.0.0.1:8000")
    return f"{parts.scheme}://{parts.netloc}".lower()
