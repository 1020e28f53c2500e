"""RFC 5545 recurrence (python-dateutil), expanded in the clinic's time zone.

The rule repeats the first occurrence's wall-clock time: a 09:00 session stays at 09:00
on both sides of a daylight-saving change. Rules must be bounded (COUNT or UNTIL) and
yield at most MAX_OCCURRENCES dates.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from fisioflow.core.errors import InvalidInput

MAX_OCCURRENCES = 200
_UNTIL = re.compile(r"(UNTIL=)(\d{8})(T\d{6})?(Z?)", re.IGNORECASE)


def occurrences(rule_text: str, *, first: dt.datetime, tz: ZoneInfo) -> list[dt.datetime]:
    """Start times (aware, in `tz`) of every occurrence; the first is `first` itself
    when the rule matches it."""
    rule = _parse(rule_text, first=first.astimezone(tz), tz=tz)
    starts = list(itertools.islice(rule, MAX_OCCURRENCES + 1))
    if len(starts) > MAX_OCCURRENCES:
        raise InvalidInput(
            f"the rule yields more than {MAX_OCCURRENCES} occurrences", field="rrule"
        )
    if not starts:
        raise InvalidInput("the rule yields no occurrence", field="rrule")
    return starts


def _parse(text: str, *, first: dt.datetime, tz: ZoneInfo) -> rrule:
    body = text.strip().removeprefix("RRULE:").removeprefix("rrule:")
    parts = {p.split("=", 1)[0].upper() for p in body.split(";") if p}
    if "\n" in body or "DTSTART" in parts or ":" in body.replace("RRULE:", ""):
        raise InvalidInput("give one RRULE line; the start is starts_at", field="rrule")
    if "COUNT" not in parts and "UNTIL" not in parts:
        raise InvalidInput("the rule needs COUNT or UNTIL", field="rrule")
    try:
        parsed = rrulestr(_until_in_utc(body, tz), dtstart=first)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"invalid RRULE: {exc}", field="rrule") from exc
    assert isinstance(parsed, rrule)
    return parsed


def _until_in_utc(body: str, tz: ZoneInfo) -> str:
    """RFC 5545 wants UNTIL in UTC when the start has a zone; a floating UNTIL (or a
    plain date, meaning the end of that day) is read in the clinic's time zone."""

    def to_utc(match: re.Match[str]) -> str:
        prefix, day, time, zulu = match.groups()
        if zulu:
            return match.group(0)
        local = dt.datetime.strptime(day + (time or "T235959"), "%Y%m%dT%H%M%S")
        utc = local.replace(tzinfo=tz).astimezone(dt.UTC)
        return f"{prefix}{utc:%Y%m%dT%H%M%S}Z"

    return _UNTIL.sub(to_utc, body)
