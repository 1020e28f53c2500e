"""A populated clinic (and a neighbour that must stay behind) in one database, a second
empty database on the same server to import into, and helpers that read every row."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.branches import clone_database, drop_database
from fisioflow.core.database import OWNER_ROLE, DatabaseLocation
from fisioflow.core.embedded import EmbeddedPostgres
from fisioflow.portability.catalog import Table, tenant_tables
from fisioflow.portability.keys import Secret
from tests.conftest import location_for
from tests.fixtures.clinical import create_patient
from tests.fixtures.records import Team, create_team, patient_portal, signed_entry, write_entry


@pytest.fixture
def second_database(embedded_pg: EmbeddedPostgres, template_db: str) -> Iterator[DatabaseLocation]:
    """Another migrated database on the same server: the clinic's new home."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    su = libpq_dsn(make_url(embedded_pg.url()))
    clone_database(su, source=template_db, target=name, owner=OWNER_ROLE)
    yield location_for(embedded_pg, name)
    drop_database(su, name)


@pytest.fixture
def secret() -> Secret:
    return Secret(key=os.urandom(32))


@dataclass(frozen=True)
class Populated:
    team: Team
    neighbour: Team
    signed_id: str
    addendum_id: str


async def populate(client: httpx.AsyncClient) -> Populated:
    """A clinic with every kind of row the API makes today: users, a portal account,
    tokens, practitioners, patients, signed entries, an addendum, a draft."""
    team = await create_team(client)
    await create_patient(client, team.admin, full_name="Olívia Sem Fisioterapeuta")
    signed = await signed_entry(client, team)
    addendum = await client.post(
        f"{team.records()}/{signed['id']}/addenda",
        json={"content": {"text": "Correção: dor 5/10."}},
        headers=team.practitioner.headers,
    )
    assert addendum.status_code == 201, addendum.text
    await write_entry(client, team)
    await patient_portal(client, team)
    neighbour = await create_team(client)
    await signed_entry(client, neighbour)
    return Populated(team, neighbour, signed["id"], addendum.json()["id"])


def superuser(url: URL) -> str:
    """The superuser bypasses row-level security: it sees what really is stored."""
    return libpq_dsn(url.set(username="postgres"))


def clinic_rows(url: URL, clinic_id: uuid.UUID) -> dict[str, list[Any]]:
    """Every row of every table the clinic owns, as PostgreSQL renders it, by key order."""
    with psycopg.connect(superuser(url)) as conn:
        return {t.name: _rows(conn, t, clinic_id) for t in tenant_tables(conn)}


def _rows(conn: psycopg.Connection[Any], table: Table, clinic_id: uuid.UUID) -> list[Any]:
    query = sql.SQL("select to_jsonb(t) from {} t where {} = %s order by {}").format(
        sql.Identifier(table.name),
        sql.Identifier(table.tenant_column),
        sql.SQL(", ").join(sql.Identifier(c) for c in table.key),
    )
    return [row[0] for row in conn.execute(query, [clinic_id])]


def assert_moved(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> None:
    """`after` holds every row of `before`, plus the import's own audit event at the end
    of the chain (and the chain head advanced past it): nothing else differs."""
    *moved, imported = after["audit_event"]
    [head], [moved_head] = after["audit_chain_head"], before["audit_chain_head"]
    assert imported["actor"] == "command:clinic import"
    assert imported["seq"] == moved_head["seq"] + 1
    assert imported["prev_hash"] == moved_head["hash"]
    advanced = {
        "seq": imported["seq"],
        "prev_hash": imported["prev_hash"],
        "hash": imported["hash"],
    }
    assert head == {**moved_head, **advanced}
    assert {**after, "audit_event": moved, "audit_chain_head": [moved_head]} == before
