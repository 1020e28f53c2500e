"""With REDIS_URL the brute-force counters are shared by every API process."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from fisioflow.app import create_app
from fisioflow.core.database import DatabaseLocation
from fisioflow.settings import Settings
from tests.fixtures.identity import create_clinic

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(
    REDIS is None, reason="redis-server not installed (.ci/run installs it)"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def redis_url() -> Iterator[str]:
    assert REDIS is not None
    port = _free_port()
    server = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
async def two_apps(
    settings: Settings, database: DatabaseLocation, redis_url: str
) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    shared = settings.model_copy(update={"redis_url": redis_url})
    first, second = create_app(shared, database), create_app(shared, database)
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        yield first, second


async def test_lockout_is_shared_between_processes(two_apps: tuple[FastAPI, FastAPI]) -> None:
    first, second = two_apps
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        for app in (first, second)
    ]
    try:
        admin = await create_clinic(clients[0])
        wrong = {
            "clinic_slug": admin.clinic_slug,
            "email": admin.email,
            "password": "wrong password!",
        }
        for n in range(10):  # alternate between the two "processes"
            response = await clients[n % 2].post("/api/v1/auth/login", json=wrong)
            assert response.status_code == 401
        blocked = await clients[1].post("/api/v1/auth/login", json=wrong)
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0
    finally:
        for client in clients:
            await client.aclose()
