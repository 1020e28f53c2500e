"""What a running app holds: settings, engines and the session factory."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from fisioflow.core.database import DatabaseLocation
from fisioflow.core.metrics import Metrics
from fisioflow.settings import Settings


@dataclass
class AppState:
    settings: Settings
    location: DatabaseLocation
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    metrics: Metrics


def app_state(conn: HTTPConnection) -> AppState:
    state: AppState = conn.app.state.fisioflow
    return state
