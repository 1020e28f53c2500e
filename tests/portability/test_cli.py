"""`fisioflow clinic export` and `clinic import` as real processes."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import httpx

from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.database import DatabaseLocation
from tests.core.test_cli import assert_one_error_line, cli
from tests.portability.conftest import assert_moved, clinic_rows, populate


def env_for(location: DatabaseLocation, key_file: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": libpq_dsn(location.owner_url),
        "APP_DATABASE_URL": libpq_dsn(location.app_url),
        "FISIOFLOW_EXPORT_KEY_FILE": str(key_file),
    }


async def test_export_then_import(
    client: httpx.AsyncClient,
    database: DatabaseLocation,
    second_database: DatabaseLocation,
    tmp_path: Path,
) -> None:
    populated = await populate(client)
    slug = populated.team.admin.clinic_slug
    key = tmp_path / "clinic.key"
    key.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    archive = tmp_path / "out.ffclinic"
    data = tmp_path / "data"

    exported = cli(
        "clinic", "export", slug, "--output", str(archive), data_dir=data, **env_for(database, key)
    )
    assert exported.returncode == 0, exported.stderr
    assert f"exported {slug}" in exported.stderr

    imported = cli("clinic", "import", str(archive), data_dir=data, **env_for(second_database, key))
    assert imported.returncode == 0, imported.stderr
    clinic_id = populated.team.admin.clinic_id
    before = clinic_rows(database.owner_url, clinic_id)
    after = clinic_rows(second_database.owner_url, clinic_id)
    assert_moved(before, after)
    verified = cli(
        "audit", "verify", "--clinic", slug, data_dir=data, **env_for(second_database, key)
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{slug}: {len(after['audit_event']):,} events, chain intact" in verified.stdout

    again = cli("clinic", "import", str(archive), data_dir=data, **env_for(second_database, key))
    assert_one_error_line(again, f"clinic '{slug}' already exists")

    damaged = bytearray(archive.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    archive.write_bytes(bytes(damaged))
    broken = cli("clinic", "import", str(archive), data_dir=data, **env_for(second_database, key))
    assert_one_error_line(broken, "out.ffclinic: the file is damaged")


def test_export_without_a_key_or_an_unknown_clinic(
    database: DatabaseLocation, tmp_path: Path
) -> None:
    env = env_for(database, tmp_path / "missing.key")
    del env["FISIOFLOW_EXPORT_KEY_FILE"]
    no_key = cli("clinic", "export", "demo", data_dir=tmp_path / "d", **env)
    assert_one_error_line(no_key, "no archive key")
    unknown = cli(
        "clinic", "export", "nao-existe", "--passphrase", "frase", data_dir=tmp_path / "d", **env
    )
    assert_one_error_line(unknown, "no clinic with slug 'nao-existe'")
