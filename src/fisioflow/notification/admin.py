"""Admin views of the outbox and the queue: counts, dead letters, re-sending."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.permissions import Permission, ensure_allowed
from fisioflow.auth.principal import Principal
from fisioflow.core.errors import Conflict, NotFound
from fisioflow.core.pagination import Page, PageParams, build_page
from fisioflow.models import Notification
from fisioflow.notification import outbox
from fisioflow.notification.schemas import NotificationOut, QueueOut, StatusCount, TaskQueue

# Jobs of one clinic carry its id in their arguments; global jobs (periodic sweeps) have
# none and are shown to every admin, without their arguments.
_JOBS = text(
    """
    select task_name,
           count(*) filter (where status = 'todo') as waiting,
           count(*) filter (where status = 'doing') as running,
           count(*) filter (where status = 'failed') as failed
      from procrastinate_jobs
     where status in ('todo', 'doing', 'failed')
       and (args->>'clinic_id' is null or args->>'clinic_id' = :clinic)
     group by task_name order by task_name
    """
)


async def queue(session: AsyncSession, principal: Principal) -> QueueOut:
    ensure_allowed(principal, Permission.CLINIC_MANAGE)
    counts = await session.execute(
        select(Notification.channel, Notification.status, func.count())
        .where(Notification.tenant_id == principal.tenant_id)
        .group_by(Notification.channel, Notification.status)
        .order_by(Notification.channel, Notification.status)
    )
    jobs = await session.execute(_JOBS, {"clinic": str(principal.tenant_id)})
    return QueueOut(
        notifications=[StatusCount(channel=c, status=s, count=n) for c, s, n in counts],
        jobs=[TaskQueue(task=t, waiting=w, running=r, failed=f) for t, w, r, f in jobs],
    )


async def list_notifications(
    session: AsyncSession, principal: Principal, page: PageParams, *, status: str | None
) -> Page[NotificationOut]:
    ensure_allowed(principal, Permission.CLINIC_MANAGE)
    query = select(Notification).where(Notification.tenant_id == principal.tenant_id)
    if status is not None:
        query = query.where(Notification.status == status)
    if page.after is not None:
        query = query.where(Notification.id > page.after)
    found = await session.scalars(query.order_by(Notification.id).limit(page.limit + 1))
    items = [NotificationOut.model_validate(n, from_attributes=True) for n in found]
    return build_page(items, limit=page.limit)


async def resend(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID
) -> NotificationOut:
    """A dead message goes back to the queue with a fresh attempt count."""
    ensure_allowed(principal, Permission.CLINIC_MANAGE, on_object=True)
    notification = await session.get(
        Notification, (principal.tenant_id, notification_id), with_for_update=True
    )
    if notification is None:
        raise NotFound("notification not found")
    if notification.status != "dead":
        raise Conflict(
            f"only dead notifications can be re-sent (this one is {notification.status})",
            code="not_dead",
            extra={"current_status": notification.status},
        )
    await session.execute(
        update(Notification)
        .where(Notification.tenant_id == principal.tenant_id, Notification.id == notification_id)
        .values(status="pending", attempts=0, next_attempt_at=func.now(), updated_at=func.now())
    )
    await outbox.kick(session, principal.tenant_id, [notification.channel])
    await session.refresh(notification)
    return NotificationOut.model_validate(notification, from_attributes=True)
