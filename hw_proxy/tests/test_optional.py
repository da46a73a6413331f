"""Optional backends fail cleanly: evdev absent, libusb absent, scale polling events."""

import asyncio
import importlib.util

from conftest import POS, auth, pair
from huiyuan_hw_proxy.virtual import VirtualScale


async def wait_until(predicate, timeout=5.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.01)


async def test_evdev_reader_without_evdev_or_device(make_config, start, tmp_path):
    client, proxy = await start(make_config(
        {"wedge": {"type": "card_reader", "url": f"evdev://{tmp_path}/event-kbd",
                   "reconnect_interval": 0.05}}))
    reader = proxy.devices["wedge"]
    if importlib.util.find_spec("evdev") is None:
        await wait_until(lambda: reader.state == "unavailable")
        assert "evdev" in reader.message
    else:
        await wait_until(lambda: reader.state == "disconnected")
    assert (await client.get("/api/v1/hello", headers={"Origin": POS})).status == 200


async def test_usb_printer_without_libusb_or_printer(make_config, start):
    client, proxy = await start(make_config(
        {"printer": {"type": "printer", "url": "usb://04b8:0202", "status_interval": 0}}))
    token = await pair(client, proxy)
    resp = await client.post("/api/v1/devices/printer/drawer", headers=auth(token),
                             json={"wait": 5})
    body = await resp.json()
    if resp.status == 503:  # no libusb-1.0 on this machine: say so, do not retry
        assert body["error"] == "device_unavailable" and "libusb" in body["message"]
        assert proxy.devices["printer"].state == "unavailable"
    else:  # libusb present, no such printer: queued and retried until it expires
        assert resp.status == 202
        assert proxy.devices["printer"].state == "offline"


async def test_scale_polling_publishes_weight_changes(make_config, start, tmp_path):
    scale = await VirtualScale(tmp_path / "scale").start()
    try:
        client, proxy = await start(make_config(
            {"scale": {"type": "scale", "url": f"serial://{tmp_path}/scale",
                       "poll_interval": 0.02}}), use_clock=False)
        token = await pair(client, proxy)
        scale.reading = {"weight": "0.500"}
        ws = await client.ws_connect("/api/v1/events", headers={"Origin": POS})
        await ws.send_json({"type": "auth", "token": token})
        weights = []
        while len(weights) < 2:
            event = await asyncio.wait_for(ws.receive_json(), 5)
            if event["type"] == "weight":
                weights.append(event)
                scale.reading = {"weight": "0.750"}
        assert [w["weight"] for w in weights] == ["0.500", "0.750"]
        assert all(w["device"] == "scale" and w["stable"] for w in weights)
        await ws.close()
    finally:
        await scale.stop()
