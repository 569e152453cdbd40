"""Events: an alarm as a stored event and as a notification's payload; `list_events` for the CLI,
the web dashboard's Events page and the monthly report."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from .rules import Alarm

if TYPE_CHECKING:
    from ..store import Store


def payload(alarm: Alarm, site: str) -> dict[str, Any]:
    """What every channel is sent: a title, the plain-words text, and the event as data."""
    label = alarm.text.split(":")[0] if alarm.state == "raised" else "Resolved"
    return {"title": f"[{site}] {label}: {alarm.subject}", "text": f"{alarm.text}\n(site {site})",
            "state": alarm.state,
            "event": {"key": alarm.key, "rule": alarm.rule, "kind": alarm.kind, "subject": alarm.subject,
                      "start": alarm.start.isoformat(), "end": alarm.end.isoformat() if alarm.end else None,
                      "value": round(alarm.value, 3), "peak": round(alarm.peak, 3), "unit": alarm.unit,
                      "details": alarm.details}}


def record(store: Store, alarm: Alarm) -> None:
    """Write a raised event, or close a resolved one, in the site's database."""
    from ..store import events as stored

    stored.record(store, alarm.key, rule=alarm.rule, kind=alarm.kind, subject=alarm.subject, started=alarm.start,
                  ended=alarm.end, peak=alarm.peak, unit=alarm.unit, message=alarm.text, details=alarm.details)


def list_events(store: Store, start: datetime | None = None, end: datetime | None = None) -> list[dict[str, Any]]:
    """Events overlapping [start, end), oldest first: key, rule, kind, subject, start, end (None while
    active), peak, unit, message, details, notified (channel, state, at)."""
    from ..store import events as stored

    return stored.events(store, start, end)


def note_notified(store: Store, key: str, channel: str, state: str, at: datetime) -> None:
    from ..store import events as stored

    stored.note_notified(store, key, channel, state, at)
