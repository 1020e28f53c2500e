"""`fisioflow audit verify` as a real process: an untouched chain verifies; a changed,
deleted, inserted or reordered event is reported at its position with exit code 1."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.database import DatabaseLocation
from tests.core.test_cli import FISIOFLOW, WAIT_S, clean_environment
from tests.fixtures.audit import superuser_execute
from tests.fixtures.clinical import create_patient
from tests.fixtures.identity import Actor, create_clinic

PATIENTS = 6  # signup writes 3 events (clinic, admin, refresh token); 9 in all


def verify(
    database: DatabaseLocation, tmp_path: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **clean_environment(),
        "DATABASE_URL": libpq_dsn(database.owner_url),
        "APP_DATABASE_URL": libpq_dsn(database.app_url),
        "FISIOFLOW_DATA_DIR": str(tmp_path),
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [*FISIOFLOW, "audit", "verify", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )


async def _clinic_with_events(client: httpx.AsyncClient) -> Actor:
    admin = await create_clinic(client)
    for n in range(PATIENTS):
        await create_patient(client, admin, full_name=f"Paciente {n}")
    return admin


def _at(admin: Actor, seq: int) -> str:
    return f"tenant_id = '{admin.clinic_id}' and seq = {seq}"


class TestVerify:
    async def test_untouched_chains_verify(
        self, client: httpx.AsyncClient, database: DatabaseLocation, tmp_path: Path
    ) -> None:
        first = await _clinic_with_events(client)
        await _clinic_with_events(client)
        result = verify(database, tmp_path)
        assert result.returncode == 0, result.stderr
        assert f"{first.clinic_slug}: 9 events, chain intact" in result.stdout
        assert result.stdout.count("chain intact") == 2
        one = verify(database, tmp_path, "--clinic", first.clinic_slug)
        assert one.returncode == 0, one.stderr
        assert one.stdout.strip() == f"{first.clinic_slug}: 9 events, chain intact"

    @pytest.mark.parametrize(
        ("tamper", "position", "kind"),
        [
            (
                [
                    "update audit_event set new_values = jsonb_set(new_values, '{{full_name}}',"
                    " '\"Forjado\"') where {at5}"
                ],
                5,
                "changed",
            ),
            (["update audit_event set actor = 'ninguém' where {at7}"], 7, "changed"),
            (["delete from audit_event where {at6}"], 6, "deleted"),
            (["delete from audit_event where {at9}"], 9, "deleted"),
            (
                [
                    "update audit_event set seq = -1 where {at4}",
                    "update audit_event set seq = 4 where {at6}",
                    "update audit_event set seq = 6 where {atm1}",
                ],
                4,
                "reordered",
            ),
        ],
    )
    async def test_tampering_is_found_at_its_position(
        self,
        client: httpx.AsyncClient,
        database: DatabaseLocation,
        superuser_engine: AsyncEngine,
        tmp_path: Path,
        tamper: list[str],
        position: int,
        kind: str,
    ) -> None:
        victim = await _clinic_with_events(client)
        bystander = await _clinic_with_events(client)
        where = {f"at{n}": _at(victim, n) for n in range(1, 10)} | {"atm1": _at(victim, -1)}
        await superuser_execute(superuser_engine, *(s.format(**where) for s in tamper))
        result = verify(database, tmp_path)
        assert result.returncode == 1, result.stdout + result.stderr
        assert f"{victim.clinic_slug}: BROKEN at position {position}: {kind}" in result.stdout
        assert f"{bystander.clinic_slug}: 9 events, chain intact" in result.stdout
        assert "Traceback" not in result.stderr

    async def test_an_inserted_event_is_found(
        self,
        client: httpx.AsyncClient,
        database: DatabaseLocation,
        superuser_engine: AsyncEngine,
        tmp_path: Path,
    ) -> None:
        """A forger shifts the later events and slips in a self-consistent event at 5."""
        victim = await _clinic_with_events(client)
        t = f"tenant_id = '{victim.clinic_id}'"
        await superuser_execute(
            superuser_engine,
            f"update audit_event set seq = seq + 1000 where {t} and seq >= 5",
            f"update audit_event set seq = seq - 999 where {t} and seq >= 1000",
            f"""
            insert into audit_event (tenant_id, seq, id, occurred_at, operation, table_name,
                                     prev_hash, hash)
            select tenant_id, 5, gen_random_uuid(), occurred_at, 'DELETE', 'patient', hash,
                   sha256(hash || audit_event_content(null, tenant_id, occurred_at, 'DELETE',
                       'patient', null, null, null, null, null, null, null, null, null, null,
                       null, null))
            from audit_event where {t} and seq = 4
            """,
            f"update audit_event set hash = sha256(prev_hash || audit_event_content(id,"
            f" tenant_id, occurred_at, operation, table_name, null, null, null, null, null,"
            f" null, null, null, null, null, null, null)) where {t} and seq = 5",
        )
        result = verify(database, tmp_path, "--clinic", victim.clinic_slug)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "BROKEN at position 5: inserted" in result.stdout

    async def test_unknown_clinic_is_one_clear_line(
        self, database: DatabaseLocation, tmp_path: Path
    ) -> None:
        result = verify(database, tmp_path, "--clinic", "nao-existe")
        assert result.returncode == 1
        assert result.stderr.strip() == "error: no clinic with slug 'nao-existe'"
