"""Numbers for people: thousands separators, units, money to the sen, a dash for unknown."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

DASH = "—"


def num(v: float | Decimal | None, digits: int = 1) -> str:
    """12345.67 -> '12,345.7'; None or NaN -> '—'; -0.0 shown as 0."""
    if v is None or (isinstance(v, float) and v != v):
        return DASH
    text = f"{v:,.{digits}f}"
    return text[1:] if text.startswith("-") and not any(c in "123456789" for c in text) else text.replace("-", "−")


def kwh(v: float | None, digits: int = 1) -> str:
    """Small amounts get more digits (a short month must not read '0 kWh'): 0.08 -> '0.080 kWh'."""
    if v is None:
        return DASH
    while digits < 3 and v and abs(v) < 10 ** (1 - digits):
        digits += 1
    return f"{num(v, digits)} kWh"


def kw(v: float | None, digits: int = 1) -> str:
    return f"{num(v, digits)} kW" if v is not None else DASH


def pct(v: float | None, digits: int = 1) -> str:
    return f"{num(v, digits)} %" if v is not None else DASH


def money(v: Decimal | None, unit: str) -> str:
    """Decimal('1234.5') -> 'RM 1,234.50' (exact: Decimal formatting never goes through float)."""
    if v is None:
        return DASH
    return f"{unit} {num(v.quantize(Decimal('0.01')), 2)}"


def period(start: date, end: date) -> str:
    """[start, end) as people say it: '1 Oct 2026 – 31 Oct 2026'."""
    last = end - timedelta(days=1)
    return f"{day(start)} – {day(last)}" if last != start else day(start)


def day(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


def month_name(first: date) -> str:
    return f"{first:%B %Y}"


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M %Z").strip()
