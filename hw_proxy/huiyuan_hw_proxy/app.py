"""aiohttp application: app factory, lifespan, security middleware, HTTP API, WebSocket."""

import asyncio
import collections
import html
import json
import logging
import time
from pathlib import Path

from aiohttp import WSMsgType, web

from . import __version__
from .config import Config
from .devices import DRIVERS
from .events import EventBus
from .exceptions import BadRequest, ProxyError, UnknownDevice
from .security import PairingManager, TokenStore, check_origin

log = logging.getLogger(__name__)

PROXY = web.AppKey("proxy", object)
PAIRED = web.RequestKey("paired", dict)
PUBLIC = "public"  # route flag: no token needed (origin still checked)
HERE = Path(__file__).parent
ALLOWED_HEADERS = "Authorization, Content-Type"
MAX_WAIT = 60.0


class Proxy:
    """Everything the handlers share: config, devices, events, jobs, pairing, tokens."""

    def __init__(self, config, *, clock=None, sleep=None, announce=None):
        self.config = config
        self.clock = clock or time.monotonic
        self.sleep = sleep or asyncio.sleep
        self.events = EventBus()
        self.tokens = TokenStore(config.token_store)
        self.pairing = PairingManager(self.tokens, ttl=config.pairing_ttl,
                                      max_failures=config.pairing_attempts, clock=self.clock,
                                      announce=announce or self._announce)
        self.jobs = collections.OrderedDict()
        self.devices = {}
        self.websockets = set()
        self.started = time.time()

    @staticmethod
    def _announce(pairing):
        print(f"\n*** Pairing code for {pairing.name!r} "
              f"({pairing.origin or 'any allowed POS origin'}): "
              f"{pairing.code[:3]} {pairing.code[3:]} ***\n", flush=True)

    async def start(self):
        for name, dev in self.config.devices.items():
            self.devices[name] = DRIVERS[dev.type](dev, self)
        for device in self.devices.values():
            await device.start()

    async def stop(self):
        for device in self.devices.values():
            await device.stop()

    def device(self, name):
        try:
            return self.devices[name]
        except KeyError:
            raise UnknownDevice(f"no device named {name!r}",
                                devices=sorted(self.devices)) from None

    def remember(self, job):
        self.jobs[job.id] = job
        while len(self.jobs) > 500:
            self.jobs.popitem(last=False)

    async def wait_jobs(self, jobs, wait=None):
        if wait is None:
            wait = 10.0
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or wait < 0:
            raise BadRequest("wait must be a number of seconds >= 0")
        wait = min(float(wait), MAX_WAIT)
        if wait:
            await asyncio.wait([j.future for j in jobs], timeout=wait)
        body = {"jobs": [j.to_json() for j in jobs]}
        pending = [j for j in jobs if not j.future.done()]
        failed = [j for j in jobs if j.future.done() and j.state != "done"]
        body["ok"] = not pending and not failed
        if failed:
            error = failed[0].error
            body.update(error.to_json())
            return error.status, body
        return (202 if pending else 200), body

    def status(self):
        return {name: device.status() for name, device in self.devices.items()}


# --- middlewares ---------------------------------------------------------------------

def error_json(exc):
    return web.json_response(exc.to_json(), status=exc.status)


HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large",
              400: "bad_request", 415: "unsupported_media_type"}


@web.middleware
async def errors_middleware(request, handler):
    try:
        return await handler(request)
    except ProxyError as exc:
        return error_json(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.reason if exc.status != 413 else (
            f"request body larger than {request.app[PROXY].config.max_body} bytes")
        return web.json_response({"error": HTTP_CODES.get(exc.status, "http_error"),
                                  "message": message}, status=exc.status)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response({"error": "internal_error",
                                  "message": "internal error, see the proxy log"}, status=500)


def cors_headers(origin):
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


@web.middleware
async def security_middleware(request, handler):
    proxy = request.app[PROXY]
    cfg = proxy.config
    host = (request.host or "").lower()
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if hostname not in {"127.0.0.1", "localhost", "[::1]"}:
        # DNS rebinding: a foreign name resolving to 127.0.0.1 must not reach us
        return web.json_response({"error": "bad_host", "message": f"Host {host!r} refused"},
                                 status=403)
    origin = request.headers.get("Origin")
    is_page = request.method == "GET" and request.path == "/"
    refused = check_origin(origin, cfg.allowed_origins, cfg.allow_no_origin or is_page)
    if refused:
        log.warning("refused %s %s from origin %r", request.method, request.path, origin)
        return error_json(refused)
    if request.method == "OPTIONS":
        if origin is None:
            return error_json(BadRequest("a preflight needs an Origin header"))
        headers = cors_headers(origin)
        headers.update({"Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
                        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                        "Access-Control-Max-Age": "600"})
        if request.headers.get("Access-Control-Request-Private-Network", "").lower() == "true":
            headers["Access-Control-Allow-Private-Network"] = "true"
        return web.Response(status=204, headers=headers)
    route = request.match_info.route
    public = getattr(route.handler, PUBLIC, False) or route.resource is None
    if not public:
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        record = proxy.tokens.check(token.strip()) if scheme.lower() == "bearer" else None
        if record and origin and record.get("origin") and origin.lower() != record["origin"]:
            record = None  # a token only works from the POS origin that paired it
        if record is None:
            response = web.json_response(
                {"error": "unauthorized",
                 "message": "missing or wrong token: pair this POS with the proxy first"},
                status=401)
            if origin:
                response.headers.update(cors_headers(origin))
            return response
        request[PAIRED] = record
    response = await handler(request)
    if origin and not isinstance(response, web.WebSocketResponse):
        response.headers.update(cors_headers(origin))
    return response


def public(handler):
    setattr(handler, PUBLIC, True)
    return handler


# --- helpers ----------------------------------------------------------------------

async def json_body(request):
    raw = await request.read()
    if not raw:
        return {}
    ctype = request.content_type
    if ctype not in ("application/json", "text/plain"):
        raise BadRequest(f"send JSON (Content-Type: application/json), not {ctype!r}",
                         code="unsupported_media_type", status=415)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"body is not valid UTF-8 (byte {exc.start})",
                         code="invalid_utf8") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object", code="invalid_json")
    return data


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed")


# --- handlers ---------------------------------------------------------------------

@public
async def hello(request):
    proxy = request.app[PROXY]
    return web.json_response({"service": "huiyuan-hw-proxy", "version": __version__, "api": 1,
                              "devices": sorted(proxy.devices)})


@public
async def status(request):
    proxy = request.app[PROXY]
    return web.json_response({"devices": proxy.status(), "uptime": time.time() - proxy.started})


@public
async def pair_request(request):
    proxy = request.app[PROXY]
    origin = request.headers.get("Origin")
    if origin is None:
        raise BadRequest("pairing must come from the POS page (Origin header)",
                         code="origin_required")
    body = await json_body(request)
    name = body.get("name", "POS")
    if not isinstance(name, str):
        raise BadRequest("name must be a string")
    pairing = proxy.pairing.request(origin.lower(), name)
    return web.json_response({"pairing_id": pairing.id, "expires_in": proxy.config.pairing_ttl,
                              "message": "type the 6-digit code the proxy shows"}, status=201)


@public
async def pair_confirm(request):
    proxy = request.app[PROXY]
    body = await json_body(request)
    origin = (request.headers.get("Origin") or "").lower() or None
    pairing_id = body.get("pairing_id")
    if pairing_id is not None and not isinstance(pairing_id, str):
        raise BadRequest("pairing_id must be a string")
    token = proxy.pairing.confirm(body.get("code"), origin, pairing_id)
    return web.json_response({"token": token, "token_type": "Bearer"})


async def unpair(request):
    proxy = request.app[PROXY]
    proxy.tokens.revoke(request[PAIRED]["id"])
    return web.json_response({"ok": True})


async def device_command(request):
    proxy = request.app[PROXY]
    device = proxy.device(request.match_info["device"])
    body = await json_body(request)
    status_code, data = await device.command(request.match_info["command"], body)
    return web.json_response(data, status=status_code)


async def job_status(request):
    job = request.app[PROXY].jobs.get(request.match_info["job"])
    if job is None:
        raise ProxyError("no such job (finished jobs are kept for a while only)",
                         code="unknown_job", status=404)
    return web.json_response(job.to_json())


@public
async def events(request):
    """WebSocket of events. The first message must be {"type": "auth", "token": ...}
    (browsers cannot set headers on a WebSocket, and URLs end up in logs)."""
    proxy = request.app[PROXY]
    ws = web.WebSocketResponse(heartbeat=20, max_msg_size=8192)
    await ws.prepare(request)
    try:
        msg = await ws.receive(timeout=10)
    except asyncio.TimeoutError:
        await ws.close(code=4401, message=b"auth timeout")
        return ws
    record = None
    if msg.type == WSMsgType.TEXT:
        try:
            data = json.loads(msg.data)
            if isinstance(data, dict) and data.get("type") == "auth":
                record = proxy.tokens.check(data.get("token"))
        except ValueError:
            pass
    if record is None:
        await ws.send_json({"type": "error", "error": "unauthorized",
                            "message": "first message must be {\"type\": \"auth\", "
                                       "\"token\": <token from pairing>}"})
        await ws.close(code=4401, message=b"unauthorized")
        return ws
    queue = proxy.events.subscribe()
    proxy.websockets.add(ws)
    await ws.send_json({"type": "hello", "devices": proxy.status()})

    async def pump():
        while True:
            await ws.send_json(await queue.get())

    sender = asyncio.create_task(pump())
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT and msg.data == "ping":
                await ws.send_str("pong")
    finally:
        proxy.websockets.discard(ws)
        proxy.events.unsubscribe(queue)
        sender.cancel()
        try:
            await sender
        except (asyncio.CancelledError, ConnectionResetError, Exception):
            pass
    return ws


@public
async def odoo_hello(request):
    return web.Response(text="ping")


@public
async def odoo_status(request):
    """Odoo's ``/hw_proxy/status_json`` (JSON-RPC): connected / disconnected per device."""
    proxy = request.app[PROXY]
    rpc_id = None
    if request.method == "POST":
        try:
            rpc_id = (await json_body(request)).get("id")
        except BadRequest:
            rpc_id = None
    result = {name: {"status": "connected" if d.state == "connected" else "disconnected",
                     "messages": [d.message] if d.message else []}
              for name, d in proxy.devices.items()}
    return web.json_response({"jsonrpc": "2.0", "id": rpc_id, "result": result})


@public
async def openapi(request):
    return web.FileResponse(HERE / "openapi.yaml", headers={"Content-Type": "application/yaml"})


@public
async def status_page(request):
    proxy = request.app[PROXY]
    rows = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{html.escape(d.type)}</td>"
        f"<td>{html.escape(str(d.url))}</td><td class='{html.escape(d.state)}'>"
        f"{html.escape(d.state)}</td><td>{html.escape(d.message)}</td></tr>"
        for n, d in proxy.devices.items())
    proxy.pairing._prune()
    codes = "".join(
        f"<li><b class='code'>{p.code[:3]} {p.code[3:]}</b> for {html.escape(p.name)} "
        f"({html.escape(p.origin or 'any allowed POS')})</li>"
        for p in proxy.pairing.pending.values()) or "<li>none waiting</li>"
    paired = "".join(f"<li>{html.escape(t['name'])} ({html.escape(str(t['origin']))}) "
                     f"id {html.escape(t['id'])}</li>"
                     for t in proxy.tokens.tokens) or "<li>none</li>"
    page = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="3"><title>Huiyuan hardware proxy / 硬件代理</title>
<style>body{{font-family:sans-serif;margin:2em}}
td,th{{padding:.3em .8em;border-bottom:1px solid #ccc}}
.connected{{color:green}}.offline,.disconnected,.paper_out,.unavailable{{color:#b00}}
.code{{font-size:2.5em;letter-spacing:.1em}}</style></head><body>
<h1>Huiyuan hardware proxy / 硬件代理 {__version__}</h1>
<h2>Pairing codes / 配对码</h2><ul>{codes}</ul>
<h2>Devices / 设备</h2><table><tr><th>name</th><th>type</th><th>url</th><th>state</th>
<th>message</th></tr>{rows}</table>
<h2>Paired tills / 已配对</h2><ul>{paired}</ul>
<p>Allowed origins: {html.escape(', '.join(proxy.config.allowed_origins) or 'none')}</p>
</body></html>"""
    csp = "default-src 'none'; style-src 'unsafe-inline'"
    return web.Response(text=page, content_type="text/html",
                        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                 "Content-Security-Policy": csp})


# --- factory ----------------------------------------------------------------------

def create_app(config, *, clock=None, sleep=None, announce=None):
    """Build the aiohttp application; devices start and stop with it (cleanup_ctx)."""
    if not isinstance(config, Config):
        config = Config.load(config)
    # security is outermost so that error answers made by errors_middleware still carry
    # the CORS headers the POS needs to read them
    app = web.Application(middlewares=[security_middleware, errors_middleware],
                          client_max_size=config.max_body)
    proxy = Proxy(config, clock=clock, sleep=sleep, announce=announce)
    app[PROXY] = proxy

    async def lifespan(app):
        await proxy.start()
        yield
        await proxy.stop()

    async def close_websockets(app):
        for ws in list(proxy.websockets):
            await ws.close(code=1001, message=b"proxy shutting down")

    app.cleanup_ctx.append(lifespan)
    app.on_shutdown.append(close_websockets)
    r = app.router
    r.add_get("/", status_page)
    r.add_get("/api/v1/hello", hello)
    r.add_get("/api/v1/status", status)
    r.add_post("/api/v1/pair", pair_request)
    r.add_post("/api/v1/pair/confirm", pair_confirm)
    r.add_delete("/api/v1/pair", unpair)
    r.add_post("/api/v1/devices/{device}/{command}", device_command)
    r.add_get("/api/v1/jobs/{job}", job_status)
    r.add_get("/api/v1/events", events)
    r.add_get("/api/v1/openapi.yaml", openapi)
    for path, handler in (("/hw_proxy/hello", odoo_hello), ("/hw_proxy/status_json", odoo_status)):
        r.add_get(path, handler)
        r.add_post(path, handler)
    return app
