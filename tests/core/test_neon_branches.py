"""Neon branches against a real HTTP server on loopback that implements the four Neon API
calls FisioFlow makes and records every request."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from fisioflow.core.branches import BranchError, branches
from fisioflow.core.database import DatabaseLocation
from fisioflow.core.neon import NeonBranches
from fisioflow.settings import Settings
from tests.core.test_cli import cli

PROJECT = "proj-quiet-fog-123"
KEY = "neon-test-key"


@dataclass
class FakeNeon:
    """Neon's project state and the requests it received: (method, path, auth, body)."""

    branches: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"id": "br-main-1", "name": "main", "default": True, "parent_id": None},
        ]
    )
    requests: list[tuple[str, str, str, Any]] = field(default_factory=list)
    url: str = ""

    def handle(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        prefix = f"/api/v2/projects/{PROJECT}/branches"
        if not path.startswith(prefix):
            return 404, {"message": "project not found"}
        rest = path.removeprefix(prefix).strip("/").split("/")
        if method == "GET" and rest == [""]:
            return 200, {"branches": self.branches}
        if method == "POST" and rest == [""]:
            branch = {
                "id": f"br-{body['branch']['name']}-9",
                "name": body["branch"]["name"],
                "parent_id": body["branch"]["parent_id"],
                "created_at": "2026-11-24T15:00:00Z",
            }
            self.branches.append(branch)
            return 201, {"branch": branch, "endpoints": [{"host": self._host(branch["id"])}]}
        found = [b for b in self.branches if b["id"] == rest[0]]
        if not found:
            return 404, {"message": "branch not found"}
        if method == "DELETE" and len(rest) == 1:
            self.branches.remove(found[0])
            return 200, {"branch": found[0]}
        if method == "GET" and rest[1:] == ["endpoints"]:
            endpoint = {"host": self._host(rest[0]), "type": "read_write"}
            return 200, {"endpoints": [endpoint]}
        return 405, {"message": "method not allowed"}

    @staticmethod
    def _host(branch_id: str) -> str:
        return f"ep-{branch_id}.us-east-2.aws.neon.tech"


@pytest.fixture
def neon() -> Iterator[FakeNeon]:
    state = FakeNeon()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            auth = self.headers.get("Authorization", "")
            state.requests.append((self.command, self.path, auth, body))
            status, answer = state.handle(self.command, self.path, body)
            if auth != f"Bearer {KEY}":
                status, answer = 401, {"message": "authorization failed"}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def do_DELETE(self) -> None:
            self._answer()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/api/v2"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


MAIN_LOCATION = DatabaseLocation(
    owner_url=make_url("postgresql+psycopg://owner:secret@ep-main.neon.tech/neondb"),
    app_url=make_url("postgresql+psycopg://fisioflow_app:apppw@ep-main.neon.tech/neondb"),
)


def neon_settings(neon: FakeNeon, **overrides: Any) -> Settings:
    values = {"neon_api_key": KEY, "neon_project_id": PROJECT, "neon_api_url": neon.url}
    return Settings(**{**values, **overrides})


class TestNeonApi:
    def test_create_list_locate_delete(self, neon: FakeNeon) -> None:
        found = branches(neon_settings(neon), MAIN_LOCATION)
        assert isinstance(found, NeonBranches)
        created = found.create("preview")
        assert (created.name, created.parent, created.ref) == ("preview", "main", "br-preview-9")
        post = next(r for r in neon.requests if r[0] == "POST")
        assert post[1:] == (
            f"/api/v2/projects/{PROJECT}/branches",
            f"Bearer {KEY}",
            {
                "branch": {"name": "preview", "parent_id": "br-main-1"},
                "endpoints": [{"type": "read_write"}],
            },
        )
        assert [(b.name, b.parent) for b in found.listing()] == [("preview", "main")]
        location = found.location("preview")
        assert location.owner_url.host == "ep-br-preview-9.us-east-2.aws.neon.tech"
        assert location.owner_url.password == "secret"
        assert location.app_url.username == "fisioflow_app"
        assert location.app_url.host == location.owner_url.host
        found.delete("preview")
        assert ("DELETE", f"/api/v2/projects/{PROJECT}/branches/br-preview-9") in [
            r[:2] for r in neon.requests
        ]
        assert found.listing() == []

    def test_branch_of_a_branch(self, neon: FakeNeon) -> None:
        found = branches(neon_settings(neon), MAIN_LOCATION)
        found.create("base")
        child = found.create("child", parent="base")
        assert child.parent == "base"
        assert neon.requests[-1][3]["branch"]["parent_id"] == "br-base-9"

    def test_api_errors_are_one_line(self, neon: FakeNeon) -> None:
        wrong_key = branches(neon_settings(neon, neon_api_key="nope"), MAIN_LOCATION)
        with pytest.raises(BranchError, match="401 authorization failed"):
            wrong_key.listing()
        with pytest.raises(BranchError, match="no branch 'ghost' in the Neon project"):
            branches(neon_settings(neon), MAIN_LOCATION).delete("ghost")
        gone = neon_settings(neon, neon_api_url="http://127.0.0.1:9/api/v2")
        with pytest.raises(BranchError, match="cannot reach the Neon API"):
            branches(gone, MAIN_LOCATION).listing()


class TestNeonCli:
    def test_create_and_url_as_processes(self, neon: FakeNeon, tmp_path: Path) -> None:
        env = {
            "NEON_API_KEY": KEY,
            "NEON_PROJECT_ID": PROJECT,
            "FISIOFLOW_NEON_API_URL": neon.url,
            "DATABASE_URL": "postgresql://owner:secret@ep-main.neon.tech/neondb",
        }
        created = cli("db", "branch", "create", "from-cli", data_dir=tmp_path / "d", **env)
        assert created.returncode == 0, created.stderr
        url = cli("db", "branch", "url", "from-cli", data_dir=tmp_path / "d", **env)
        assert url.returncode == 0, url.stderr
        assert url.stdout.strip() == (
            "postgresql://owner:secret@ep-br-from-cli-9.us-east-2.aws.neon.tech/neondb"
        )
