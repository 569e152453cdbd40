"""[alarms]: `[[alarms.rules]]` and `[alarms.channels.NAME]`, checked with validate.Checker (every
problem with file, key and fix). Tokens and passwords come from the environment or a file, never
from the config itself. Defaults come from [reports] (nominal voltages, bands, demand window) and
the site's tariff (power-factor line, demand window, per-kW rates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from typing import Any

from ..analytics.settings import ReportSettings
from ..tariffs.model import Tariff
from ..validate import Checker
from .notify import TYPES, Channel
from .rules import KINDS, Rule

COMMON = {"name", "kind", "meter", "location", "above", "below", "hysteresis", "min_duration", "channels"}
EXTRA = {"current": {"rating"}, "offline": {"minutes"}, "after_hours": {"base_kw", "margin_percent"},
         "daily_energy": {"budget_kwh"}, "demand": {"target_kw", "min_left", "after_min", "hysteresis_pct"}}
CHANNEL_KEYS = {
    "smtp": {"host", "port", "from", "to", "username", "password_env", "password_file", "starttls", "ca_file"},
    "telegram": {"chat_id", "token_env", "token_file", "base_url"},
    "line": {"to", "token_env", "token_file", "base_url"},
    "webhook": {"url", "headers", "token_env", "token_file"},
    "mqtt": {"host", "port", "topic", "username", "password_env", "password_file"},
}
_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass
class AlarmSettings:
    rules: list[Rule] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)


def tariff_demand(tariff: Tariff | None, day: date) -> tuple[int | None, float, str, tuple[str, ...]]:
    """(window minutes, per-kW rate in major units, currency, bands whose blocks count (() = all)) of
    the tariff in force on `day`."""
    if tariff is None:
        return None, 0.0, "", ()
    try:
        version = tariff.version_on(day)
    except Exception:  # noqa: BLE001 — no version today: no cost figure, the rule still works
        return None, 0.0, tariff.major_unit, ()
    per_kw = [ch for ch in version.charges if ch.basis == "kW"]
    rate = sum(((ch.rate if ch.rate is not None else max(ch.rates.values(), default=Decimal(0))) * ch.factor)
               for ch in per_kw)
    record_in = tuple(sorted({b for ch in per_kw for b in ch.record_in}))
    return (per_kw[0].window if per_kw else None), float(rate), tariff.major_unit, record_in


def _token(c: Checker, t: dict[str, Any], where: str, required: bool) -> str:
    token = c.secret(t, where, "token", "/etc/wattlog/bot.secret")
    if token or "token" in t or t.get("token_env") or t.get("token_file"):
        return token
    if required:
        c.fail(where + "token_env", "no token", 'give token_env = "VAR" (or token_file) with the bot\'s access token')
    return ""


def _channel(c: Checker, name: str, t: Any, site: str) -> Channel | None:
    where = f"alarms.channels.{name}."
    if not isinstance(t, dict):
        c.fail(where[:-1], "expected a table", f'write [alarms.channels.{name}] with type = "telegram" below it')
        return None
    kind = c.string(t, "type", where)
    if kind not in TYPES:
        c.fail(where + "type", f"unknown channel type {kind!r}", f"use one of {', '.join(TYPES)}")
        return None
    # a secret written into the file gets its own message below, not "unknown key"
    c.keys({k: v for k, v in t.items() if k not in ("token", "password")},
           CHANNEL_KEYS[kind] | {"type", "quiet_hours", "max_per_hour"}, where)
    o: dict[str, Any] = {}
    need = {"smtp": ("host", "from", "to"), "telegram": ("chat_id",), "line": ("to",), "webhook": ("url",),
            "mqtt": ()}[kind]
    for key in need:
        v = t.get(key)
        if key == "to" and kind == "smtp" and isinstance(v, str):
            v = [v]
        if key == "chat_id" and isinstance(v, int):
            v = str(v)
        if not v or not (isinstance(v, str) or (key == "to" and isinstance(v, list) and all(isinstance(x, str) for x in v))):
            c.fail(where + key, "missing or not text", {"host": 'host = "smtp.example.com"', "from": 'from = "wattlog@example.com"',
                                                        "to": 'to = ["ops@example.com"]', "chat_id": 'chat_id = "-1001234567890"',
                                                        "url": 'url = "https://gateway.example.com/hook"'}.get(key, f'{key} = "..."'))
            return None
        o[key] = v
    for key in ("host", "username", "ca_file", "base_url", "topic"):
        if key in t:
            o[key] = c.string(t, key, where)
    if "ca_file" in o:
        o["ca_file"] = str(c.resolve(o["ca_file"]))
    if "port" in t:
        o["port"] = int(c.number(t, "port", where, 0, 1, 65535))
    if "starttls" in t:
        if not isinstance(t["starttls"], bool):
            c.fail(where + "starttls", "expected true or false", "starttls = true (the default; false only inside a trusted LAN)")
        o["starttls"] = bool(t["starttls"])
    if kind == "webhook" and "headers" in t:
        h = t["headers"]
        if not isinstance(h, dict) or not all(isinstance(v, str) for v in h.values()):
            c.fail(where + "headers", "expected a table of strings", 'headers = { "X-Api-Key-Name" = "value" }')
        else:
            o["headers"] = dict(h)
    if kind == "mqtt":
        o.setdefault("topic", f"wattlog/{site}/alarms")
    if kind in ("smtp", "mqtt"):
        secret = c.secret(t, where) if ("password_env" in t or "password_file" in t or "password" in t) else ""
    else:
        secret = _token(c, t, where, required=kind in ("telegram", "line"))
    quiet = None
    if "quiet_hours" in t:
        m = _QUIET.match(str(t["quiet_hours"]))
        if not m or int(m[1]) > 23 or int(m[3]) > 23 or int(m[2]) > 59 or int(m[4]) > 59:
            c.fail(where + "quiet_hours", f"not a time range: {t['quiet_hours']!r}", 'quiet_hours = "22:00-07:00" (local time)')
        else:
            quiet = (time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4])))
    per_hour = int(c.number(t, "max_per_hour", where, 20, 1, 3600))
    return Channel(name, kind, o, secret, quiet, per_hour)


def _rule(c: Checker, i: int, t: Any, meters: dict[str, str], s: ReportSettings, tariff: Tariff | None,
          channels: set[str], today: date) -> Rule | None:
    where = f"alarms.rules[{i}]."
    if not isinstance(t, dict):
        c.fail(f"alarms.rules[{i}]", "expected a table", 'write each rule as [[alarms.rules]] with kind = "overvoltage"')
        return None
    kind = c.string(t, "kind", where)
    if kind not in KINDS:
        c.fail(where + "kind", f"unknown kind {kind!r}", f"use one of {', '.join(KINDS)}")
        return None
    c.keys(t, COMMON | EXTRA.get(kind, set()), where)
    meter, location = c.string(t, "meter", where) or None, c.string(t, "location", where) or None
    if meter and location:
        c.fail(where + "location", "give meter or location, not both", "remove one: meter watches one meter, location all of its meters")
        return None
    if meter:
        if meter not in meters:
            c.fail(where + "meter", f"no meter is named {meter!r}", f"use one of {', '.join(sorted(meters))}")
            return None
        scope, names = f"meter {meter}", (meter,)
    elif location:
        names = tuple(m for m, loc in meters.items() if loc == location)
        if not names:
            c.fail(where + "location", f"no meter is in location {location!r}",
                   f"use one of {', '.join(sorted(set(meters.values())))}")
            return None
        scope = location
    else:
        scope, names = "site", tuple(meters)
    name = c.string(t, "name", where, f"{kind}_{i}")
    chans = t.get("channels", [])
    if not isinstance(chans, list) or not all(isinstance(x, str) for x in chans):
        c.fail(where + "channels", "expected a list of channel names", 'channels = ["ops_telegram"]')
        chans = []
    for x in chans:
        if x not in channels:
            c.fail(where + "channels", f"no channel is named {x!r}",
                   f"use one of {', '.join(sorted(channels)) or 'the [alarms.channels.NAME] tables (none yet)'}")
    lo, hi = s.phase_band
    f_lo, f_hi = s.hz_band
    pf_line = s.pf_line
    if tariff is not None:
        try:
            pf = tariff.version_on(today).power_factor
            pf_line = float(pf.threshold) if pf is not None else pf_line
        except Exception:  # noqa: BLE001 — no version today: the [reports] line
            pass
    default: dict[str, tuple[float | None, float | None, float]] = {  # above, below, hysteresis
        "overvoltage": (hi, None, s.nominal_phase_v / 100), "undervoltage": (None, lo, s.nominal_phase_v / 100),
        "unbalance": (s.unbalance_limit, None, 0.5), "power_factor": (None, pf_line, 0.02),
        "frequency": (f_hi, f_lo, 0.1), "current": (None, None, 0.0), "offline": (None, None, 0.0),
        "after_hours": (None, None, 0.0), "daily_energy": (None, None, 0.0), "demand": (None, None, 0.0)}
    above, below, hyst = default[kind]
    params: dict[str, Any] = {}
    if kind == "current":
        if "rating" not in t:
            c.fail(where + "rating", "a current rule needs the rating", "rating = 100 (amperes: the breaker or cable rating)")
            return None
        rating = c.number(t, "rating", where, 100, 0.1, 100000)
        above, hyst = rating, rating * 0.05
    elif kind == "offline":
        params["minutes"] = c.number(t, "minutes", where, 5, 0.5, 10080)
    elif kind == "after_hours":
        if "base_kw" not in t:
            c.fail(where + "base_kw", "an after-hours rule needs the base load",
                   "base_kw = 4.5 (`wattlog report afterhours` shows each location's base load)")
            return None
        base = c.number(t, "base_kw", where, 1, 0, 1e6)
        margin = c.number(t, "margin_percent", where, 20, 0, 1000)
        params.update(base_kw=base, margin_percent=margin)
        above, hyst = base * (1 + margin / 100), base * 0.05
    elif kind == "daily_energy":
        if "budget_kwh" not in t:
            c.fail(where + "budget_kwh", "a daily energy rule needs the budget", "budget_kwh = 800 (kWh a day)")
            return None
        above = c.number(t, "budget_kwh", where, 1, 0.001, 1e9)
    elif kind == "demand":
        window, rate, currency, record_in = tariff_demand(tariff, today)
        if record_in:  # demand counted only in these bands (MEA on-peak, TNB C2 peak): other blocks are quiet
            params.update(record_in=record_in, tariff=tariff)
        params.update(window=window or s.demand_window, rate=rate, currency=currency,
                      min_left=c.number(t, "min_left", where, 2, 0, 60),
                      hysteresis_pct=c.number(t, "hysteresis_pct", where, 2, 0, 50))
        params["after_min"] = c.number(t, "after_min", where, params["window"] / 6, 0, 60)
        if "target_kw" in t:
            params["target_kw"] = c.number(t, "target_kw", where, 1, 0.001, 1e7)
    if "above" in t:
        above = c.number(t, "above", where, 0, -1e9, 1e9)
    if "below" in t:
        below = c.number(t, "below", where, 0, -1e9, 1e9)
    if "hysteresis" in t:
        hyst = c.number(t, "hysteresis", where, 0, 0, 1e9)
    min_duration = c.duration(t, "min_duration", where, 60.0 if kind == "demand" else 0.0, 0, 86400)
    return Rule(name, kind, names, scope, above, below, hyst, min_duration, tuple(chans), params)


def parse_alarms(c: Checker, data: Any, meters: dict[str, str], settings: ReportSettings | None,
                 tariff: Tariff | None, site: str, today: date | None = None) -> AlarmSettings:
    """[alarms] of a config (meters: name -> location); problems go to the checker."""
    out = AlarmSettings()
    if data is None:
        return out
    if not isinstance(data, dict):
        c.fail("alarms", "expected a table [alarms]", "write [[alarms.rules]] and [alarms.channels.NAME] tables")
        return out
    c.keys(data, {"rules", "channels"}, "alarms.")
    chans = data.get("channels", {})
    if not isinstance(chans, dict):
        c.fail("alarms.channels", "expected tables", "write each channel as [alarms.channels.NAME]")
        chans = {}
    out.channels = [ch for name, t in chans.items() if (ch := _channel(c, name, t, site)) is not None]
    rules = data.get("rules", [])
    if not isinstance(rules, list):
        c.fail("alarms.rules", "expected [[alarms.rules]] entries", 'write each rule as [[alarms.rules]] with kind = "..."')
        rules = []
    s = settings or ReportSettings()
    seen: set[str] = set()
    for i, t in enumerate(rules):
        rule = _rule(c, i, t, meters, s, tariff, set(chans), today or date.today())
        if rule is None:
            continue
        if rule.name in seen:
            c.fail(f"alarms.rules[{i}].name", f"rule name {rule.name!r} is used twice", "give every rule its own name")
            continue
        seen.add(rule.name)
        out.rules.append(rule)
    return out
