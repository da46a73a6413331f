"""A real browser (Debian chromium through Playwright, skipped when absent): the POS page
pairs, prints and listens on the WebSocket across origins; a foreign page is blocked."""

import asyncio
import shutil

import pytest
from aiohttp import web
from huiyuan_hw_proxy.app import PROXY, create_app

CHROMIUM = shutil.which("chromium")
playwright = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


async def blank_page(request):
    return web.Response(text="<!doctype html><title>POS</title>", content_type="text/html")


def page_app():
    app = web.Application()
    app.router.add_get("/", blank_page)
    return app


PAIR_JS = """async (base) => {
  const r = await fetch(base + "/api/v1/pair", {method: "POST",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify({name: "chromium"})});
  return [r.status, await r.json()];
}"""

CONFIRM_AND_USE_JS = """async ([base, pairingId, code]) => {
  const post = (path, token, body) => fetch(base + path, {method: "POST",
      headers: {"Content-Type": "application/json", "Authorization": "Bearer " + token},
      body: JSON.stringify(body)});
  const c = await fetch(base + "/api/v1/pair/confirm", {method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({pairing_id: pairingId, code})});
  const {token} = await c.json();
  const drawer = await post("/api/v1/devices/printer/drawer", token, {});
  const unknown = await post("/api/v1/devices/toaster/receipt", token, {});
  const ws = new WebSocket(base.replace("http", "ws") + "/api/v1/events");
  const hello = await new Promise((resolve, reject) => {
    ws.onopen = () => ws.send(JSON.stringify({type: "auth", token}));
    ws.onmessage = (m) => resolve(JSON.parse(m.data));
    ws.onerror = () => reject(new Error("websocket failed"));
  });
  ws.close();
  return {drawer: drawer.status, unknown: [unknown.status, (await unknown.json()).error],
          hello: hello.type};
}"""

FOREIGN_JS = """async (base) => {
  const hello = await fetch(base + "/api/v1/hello").then(() => "read", () => "blocked");
  // a no-cors "simple" POST reaches the server but must do nothing
  await fetch(base + "/api/v1/devices/printer/drawer", {method: "POST", mode: "no-cors",
      body: "{}"}).catch(() => null);
  const ws = await new Promise((resolve) => {
    const s = new WebSocket(base.replace("http", "ws") + "/api/v1/events");
    s.onopen = () => resolve("open");
    s.onerror = () => resolve("refused");
  });
  return {hello, ws};
}"""


async def test_pos_page_and_foreign_page_in_chromium(aiohttp_server, make_config, tmp_path):
    pos_server = await aiohttp_server(page_app())
    evil_server = await aiohttp_server(page_app())
    pos = f"http://127.0.0.1:{pos_server.port}"
    evil = f"http://127.0.0.1:{evil_server.port}"
    config = make_config(allowed_origins=[pos])
    announced = []
    app = create_app(config, announce=announced.append)
    proxy_server = await aiohttp_server(app)
    base = f"http://127.0.0.1:{proxy_server.port}"
    async with playwright.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page()
            await page.goto(pos + "/")
            status, body = await page.evaluate(PAIR_JS, base)
            assert status == 201
            result = await page.evaluate(CONFIRM_AND_USE_JS,
                                         [base, body["pairing_id"], announced[-1].code])
            assert result == {"drawer": 200, "unknown": [404, "unknown_device"],
                              "hello": "hello"}
            kicks = list((tmp_path / "run" / "dummy").glob("*.bin"))
            assert len(kicks) == 1

            foreign = await browser.new_page()
            await foreign.goto(evil + "/")
            assert await foreign.evaluate(FOREIGN_JS, base) == {"hello": "blocked",
                                                               "ws": "refused"}
            await asyncio.sleep(0.2)
            assert len(list((tmp_path / "run" / "dummy").glob("*.bin"))) == 1
            assert app[PROXY].devices["printer"].state == "connected"
        finally:
            await browser.close()
