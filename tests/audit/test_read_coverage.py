"""Every GET endpoint that shows a patient's data writes access events: the endpoints come
from the OpenAPI document (like tests/tenancy/test_isolation.py), so a new endpoint that
forgets `ctx.access.viewed(...)` fails here until it records them or is exempted below
with a reason.

A response shows a patient's data when its path names the patient (`{patient_id}`) or
its body carries the id of one of the clinic's patients; the request (found by its
X-Request-ID) must then have written a READ event for each such patient.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from fisioflow.auth.context import Auth
from tests.fixtures.audit import audit_events
from tests.fixtures.identity import Actor
from tests.tenancy.test_isolation import _PARAM, _portal, is_stream, make_victim

_SCHEDULING = (
    "scheduling (who comes when, and the front desk's notes), not the health data the read "
    "audit covers; every write of it is audited, and auditing the agenda would turn each "
    "glance at the front desk's screen into a chain write"
)
# path -> why reading it writes no access event (a decision, reviewed like a migration)
EXEMPT_READS = {
    "/api/v1/patients": (
        "the patient list and search: names and contacts to find a patient; opening one "
        "(GET /patients/{patient_id}) is audited"
    ),
    "/api/v1/patients/{patient_id}/access-log": (
        "the access log itself, without values: a look at it would add to what it shows"
    ),
    "/api/v1/messages/unread": (
        "the staff inbox: who wrote and how many unread, no content; opening a thread "
        "(GET /patients/{patient_id}/messages) is audited"
    ),
    "/api/v1/appointments": _SCHEDULING,
    "/api/v1/appointments/{appointment_id}": _SCHEDULING,
    "/api/v1/appointment-series/{series_id}": _SCHEDULING,
    "/api/v1/agenda": _SCHEDULING,
    "/api/v1/me/appointments": _SCHEDULING,
}
# query parameters a GET needs to answer 200 ({name}: the victim's id of that name)
QUERIES: dict[str, dict[str, str]] = {
    "/api/v1/availability": {
        "practitioner_id": "{practitioner_id}",
        "from": "2099-03-02",
        "to": "2099-03-03",
    },
    "/api/v1/agenda": {"date": "2099-03-02"},
    "/api/v1/time-off": {"from": "2099-12-01", "to": "2099-12-31"},
}
_request_ids = itertools.count()


def get_endpoints(app: FastAPI) -> list[str]:
    """Every GET but event streams: they never end, and carry a kind and an id only (the
    client reads the row through an audited endpoint)."""
    return [
        path
        for path, item in app.openapi()["paths"].items()
        if "get" in item and path.startswith("/api/") and not is_stream(item["get"])
    ]


async def unaudited_reads(
    app: FastAPI, client: httpx.AsyncClient, owner_engine: AsyncEngine
) -> list[str]:
    """Walks every GET endpoint as a clinic admin and as a portal patient; lists each
    endpoint that showed a patient's data without an access event for that patient."""
    victim = await make_victim(client, "Clínica Auditada")
    actors = [victim.admin.headers, await _portal(client, victim.admin)]
    patients = await _patient_ids(client, victim.admin)
    problems = []
    for path in get_endpoints(app):
        reached = False
        query = {name: value.format(**victim.ids) for name, value in QUERIES.get(path, {}).items()}
        for url, named in _urls(path, victim.ids, patients):
            for headers in actors:
                request_id = f"walk-{next(_request_ids)}"
                response = await client.get(
                    url, params=query, headers={**headers, "X-Request-ID": request_id}
                )
                if response.status_code != 200:
                    continue
                reached = True
                shown = {p for p in patients if p in response.text} | named
                if shown and path not in EXEMPT_READS:
                    recorded = await _recorded(owner_engine, victim.admin, request_id)
                    problems += [
                        f"GET {path}: nothing recorded for patient {p}" for p in shown - recorded
                    ]
        if not reached:
            problems.append(f"GET {path}: never answered 200 (add its QUERIES or an id factory)")
    return sorted(set(problems))


def _urls(path: str, ids: dict[str, str], patients: set[str]) -> list[tuple[str, set[str]]]:
    """The path with the victim's ids; with each of its patients when it names one."""
    params = _PARAM.findall(path)
    if "patient_id" not in params:
        return [(path.format(**ids), set())]
    return [(path.format(**{**ids, "patient_id": p}), {p}) for p in sorted(patients)]


async def _patient_ids(client: httpx.AsyncClient, admin: Actor) -> set[str]:
    listed = await client.get(
        "/api/v1/patients", params={"include_archived": "true", "limit": 100}, headers=admin.headers
    )
    assert listed.status_code == 200, listed.text
    return {item["id"] for item in listed.json()["items"]}


async def _recorded(owner_engine: AsyncEngine, admin: Actor, request_id: str) -> set[str]:
    events = await audit_events(
        owner_engine,
        admin.clinic_id,
        where="operation = 'READ' and request_id = :request_id",
        request_id=request_id,
    )
    return {str(e["patient_id"]) for e in events}


class TestReadCoverage:
    async def test_every_endpoint_showing_a_patient_records_the_access(
        self, app: FastAPI, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        assert await unaudited_reads(app, client, owner_engine) == []

    async def test_exemptions_name_existing_endpoints(self, app: FastAPI) -> None:
        """A stale exemption (endpoint renamed) would silently exempt a new one."""
        assert set(EXEMPT_READS) | set(QUERIES) <= set(get_endpoints(app))

    async def test_an_endpoint_that_forgets_is_reported(
        self, app: FastAPI, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        leaky = APIRouter()

        @leaky.get("/api/v1/patients/{patient_id}/leaky-summary")
        async def leaky_summary(patient_id: uuid.UUID, ctx: Auth) -> dict[str, Any]:
            return {"patient_id": str(patient_id), "role": ctx.principal.role}

        @leaky.get("/api/v1/leaky-patients")
        async def leaky_patients(ctx: Auth) -> list[str]:
            rows = await ctx.session.execute(text("select id from patient"))
            return [str(row[0]) for row in rows]

        app.include_router(leaky)
        app.openapi_schema = None
        problems = await unaudited_reads(app, client, owner_engine)
        assert {p.split(":")[0] for p in problems} == {
            "GET /api/v1/patients/{patient_id}/leaky-summary",
            "GET /api/v1/leaky-patients",
        }
