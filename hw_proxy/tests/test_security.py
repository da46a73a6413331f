"""Origins, CORS / Private Network Access preflight, pairing, tokens, WebSocket auth."""

import json

from aiohttp import WSMsgType
from conftest import EVIL, POS, auth, pair
from huiyuan_hw_proxy.security import token_hash


async def test_hello_and_status_need_no_token_but_an_allowed_origin(make_config, start):
    client, _ = await start(make_config())
    resp = await client.get("/api/v1/hello", headers={"Origin": POS})
    assert resp.status == 200
    assert (await resp.json())["service"] == "huiyuan-hw-proxy"
    assert resp.headers["Access-Control-Allow-Origin"] == POS
    resp = await client.get("/api/v1/status", headers={"Origin": POS})
    assert resp.status == 200
    assert (await resp.json())["devices"]["printer"]["state"] == "connected"


async def test_foreign_origin_is_refused_everywhere(make_config, start):
    client, proxy = await start(make_config())
    token = await pair(client, proxy)
    for method, path in [("GET", "/api/v1/hello"), ("GET", "/api/v1/status"),
                         ("POST", "/api/v1/pair"), ("GET", "/hw_proxy/hello"),
                         ("POST", "/api/v1/devices/printer/drawer")]:
        resp = await client.request(method, path, headers=auth(token, EVIL), json={})
        assert resp.status == 403, path
        assert (await resp.json())["error"] == "origin_forbidden"
        assert "Access-Control-Allow-Origin" not in resp.headers
    # an origin that merely starts like the POS one is not the POS
    resp = await client.get("/api/v1/hello", headers={"Origin": POS + ".evil.example"})
    assert resp.status == 403


async def test_no_origin_refused_when_configured(make_config, start):
    client, _ = await start(make_config(allow_no_origin=False))
    assert (await client.get("/api/v1/hello")).status == 403
    assert (await client.get("/")).status == 200  # the status page itself


async def test_dns_rebinding_host_refused(make_config, start):
    client, _ = await start(make_config())
    resp = await client.get("/api/v1/hello", headers={"Origin": POS, "Host": "evil.example:8400"})
    assert resp.status == 403
    assert (await resp.json())["error"] == "bad_host"


async def test_preflight_with_private_network_access(make_config, start):
    client, _ = await start(make_config())
    headers = {"Origin": POS, "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "authorization, content-type",
               "Access-Control-Request-Private-Network": "true"}
    resp = await client.options("/api/v1/devices/printer/drawer", headers=headers)
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == POS
    assert resp.headers["Access-Control-Allow-Private-Network"] == "true"
    assert "Authorization" in resp.headers["Access-Control-Allow-Headers"]
    resp = await client.options("/api/v1/devices/printer/drawer",
                                headers={**headers, "Origin": EVIL})
    assert resp.status == 403
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert "Access-Control-Allow-Private-Network" not in resp.headers


async def test_drawer_needs_a_valid_token(make_config, start, tmp_path):
    client, proxy = await start(make_config())
    path = "/api/v1/devices/printer/drawer"
    resp = await client.post(path, headers={"Origin": POS}, json={})
    assert resp.status == 401
    resp = await client.post(path, headers=auth("not-the-token"), json={})
    assert resp.status == 401
    resp = await client.post(path, headers={"Origin": POS, "Authorization": "Basic eA=="}, json={})
    assert resp.status == 401
    assert not list((tmp_path / "run").glob("dummy/*.bin"))  # nothing reached the printer
    token = await pair(client, proxy)
    resp = await client.post(path, headers=auth(token), json={})
    assert resp.status == 200, await resp.text()
    files = list((tmp_path / "run").glob("dummy/till-*.bin"))
    assert [f.read_bytes() for f in files] == [b"\x1bp\x00\x32\xfa"]


async def test_pairing_flow_and_token_storage(make_config, start, tmp_path):
    client, proxy = await start(make_config())
    resp = await client.post("/api/v1/pair", json={"name": "till 2"}, headers={"Origin": POS})
    assert resp.status == 201
    pairing_id = (await resp.json())["pairing_id"]
    code = proxy.announced[-1].code
    assert len(code) == 6 and code.isdigit()
    # the code is shown on the proxy's own status page, never in the API answer
    assert code not in await resp.text()
    page = await (await client.get("/")).text()
    assert f"{code[:3]} {code[3:]}" in page
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    resp = await client.post("/api/v1/pair/confirm", json={"pairing_id": pairing_id,
                                                            "code": wrong},
                             headers={"Origin": POS})
    assert resp.status == 401
    resp = await client.post("/api/v1/pair/confirm", json={"pairing_id": pairing_id,
                                                            "code": code},
                             headers={"Origin": POS})
    assert resp.status == 200
    token = (await resp.json())["token"]
    assert len(token) >= 40
    stored = (tmp_path / "run" / "tokens.json").read_text()
    assert token not in stored and token_hash(token) in stored
    assert (tmp_path / "run" / "tokens.json").stat().st_mode & 0o077 == 0
    # a code works once
    resp = await client.post("/api/v1/pair/confirm", json={"code": code}, headers={"Origin": POS})
    assert resp.status == 401
    # unpair revokes the token
    assert (await client.delete("/api/v1/pair", headers=auth(token))).status == 200
    resp = await client.post("/api/v1/devices/printer/drawer", headers=auth(token), json={})
    assert resp.status == 401


async def test_wrong_codes_void_every_pending_code(make_config, start):
    client, proxy = await start(make_config(pairing_attempts=3))
    await client.post("/api/v1/pair", json={}, headers={"Origin": POS})
    code = proxy.announced[-1].code
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(3):
        resp = await client.post("/api/v1/pair/confirm", json={"code": wrong},
                                 headers={"Origin": POS})
        assert resp.status == 401
    resp = await client.post("/api/v1/pair/confirm", json={"code": code}, headers={"Origin": POS})
    assert resp.status == 401  # the right code no longer works: ask for a new one


async def test_pairing_code_expires(make_config, start, clock):
    client, proxy = await start(make_config())
    await client.post("/api/v1/pair", json={}, headers={"Origin": POS})
    code = proxy.announced[-1].code
    clock.advance(proxy.config.pairing_ttl + 1)
    resp = await client.post("/api/v1/pair/confirm", json={"code": code}, headers={"Origin": POS})
    assert resp.status == 401


async def test_websocket_origin_and_auth(make_config, start):
    client, proxy = await start(make_config())
    token = await pair(client, proxy)
    resp = await client.get("/api/v1/events", headers={"Origin": EVIL, "Connection": "Upgrade",
                                                       "Upgrade": "websocket",
                                                       "Sec-WebSocket-Version": "13",
                                                       "Sec-WebSocket-Key": "dGhlIHNhbXBsZQ=="})
    assert resp.status == 403
    ws = await client.ws_connect("/api/v1/events", headers={"Origin": POS})
    await ws.send_json({"type": "auth", "token": "wrong"})
    msg = await ws.receive_json()
    assert msg["error"] == "unauthorized"
    assert (await ws.receive()).type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
    ws = await client.ws_connect("/api/v1/events", headers={"Origin": POS})
    await ws.send_json({"type": "auth", "token": token})
    hello = await ws.receive_json()
    assert hello["type"] == "hello" and "printer" in hello["devices"]
    proxy.events.publish("card", device="reader", kind="em4100", number="0305419896")
    event = await ws.receive_json()
    assert event["type"] == "card" and event["number"] == "0305419896"
    await ws.close()


async def test_odoo_compatible_routes(make_config, start):
    client, _ = await start(make_config())
    resp = await client.get("/hw_proxy/hello", headers={"Origin": POS})
    assert await resp.text() == "ping"
    resp = await client.post("/hw_proxy/status_json", headers={"Origin": POS},
                             json={"jsonrpc": "2.0", "id": 7, "params": {}})
    body = await resp.json()
    assert body["id"] == 7 and body["result"]["printer"]["status"] == "connected"
    assert json.dumps(body)


async def test_token_is_bound_to_the_origin_that_paired(make_config, start):
    other = "http://localhost:8000"
    client, proxy = await start(make_config(allowed_origins=[POS, other]))
    token = await pair(client, proxy, origin=POS)
    resp = await client.post("/api/v1/devices/printer/drawer", headers=auth(token, other),
                             json={})
    assert resp.status == 401
    resp = await client.post("/api/v1/devices/printer/drawer", headers=auth(token), json={})
    assert resp.status == 200


async def test_openapi_describes_every_route(make_config, start):
    import yaml

    client, proxy = await start(make_config())
    resp = await client.get("/api/v1/openapi.yaml", headers={"Origin": POS})
    assert resp.status == 200
    spec = yaml.safe_load(await resp.text())
    routes = {r.resource.canonical for r in client.app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith(("/api", "/hw"))}
    routes.discard("/api/v1/openapi.yaml")
    assert routes == set(spec["paths"])


async def test_cli_revoke_takes_effect_on_the_running_proxy(make_config, start, tmp_path):
    from huiyuan_hw_proxy.cli import main

    client, proxy = await start(make_config())
    token = await pair(client, proxy)
    path = "/api/v1/devices/printer/drawer"
    assert (await client.post(path, headers=auth(token), json={})).status == 200
    token_id = proxy.tokens.tokens[0]["id"]
    config = tmp_path / "proxy.toml"
    config.write_text(f'[server]\nruntime_dir = "{tmp_path / "run"}"\n')
    assert main(["tokens", "revoke", token_id, "--config", str(config)]) == 0
    assert (await client.post(path, headers=auth(token), json={})).status == 401
