"""Shared fixtures: config builder, injectable clock, app client, paired token."""

import json
from pathlib import Path

import pytest
from huiyuan_hw_proxy.app import PROXY, create_app
from huiyuan_hw_proxy.config import Config

POS = "http://127.0.0.1:8000"
EVIL = "http://evil.example"
REPO = Path(__file__).resolve().parents[2]
RECEIPTS = REPO / "data" / "receipts"


class FakeClock:
    """Monotonic clock the tests move by hand (job expiry without sleeping)."""

    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make_config(tmp_path):
    def _make(devices=None, **security):
        data = {
            "server": {"runtime_dir": str(tmp_path / "run")},
            "security": {"allowed_origins": [POS], **security},
            "jobs": {"retry_interval": 0.02},
            "devices": devices or {"printer": {"type": "printer", "url": "dummy://till"}},
        }
        return Config.from_dict(data, base=tmp_path)
    return _make


@pytest.fixture
def start(aiohttp_client, clock):
    """start(config) -> (client, proxy); pairing codes land in proxy.announced."""
    async def _start(config, *, use_clock=True):
        announced = []
        app = create_app(config, clock=clock if use_clock else None,
                         announce=announced.append)
        client = await aiohttp_client(app)
        proxy = app[PROXY]
        proxy.announced = announced
        return client, proxy
    return _start


async def pair(client, proxy, origin=POS):
    resp = await client.post("/api/v1/pair", json={"name": "till 1"},
                             headers={"Origin": origin})
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    code = proxy.announced[-1].code
    resp = await client.post("/api/v1/pair/confirm",
                             json={"pairing_id": body["pairing_id"], "code": code},
                             headers={"Origin": origin})
    assert resp.status == 200, await resp.text()
    return (await resp.json())["token"]


def auth(token, origin=POS):
    return {"Origin": origin, "Authorization": f"Bearer {token}"}


@pytest.fixture
def sample():
    def _load(name):
        return json.loads((RECEIPTS / f"sample_{name}.json").read_text("utf-8"))
    return _load



def pytest_configure(config):
    """Async tests run under pytest-asyncio's auto mode even when collected with another
    rootdir (e.g. pytest run on several folders from the repository root), where
    hw_proxy/pyproject.toml's settings do not apply."""
    if getattr(config.option, "asyncio_mode", None) in (None, "strict") and \
            config.getini("asyncio_mode") != "auto":
        config.option.asyncio_mode = "auto"
