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


async def test_keyboard_wedge_through_a_fake_evdev(make_config, start, monkeypatch, tmp_path):
    """The evdev loop itself, with a stand-in module: the device is grabbed and one
    Enter-terminated burst of keys becomes one card event."""
    import sys
    import types

    def key_events(codes):
        for code in codes:
            shift = code < 0
            code = abs(code)
            if shift:
                yield types.SimpleNamespace(type=1, code=42, value=1)
            yield types.SimpleNamespace(type=1, code=code, value=1)
            yield types.SimpleNamespace(type=1, code=code, value=0)
            if shift:
                yield types.SimpleNamespace(type=1, code=42, value=0)

    # ";8801?" then Enter, with a non-key event in between
    script = list(key_events([39, 9, 9, 11, 2, -53])) + [
        types.SimpleNamespace(type=4, code=4, value=458792)] + list(key_events([28]))
    opened = []
    gate = asyncio.Event()  # the card is presented once the test listens

    class InputDevice:
        def __init__(self, path):
            self.path, self.name, self.grabbed = path, "IC Reader", False
            opened.append(self)

        def grab(self):
            self.grabbed = True

        async def async_read_loop(self):
            await gate.wait()
            for event in script:
                yield event
            await asyncio.Event().wait()

        def close(self):
            pass

    fake = types.ModuleType("evdev")
    fake.InputDevice = InputDevice
    fake.ecodes = types.SimpleNamespace(EV_KEY=1)
    monkeypatch.setitem(sys.modules, "evdev", fake)
    client, proxy = await start(make_config(
        {"wedge": {"type": "card_reader", "url": f"evdev://{tmp_path}/event-kbd"}}))
    queue = proxy.events.subscribe()
    gate.set()
    while True:
        event = await asyncio.wait_for(queue.get(), 5)
        if event["type"] == "card":
            break
    assert event["kind"] == "wedge_magstripe" and event["number"] == "8801"
    assert opened[0].grabbed and proxy.devices["wedge"].state == "connected"
