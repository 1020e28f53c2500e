"""`fisioflow db shell` opens psql on the configured database as the owner role."""

from __future__ import annotations

import asyncio
import os
import sys

from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.database import DatabaseLocation


async def test_db_shell_runs_psql_as_owner(database: DatabaseLocation) -> None:
    env = {**os.environ, "DATABASE_URL": libpq_dsn(database.owner_url)}
    shell = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "fisioflow",
        "db",
        "shell",
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    query = b"select current_user, current_database();\n"
    out, err = await asyncio.wait_for(shell.communicate(query), timeout=60)
    assert shell.returncode == 0, err.decode()
    assert "fisioflow_owner" in out.decode()
    assert str(database.owner_url.database) in out.decode()
