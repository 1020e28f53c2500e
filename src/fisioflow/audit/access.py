"""Read audit: which health data a request showed, written as access events.

Every endpoint (or web view) that returns a patient's registration, clinical entries,
prescriptions or exercise logs, diary entries or an export calls `ctx.access.viewed(...)`
with what it is about to return. The events of one request are written in a single
INSERT by the request's own transaction just before it commits (auth/context.py): a
response whose access could not be recorded is never sent, and a request that fails
records nothing.

    ctx.access.viewed("record_entry", patient_id=patient_id, ids=[e.id for e in page.items])

One event per (what, patient) per request, however many calls name it; `ids` accumulate.
A page of one patient's data is an access even when empty (it shows there is nothing);
a list across patients (`viewed_rows`) writes one event per patient it shows.
Actor, role, request id, IP, user agent and time come from the transaction's settings,
filled by the database (migrations/versions/2026-11-24_audit.py), so a caller cannot
misstate them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.models import AuditEvent

READ = "READ"
_TABLE: Table = AuditEvent.__table__  # type: ignore[assignment]


class PatientRow(Protocol):
    """A row shown to the client that belongs to one patient (diary entry, message ...)."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def patient_id(self) -> uuid.UUID: ...


@dataclass
class _Viewed:
    what: str
    patient_id: uuid.UUID
    ids: list[uuid.UUID] = field(default_factory=list)


@dataclass
class AccessLog:
    """The access events of one request (or job) in one clinic."""

    tenant_id: uuid.UUID
    _viewed: dict[tuple[str, uuid.UUID], _Viewed] = field(default_factory=dict)

    def viewed(self, what: str, *, patient_id: uuid.UUID, ids: Iterable[uuid.UUID] = ()) -> None:
        """`what` is the table (or export kind) shown; `ids` the rows of it shown."""
        entry = self._viewed.setdefault((what, patient_id), _Viewed(what, patient_id))
        entry.ids.extend(i for i in ids if i not in entry.ids)

    def viewed_rows(self, what: str, rows: Iterable[PatientRow]) -> None:
        """Rows of `what` that may concern several patients: one event per patient."""
        for row in rows:
            self.viewed(what, patient_id=row.patient_id, ids=[row.id])

    @property
    def pending(self) -> int:
        return len(self._viewed)

    async def write(self, session: AsyncSession) -> None:
        """Insert the pending events (one statement) in the caller's transaction."""
        if not self._viewed:
            return
        rows = [self._row(entry) for entry in self._viewed.values()]
        self._viewed.clear()
        await session.execute(insert(_TABLE), rows)

    def _row(self, entry: _Viewed) -> dict[str, object]:
        return {
            "tenant_id": self.tenant_id,
            "operation": READ,
            "table_name": entry.what,
            "record_id": entry.ids[0] if len(entry.ids) == 1 else None,
            "patient_id": entry.patient_id,
            "detail": {"ids": [str(i) for i in entry.ids]},
        }
