"""pt-BR message templates (Jinja2): each template has a `subject`, a `body` (email) and a
`short` text (SMS, WhatsApp, push). Messages carry no clinical detail: a link to the app
does (email and SMS are not confidential channels)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined

TEMPLATES = (
    "appointment_confirmation",
    "appointment_reminder",
    "appointment_cancellation",
    "invitation",
    "password_reset",
    "alert_pain",
    "alert_missed_sessions",
    "alert_sos",
)
_WEEKDAYS = ("segunda", "terça", "quarta", "quinta", "sexta", "sábado", "domingo")


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    short: str


@cache
def _environment() -> Environment:
    # Plain-text messages: autoescape off (no HTML is produced from these templates).
    return Environment(  # noqa: S701
        loader=PackageLoader("fisioflow.notification", "templates/messages"),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        auto_reload=False,  # packaged templates: no mtime check on every message
    )


def render(template: str, payload: dict[str, Any]) -> Message:
    if template not in TEMPLATES:
        raise ValueError(f"unknown template {template!r}")
    compiled = _environment().get_template(f"{template}.txt")
    context = compiled.new_context(payload)
    parts = {
        name: "".join(compiled.blocks[name](context)).strip()
        for name in ("subject", "body", "short")
    }
    return Message(subject=parts["subject"], body=parts["body"] + "\n", short=parts["short"])


def when_text(starts_at: dt.datetime, timezone: str) -> str:
    """'terça, 25/11 às 14:30' in the clinic's time zone."""
    local = starts_at.astimezone(ZoneInfo(timezone))
    return f"{_WEEKDAYS[local.weekday()]}, {local:%d/%m} às {local:%H:%M}"
