"""Times and dates from query strings: ISO 8601, a naive time being site-local; bad input is a 422."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi import HTTPException


def parse_time(text: str | None, tz: ZoneInfo, name: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise HTTPException(422, f"{name}={text!r} is not ISO 8601: write e.g. 2026-11-01T08:30 or "
                                 "2026-11-01T08:30+08:00") from None
    if value.year < 1971 or value.year > 9998:
        raise HTTPException(422, f"{name}={text!r} is out of range")
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def parse_date(text: str, name: str) -> date:
    """2026-10-01, or 2026-10 for the first of the month."""
    try:
        value = date.fromisoformat(text + "-01" if len(text) == 7 else text)
    except ValueError:
        raise HTTPException(422, f"{name}={text!r} is not a date: write e.g. 2026-10-01 (or 2026-10)") from None
    if value.year < 1971 or value.year > 9998:
        raise HTTPException(422, f"{name}={text!r} is out of range")
    return value
