"""What a clinic owns, read from the PostgreSQL catalog, and the order to load it in.

A clinic owns its `clinic` row and every row of every table with a `tenant_id` column;
tables without one are global and must be listed in `GLOBAL_TABLES` (a new table that is
neither stops export and import, and fails tests/portability/test_coverage.py). Tables
added by later migrations are therefore exported without touching this code.

Load order: parents before children along the foreign keys between exported tables.
Foreign-key cycles (user_account -> patient -> practitioner -> user_account) are broken
at a nullable column that no check constraint reads: those columns are inserted as NULL
and set once every table is loaded (the "deferred" columns). Self-references (addenda
pointing at their entry) are ordered inside the table instead, parents first, because
their columns are often bound by checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

TENANT_ROOT = "clinic"
TENANT_COLUMN = "tenant_id"
# Tables with no tenant: bookkeeping, the product's exercise library, delivery channel
# health (notification_circuit), backup verification results and the job queue (whose
# rows name clinics by id and hold no health data). Adding a table here is a decision
# reviewed with its migration.
GLOBAL_TABLES = frozenset(
    {
        "alembic_version",
        "backup_verification",
        "exercise_library",
        "notification_circuit",
        "procrastinate_jobs",
        "procrastinate_events",
        "procrastinate_periodic_defers",
        "procrastinate_workers",
    }
)


class CatalogError(RuntimeError):
    """The schema cannot be exported as it is; the message names the table."""


@dataclass(frozen=True)
class ForeignKey:
    name: str
    child: str
    parent: str
    child_columns: tuple[str, ...]
    parent_columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]  # every column, in table order
    insertable: tuple[str, ...]  # without generated columns
    key: tuple[str, ...]  # primary key, or every column when there is none
    self_references: tuple[ForeignKey, ...] = ()
    deferred: tuple[str, ...] = ()

    @property
    def tenant_column(self) -> str:
        return "id" if self.name == TENANT_ROOT else TENANT_COLUMN


@dataclass
class _Graph:
    tables: dict[str, Table]
    keys: list[ForeignKey]
    nullable: dict[str, set[str]]
    checked: dict[str, set[str]]
    weights: dict[str, int]
    deferred: dict[str, set[str]] = field(default_factory=dict)


_TABLES = """
select c.relname, c.oid,
       exists (select 1 from pg_attribute a where a.attrelid = c.oid
               and a.attname = 'tenant_id' and not a.attisdropped) as has_tenant
from pg_class c
where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
  and not c.relispartition
order by c.relname
"""
_COLUMNS = """
select attname, attnotnull, attgenerated <> '' as generated
from pg_attribute where attrelid = %s and attnum > 0 and not attisdropped order by attnum
"""
_CONSTRAINTS = """
select con.conname, con.contype, rel.relname as child, ref.relname as parent,
       array(select a.attname from unnest(con.conkey) with ordinality k(n, i)
             join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.n
             order by k.i) as child_columns,
       array(select a.attname from unnest(con.confkey) with ordinality k(n, i)
             join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.n
             order by k.i) as parent_columns
from pg_constraint con
join pg_class rel on rel.oid = con.conrelid
left join pg_class ref on ref.oid = con.confrelid
where con.connamespace = 'public'::regnamespace and con.contype in ('f', 'p', 'c')
order by con.conname
"""


def tenant_tables(
    conn: psycopg.Connection[Any], *, weights: dict[str, int] | None = None
) -> list[Table]:
    """Every table a clinic owns, in load order (raises CatalogError on unknown tables).

    `weights` (rows per table) make cycles break in the smallest table: fewer updates."""
    rows = conn.execute(_TABLES).fetchall()
    unknown = [
        name
        for name, _, has_tenant in rows
        if not has_tenant and name != TENANT_ROOT and name not in GLOBAL_TABLES
    ]
    if unknown:
        raise CatalogError(
            f"table {unknown[0]} has no tenant_id and is not declared global "
            "(portability/catalog.py GLOBAL_TABLES)"
        )
    owned = {name: oid for name, oid, has_tenant in rows if has_tenant or name == TENANT_ROOT}
    return _ordered(conn, owned, weights or {})


def _ordered(
    conn: psycopg.Connection[Any], owned: dict[str, int], weights: dict[str, int]
) -> list[Table]:
    graph = _Graph(tables={}, keys=[], nullable={}, checked={}, weights=weights)
    constraints = conn.execute(_CONSTRAINTS).fetchall()
    primary = {row[2]: tuple(row[4]) for row in constraints if row[1] == "p"}
    for name, oid in owned.items():
        columns = conn.execute(_COLUMNS, [oid]).fetchall()
        graph.nullable[name] = {c[0] for c in columns if not c[1]}
        all_columns = tuple(c[0] for c in columns)
        graph.tables[name] = Table(
            name=name,
            columns=all_columns,
            insertable=tuple(c[0] for c in columns if not c[2]),
            key=primary.get(name, all_columns),
        )
    for conname, kind, child, parent, child_columns, parent_columns in constraints:
        if kind == "c" and child in owned:
            graph.checked.setdefault(child, set()).update(child_columns)
        if kind == "f" and child in owned and parent in owned:
            graph.keys.append(
                ForeignKey(conname, child, parent, tuple(child_columns), tuple(parent_columns))
            )
    return _topological(graph)


def _topological(graph: _Graph) -> list[Table]:
    edges = [k for k in graph.keys if k.child != k.parent]
    remaining = set(graph.tables)
    order: list[str] = []
    while remaining:
        blocked = {k.child for k in edges if k.child in remaining and k.parent in remaining}
        ready = sorted(remaining - blocked)
        if not ready:
            live = [k for k in edges if k.child in remaining and k.parent in remaining]
            edges.remove(_break(graph, [k for k in live if _reaches(live, k.parent, k.child)]))
            continue
        order.extend(ready)
        remaining -= set(ready)
    return [_finish(graph, name) for name in order]


def _reaches(edges: list[ForeignKey], start: str, goal: str) -> bool:
    """Whether `start` depends, through foreign keys, on `goal` (the edge is on a cycle)."""
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(k.parent for k in edges if k.child == node)
    return False


def _break(graph: _Graph, candidates: list[ForeignKey]) -> ForeignKey:
    """The cycle edge to load later: all its own columns nullable and free of checks."""
    for key in sorted(candidates, key=lambda k: (graph.weights.get(k.child, 0), k.child, k.name)):
        own = set(key.child_columns) - {TENANT_COLUMN}
        checked = graph.checked.get(key.child, set())
        if own and own <= graph.nullable[key.child] and not own & checked:
            graph.deferred.setdefault(key.child, set()).update(own)
            return key
    names = ", ".join(sorted({k.child for k in candidates}))
    raise CatalogError(f"foreign keys form a cycle with no nullable column to defer: {names}")


def _finish(graph: _Graph, name: str) -> Table:
    table = graph.tables[name]
    deferred = graph.deferred.get(name, set())
    return Table(
        name=table.name,
        columns=table.columns,
        insertable=table.insertable,
        key=table.key,
        self_references=tuple(k for k in graph.keys if k.child == k.parent == name),
        deferred=tuple(c for c in table.columns if c in deferred),
    )
