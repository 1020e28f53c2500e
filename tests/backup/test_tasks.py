"""The scheduled jobs run by a real worker (in the API process, as `fisioflow run` does),
and what /health/ready says about the last verified backup."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from fisioflow.app import create_app
from fisioflow.backup.service import Backups
from fisioflow.core.database import DatabaseLocation
from fisioflow.core.jobs import job_app
from fisioflow.settings import Settings
from tests.backup.conftest import superuser


async def defer(database: DatabaseLocation, task: str) -> None:
    jobs = job_app(database)
    async with jobs.open_async():
        await jobs.configure_task(task).defer_async(timestamp=0)


async def eventually(check: object, *, seconds: float = 120) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await asyncio.to_thread(check):  # type: ignore[arg-type]
        assert asyncio.get_running_loop().time() < deadline, "job did not finish in time"
        await asyncio.sleep(0.2)


@pytest.fixture
async def running(
    settings: Settings, database: DatabaseLocation
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"jobs_in_process": True}), database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield http


async def backup_check(http: httpx.AsyncClient) -> dict[str, object]:
    response = await http.get("/health/ready")
    assert response.status_code == 200  # a backup warning never fails readiness
    check: dict[str, object] = response.json()["checks"]["backup"]
    return check


class TestScheduledJobs:
    async def test_create_then_verify_then_health_is_ok(
        self, running: httpx.AsyncClient, database: DatabaseLocation, backups: Backups
    ) -> None:
        assert (await backup_check(running))["status"] == "warning"

        await defer(database, "backup.create")
        await eventually(lambda: len(backups.list_all()) == 1)
        created = backups.list_all()[0].manifest
        assert created.label == "scheduled"

        await defer(database, "backup.verify")
        await eventually(lambda: backups.list_all()[0].verified is True)
        check = await backup_check(running)
        assert check["status"] == "ok"
        assert check["last_verified_backup"] == created.id

    async def test_a_verified_backup_older_than_48_hours_is_a_warning(
        self, running: httpx.AsyncClient, database: DatabaseLocation, backups: Backups
    ) -> None:
        manifest = await asyncio.to_thread(backups.create)
        assert (await asyncio.to_thread(backups.verify, manifest.id)).ok
        with superuser(database) as conn:
            conn.execute(
                "update backup_verification set backup_created_at = now() - interval '49 hours'"
            )
        check = await backup_check(running)
        assert check["status"] == "warning"
        assert "older than 48 h" in str(check["warning"])
