"""Web-push subscriptions of the logged-in user's browsers."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import Principal
from fisioflow.core.errors import NotFound
from fisioflow.core.ids import new_id
from fisioflow.models import PushSubscription
from fisioflow.notification.schemas import PushSubscriptionIn, PushSubscriptionOut


async def subscribe(
    session: AsyncSession, principal: Principal, body: PushSubscriptionIn
) -> PushSubscriptionOut:
    endpoint = str(body.endpoint)
    found = await session.scalar(
        select(PushSubscription).where(
            PushSubscription.tenant_id == principal.tenant_id,
            PushSubscription.endpoint == endpoint,
        )
    )
    if found is None:
        found = PushSubscription(tenant_id=principal.tenant_id, id=new_id(), endpoint=endpoint)
        session.add(found)
    found.user_id = principal.user_id
    found.p256dh, found.auth = body.keys.p256dh, body.keys.auth
    await session.flush()
    await session.refresh(found)
    return PushSubscriptionOut.model_validate(found, from_attributes=True)


async def unsubscribe(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> None:
    result = await session.execute(
        delete(PushSubscription)
        .where(
            PushSubscription.tenant_id == principal.tenant_id,
            PushSubscription.id == subscription_id,
            PushSubscription.user_id == principal.user_id,
        )
        .returning(PushSubscription.id)
    )
    if result.first() is None:
        raise NotFound("push subscription not found")
