"""Which backups to keep: grandfather-father-son by calendar period.

The newest backup of each of the last `daily` days, of each of the last `weekly` ISO
weeks and of each of the last `monthly` calendar months is kept; so is the newest
backup overall, whatever its age. Everything else may be deleted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    daily: int = 14
    weekly: int = 8
    monthly: int = 12


def to_keep(created: dict[str, dt.datetime], *, now: dt.datetime, policy: Policy) -> set[str]:
    newest_first = sorted(created, key=lambda backup_id: created[backup_id], reverse=True)
    keep = set(newest_first[:1])
    seen: dict[str, set[object]] = {"day": set(), "week": set(), "month": set()}
    today = now.date()
    for backup_id in newest_first:
        day = created[backup_id].astimezone(dt.UTC).date()
        periods = {
            "day": (day, (today - day).days < policy.daily),
            "week": (
                day.isocalendar()[:2],
                (_monday(today) - _monday(day)).days // 7 < policy.weekly,
            ),
            "month": ((day.year, day.month), _months(today) - _months(day) < policy.monthly),
        }
        for name, (period, recent) in periods.items():
            if recent and period not in seen[name]:
                seen[name].add(period)
                keep.add(backup_id)
    return keep


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _months(day: dt.date) -> int:
    return day.year * 12 + day.month
