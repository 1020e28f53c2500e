"""Notification API: contact preferences, push subscriptions, admin views of the outbox."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from fisioflow.auth.context import Auth
from fisioflow.core.deps import API_V1
from fisioflow.core.errors import documented
from fisioflow.core.pagination import Page, PageParams, page_params
from fisioflow.notification import admin, preferences, push
from fisioflow.notification.schemas import (
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    PushSubscriptionIn,
    PushSubscriptionOut,
    QueueOut,
    Status,
)

router = APIRouter(prefix=API_V1, tags=["notifications"])


@router.get("/patients/{patient_id}/notification-preferences", responses=documented(401, 403, 404))
async def patient_preferences(patient_id: uuid.UUID, ctx: Auth) -> PreferencesOut:
    found = await preferences.of_patient(ctx.session, ctx.principal, patient_id)
    ctx.access.viewed("notification_preference", patient_id=patient_id)
    return found


@router.put(
    "/patients/{patient_id}/notification-preferences",
    responses=documented(401, 403, 404, 422),
)
async def set_patient_preferences(
    patient_id: uuid.UUID, body: PreferencesIn, ctx: Auth
) -> PreferencesOut:
    """Channels the patient receives appointment messages on. Turning SMS or WhatsApp on
    needs `consent: true` (recorded with who and when) unless a consent is on file."""
    return await preferences.set_for_patient(ctx.session, ctx.principal, patient_id, body)


@router.get("/me/notification-preferences", responses=documented(401))
async def my_preferences(ctx: Auth) -> PreferencesOut:
    return await preferences.mine(ctx.session, ctx.principal)


@router.put("/me/notification-preferences", responses=documented(401, 422))
async def set_my_preferences(body: PreferencesIn, ctx: Auth) -> PreferencesOut:
    return await preferences.set_mine(ctx.session, ctx.principal, body)


@router.post(
    "/me/push-subscriptions",
    status_code=status.HTTP_201_CREATED,
    responses=documented(401, 422),
)
async def subscribe_push(body: PushSubscriptionIn, ctx: Auth) -> PushSubscriptionOut:
    """Register this browser for web push (the same endpoint again updates its keys)."""
    return await push.subscribe(ctx.session, ctx.principal, body)


@router.delete(
    "/me/push-subscriptions/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=documented(401, 404),
)
async def unsubscribe_push(subscription_id: uuid.UUID, ctx: Auth) -> None:
    await push.unsubscribe(ctx.session, ctx.principal, subscription_id)


@router.get("/admin/queue", responses=documented(401, 403))
async def queue(ctx: Auth) -> QueueOut:
    """Messages by channel and status, and this clinic's jobs by task (waiting,
    running, failed)."""
    return await admin.queue(ctx.session, ctx.principal)


@router.get("/notifications", responses=documented(401, 403, 422))
async def list_notifications(
    ctx: Auth,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[Status | None, Query()] = None,
) -> Page[NotificationOut]:
    """The outbox, oldest first; `status=dead` lists what needs attention."""
    found = await admin.list_notifications(ctx.session, ctx.principal, page, status=status)
    for item in found.items:  # recipients' addresses are patient data (read audit)
        if item.patient_id is not None:
            ctx.access.viewed("notification", patient_id=item.patient_id, ids=[item.id])
    return found


@router.post("/notifications/{notification_id}/resend", responses=documented(401, 403, 404, 409))
async def resend(notification_id: uuid.UUID, ctx: Auth) -> NotificationOut:
    return await admin.resend(ctx.session, ctx.principal, notification_id)
