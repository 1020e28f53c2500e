"""Input and output models of the notification API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, Field, HttpUrl

from fisioflow.core.schemas import StrictModel

Channel = Literal["email", "sms", "whatsapp", "push"]
Status = Literal["pending", "sending", "sent", "failed", "dead"]


class ChannelChoices(StrictModel):
    email: bool | None = None
    sms: bool | None = None
    whatsapp: bool | None = None
    push: bool | None = None


class PreferencesIn(StrictModel):
    channels: ChannelChoices
    consent: bool = Field(
        default=False,
        description="The patient consented to SMS/WhatsApp messages (LGPD); required to "
        "turn either on unless a consent is already recorded.",
    )


class ChannelPreference(BaseModel):
    channel: Channel
    enabled: bool
    consent_at: dt.datetime | None = None


class PreferencesOut(BaseModel):
    channels: list[ChannelPreference]


class NotificationOut(BaseModel):
    id: uuid.UUID
    channel: Channel
    template: str
    status: Status
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime
    sent_at: dt.datetime | None
    patient_id: uuid.UUID | None
    user_id: uuid.UUID | None
    appointment_id: uuid.UUID | None
    created_at: dt.datetime


class StatusCount(BaseModel):
    channel: Channel
    status: Status
    count: int


class TaskQueue(BaseModel):
    task: str
    waiting: int
    running: int
    failed: int


class QueueOut(BaseModel):
    notifications: list[StatusCount]
    jobs: list[TaskQueue]


class PushKeys(StrictModel):
    p256dh: str = Field(min_length=20, max_length=200)
    auth: str = Field(min_length=8, max_length=100)


class PushSubscriptionIn(StrictModel):
    """What the browser's PushManager.subscribe() returns."""

    endpoint: HttpUrl
    keys: PushKeys


class PushSubscriptionOut(BaseModel):
    id: uuid.UUID
    endpoint: str
    created_at: dt.datetime
