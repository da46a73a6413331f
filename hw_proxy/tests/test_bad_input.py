"""Bad input gets a clear JSON error and the service keeps running."""

import pytest
import pytest_asyncio
from conftest import POS, auth, pair

DRAWER = "/api/v1/devices/printer/drawer"
RECEIPT = "/api/v1/devices/printer/receipt"


@pytest_asyncio.fixture
async def paired(make_config, start):
    client, proxy = await start(make_config())
    token = await pair(client, proxy)
    return client, token


async def still_alive(client):
    resp = await client.get("/api/v1/hello", headers={"Origin": POS})
    assert resp.status == 200


@pytest.mark.parametrize("body,ctype,status,error", [
    (b"{not json", "application/json", 400, "invalid_json"),
    (b"[1, 2]", "application/json", 400, "invalid_json"),
    (b'{"wait": NaN}', "application/json", 400, "invalid_json"),
    (b'{"receipt": "\xff\xfe"}', "application/json", 400, "invalid_utf8"),
    (b"[" * 100000 + b"]" * 100000, "application/json", 400, "invalid_json"),
    (b"receipt=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    (b'{"receipt": {"lines": "x"}}', "application/json", 400, "invalid_receipt"),
    (b'{"receipt": {"lines": [{"name": "a", "amount": "1"}]}, "wait": -1}',
     "application/json", 400, "bad_request"),
])
async def test_malformed_bodies(paired, body, ctype, status, error):
    client, token = paired
    resp = await client.post(RECEIPT, data=body,
                             headers={**auth(token), "Content-Type": ctype})
    assert resp.status == status, await resp.text()
    data = await resp.json()
    assert data["error"] == error and data["message"]
    # the POS page must be able to read the error (CORS headers on errors too)
    assert resp.headers["Access-Control-Allow-Origin"] == POS
    await still_alive(client)


async def test_huge_body(paired):
    client, token = paired
    resp = await client.post(RECEIPT, data=b'{"x": "' + b"a" * 300_000 + b'"}',
                             headers={**auth(token), "Content-Type": "application/json"})
    assert resp.status == 413
    assert (await resp.json())["error"] == "body_too_large"
    await still_alive(client)


async def test_unknown_device_command_path_and_method(paired):
    client, token = paired
    resp = await client.post("/api/v1/devices/toaster/receipt", headers=auth(token), json={})
    assert resp.status == 404
    assert resp.headers["Access-Control-Allow-Origin"] == POS
    body = await resp.json()
    assert body["error"] == "unknown_device" and body["details"]["devices"] == ["printer"]
    resp = await client.post("/api/v1/devices/printer/explode", headers=auth(token), json={})
    assert resp.status == 404
    body = await resp.json()
    assert body["error"] == "unknown_command" and "drawer" in body["details"]["commands"]
    resp = await client.get("/api/v1/nothing", headers={"Origin": POS})
    assert resp.status == 404 and (await resp.json())["error"] == "not_found"
    resp = await client.get(DRAWER, headers=auth(token))
    assert resp.status == 405 and (await resp.json())["error"] == "method_not_allowed"
    resp = await client.get("/api/v1/jobs/nope", headers=auth(token))
    assert resp.status == 404 and (await resp.json())["error"] == "unknown_job"
    await still_alive(client)


async def test_bad_pairing_input(make_config, start):
    client, _ = await start(make_config())
    for body in ({"code": "12ab56"}, {"code": 123456}, {}, {"code": "123456", "pairing_id": 5}):
        resp = await client.post("/api/v1/pair/confirm", json=body, headers={"Origin": POS})
        assert resp.status in (400, 401)
        assert (await resp.json())["message"]
    resp = await client.post("/api/v1/pair", json={"name": ["x"]}, headers={"Origin": POS})
    assert resp.status == 400
    await still_alive(client)
