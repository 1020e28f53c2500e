"""GET /api/v1/events/stream against real `fisioflow serve` processes: an SOS raised through
one process reaches the staff streaming from another (LISTEN/NOTIFY), and only the staff
who would see it (its recipients and admins, never another clinic)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.database import DatabaseLocation
from fisioflow.settings import Settings
from tests.fixtures.engagement import SOS, Care, create_care, post
from tests.fixtures.identity import create_user
from tests.fixtures.records import Team, create_team, patient_portal, practitioner_user
from tests.notification.test_alerts import raise_pain_alert

STREAM = "/api/v1/events/stream"
WAIT_S = 60.0  # an upper bound for slow machines, never a speed assertion


@dataclass
class Served:
    base_url: str
    process: asyncio.subprocess.Process


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def serve(
    database: DatabaseLocation, settings: Settings, data_dir: Path
) -> AsyncIterator[Served]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": libpq_dsn(database.owner_url),
        "APP_DATABASE_URL": libpq_dsn(database.app_url),
        "FISIOFLOW_SECRET_KEY": settings.secret_key.get_secret_value(),
        "FISIOFLOW_DATA_DIR": str(data_dir),
        "FISIOFLOW_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fisioflow", "serve", "--port", str(port), env=env
    )
    served = Served(f"http://127.0.0.1:{port}", process)
    try:
        await _ready(served)
        yield served
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), WAIT_S)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _ready(served: Served) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_S
    async with httpx.AsyncClient() as http:
        while True:
            assert served.process.returncode is None, "the server exited"
            try:
                if (await http.get(f"{served.base_url}/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert asyncio.get_running_loop().time() < deadline, "server not ready"
            await asyncio.sleep(0.2)


@dataclass
class Listener:
    """One staff member's stream, read as it arrives by a real HTTP client."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]

    async def wait_for(self, check: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT_S):
            while not check():
                self.arrived.clear()
                await self.arrived.wait()


async def _read(response: httpx.Response, listener: Listener) -> None:
    kind = "message"
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            kind = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            listener.events.append((kind, json.loads(line.partition(":")[2])))
            listener.arrived.set()
            kind = "message"


@asynccontextmanager
async def streams(base_url: str, *actors: dict[str, str]) -> AsyncIterator[list[Listener]]:
    listeners = [Listener() for _ in actors]
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=WAIT_S))
        tasks = []
        for headers, listener in zip(actors, listeners, strict=True):
            response = await stack.enter_async_context(
                http.stream("GET", f"{base_url}{STREAM}", headers=headers)
            )
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            tasks.append(asyncio.create_task(_read(response, listener)))
        try:
            for listener in listeners:
                await listener.wait_for(lambda listener=listener: "ready" in listener.kinds())
            yield listeners
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def sos_ids(listener: Listener) -> list[str]:
    return [data["id"] for kind, data in listener.events if kind == "sos"]


@pytest.fixture
async def servers(
    database: DatabaseLocation, settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[Served, Served]]:
    async with (
        serve(database, settings, tmp_path / "a") as first,
        serve(database, settings, tmp_path / "b") as second,
    ):
        yield first, second


async def _second_team(client: httpx.AsyncClient, care: Care) -> tuple[Team, dict[str, str]]:
    team = await create_team(client, care.admin)
    return team, await patient_portal(client, team)


class TestStream:
    async def test_sos_reaches_its_staff_across_processes_and_no_one_else(
        self, client: httpx.AsyncClient, servers: tuple[Served, Served]
    ) -> None:
        care = await create_care(client)
        other_team, other_portal = await _second_team(client, care)
        stranger = await create_care(client)
        watched, raising = servers
        async with streams(
            watched.base_url,
            care.practitioner.headers,
            care.admin.headers,
            other_team.practitioner.headers,
            stranger.admin.headers,
        ) as (practitioner, admin, colleague, foreign):
            async with httpx.AsyncClient(base_url=raising.base_url) as http:
                raised = await post(http, SOS, {"message": "socorro"}, care.portal)
            await practitioner.wait_for(lambda: raised["id"] in sos_ids(practitioner))
            await admin.wait_for(lambda: raised["id"] in sos_ids(admin))
            # Events arrive in commit order: an SOS each for the colleague and the other
            # clinic, raised after, must be the first SOS they ever see.
            async with httpx.AsyncClient(base_url=raising.base_url) as http:
                theirs = await post(http, SOS, {"message": "ajuda"}, other_portal)
                foreign_sos = await post(http, SOS, {"message": "ajuda"}, stranger.portal)
            await colleague.wait_for(lambda: bool(sos_ids(colleague)))
            await foreign.wait_for(lambda: bool(sos_ids(foreign)))
            assert sos_ids(colleague) == [theirs["id"]]
            assert sos_ids(foreign) == [foreign_sos["id"]]
            # The admin sees the colleague's patient's SOS too; the practitioner does not.
            await admin.wait_for(lambda: theirs["id"] in sos_ids(admin))
            assert sos_ids(practitioner) == [raised["id"]]
            assert sos_ids(admin) == [raised["id"], theirs["id"]]
            assert "socorro" not in json.dumps(practitioner.events)

    async def test_who_may_open_the_stream(
        self, client: httpx.AsyncClient, servers: tuple[Served, Served]
    ) -> None:
        care = await create_care(client)
        receptionist = await create_user(client, care.admin, role="receptionist")
        base = servers[0].base_url
        async with httpx.AsyncClient(base_url=base, timeout=WAIT_S) as http:
            anonymous = await http.get(STREAM)
            assert anonymous.status_code == 401
            assert anonymous.headers["content-type"] == "application/problem+json"
            for headers in (receptionist.headers, care.portal):
                refused = await http.get(STREAM, headers=headers)
                assert refused.status_code == 403, refused.text

    async def test_an_alert_reaches_the_patients_practitioner_and_admins(
        self,
        client: httpx.AsyncClient,
        servers: tuple[Served, Served],
        app_sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        """Written by this test process (as the missed-sessions job would), heard by the
        server process through NOTIFY."""
        care = await create_care(client)
        colleague, _ = await practitioner_user(client, care.admin)
        async with streams(
            servers[0].base_url, care.practitioner.headers, care.admin.headers, colleague.headers
        ) as (practitioner, admin, other):
            alert_id = str(await raise_pain_alert(app_sessionmaker, care))
            for listener in (practitioner, admin):
                await listener.wait_for(lambda listener=listener: bool(alerts(listener)))
                assert alerts(listener) == [alert_id]
            assert alerts(other) == []


def alerts(listener: Listener) -> list[str]:
    return [data["id"] for kind, data in listener.events if kind == "alert"]
