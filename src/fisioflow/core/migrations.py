"""Alembic, driven from code: upgrade to head and tell whether a database is current."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection

MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "migrations"


def alembic_config(url: URL, *, app_role: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    config.attributes["app_role"] = app_role
    return config


def upgrade(url: URL, *, app_role: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url, app_role=app_role), revision)


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def current_revisions_sync(url: URL) -> set[str]:
    engine = create_engine(url, poolclass=None)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


async def current_revisions(conn: AsyncConnection) -> set[str]:
    """Alembic's version table read directly: cheap enough for every readiness probe."""
    try:
        rows = await conn.execute(text("select version_num from alembic_version"))
    except ProgrammingError:  # no version table: never migrated
        await conn.rollback()
        return set()
    return {row[0] for row in rows}


class SchemaBehindError(RuntimeError):
    def __init__(self, current: set[str], heads: frozenset[str]) -> None:
        shown = ", ".join(sorted(current)) or "empty"
        super().__init__(
            f"database schema is behind (at {shown}, code expects {', '.join(sorted(heads))}); "
            "run `fisioflow migrate` first"
        )
