"""Hardware proxy latency bench; prints a JSON report.

* card: time from an EM4100 frame written on a serial line (a real pty) to the ``card``
  event on an authenticated WebSocket (target p95 <= 50 ms);
* print: time from POST .../receipt to the last byte arriving at the fake network
  printer (TCP, with DLE EOT status checks before the job).

Run: .venv/bin/python bench/hw_proxy_bench.py [--cards 200] [--receipts 50]
"""

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import tty
from pathlib import Path

import aiohttp
from aiohttp import web
from huiyuan_hw_proxy.app import PROXY, create_app
from huiyuan_hw_proxy.config import Config
from huiyuan_hw_proxy.parsers import card_number_to_tag, em4100_frame
from huiyuan_hw_proxy.receipt import render_receipt
from huiyuan_hw_proxy.virtual import FakeNetworkPrinter

ORIGIN = "http://127.0.0.1:8000"
ROOT = Path(__file__).resolve().parents[1]


def summary(samples_ms):
    s = sorted(samples_ms)

    def pct(p):
        return round(s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))], 2)

    return {"n": len(s), "p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99),
            "max_ms": round(s[-1], 2), "mean_ms": round(statistics.mean(s), 2)}


async def run(cards, receipts):
    tmp = Path(tempfile.mkdtemp(prefix="hw-bench-"))
    master, slave = os.openpty()
    tty.setraw(slave)
    printer = await FakeNetworkPrinter("127.0.0.1", 0).start()
    config = Config.from_dict({
        "server": {"runtime_dir": str(tmp), "port": 0},
        "security": {"allowed_origins": [ORIGIN]},
        "devices": {
            "reader": {"type": "card_reader", "url": f"serial://{os.ttyname(slave)}"},
            "printer": {"type": "printer", "url": f"tcp://127.0.0.1:{printer.port}",
                        "status_interval": 0},
        }})
    announced = []
    app = create_app(config, announce=announced.append)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    proxy = app[PROXY]
    loop = asyncio.get_running_loop()
    report = {"python": platform.python_version(), "machine": platform.machine(),
              "cpus": os.cpu_count()}
    async with aiohttp.ClientSession(headers={"Origin": ORIGIN}) as http:
        async with http.post(f"{base}/api/v1/pair", json={"name": "bench"}) as r:
            pairing = await r.json()
        async with http.post(f"{base}/api/v1/pair/confirm",
                             json={"pairing_id": pairing["pairing_id"],
                                   "code": announced[-1].code}) as r:
            token = (await r.json())["token"]
        headers = {"Authorization": f"Bearer {token}"}
        while proxy.devices["reader"].state != "connected":
            await asyncio.sleep(0.01)

        receipt = json.loads((ROOT / "data/receipts/sample_zh.json").read_text("utf-8"))

        # --- card frame -> WebSocket event ---
        ws = await http.ws_connect(f"{base}/api/v1/events")
        await ws.send_json({"type": "auth", "token": token})
        await ws.receive_json()  # hello

        async def swipe_many(n, first):
            latencies = []
            for i in range(n):
                number = f"{first + i:010d}"
                frame = em4100_frame(card_number_to_tag(number))
                t0 = time.perf_counter()
                os.write(master, frame)
                while True:
                    event = await asyncio.wait_for(ws.receive_json(), 5)
                    if event.get("type") == "card":
                        break
                latencies.append((time.perf_counter() - t0) * 1000)
                assert event["number"] == number, (event, number)
                await asyncio.sleep(0.005)
            return latencies

        latencies = await swipe_many(cards, 1000000)
        report["card_frame_to_websocket"] = {**summary(latencies), "target_p95_ms": 50,
                                             "ok": summary(latencies)["p95_ms"] <= 50}

        # the same while receipts print back to back (the till during a rush)
        async def print_loop():
            while True:
                async with http.post(f"{base}/api/v1/devices/printer/receipt",
                                     json={"receipt": receipt}, headers=headers) as r:
                    await r.read()

        printing = asyncio.create_task(print_loop())
        busy = await swipe_many(cards, 2000000)
        printing.cancel()
        try:
            await printing
        except asyncio.CancelledError:
            pass
        await ws.close()
        report["card_frame_to_websocket_while_printing"] = {
            **summary(busy), "target_p95_ms": 50, "ok": summary(busy)["p95_ms"] <= 50}
        await asyncio.sleep(0.2)

        # --- print request -> last byte at the printer ---
        expected = render_receipt(receipt, "80mm")
        to_last_byte, to_response = [], []
        for _ in range(receipts):
            jobs_before = len(printer.jobs)
            t0 = loop.time()
            async with http.post(f"{base}/api/v1/devices/printer/receipt",
                                 json={"receipt": receipt}, headers=headers) as r:
                assert r.status == 200, await r.text()
                t_resp = loop.time()
            await printer.wait_for(lambda p, n=jobs_before: len(p.jobs) > n)
            assert printer.jobs[-1] == expected
            to_last_byte.append((printer.last_byte_at - t0) * 1000)
            to_response.append((t_resp - t0) * 1000)
        report["print_request_to_last_byte"] = {**summary(to_last_byte),
                                                "receipt_bytes": len(expected)}
        report["print_request_to_http_answer"] = summary(to_response)
    await runner.cleanup()
    await printer.stop()
    os.close(master)
    os.close(slave)
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=200)
    parser.add_argument("--receipts", type=int, default=50)
    args = parser.parse_args()
    report = asyncio.run(run(args.cards, args.receipts))
    json.dump(report, sys.stdout, indent=2)
    print()
    ok = all(report[k]["ok"] for k in ("card_frame_to_websocket",
                                        "card_frame_to_websocket_while_printing"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
