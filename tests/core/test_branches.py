"""Database branches on the embedded server: create, use, isolate, delete; the CLI as real
processes (branch commands and `serve --branch`)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import URL

from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.branches import (
    MAIN,
    BranchError,
    BranchNameError,
    LocalBranches,
    branches,
    on_branch,
)
from fisioflow.core.database import DatabaseLocation
from fisioflow.settings import Settings
from tests.core.test_cli import FISIOFLOW, WAIT_S, cli, environment, free_port, wait_until
from tests.fixtures.identity import create_clinic


def clinic_slugs(url: URL) -> set[str]:
    """As the superuser (no row-level security): every clinic in that database."""
    dsn = libpq_dsn(url.set(username="postgres"))
    with psycopg.connect(dsn) as conn:
        return {row[0] for row in conn.execute("select slug::text from clinic")}


@pytest.fixture
def local(database: DatabaseLocation) -> Iterator[LocalBranches]:
    found = LocalBranches(database)
    yield found
    for branch in found.listing():
        found.delete(branch.name)


class TestLocalBranches:
    def test_create_list_delete(self, local: LocalBranches) -> None:
        created = local.create("feature-a")
        child = local.create("feature-b", parent="feature-a")
        assert created.ref.endswith("_branch_feature-a")
        assert [(b.name, b.parent) for b in local.listing()] == [
            ("feature-a", MAIN),
            ("feature-b", "feature-a"),
        ]
        assert child.created_at is not None
        local.delete("feature-a")
        assert [b.name for b in local.listing()] == ["feature-b"]
        with pytest.raises(BranchError, match="no branch 'feature-a'"):
            local.location("feature-a")

    def test_a_branch_is_migrated_and_isolated_from_main(
        self, local: LocalBranches, database: DatabaseLocation, settings: Settings
    ) -> None:
        local.create("isolated")
        branch = local.location("isolated")
        dsn = libpq_dsn(branch.owner_url.set(username="postgres"))
        with psycopg.connect(dsn) as conn:
            conn.execute("set app.tenant_id = '00000000-0000-7000-8000-000000000001'")
            conn.execute(
                "insert into clinic (id, name, slug, timezone, locale) values"
                " (app_current_tenant(), 'Só no ramo', 'so-no-ramo', 'UTC', 'pt-BR')"
            )
        assert clinic_slugs(branch.owner_url) == {"so-no-ramo"}
        assert clinic_slugs(database.owner_url) == set()

    def test_duplicate_and_missing(self, local: LocalBranches) -> None:
        local.create("twice")
        with pytest.raises(BranchError, match="already exists"):
            local.create("twice")
        with pytest.raises(BranchError, match="no branch 'nope'"):
            local.delete("nope")
        with pytest.raises(BranchError, match="no branch 'nope'"):
            local.create("child", parent="nope")

    @pytest.mark.parametrize("name", ["", "Upper", "-x", "x-", "a_b", "a" * 33, "a b", "main"])
    def test_bad_names(self, local: LocalBranches, name: str) -> None:
        with pytest.raises(BranchNameError):
            local.create(name)

    def test_busy_parent_needs_force(
        self, local: LocalBranches, database: DatabaseLocation
    ) -> None:
        busy = psycopg.connect(libpq_dsn(database.owner_url), autocommit=True)
        try:
            busy.execute("select 1")
            with pytest.raises(BranchError, match=r"other connections.*--force"):
                local.create("busy")
            local.create("busy", force=True)
            assert _terminated(busy)
        finally:
            busy.close()
        assert [b.name for b in local.listing()] == ["busy"]

    def test_settings_pick_the_branch(
        self, local: LocalBranches, database: DatabaseLocation, settings: Settings
    ) -> None:
        local.create("served")
        chosen = on_branch(settings.model_copy(update={"branch": "served"}), database)
        assert chosen.app_url.database == f"{database.app_url.database}_branch_served"
        assert on_branch(settings, database) == database
        assert isinstance(branches(settings, database), LocalBranches)


def _terminated(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    try:
        conn.execute("select 1")
    except psycopg.OperationalError:
        return True
    return False


class TestBranchWithTheApi:
    async def test_the_app_serves_a_branch(
        self, local: LocalBranches, database: DatabaseLocation, settings: Settings
    ) -> None:
        from fisioflow.app import create_app

        local.create("api")
        location = on_branch(settings.model_copy(update={"branch": "api"}), database)
        application = create_app(settings, location)
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                admin = await create_clinic(client)
        assert clinic_slugs(location.owner_url) == {admin.clinic_slug}
        assert clinic_slugs(database.owner_url) == set()


def external(database: DatabaseLocation) -> dict[str, str]:
    """The test database as an external server: DATABASE_URL as a role that may create
    databases (the superuser here), the app role as APP_DATABASE_URL."""
    return {
        "DATABASE_URL": libpq_dsn(database.owner_url.set(username="postgres")),
        "APP_DATABASE_URL": libpq_dsn(database.app_url),
    }


class TestCli:
    def test_create_list_url_delete(
        self, local: LocalBranches, database: DatabaseLocation, tmp_path: Path
    ) -> None:
        env = external(database)
        data = tmp_path / "data"
        created = cli("db", "branch", "create", "cli-one", data_dir=data, **env)
        assert created.returncode == 0, created.stderr
        listed = cli("db", "branch", "list", data_dir=data, **env)
        assert listed.stdout.split("\t")[:2] == ["cli-one", "main"]
        url = cli("db", "branch", "url", "cli-one", data_dir=data, **env)
        assert url.returncode == 0, url.stderr
        with psycopg.connect(url.stdout.strip()) as conn:
            (name,) = conn.execute("select current_database()").fetchone() or ("",)
        assert name == f"{database.owner_url.database}_branch_cli-one"
        deleted = cli("db", "branch", "delete", "cli-one", data_dir=data, **env)
        assert deleted.returncode == 0, deleted.stderr
        assert cli("db", "branch", "list", data_dir=data, **env).stdout == ""

    @pytest.mark.parametrize(
        ("args", "code", "fragment"),
        [
            (("create", "Bad_Name"), 2, "invalid branch name 'Bad_Name'"),
            (("url", "ghost"), 1, "no branch 'ghost'"),
        ],
    )
    def test_errors_are_one_line(
        self,
        local: LocalBranches,
        database: DatabaseLocation,
        tmp_path: Path,
        args: tuple[str, ...],
        code: int,
        fragment: str,
    ) -> None:
        result = cli("db", "branch", *args, data_dir=tmp_path / "data", **external(database))
        assert result.returncode == code, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: ")
        assert fragment in lines[0]

    def test_serve_on_a_branch(
        self, local: LocalBranches, database: DatabaseLocation, tmp_path: Path
    ) -> None:
        local.create("served")
        port = free_port()
        env = environment(tmp_path / "data", **external(database))
        stderr = tmp_path / "serve.stderr"
        with stderr.open("w") as err:
            process = subprocess.Popen(
                [*FISIOFLOW, "serve", "--port", str(port), "--branch", "served"],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until(lambda: _ready(base, process), "serve --branch to be ready")
            body = {
                "clinic": {"name": "Clínica do Ramo", "slug": "clinica-do-ramo"},
                "admin": {
                    "full_name": "Ana",
                    "email": "ana@ramo.com.br",
                    "password": "correct horse battery staple",
                },
            }
            assert httpx.post(f"{base}/api/v1/signup", json=body, timeout=WAIT_S).status_code == 201
        finally:
            process.terminate()
            process.wait(timeout=WAIT_S)
        branch = local.location("served")
        assert clinic_slugs(branch.owner_url) == {"clinica-do-ramo"}
        assert clinic_slugs(database.owner_url) == set()

    def test_serve_on_a_missing_branch(self, database: DatabaseLocation, tmp_path: Path) -> None:
        env = {**external(database), "FISIOFLOW_BRANCH": "ghost"}
        result = cli("serve", data_dir=tmp_path / "data", **env)
        assert result.returncode == 1
        assert result.stderr.strip() == (
            "error: no branch 'ghost'; `fisioflow db branch list` shows them"
        )


def _ready(base: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        pytest.fail(f"serve exited with {process.returncode}")
    try:
        return httpx.get(f"{base}/health/ready", timeout=5).status_code == 200
    except httpx.TransportError:
        return False
