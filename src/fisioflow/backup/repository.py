"""SQL of the backup module: verification results in the live database."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from fisioflow.backup.server import Connection
from fisioflow.core.ids import new_id


def record_verification(
    conn: Connection,
    *,
    backup_id: str,
    backup_created_at: dt.datetime,
    ok: bool,
    duration_ms: int,
    failures: list[str],
) -> None:
    conn.execute(
        "insert into backup_verification (id, backup_id, backup_created_at, verified_at, ok,"
        " duration_ms, failures) values (%s, %s, %s, now(), %s, %s, %s)",
        [new_id(), backup_id, backup_created_at, ok, duration_ms, json.dumps(failures)],
    )


def last_results(conn: Connection) -> dict[str, bool]:
    """The latest verification result of each backup id."""
    rows = conn.execute(
        "select distinct on (backup_id) backup_id, ok from backup_verification"
        " order by backup_id, verified_at desc"
    ).fetchall()
    return {str(backup_id): bool(ok) for backup_id, ok in rows}


async def last_good_verification(conn: AsyncConnection) -> dict[str, Any] | None:
    """The most recent passing verification (for /health/ready)."""
    row = (
        await conn.execute(
            text(
                "select backup_id, backup_created_at, verified_at from backup_verification"
                " where ok order by verified_at desc limit 1"
            )
        )
    ).first()
    return None if row is None else dict(row._mapping)
