"""Alarm events in the site's database (table alarm_events): write, resolve, note a notification, list.

Plain values in and out (the alarms package above builds them), naive UTC in the database.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from .buckets import aware, naive_utc
from .schema import alarm_events as ev

if TYPE_CHECKING:
    from .store import Store


def record(store: Store, key: str, *, rule: str, kind: str, subject: str, started: datetime,
           ended: datetime | None, peak: float, unit: str, message: str, details: dict[str, Any]) -> None:
    """Insert the event, or (resolved) set its end, worst value and the closing message."""
    with store._tx(write=True) as conn:
        row = conn.execute(select(ev.c.id, ev.c.message).where(ev.c.site == store.site, ev.c.event_key == key)).first()
        if row is None:
            conn.execute(insert(ev).values(site=store.site, event_key=key, rule=rule, kind=kind, subject=subject,
                                           started=naive_utc(started), ended=naive_utc(ended) if ended else None,
                                           peak=peak, unit=unit, message=message, details=json.dumps(details),
                                           notified=json.dumps([])))
        elif ended is not None:
            conn.execute(update(ev).where(ev.c.id == row.id).values(
                ended=naive_utc(ended), peak=peak, message=row.message + "\n" + message, details=json.dumps(details)))


def note_notified(store: Store, key: str, channel: str, state: str, at: datetime) -> None:
    """Add `channel state at` to the event's notifications."""
    with store._tx(write=True) as conn:
        row = conn.execute(select(ev.c.id, ev.c.notified).where(ev.c.site == store.site, ev.c.event_key == key)).first()
        if row is None:
            return
        sent = json.loads(row.notified or "[]")
        sent.append({"channel": channel, "state": state, "at": at.isoformat()})
        conn.execute(update(ev).where(ev.c.id == row.id).values(notified=json.dumps(sent)))


def events(store: Store, start: datetime | None = None, end: datetime | None = None) -> list[dict[str, Any]]:
    """Events that overlap [start, end), oldest first; times UTC-aware."""
    q = select(ev).where(ev.c.site == store.site).order_by(ev.c.started, ev.c.id)
    if end is not None:
        q = q.where(ev.c.started < naive_utc(end))
    if start is not None:
        q = q.where((ev.c.ended.is_(None)) | (ev.c.ended >= naive_utc(start)))
    with store._tx() as conn:
        rows = conn.execute(q).all()
    return [{"key": r.event_key, "rule": r.rule, "kind": r.kind, "subject": r.subject,
             "start": aware(r.started), "end": aware(r.ended) if r.ended else None, "peak": r.peak,
             "unit": r.unit, "message": r.message, "details": json.loads(r.details or "{}"),
             "notified": json.loads(r.notified or "[]")} for r in rows]
