"""The job queue: procrastinate in the same database, run by `fisioflow worker` and in
process by `fisioflow run`; the first real task purges dead tokens clinic by clinic."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from fisioflow.app import create_app
from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.database import DatabaseLocation
from fisioflow.core.jobs import job_app
from fisioflow.settings import Settings
from tests.fixtures.identity import Actor, create_clinic

OLD = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)


async def _add_tokens(owner_engine: AsyncEngine, actor: Actor) -> None:
    """Two dead tokens (expired long ago, used long ago) next to the live login token."""
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("select set_config('app.tenant_id', :t, true)"), {"t": str(actor.clinic_id)}
        )
        for expires, used in ((OLD, None), (OLD + dt.timedelta(days=60), OLD)):
            await conn.execute(
                text(
                    "insert into refresh_token (tenant_id, id, user_id, family_id, token_hash,"
                    " expires_at, used_at) values (:t, :id, :u, :f, :h, :e, :used)"
                ),
                {
                    "t": actor.clinic_id,
                    "id": uuid.uuid4(),
                    "u": actor.user_id,
                    "f": uuid.uuid4(),
                    "h": uuid.uuid4().hex,
                    "e": expires,
                    "used": used,
                },
            )


async def _tokens_left(owner_engine: AsyncEngine, actor: Actor) -> int:
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("select set_config('app.tenant_id', :t, true)"), {"t": str(actor.clinic_id)}
        )
        return int(await conn.scalar(text("select count(*) from refresh_token")) or 0)


async def _defer_purge(database: DatabaseLocation) -> None:
    jobs = job_app(database)
    async with jobs.open_async():
        await jobs.configure_task("auth.purge_expired_tokens").defer_async(timestamp=0)


async def _wait_until(check: object, *, seconds: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "job did not run in time"
        await asyncio.sleep(0.1)


class TestPurgeExpiredTokens:
    async def test_worker_process_purges_dead_tokens_in_every_clinic(
        self, client: httpx.AsyncClient, database: DatabaseLocation, owner_engine: AsyncEngine
    ) -> None:
        clinics = [await create_clinic(client), await create_clinic(client)]
        for actor in clinics:
            await _add_tokens(owner_engine, actor)
            assert await _tokens_left(owner_engine, actor) == 3
        await _defer_purge(database)
        env = {
            **os.environ,
            "DATABASE_URL": libpq_dsn(database.owner_url),
            "APP_DATABASE_URL": libpq_dsn(database.app_url),
            # A worker started in the minutes after a nightly backup's time (02:30-05:00
            # UTC) runs that periodic job too, which fails here for want of a backup key.
            "FISIOFLOW_BACKUP_SCHEDULE": "false",
        }
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "fisioflow",
            "worker",
            "--until-empty",
            env=env,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(worker.communicate(), timeout=120)
        assert worker.returncode == 0, stderr.decode()[-2000:]
        assert "ended with status: Error" not in stderr.decode()
        for actor in clinics:  # the live login token stays
            assert await _tokens_left(owner_engine, actor) == 1


class TestInProcessWorker:
    async def test_run_mode_processes_jobs_inside_the_api(
        self, settings: Settings, database: DatabaseLocation, owner_engine: AsyncEngine
    ) -> None:
        app = create_app(settings.model_copy(update={"jobs_in_process": True}), database)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                actor = await create_clinic(http)
                await _add_tokens(owner_engine, actor)
                await _defer_purge(database)

                async def purged() -> bool:
                    return await _tokens_left(owner_engine, actor) == 1

                await _wait_until(purged)
                ready = await http.get("/health/ready")
        assert ready.json()["checks"]["jobs"]["status"] == "ok"

    async def test_readiness_counts_queued_jobs(
        self, client: httpx.AsyncClient, database: DatabaseLocation
    ) -> None:
        await _defer_purge(database)
        body = (await client.get("/health/ready")).json()
        assert body["checks"]["jobs"] == {"status": "ok", "queued": 1}
