"""Origins, pairing and tokens.

* Only the configured exact origins may call the proxy (HTTP and WebSocket).
* Pairing: the POS asks to pair; the proxy shows a 6-digit code (console and status page);
  the cashier types it into the POS, which trades it for a long random token. Codes expire,
  and a few wrong guesses void every pending code.
* Tokens are stored as SHA-256 hashes (0600 file) and compared with hmac.compare_digest.
"""

import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from .exceptions import BadRequest, Forbidden, Unauthorized

log = logging.getLogger(__name__)


def token_hash(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    def __init__(self, path=None):
        self.path = Path(path) if path else None
        self.tokens = []  # dicts: hash, name, origin, created
        self.raw = None
        self.reload()

    def reload(self):
        """Re-read the file when its content changed (``hw-proxy tokens revoke`` takes
        effect on the running proxy at once; file times are too coarse to rely on)."""
        if not self.path:
            return
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raw = b""
        except OSError as exc:
            log.error("token store %s unreadable (%s): no till is paired", self.path, exc)
            self.tokens, self.raw = [], None
            return
        if raw == self.raw:
            return
        try:
            self.tokens = json.loads(raw)["tokens"] if raw else []
        except (ValueError, KeyError) as exc:
            log.error("token store %s unreadable (%s): no till is paired", self.path, exc)
            self.tokens = []
        self.raw = raw

    def add(self, name, origin):
        self.reload()
        token = secrets.token_urlsafe(32)
        self.tokens.append({"hash": token_hash(token), "name": name, "origin": origin,
                            "created": time.time(), "id": secrets.token_hex(4)})
        self.save()
        return token

    def check(self, token):
        """Return the token record or None; every stored hash is compared in constant time."""
        if not isinstance(token, str) or not token:
            return None
        self.reload()
        digest = token_hash(token)
        found = None
        for record in self.tokens:
            if hmac.compare_digest(digest, record["hash"]):
                found = record
        return found

    def revoke(self, token_id):
        self.reload()
        before = len(self.tokens)
        self.tokens = [t for t in self.tokens if t["id"] != token_id]
        self.save()
        return before != len(self.tokens)

    def save(self):
        if not self.path:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"tokens": self.tokens}, fh, indent=1)
        os.replace(tmp, self.path)
        self.raw = self.path.read_bytes()


@dataclass
class Pairing:
    id: str
    code: str
    origin: str | None
    name: str
    expires: float
    created: float = field(default_factory=time.time)


class PairingManager:
    def __init__(self, store, *, ttl=120.0, max_failures=5, clock=time.monotonic,
                 announce=None):
        self.store = store
        self.ttl = ttl
        self.max_failures = max_failures
        self.clock = clock
        self.pending = {}
        self.failures = 0
        self.announce = announce or (lambda pairing: None)

    def _prune(self):
        now = self.clock()
        for key in [k for k, p in self.pending.items() if p.expires < now]:
            del self.pending[key]

    def request(self, origin, name="POS"):
        self._prune()
        if len(self.pending) >= 5:
            raise Forbidden("too many pairing requests waiting: type a shown code or wait "
                            f"{self.ttl:g} s", code="pairing_busy", status=429)
        pairing = Pairing(secrets.token_urlsafe(12), f"{secrets.randbelow(10**6):06d}", origin,
                          str(name)[:60], self.clock() + self.ttl)
        self.pending[pairing.id] = pairing
        self.announce(pairing)
        return pairing

    def confirm(self, code, origin, pairing_id=None):
        self._prune()
        if not isinstance(code, str) or len(code) != 6 or not code.isdigit():
            raise BadRequest("code must be the 6 digits shown by the proxy",
                             code="invalid_code")
        candidates = ([self.pending[pairing_id]] if pairing_id in self.pending
                      else [] if pairing_id else list(self.pending.values()))
        match = None
        for pairing in candidates:
            ok = hmac.compare_digest(code.encode(), pairing.code.encode())
            if ok and pairing.origin in (None, origin):
                match = pairing
        if match is None:
            self.failures += 1
            if self.failures >= self.max_failures:
                log.warning("%d wrong pairing codes: every pending code is void", self.failures)
                self.pending.clear()
                self.failures = 0
            raise Unauthorized("wrong or expired pairing code", code="pairing_failed")
        del self.pending[match.id]
        self.failures = 0
        token = self.store.add(match.name, origin)
        log.info("paired %r from %s", match.name, origin)
        return token


def check_origin(origin, allowed, allow_missing):
    """None when the request may go on, else a Forbidden error."""
    if origin is None:
        if allow_missing:
            return None
        return Forbidden("requests must come from the POS page (no Origin header)",
                         code="origin_required")
    if origin.lower().rstrip("/") in allowed:
        return None
    return Forbidden(f"origin {origin!r} is not allowed to use this hardware proxy",
                     code="origin_forbidden")
