"""FastAPI app factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from fisioflow import __version__
from fisioflow.api import routers
from fisioflow.auth.state import AuthState
from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.branches import on_branch
from fisioflow.core.database import (
    DatabaseLocation,
    create_engine,
    create_sessionmaker,
    locate,
)
from fisioflow.core.embedded import EmbeddedPostgres
from fisioflow.core.errors import add_problem_schema, install_error_handlers
from fisioflow.core.heap import freeze_startup_heap
from fisioflow.core.jobs import job_app, supervised, worker_options
from fisioflow.core.logging import configure_logging
from fisioflow.core.metrics import Metrics
from fisioflow.core.middleware import RequestContextMiddleware
from fisioflow.core.migrations import SchemaBehindError, current_revisions, head_revisions
from fisioflow.core.state import AppState
from fisioflow.events.hub import EventHub
from fisioflow.settings import Settings, get_settings

APP_FACTORY = "fisioflow.app:app_from_environment"


def app_from_environment() -> FastAPI:
    """For multi-worker serving: each worker process locates the database itself (the
    parent process keeps the embedded server running)."""
    settings = get_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    embedded = EmbeddedPostgres(settings.data_dir) if settings.embedded else None
    return create_app(settings, on_branch(settings, locate(settings, embedded)))


def create_app(settings: Settings, location: DatabaseLocation) -> FastAPI:
    metrics = Metrics(version=__version__)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(location.app_url, settings)
        try:
            await _refuse_if_schema_behind(engine)
            metrics.watch_pool(lambda: _checked_out(engine))
            app.state.auth = AuthState.from_settings(settings)
            app.state.fisioflow = AppState(
                settings=settings,
                location=location,
                engine=engine,
                sessionmaker=create_sessionmaker(engine),
                metrics=metrics,
            )
            async with (
                _listening(app, location),
                _worker(app.state.fisioflow, enabled=settings.jobs_in_process),
            ):
                freeze_startup_heap()
                yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="FisioFlow",
        version=__version__,
        summary="Multi-tenant clinic platform for physiotherapy and therapy practices",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    for router in routers():
        app.include_router(router)
    app.add_route("/metrics", metrics.endpoint, include_in_schema=False)
    _document_problems(app)
    return app


def _document_problems(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_problem_schema(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


@asynccontextmanager
async def _listening(app: FastAPI, location: DatabaseLocation) -> AsyncIterator[None]:
    """This process's LISTEN connection for the event streams (events/hub.py)."""
    hub = EventHub(libpq_dsn(location.app_url))
    app.state.events = hub
    task = asyncio.create_task(hub.run(), name="fisioflow-events")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@asynccontextmanager
async def _worker(state: AppState, *, enabled: bool) -> AsyncIterator[None]:
    if not enabled:
        yield
        return
    jobs = job_app(state.location)
    options = worker_options(
        state.sessionmaker, location=state.location, settings=state.settings, until_empty=False
    )
    async with jobs.open_async():
        task = asyncio.create_task(supervised(jobs, options), name="fisioflow-worker")
        try:
            yield
        finally:
            # Cancelling stops fetching; running jobs get shutdown_timeout_s to finish.
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _refuse_if_schema_behind(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        current = await current_revisions(conn)
    heads = head_revisions()
    if current != heads:
        raise SchemaBehindError(current, heads)


def _checked_out(engine: AsyncEngine) -> int:
    pool = engine.sync_engine.pool
    checkedout = getattr(pool, "checkedout", None)
    return int(checkedout()) if callable(checkedout) else 0
