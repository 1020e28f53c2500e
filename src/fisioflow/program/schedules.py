"""A patient's items with their versions and status timelines, ready for due-day math."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import TenantId
from fisioflow.models import Prescription, PrescriptionItem, PrescriptionItemVersion
from fisioflow.prescription import repository
from fisioflow.prescription.schedule import Plan, StatusTimeline

# Cancelled prescriptions take no logs and owe nothing: they drop out of programs and
# adherence altogether.
SCHEDULED = ("active", "paused", "completed")


@dataclass(frozen=True)
class ItemSchedule:
    prescription: Prescription
    item: PrescriptionItem
    versions: tuple[PrescriptionItemVersion, ...]  # oldest first
    plans: tuple[Plan, ...]
    timeline: StatusTimeline


def plan_of(version: PrescriptionItemVersion) -> Plan:
    return Plan(
        id=version.id,
        item_id=version.item_id,
        version=version.version,
        effective_on=version.effective_on,
        start_on=version.start_on,
        end_on=version.end_on,
        days_of_week=frozenset(version.days_of_week),
        times_per_day=version.times_per_day,
    )


async def load(
    session: AsyncSession,
    tenant: TenantId,
    patient_id: uuid.UUID,
    *,
    tz: ZoneInfo,
    statuses: Sequence[str] = SCHEDULED,
) -> list[ItemSchedule]:
    prescriptions = await repository.of_patient(session, tenant, patient_id, statuses=statuses)
    return await for_prescriptions(session, tenant, prescriptions, tz=tz)


async def for_prescriptions(
    session: AsyncSession, tenant: TenantId, prescriptions: Sequence[Prescription], *, tz: ZoneInfo
) -> list[ItemSchedule]:
    if not prescriptions:
        return []
    by_id = {p.id: p for p in prescriptions}
    items = await repository.items(session, tenant, list(by_id))
    versions: dict[uuid.UUID, list[PrescriptionItemVersion]] = defaultdict(list)
    for version in await repository.versions(session, tenant, [i.id for i in items]):
        versions[version.item_id].append(version)
    timelines = {p.id: StatusTimeline.from_history(p.status_history, tz) for p in prescriptions}
    return [
        ItemSchedule(
            prescription=by_id[item.prescription_id],
            item=item,
            versions=tuple(versions[item.id]),
            plans=tuple(plan_of(v) for v in versions[item.id]),
            timeline=timelines[item.prescription_id],
        )
        for item in items
        if versions[item.id]
    ]
