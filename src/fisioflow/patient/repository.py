"""SQL of the patient registry, including the ranked search."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    func,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import TenantId
from fisioflow.models import Patient

# Names, through patient_name_search() (migrations 0006-0008 and 0019 say why): one word
# by trigram word similarity on unaccented lower-case text (0.5 still lets a typo or a
# missing letter through); several words by whole words, prefixes and one-letter typos
# of the clinic's name words, with this threshold only for words further off.
WORD_SIMILARITY = 0.5


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    practitioner_id: uuid.UUID | None = None
    include_archived: bool = False


@dataclass(frozen=True)
class Query:
    """What the search text turned out to be; at most one of each is set."""

    name: str | None = None
    cpf: str | None = None
    phone: str | None = None
    email: str | None = None


def _normalized(column: Any) -> ColumnElement[str]:
    return func.f_unaccent(func.lower(column))


def _filtered(
    statement: Select[tuple[Patient]], tenant: TenantId, filters: Filters
) -> Select[tuple[Patient]]:
    statement = statement.where(Patient.tenant_id == tenant)
    if filters.status is not None:
        statement = statement.where(Patient.status == filters.status)
    if filters.practitioner_id is not None:
        statement = statement.where(Patient.practitioner_id == filters.practitioner_id)
    if not filters.include_archived:
        statement = statement.where(Patient.archived_at.is_(None))
    return statement


async def search_by_name(
    session: AsyncSession, tenant: TenantId, name: str, filters: Filters, *, limit: int, offset: int
) -> list[tuple[Patient, float]]:
    """Ranked in the database (one word: trigram word distance, migration 0008; several:
    adjacent, whole, then typo matches, migration 0019); `limit` rows from position
    `offset` of the ranking."""
    await session.execute(
        text("select set_config('pg_trgm.word_similarity_threshold', :t, true)"),
        {"t": str(WORD_SIMILARITY)},
    )
    matches = func.patient_name_search(
        name,
        filters.status,
        filters.practitioner_id,
        filters.include_archived,
        limit,
        offset,
    ).table_valued("patient_id", "score")
    ranked = (await session.execute(select(matches.c.patient_id, matches.c.score))).all()
    found = await session.scalars(
        select(Patient).where(Patient.tenant_id == tenant, Patient.id.in_([r[0] for r in ranked]))
    )
    by_id = {patient.id: patient for patient in found}
    return [(by_id[pid], float(score)) for pid, score in ranked if pid in by_id]


async def search_exact(
    session: AsyncSession,
    tenant: TenantId,
    query: Query,
    filters: Filters,
    *,
    limit: int,
    after: uuid.UUID | None,
) -> list[Patient]:
    """CPF, phone, email, or no query at all: in creation order."""
    statement = _filtered(select(Patient), tenant, filters).where(_exact_matches(query))
    if after is not None:
        statement = statement.where(Patient.id > after)
    return list(await session.scalars(statement.order_by(Patient.id).limit(limit)))


def _exact_matches(query: Query) -> ColumnElement[bool]:
    alternatives: list[ColumnElement[bool]] = []
    if query.cpf is not None:
        alternatives.append(Patient.cpf == query.cpf)
    if query.phone is not None:
        alternatives.append(Patient.phone == query.phone)
    if query.email is not None:
        alternatives.append(func.lower(Patient.email) == query.email.lower())
    return or_(*alternatives) if alternatives else true()


async def get(session: AsyncSession, tenant: TenantId, patient_id: uuid.UUID) -> Patient | None:
    return await session.scalar(
        select(Patient).where(Patient.tenant_id == tenant, Patient.id == patient_id)
    )


async def by_cpf(session: AsyncSession, tenant: TenantId, cpf: str) -> uuid.UUID | None:
    return await session.scalar(
        select(Patient.id).where(Patient.tenant_id == tenant, Patient.cpf == cpf)
    )


async def near_duplicates(
    session: AsyncSession, tenant: TenantId, *, full_name: str, birth_on: dt.date
) -> list[uuid.UUID]:
    q = _normalized(literal(full_name, String()))
    rows = await session.scalars(
        select(Patient.id)
        .where(
            Patient.tenant_id == tenant,
            Patient.birth_on == birth_on,
            func.similarity(q, _normalized(Patient.full_name)) >= 0.6,
        )
        .limit(5)
    )
    return list(rows)


async def bump_version(
    session: AsyncSession,
    tenant: TenantId,
    patient_id: uuid.UUID,
    expected: int,
    values: dict[str, object],
) -> bool:
    """Compare-and-set on `version`: exactly one of two concurrent writers wins."""
    result = await session.execute(
        update(Patient)
        .where(Patient.tenant_id == tenant, Patient.id == patient_id, Patient.version == expected)
        .values(**values, version=expected + 1, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
