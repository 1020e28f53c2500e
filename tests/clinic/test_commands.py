from __future__ import annotations

import psycopg
import pytest

from fisioflow.clinic.commands import ClinicCommandError, create_from_cli
from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.database import DatabaseLocation
from fisioflow.settings import Settings

ADMIN = {"full_name": "Ana", "email": "ana@cli.com.br", "password": "a good long passphrase"}


class TestClinicCreateCommand:
    def test_creates_clinic_and_admin(self, settings: Settings, database: DatabaseLocation) -> None:
        clinic_id = create_from_cli(
            settings, database, clinic={"name": "Clínica CLI", "slug": "clinica-cli"}, admin=ADMIN
        )
        assert database.superuser_url is not None
        dsn = libpq_dsn(database.superuser_url.set(database=database.owner_url.database))
        with psycopg.connect(dsn) as conn:
            row = conn.execute(
                "select c.slug, u.role, u.password_hash is not null from clinic c "
                "join user_account u on u.tenant_id = c.id where c.id = %s",
                [clinic_id],
            ).fetchone()
        assert row == ("clinica-cli", "admin", True)

    def test_duplicate_slug_is_one_clear_line(
        self, settings: Settings, database: DatabaseLocation
    ) -> None:
        clinic = {"name": "Clínica CLI", "slug": "clinica-dup"}
        create_from_cli(settings, database, clinic=clinic, admin=ADMIN)
        with pytest.raises(ClinicCommandError, match=r"^clinic\.slug: a clinic with this slug"):
            create_from_cli(settings, database, clinic=clinic, admin=ADMIN)

    @pytest.mark.parametrize(
        ("clinic", "admin", "message"),
        [
            ({"slug": "Bad Slug"}, {}, r"^slug: use lowercase"),
            ({"cnpj": "11.222.333/0001-00"}, {}, r"^cnpj: invalid CNPJ"),
            ({}, {"password": "short"}, r"^admin\.password: password must have at least 12"),
            ({}, {"email": "nope"}, r"^email: "),
        ],
    )
    def test_bad_input(
        self,
        settings: Settings,
        database: DatabaseLocation,
        clinic: dict[str, str],
        admin: dict[str, str],
        message: str,
    ) -> None:
        with pytest.raises(ClinicCommandError, match=message):
            create_from_cli(
                settings,
                database,
                clinic={"name": "Clínica", "slug": "clinica-bad", **clinic},
                admin={**ADMIN, **admin},
            )
