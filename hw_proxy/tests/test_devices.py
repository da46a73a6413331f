"""Devices end to end through the HTTP API and their virtual twins (real ptys and TCP)."""

import asyncio
import os
import tty

import pytest
import pytest_asyncio
from conftest import POS, auth, pair
from huiyuan_hw_proxy.parsers import em4100_frame
from huiyuan_hw_proxy.receipt import render_receipt
from huiyuan_hw_proxy.virtual import FakeNetworkPrinter, VirtualDisplay, VirtualScale

KICK = b"\x1bp\x00\x32\xfa"


async def wait_until(predicate, timeout=5.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.01)


@pytest_asyncio.fixture
async def fake_printer():
    printer = await FakeNetworkPrinter("127.0.0.1", 0).start()
    yield printer
    await printer.stop()


@pytest_asyncio.fixture
async def net_proxy(make_config, start, fake_printer):
    config = make_config({"printer": {"type": "printer",
                                      "url": f"tcp://127.0.0.1:{fake_printer.port}?timeout=1",
                                      "status_interval": 0}})
    client, proxy = await start(config)
    token = await pair(client, proxy)
    return client, proxy, token


async def test_receipt_reaches_network_printer(net_proxy, fake_printer, sample):
    client, proxy, token = net_proxy
    resp = await client.post("/api/v1/devices/printer/receipt", headers=auth(token),
                             json={"receipt": sample("zh"), "open_drawer": True})
    assert resp.status == 200, await resp.text()
    assert [j["state"] for j in (await resp.json())["jobs"]] == ["done", "done"]
    await wait_until(lambda: len(fake_printer.jobs) == 2)
    assert fake_printer.jobs == [KICK, render_receipt(sample("zh"), "80mm")]
    assert fake_printer.status_queries >= 4  # DLE EOT 1 and 4 before each job


async def test_printer_offline_then_back(net_proxy, fake_printer, sample):
    client, proxy, token = net_proxy
    await fake_printer.set_mode("off")
    resp = await client.post("/api/v1/devices/printer/receipt", headers=auth(token),
                             json={"receipt": sample("en"), "wait": 0.2})
    assert resp.status == 202  # queued, waiting for the printer
    job = (await resp.json())["jobs"][0]["job"]
    status = await (await client.get("/api/v1/status", headers={"Origin": POS})).json()
    assert status["devices"]["printer"]["state"] == "offline"
    await fake_printer.set_mode("online")
    await wait_until(lambda: proxy.jobs[job].state == "done")
    assert fake_printer.jobs == [render_receipt(sample("en"), "80mm")]
    resp = await client.get(f"/api/v1/jobs/{job}", headers=auth(token))
    assert (await resp.json())["state"] == "done"
    assert proxy.devices["printer"].state == "connected"


async def test_paper_out_holds_receipt_but_drawer_opens(net_proxy, fake_printer, sample):
    client, proxy, token = net_proxy
    await fake_printer.set_mode("paper_out")
    resp = await client.post("/api/v1/devices/printer/receipt", headers=auth(token),
                             json={"receipt": sample("zh"), "wait": 0.2})
    assert resp.status == 202
    assert proxy.devices["printer"].state == "paper_out"
    job = (await resp.json())["jobs"][0]["job"]
    await fake_printer.set_mode("online")
    await wait_until(lambda: proxy.jobs[job].state == "done")
    assert fake_printer.jobs == [render_receipt(sample("zh"), "80mm")]


async def test_drawer_job_expires_instead_of_popping_late(net_proxy, fake_printer, clock):
    client, proxy, token = net_proxy
    await fake_printer.set_mode("off")
    resp = await client.post("/api/v1/devices/printer/drawer", headers=auth(token),
                             json={"wait": 0.1})
    assert resp.status == 202
    job = proxy.jobs[(await resp.json())["jobs"][0]["job"]]
    await wait_until(lambda: job.attempts >= 2)  # it keeps retrying while the printer is off
    clock.advance(12.5)  # the cashier has long walked away
    await fake_printer.set_mode("online")
    await wait_until(lambda: job.state == "expired")
    resp = await client.get(f"/api/v1/jobs/{job.id}", headers=auth(token))
    assert (await resp.json())["error"] == "job_expired"
    # a fresh drawer kick still works, and the stale one never reached the printer
    resp = await client.post("/api/v1/devices/printer/drawer", headers=auth(token), json={})
    assert resp.status == 200
    await wait_until(lambda: len(fake_printer.jobs) == 1)
    assert fake_printer.received == KICK


async def test_receipt_ttl_is_an_hour(net_proxy, fake_printer, clock, sample):
    client, proxy, token = net_proxy
    await fake_printer.set_mode("off")
    resp = await client.post("/api/v1/devices/printer/receipt", headers=auth(token),
                             json={"receipt": sample("en"), "wait": 0, "open_drawer": True})
    drawer, receipt = (proxy.jobs[j["job"]] for j in (await resp.json())["jobs"])
    clock.advance(600)
    await wait_until(lambda: drawer.state == "expired")
    await fake_printer.set_mode("online")
    await wait_until(lambda: receipt.state == "done")  # 10 min late is still fine
    assert fake_printer.received == render_receipt(sample("en"), "80mm")


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


async def test_card_frames_split_across_reads_over_a_pty(make_config, start, pty_pair):
    master, path = pty_pair
    client, proxy = await start(make_config(
        {"reader": {"type": "card_reader", "url": f"serial://{path}?baud=9600"}}))
    token = await pair(client, proxy)
    ws = await client.ws_connect("/api/v1/events", headers={"Origin": POS})
    await ws.send_json({"type": "auth", "token": token})
    assert (await ws.receive_json())["type"] == "hello"
    await wait_until(lambda: proxy.devices["reader"].state == "connected")
    frame = em4100_frame("0012345678")
    bad = frame[:11] + b"00" + b"\x03"
    chunks = [frame[:3], frame[3:9], frame[9:], bad, b";8800", b"1234?\r", frame[:1]]
    for chunk in chunks:
        os.write(master, chunk)
        await asyncio.sleep(0.02)  # separate reads on the serial line
    os.write(master, frame[1:])
    events = []
    while len(events) < 3:
        event = await asyncio.wait_for(ws.receive_json(), 5)
        if event["type"] == "card":
            events.append(event)
    assert [(e["kind"], e["number"]) for e in events] == [
        ("em4100", "0305419896"), ("magstripe", "88001234"), ("em4100", "0305419896")]
    assert all(e["device"] == "reader" for e in events)
    await ws.close()


async def test_card_reader_absent_port_reports_disconnected(make_config, start, tmp_path):
    client, proxy = await start(make_config(
        {"reader": {"type": "card_reader", "url": f"serial://{tmp_path}/nope",
                    "reconnect_interval": 0.05}}))
    await wait_until(lambda: proxy.devices["reader"].state == "disconnected")
    assert "nope" in proxy.devices["reader"].message
    assert (await client.get("/api/v1/hello", headers={"Origin": POS})).status == 200


@pytest.mark.parametrize("dialect", ["cd5220", "dmd"])
async def test_customer_display(make_config, start, tmp_path, dialect):
    display = await VirtualDisplay(tmp_path / "display").start()
    try:
        client, proxy = await start(make_config(
            {"display": {"type": "display", "url": f"serial://{tmp_path}/display",
                         "dialect": dialect}}))
        token = await pair(client, proxy)
        url = "/api/v1/devices/display/show"
        cases = [
            ({"mode": "welcome"}, ["Welcome", ""]),
            ({"mode": "item", "name": "Cola 330ml", "qty": "2", "price": "7.00"},
             ["Cola 330ml", "2 x             7.00"]),
            ({"mode": "total", "amount": "35.98"}, ["TOTAL", "               35.98"]),
            ({"mode": "change", "paid": "50.00", "change": "14.02"},
             ["PAID           50.00", "CHANGE         14.02"]),
        ]
        for body, lines in cases:
            resp = await client.post(url, headers=auth(token), json=body)
            assert resp.status == 200, await resp.text()
            await wait_until(lambda lines=lines: [x.strip() for x in display.lines]
                             == [x.strip() for x in lines])
            assert display.lines[1] == lines[1].rstrip()
        resp = await client.post(url, headers=auth(token), json={"mode": "dance"})
        assert resp.status == 400
    finally:
        await display.stop()


async def test_scale_reads_toledo_8217(make_config, start, tmp_path):
    scale = await VirtualScale(tmp_path / "scale").start()
    try:
        client, proxy = await start(make_config(
            {"scale": {"type": "scale",
                       "url": f"serial://{tmp_path}/scale?baud=9600&bytesize=7&parity=E"}}))
        token = await pair(client, proxy)
        scale.reading = {"weight": "1.256"}
        resp = await client.post("/api/v1/devices/scale/read", headers=auth(token), json={})
        assert resp.status == 200, await resp.text()
        result = (await resp.json())["jobs"][0]["result"]
        assert result["weight"] == "1.256" and result["stable"]
        scale.reading = {"weight": "1.3", "motion": True}
        resp = await client.post("/api/v1/devices/scale/read", headers=auth(token), json={})
        assert (await resp.json())["jobs"][0]["result"]["state"] == "motion"
        assert scale.requests == 2
    finally:
        await scale.stop()


async def test_scale_that_does_not_answer(make_config, start, pty_pair):
    master, path = pty_pair  # nobody answers on the other end
    client, proxy = await start(make_config(
        {"scale": {"type": "scale", "url": f"serial://{path}", "timeout": 0.2}}))
    token = await pair(client, proxy)
    resp = await client.post("/api/v1/devices/scale/read", headers=auth(token), json={})
    assert resp.status == 503
    assert (await resp.json())["error"] == "device_offline"
    assert (await client.get("/api/v1/hello", headers={"Origin": POS})).status == 200


async def test_dummy_printer_writes_each_job_to_a_file(make_config, start, tmp_path, sample):
    client, proxy = await start(make_config(
        {"p58": {"type": "printer", "url": "dummy://p58", "paper": "58mm"}}))
    token = await pair(client, proxy)
    resp = await client.post("/api/v1/devices/p58/receipt", headers=auth(token),
                             json={"receipt": sample("zh")})
    assert resp.status == 200
    files = sorted((tmp_path / "run" / "dummy").glob("p58-*.bin"))
    assert [f.read_bytes() for f in files] == [render_receipt(sample("zh"), "58mm")]


async def test_drawer_overtakes_a_receipt_waiting_for_paper(net_proxy, fake_printer, sample):
    client, proxy, token = net_proxy
    await fake_printer.set_mode("paper_out")
    resp = await client.post("/api/v1/devices/printer/receipt", headers=auth(token),
                             json={"receipt": sample("zh"), "wait": 0.1})
    assert resp.status == 202
    receipt = proxy.jobs[(await resp.json())["jobs"][0]["job"]]
    # the cashier still has to give change: the drawer opens without paper
    resp = await client.post("/api/v1/devices/printer/drawer", headers=auth(token),
                             json={"wait": 5})
    assert resp.status == 200, await resp.text()
    await wait_until(lambda: len(fake_printer.jobs) == 1)
    assert fake_printer.jobs == [KICK]
    assert receipt.state == "waiting"
    await fake_printer.set_mode("online")
    await wait_until(lambda: receipt.state == "done")
    assert fake_printer.jobs[-1] == render_receipt(sample("zh"), "80mm")


async def test_dummy_reader_simulate(make_config, start):
    client, proxy = await start(make_config({"reader": {"type": "card_reader",
                                                        "url": "dummy://reader"}}))
    token = await pair(client, proxy)
    queue = proxy.events.subscribe()
    resp = await client.post("/api/v1/devices/reader/simulate", headers=auth(token),
                             json={"number": ";88001234?"})
    assert resp.status == 200
    event = await asyncio.wait_for(queue.get(), 2)
    assert event["type"] == "card" and event["number"] == "88001234"
    resp = await client.post("/api/v1/devices/reader/simulate", headers=auth(token),
                             json={"number": 5})
    assert resp.status == 400


async def test_reader_unplugged_gives_a_disconnected_event(make_config, start):
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    client, proxy = await start(make_config(
        {"reader": {"type": "card_reader", "url": f"serial://{path}",
                    "reconnect_interval": 0.05}}))
    queue = proxy.events.subscribe()
    await wait_until(lambda: proxy.devices["reader"].state == "connected")
    os.close(slave)
    os.close(master)  # the USB-serial adapter is pulled out
    states = []
    while "disconnected" not in states:
        event = await asyncio.wait_for(queue.get(), 5)
        if event["type"] == "device" and event["device"] == "reader":
            states.append(event["state"])
    assert states[-1] == "disconnected" and set(states) <= {"connected", "disconnected"}
    assert (await client.get("/api/v1/hello", headers={"Origin": POS})).status == 200
