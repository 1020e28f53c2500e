"""Neon branches through Neon's HTTP API (v2): list, create, delete, and where to connect.

The four calls used: `GET /projects/{p}/branches`, `POST /projects/{p}/branches`,
`DELETE /projects/{p}/branches/{id}`, `GET /projects/{p}/branches/{id}/endpoints`.
Roles and their passwords are copied into a new branch, so a branch is reached with
the configured DATABASE_URL credentials at the branch's own endpoint host.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx

from fisioflow.core.branches import MAIN, Branch, BranchError, validate_name
from fisioflow.core.database import DatabaseLocation
from fisioflow.settings import Settings

TIMEOUT_S = 30.0


@dataclass(frozen=True)
class NeonBranches:
    main: DatabaseLocation
    api_url: str
    api_key: str
    project_id: str

    @classmethod
    def from_settings(cls, settings: Settings, main: DatabaseLocation) -> NeonBranches:
        assert settings.neon_api_key is not None
        assert settings.neon_project_id is not None
        return cls(
            main=main,
            api_url=settings.neon_api_url.rstrip("/"),
            api_key=settings.neon_api_key.get_secret_value(),
            project_id=settings.neon_project_id,
        )

    def create(self, name: str, *, parent: str = MAIN, force: bool = False) -> Branch:
        validate_name(name)
        found = self._all()
        if any(b["name"] == name for b in found):
            raise BranchError(f"branch {name!r} already exists")
        body = {
            "branch": {"name": name, "parent_id": _pick(found, parent)["id"]},
            "endpoints": [{"type": "read_write"}],
        }
        created = self._call("POST", "/branches", json=body)["branch"]
        return _branch(created, found)

    def listing(self) -> list[Branch]:
        found = self._all()
        return [_branch(b, found) for b in found if not _is_main(b)]

    def delete(self, name: str) -> None:
        branch = _pick(self._all(), validate_name(name))
        self._call("DELETE", f"/branches/{branch['id']}")

    def location(self, name: str) -> DatabaseLocation:
        branch = _pick(self._all(), name if name == MAIN else validate_name(name))
        endpoints = self._call("GET", f"/branches/{branch['id']}/endpoints")["endpoints"]
        writable = [e for e in endpoints if e.get("type") == "read_write"] or endpoints
        if not writable:
            raise BranchError(f"Neon branch {name!r} has no compute endpoint to connect to")
        host = str(writable[0]["host"])
        return DatabaseLocation(
            owner_url=self.main.owner_url.set(host=host),
            app_url=self.main.app_url.set(host=host),
        )

    def _all(self) -> list[dict[str, Any]]:
        branches: list[dict[str, Any]] = self._call("GET", "/branches")["branches"]
        return branches

    def _call(self, method: str, path: str, *, json: Any = None) -> dict[str, Any]:
        url = f"{self.api_url}/projects/{self.project_id}{path}"
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        try:
            response = httpx.request(method, url, json=json, headers=headers, timeout=TIMEOUT_S)
        except httpx.HTTPError as exc:
            raise BranchError(f"cannot reach the Neon API at {self.api_url}: {exc}") from exc
        if response.is_error:
            status = f"{response.status_code} {_message(response)}"
            raise BranchError(f"Neon API {method} {path}: {status}")
        body: dict[str, Any] = response.json()
        return body


def _is_main(branch: dict[str, Any]) -> bool:
    return bool(branch.get("default") or branch.get("primary"))


def _pick(found: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for branch in found:
        if (name == MAIN and _is_main(branch)) or (name != MAIN and branch["name"] == name):
            return branch
    raise BranchError(f"no branch {name!r} in the Neon project")


def _branch(raw: dict[str, Any], found: list[dict[str, Any]]) -> Branch:
    parents = {b["id"]: (MAIN if _is_main(b) else b["name"]) for b in found}
    created = raw.get("created_at")
    return Branch(
        name=str(raw["name"]),
        parent=parents.get(raw.get("parent_id"), str(raw.get("parent_id") or "")),
        created_at=dt.datetime.fromisoformat(created) if created else None,
        ref=str(raw["id"]),
    )


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.reason_phrase))
    except ValueError:
        return response.reason_phrase
