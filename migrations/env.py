"""Alembic environment: runs as the owner role, synchronously (psycopg 3)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool, text

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


# What the audit trail records as the actor of rows a migration writes (no user, no request).
ACTOR = "command:migrate"


def _run(connection: Connection) -> None:
    # Session level: it holds for every migration's own transaction.
    connection.execute(text("select set_config('app.actor', :actor, false)"), {"actor": ACTOR})
    connection.commit()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        transaction_per_migration=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported")
run_migrations_online()
