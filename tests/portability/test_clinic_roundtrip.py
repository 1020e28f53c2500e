"""Clinic export -> import between two real databases: every row identical, references
intact, signed records still verify, triggers back on, the clinic usable at its new home."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import psycopg
import pytest

from fisioflow.app import create_app
from fisioflow.audit.commands import verify_from_cli
from fisioflow.core.database import DatabaseLocation
from fisioflow.models import RecordEntry
from fisioflow.portability.archive import ArchiveError
from fisioflow.portability.exporter import ClinicNotFoundError, export_clinic
from fisioflow.portability.importer import ImportRefusedError, import_clinic
from fisioflow.portability.keys import Secret
from fisioflow.record import integrity
from fisioflow.settings import Settings
from tests.fixtures.identity import login
from tests.portability.conftest import Populated, assert_moved, clinic_rows, populate, superuser


@pytest.fixture
async def populated(client: httpx.AsyncClient) -> Populated:
    return await populate(client)


@pytest.fixture
def archive(
    populated: Populated, database: DatabaseLocation, secret: Secret, tmp_path: Path
) -> Path:
    path = tmp_path / "clinic.ffclinic"
    export_clinic(database.owner_url, populated.team.admin.clinic_slug, output=path, secret=secret)
    return path


class TestRoundTrip:
    def test_every_row_of_every_table_is_identical(
        self,
        populated: Populated,
        archive: Path,
        database: DatabaseLocation,
        second_database: DatabaseLocation,
        secret: Secret,
    ) -> None:
        clinic_id = populated.team.admin.clinic_id
        manifest = import_clinic(second_database.owner_url, archive, secret=secret)
        before = clinic_rows(database.owner_url, clinic_id)
        after = clinic_rows(second_database.owner_url, clinic_id)
        assert_moved(before, after)
        assert manifest.rows() == {name: len(rows) for name, rows in before.items()}
        for table in (
            "clinic",
            "user_account",
            "refresh_token",
            "one_time_token",
            "patient",
            "patient_search",
            "practitioner",
            "record_entry",
            "audit_event",
            "audit_chain_head",
        ):
            assert before[table], f"the fixture left {table} empty: the test proves nothing"
        with psycopg.connect(superuser(second_database.owner_url)) as conn:
            slugs = [r[0] for r in conn.execute("select slug::text from clinic")]
        assert slugs == [populated.team.admin.clinic_slug], "only the exported clinic moved"

    def test_signed_records_still_verify(
        self,
        populated: Populated,
        archive: Path,
        second_database: DatabaseLocation,
        secret: Secret,
    ) -> None:
        import_clinic(second_database.owner_url, archive, secret=secret)
        columns = ", ".join([*integrity.HASHED_FIELDS, "content_hash"])
        with psycopg.connect(superuser(second_database.owner_url)) as conn:
            cursor = conn.execute(f"select {columns} from record_entry where status = 'signed'")
            names = [d.name for d in cursor.description or []]
            rows = [dict(zip(names, row, strict=True)) for row in cursor]
        assert {str(r["id"]) for r in rows} == {populated.signed_id, populated.addendum_id}
        for row in rows:
            stored = row.pop("content_hash")
            assert integrity.content_hash(RecordEntry(**row)) == stored

    def test_triggers_are_back_and_guard_the_imported_rows(
        self,
        populated: Populated,
        archive: Path,
        second_database: DatabaseLocation,
        secret: Secret,
    ) -> None:
        import_clinic(second_database.owner_url, archive, secret=secret)
        with psycopg.connect(superuser(second_database.owner_url)) as conn:
            disabled = conn.execute(
                "select tgname from pg_trigger where not tgisinternal and tgenabled = 'D'"
            ).fetchall()
            assert disabled == []
            with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="signed"):
                conn.execute(
                    "update record_entry set content = '{}' where id = %s",
                    [populated.signed_id],
                )

    async def test_the_clinic_works_at_its_new_home(
        self,
        populated: Populated,
        archive: Path,
        second_database: DatabaseLocation,
        secret: Secret,
        settings: Settings,
    ) -> None:
        import_clinic(second_database.owner_url, archive, secret=secret)
        team = populated.team
        application = create_app(settings, second_database)
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                logged_in = await login(client, team.admin)
                assert logged_in.status_code == 200, logged_in.text
                headers = {"Authorization": f"Bearer {logged_in.json()['access_token']}"}
                found = await client.get("/api/v1/patients?q=marta", headers=headers)
                records = await client.get(team.records(), headers=headers)
        assert [p["id"] for p in found.json()["items"]] == [team.patient_id]
        assert len(records.json()["items"]) == 3  # signed entry, its addendum, a draft

    async def test_the_audit_chain_verifies_and_grows_at_the_new_home(
        self,
        populated: Populated,
        archive: Path,
        second_database: DatabaseLocation,
        secret: Secret,
        settings: Settings,
    ) -> None:
        import_clinic(second_database.owner_url, archive, secret=secret)
        slug = populated.team.admin.clinic_slug
        [imported] = await asyncio.to_thread(verify_from_cli, settings, second_database, slug=slug)
        assert imported.report.broken is None
        application = create_app(settings, second_database)
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                logged_in = await login(client, populated.team.admin)
                headers = {"Authorization": f"Bearer {logged_in.json()['access_token']}"}
                created = await client.post(
                    "/api/v1/patients",
                    json={"full_name": "Paciente Depois da Mudança"},
                    headers=headers,
                )
                assert created.status_code == 201, created.text
        [after] = await asyncio.to_thread(verify_from_cli, settings, second_database, slug=slug)
        assert after.report.broken is None
        assert after.report.events > imported.report.events

    def test_passphrase(
        self,
        populated: Populated,
        database: DatabaseLocation,
        second_database: DatabaseLocation,
        tmp_path: Path,
    ) -> None:
        path = tmp_path / "with-passphrase.ffclinic"
        slug = populated.team.admin.clinic_slug
        secret = Secret(passphrase="uma frase longa e secreta")
        export_clinic(database.owner_url, slug, output=path, secret=secret)
        manifest = import_clinic(second_database.owner_url, path, secret=secret)
        assert manifest.clinic["slug"] == slug


class TestRefusals:
    def test_the_archive_holds_no_plaintext(self, populated: Populated, archive: Path) -> None:
        data = archive.read_bytes()
        for secret_text in (
            "Marta Paciente",
            populated.team.patient_email,
            "Lombalgia",
            populated.team.admin.clinic_slug,
            "manifest.json",
        ):
            assert secret_text.encode() not in data
        assert oct(archive.stat().st_mode & 0o777) == "0o600"

    def test_wrong_key(self, archive: Path, second_database: DatabaseLocation) -> None:
        wrong = Secret(key=bytes(32))
        with pytest.raises(ArchiveError, match="wrong key or passphrase"):
            import_clinic(second_database.owner_url, archive, secret=wrong)
        with pytest.raises(ArchiveError, match="encrypted with a key, not a passphrase"):
            import_clinic(second_database.owner_url, archive, secret=Secret(passphrase="x"))

    @pytest.mark.parametrize("where", [0.5, -1.0])
    def test_one_corrupted_byte(
        self,
        archive: Path,
        second_database: DatabaseLocation,
        secret: Secret,
        where: float,
    ) -> None:
        data = bytearray(archive.read_bytes())
        at = int(len(data) * where) if where > 0 else len(data) - 1
        data[at] ^= 0x01
        archive.write_bytes(bytes(data))
        with pytest.raises(ArchiveError, match="damaged"):
            import_clinic(second_database.owner_url, archive, secret=secret)
        assert _clinics(second_database) == 0

    def test_truncated(
        self, archive: Path, second_database: DatabaseLocation, secret: Secret
    ) -> None:
        archive.write_bytes(archive.read_bytes()[:-20])
        with pytest.raises(ArchiveError, match=r"truncated|damaged"):
            import_clinic(second_database.owner_url, archive, secret=secret)

    def test_clinic_already_there(
        self, archive: Path, second_database: DatabaseLocation, secret: Secret
    ) -> None:
        import_clinic(second_database.owner_url, archive, secret=secret)
        with pytest.raises(ImportRefusedError, match="already exists"):
            import_clinic(second_database.owner_url, archive, secret=secret)
        assert _clinics(second_database) == 1

    def test_other_schema_revision(
        self, archive: Path, second_database: DatabaseLocation, secret: Secret
    ) -> None:
        with psycopg.connect(superuser(second_database.owner_url)) as conn:
            conn.execute("update alembic_version set version_num = '0004_records'")
        with pytest.raises(ImportRefusedError, match=r"schema revision .* 0004_records"):
            import_clinic(second_database.owner_url, archive, secret=secret)
        assert _clinics(second_database) == 0

    def test_unknown_clinic(self, database: DatabaseLocation, tmp_path: Path) -> None:
        with pytest.raises(ClinicNotFoundError):
            export_clinic(
                database.owner_url, "nao-existe", output=tmp_path / "x", secret=Secret(bytes(32))
            )
        assert not (tmp_path / "x").exists()

    def test_a_failure_mid_import_leaves_nothing(
        self, archive: Path, second_database: DatabaseLocation, secret: Secret
    ) -> None:
        """record_entry loads after clinic, users and patients: a row it refuses rolls all
        of them back, and the triggers disabled for the load are on again."""
        with psycopg.connect(superuser(second_database.owner_url)) as conn:
            conn.execute(
                "alter table record_entry add constraint no_addenda check (kind <> 'addendum')"
            )
        with pytest.raises(ImportRefusedError, match=r"does not fit.*no_addenda"):
            import_clinic(second_database.owner_url, archive, secret=secret)
        assert _clinics(second_database) == 0
        with psycopg.connect(superuser(second_database.owner_url)) as conn:
            patients = conn.execute("select count(*) from patient").fetchone()
            disabled = conn.execute("select count(*) from pg_trigger where tgenabled = 'D'")
            assert (patients, disabled.fetchone()) == ((0,), (0,))


def _clinics(location: DatabaseLocation) -> int:
    with psycopg.connect(superuser(location.owner_url)) as conn:
        row = conn.execute("select count(*) from clinic").fetchone()
    return int(row[0]) if row else 0
