from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from fisioflow.core.database import DatabaseLocation, create_engine
from fisioflow.settings import Settings


@pytest.fixture
async def superuser_engine(
    database: DatabaseLocation, settings: Settings
) -> AsyncIterator[AsyncEngine]:
    """The embedded superuser on the test's database: the only way to tamper with events."""
    assert database.superuser_url is not None
    engine = create_engine(
        database.superuser_url.set(database=database.owner_url.database), settings
    )
    yield engine
    await engine.dispose()
