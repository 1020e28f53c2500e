"""Alembic environment: runs as the owner role, synchronously (psycopg 3)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from fisioflow.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> object:
    url = config.attributes.get("url")
    if url is None:
        raise SystemExit("run migrations with `fisioflow migrate` (it locates the database)")
    return url


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)  # type: ignore[call-overload]
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        transaction_per_migration=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported")
run_migrations_online()
