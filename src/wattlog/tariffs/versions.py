"""Validation of one tariff version: bands, charges, adjustments, minimum, power factor, levies, taxes, rounding."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .model import (
    BASIS_FOR,
    CHARGE_KINDS,
    DAY_KEYS,
    DAY_TYPES,
    MONTH,
    NAME,
    ROUNDING_MODES,
    SLOTS,
    TIME_RANGE,
    Adjustment,
    Charge,
    Meta,
    Minimum,
    Percent,
    PowerFactor,
    Rounding,
    Tier,
    Version,
)

if TYPE_CHECKING:
    from .parse import Checker

META = {"source", "confidence", "placeholder", "note"}
VERSION = META | {"effective_from", "effective_to", "default_band", "bands", "demand_hours", "rounding", "charges",
                  "adjustments", "minimum", "power_factor", "levies", "taxes"}
CHARGE = META | {"name", "kind", "unit", "rate", "rates", "tiers", "bands", "window", "alignment",
                 "record_in", "ratchet_percent", "ratchet_months"}
DEMAND_ONLY = ("window", "record_in", "ratchet_percent", "ratchet_months", "alignment")
ADJUSTMENT = META | {"name", "label", "unit", "series", "usual", "cap", "missing", "bands"}
MINIMUM = META | {"amount", "unit", "applies_to", "percent_of_demand_charge", "months"}
PF = META | {"method", "threshold", "step", "percent_per_step", "lower_threshold", "lower_percent_per_step",
             "applies_to", "kvar_ratio", "rate", "unit", "window", "record_in"}
PERCENT = META | {"name", "label", "percent", "applies_to"}
ROUNDING = {"mode", "money", "kwh_decimals", "kw_decimals", "pf_decimals"}
Grid = dict[str, tuple[str, ...]]


def _hhmm(slot: int) -> str:
    return f"{slot // 4:02d}:{slot % 4 * 15:02d}"


def day_slots(p: Checker, spec: Any, key: str) -> list[int]:
    """Quarter-hours of 'HH:MM-HH:MM'; a range whose end is before its start crosses midnight."""
    m = TIME_RANGE.match(spec) if isinstance(spec, str) else None
    fix = 'write "HH:MM-HH:MM" on quarter hours, e.g. "14:00-22:00"; "22:00-08:00" crosses midnight'
    h1, m1, h2, m2 = map(int, m.groups()) if m else (0, 1, 0, 0)
    a, b = h1 * 60 + m1, h2 * 60 + m2
    if not m or a % 15 or b % 15 or a >= 1440 or b > 1440 or m1 >= 60 or m2 >= 60:
        raise p.fail(key, f"invalid time range {spec!r}", fix)
    if a == b:
        raise p.fail(key, f"empty or ambiguous range {spec!r}", 'use "00:00-24:00" for the whole day')
    a, b = a // 15, b // 15
    return list(range(a, b)) if a < b else [*range(a, SLOTS), *range(b)]


def bands(p: Checker, v: dict[str, Any], where: str) -> tuple[tuple[str, ...], Grid]:
    """The band of every quarter hour of each day type; default_band fills what no band names."""
    spec = p.table(v.get("bands", {}), where + "bands", '[versions.bands] peak = { weekday = ["14:00-22:00"] }')
    default = v.get("default_band")
    grid: dict[str, list[str | None]] = {d: [None] * SLOTS for d in DAY_TYPES}
    for name, days in spec.items():
        key = f"{where}bands.{name}"
        if not NAME.match(name):
            raise p.fail(key, f"invalid band name {name!r}", "lower case letters, digits and _, e.g. peak")
        p.keys(p.table(days, key, 'e.g. { weekday = ["14:00-22:00"] }'), set(DAY_KEYS), key + ".")
        for day_key, ranges in days.items():
            if not isinstance(ranges, list):
                raise p.fail(f"{key}.{day_key}", "expected a list of time ranges", f'{day_key} = ["08:00-22:00"]')
            for r in ranges:
                for s in day_slots(p, r, f"{key}.{day_key}"):
                    for d in DAY_KEYS[day_key]:
                        if grid[d][s] not in (None, name):
                            raise p.fail(f"{key}.{day_key}", f"{r} overlaps band {grid[d][s]!r} on {d} at {_hhmm(s)}",
                                         "each quarter hour belongs to one band")
                        grid[d][s] = name
    if default is not None:
        if not isinstance(default, str) or not NAME.match(default):
            raise p.fail(where + "default_band", f"invalid band name {default!r}", 'e.g. default_band = "offpeak"')
        grid = {d: [b or default for b in g] for d, g in grid.items()}
    for d in DAY_TYPES:
        if None in grid[d]:
            raise p.fail(where + "bands", f"{d} {_hhmm(grid[d].index(None))} is in no band",
                         'add it to a band, or set default_band = "offpeak" for the rest of the week')
    names = tuple(dict.fromkeys([*spec, *([default] if default else [])]))
    return names, {d: tuple(g) for d, g in grid.items()}  # type: ignore[misc]


def demand_fields(p: Checker, c: dict[str, Any], key: str, band_names: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"window": p.integer(c, "window", key, 30, (15, 30, 60))}
    if c.get("alignment", "clock") != "clock":
        raise p.fail(key + "alignment", f"unsupported alignment {c['alignment']!r}",
                     'only "clock" (blocks 08:00–08:30, …) is implemented')
    if "record_in" in c:
        out["record_in"] = p.names(c["record_in"], key + "record_in", band_names, "a band of this version")
    return out


def charge(p: Checker, c: dict[str, Any], key: str, band_names: tuple[str, ...], meta: Meta) -> Charge:
    p.keys(c, CHARGE, key)
    name, kind = p.text(c, "name", key), p.text(c, "kind", key)
    if kind not in CHARGE_KINDS:
        raise p.fail(key + "kind", f"unknown kind {kind!r}", f"use one of {', '.join(CHARGE_KINDS)}")
    unit, basis, factor = p.unit(c.get("unit"), key + "unit", BASIS_FOR[kind])
    given = [k for k in ("rate", "rates", "tiers") if k in c]
    if len(given) != 1:
        raise p.fail(key + "rate", "give exactly one of rate, rates (per band) or tiers", "e.g. rate = 27.03")
    if basis != "kWh" and given[0] != "rate":
        raise p.fail(key + given[0], f"{given[0]} apply to per-kWh charges only", "use rate = ...")
    fields: dict[str, Any] = {}
    if "bands" in c:
        if basis != "kWh":
            raise p.fail(key + "bands", "bands apply to per-kWh charges", "use record_in for demand")
        fields["bands"] = p.names(c["bands"], key + "bands", band_names, "a band of this version")
    if basis == "kW":
        fields.update(demand_fields(p, c, key, band_names))
        if "ratchet_percent" in c:
            fields["ratchet_percent"] = p.number(c["ratchet_percent"], key + "ratchet_percent", "ratchet_percent = 70")
            fields["ratchet_months"] = p.integer(c, "ratchet_months", key, 12, tuple(range(1, 37)))
    elif any(k in c for k in DEMAND_ONLY):
        raise p.fail(key + next(k for k in DEMAND_ONLY if k in c),
                     "window, alignment, record_in and ratchet apply to per-kW charges", "remove it, or use a /kW unit")
    if "rate" in c:
        fields["rate"] = p.number(c["rate"], key + "rate", "rate = 27.03")
    elif "rates" in c:
        rates = p.table(c["rates"], key + "rates", "rates = { peak = 31.32, offpeak = 27.23 }")
        covered = fields.get("bands", band_names)
        if set(rates) != set(covered):
            raise p.fail(key + "rates", f"rates are for {sorted(rates)}, the bands are {sorted(covered)}",
                         "give a rate for every band (or list the bands this charge covers in bands = [...])")
        fields["rates"] = {b: p.number(r, f"{key}rates.{b}", f"{b} = 31.32") for b, r in rates.items()}
    else:
        fields["tiers"] = tiers(p, c["tiers"], key + "tiers")
    return Charge(name=name, kind=kind, unit=unit, basis=basis, factor=factor, meta=p.meta(c, key, meta), **fields)


def tiers(p: Checker, value: Any, key: str) -> tuple[Tier, ...]:
    example = "tiers = [{ up_to = 200, rate = 43.50 }, { rate = 50.90 }]"
    out, last = [], 0.0
    entries = p.tables(value, key, example)
    for i, t in enumerate(entries):
        p.keys(t, {"up_to", "rate"}, f"{key}[{i}].")
        up_to = t.get("up_to")
        number = not isinstance(up_to, bool) and isinstance(up_to, (int, float))
        if (i == len(entries) - 1) != (up_to is None) or (up_to is not None and (not number or up_to <= last)):
            raise p.fail(f"{key}[{i}].up_to", "tiers need rising up_to limits and a last tier without one", example)
        last = float(up_to) if up_to is not None else last
        out.append(Tier(None if up_to is None else float(up_to), p.number(t.get("rate"), f"{key}[{i}].rate", example)))
    if not out:
        raise p.fail(key, "no tiers", example)
    return tuple(out)


def adjustment(p: Checker, a: dict[str, Any], key: str, band_names: tuple[str, ...], meta: Meta) -> Adjustment:
    p.keys(a, ADJUSTMENT, key)
    name = p.text(a, "name", key)
    unit, _, factor = p.unit(a.get("unit"), key + "unit", ("kWh",))
    # No hard cap: AFA was -8.91 sen in Nov 2025 (±3 sen is what the regulator may set alone). "cap" is
    # read as the old name of "usual": beyond it a value is flagged on the bill.
    limit = "usual" if "usual" in a else "cap"
    usual = p.number(a[limit], key + limit, "usual = 3.0") if limit in a else None
    series: dict[str, Decimal] = {}
    table = p.table(a.get("series", {}), key + "series", '[versions.adjustments.series] "2025-08" = -1.45')
    for month, v in table.items():
        if not MONTH.match(month):
            raise p.fail(f"{key}series.{month}", "not a month", 'write "YYYY-MM" = rate, e.g. "2025-08" = -1.45')
        series[month] = p.number(v, f"{key}series.{month}", f'"{month}" = -1.45')
    missing = a.get("missing", "zero")
    if missing not in ("zero", "error"):
        raise p.fail(key + "missing", f"invalid {missing!r}", 'use "zero" (priced at 0, with a note) or "error"')
    chosen = p.names(a["bands"], key + "bands", band_names, "a band") if "bands" in a else ()
    return Adjustment(name=name, label=str(a.get("label", name)), unit=unit, factor=factor, series=series,
                      missing=missing, meta=p.meta(a, key, meta), usual=usual, bands=chosen)


def power_factor(p: Checker, f: dict[str, Any], key: str, band_names: tuple[str, ...], meta: Meta,
                 earlier: list[str]) -> PowerFactor:
    p.keys(f, PF, key)
    method = f.get("method")

    def num(k: str, example: str, default: Decimal | None = None) -> Decimal:
        return default if default is not None and k not in f else p.number(f.get(k), key + k, example)

    common: dict[str, Any] = {"meta": p.meta(f, key, meta), "threshold": num("threshold", "threshold = 0.85")}
    if method == "surcharge":
        lower = num("lower_threshold", "lower_threshold = 0.75") if "lower_threshold" in f else None
        return PowerFactor("surcharge", applies_to=p.applies_to(f.get("applies_to"), key + "applies_to", 3, earlier),
                           step=num("step", "step = 0.01", Decimal("0.01")),
                           percent_per_step=num("percent_per_step", "percent_per_step = 1.5"), lower_threshold=lower,
                           lower_percent_per_step=num("lower_percent_per_step", "lower_percent_per_step = 3.0",
                                                      None if lower is not None else Decimal(0)), **common)
    if method == "kvar":
        unit, _, factor = p.unit(f.get("unit"), key + "unit", ("kvar",))
        return PowerFactor("kvar", applies_to=(), kvar_ratio=num("kvar_ratio", "kvar_ratio = 0.6197"),
                           rate=num("rate", "rate = 56.07"), unit=unit, factor=factor,
                           **demand_fields(p, f, key, band_names), **common)
    raise p.fail(key + "method", f"unknown method {method!r}",
                 '"surcharge" (a % of the bill per 0.01 below the threshold) or "kvar" (excess kvar × rate)')


def percent(p: Checker, t: dict[str, Any], key: str, kind: str, stage: int, meta: Meta, earlier: list[str]) -> Percent:
    p.keys(t, PERCENT, key)
    name = p.text(t, "name", key)
    return Percent(name, kind, str(t.get("label", name)), p.number(t.get("percent"), key + "percent", "percent = 1.6"),
                   p.applies_to(t.get("applies_to"), key + "applies_to", stage, earlier), p.meta(t, key, meta))


def rounding(p: Checker, value: Any, key: str) -> Rounding:
    example = '[versions.rounding] mode = "half_up", money = "0.01"'
    r = p.table(value, key, example)
    p.keys(r, ROUNDING, key + ".")
    if r.get("mode") not in ROUNDING_MODES:
        raise p.fail(key + ".mode", f"invalid {r.get('mode')!r}", f"use one of {', '.join(ROUNDING_MODES)}")
    money = p.number(r.get("money"), key + ".money", example)
    if money <= 0:
        raise p.fail(key + ".money", "must be positive", 'money = "0.01" rounds to the sen')
    places = [p.integer(r, k, key + ".", 2, tuple(range(7))) for k in ("kwh_decimals", "kw_decimals", "pf_decimals")]
    return Rounding(ROUNDING_MODES[r["mode"]], money, *places)


def version(p: Checker, v: dict[str, Any], i: int, meta: Meta) -> Version:
    """One [[versions]] entry, its parts validated in the order of calculation."""
    key = f"versions[{i}]."
    p.keys(v, VERSION, key)
    example = "{} = 2025-07-01 (a TOML date, no quotes)"
    start = p.day(v.get("effective_from"), key + "effective_from", example.format("effective_from"))
    end = None
    if "effective_to" in v:
        end = p.day(v["effective_to"], key + "effective_to", example.format("effective_to"))
    if end is not None and end < start:
        raise p.fail(key + "effective_to", "ends before it starts", "effective_to is the last day in force")
    vmeta = p.meta(v, key, meta)
    names, grid = bands(p, v, key)
    if "rounding" not in v:
        raise p.fail(key + "rounding", "missing: rounding must be explicit",
                     '[versions.rounding] mode = "half_up", money = "0.01"')

    def each(k: str, required: bool = False) -> list[tuple[str, dict[str, Any]]]:
        entries = p.tables(v.get(k) if required else v.get(k, []), key + k, f"[[versions.{k}]] name = ...")
        return [(f"{key}{k}[{j}].", e) for j, e in enumerate(entries)]

    # demand_hours: the bands whose blocks every per-kW charge counts ("all": every hour), one line of
    # data for a rule that is uncertain (TNB 2025 MV ToU); a charge's own record_in wins.
    hours = v.get("demand_hours", "all")
    if hours != "all":
        hours = list(p.names(hours, key + "demand_hours", names, "a band of this version"))
    entries = [c if "record_in" in c or hours == "all" or not isinstance(c, dict) or
               not str(c.get("unit", "")).endswith("/kW") else {**c, "record_in": hours}
               for c in p.tables(v.get("charges"), key + "charges", "[[versions.charges]] name = ...")]
    charges = tuple(charge(p, c, f"{key}charges[{j}].", names, vmeta) for j, c in enumerate(entries))
    adjustments = tuple(adjustment(p, a, where, names, vmeta) for where, a in each("adjustments"))
    done = [c.name for c in charges] + [a.name for a in adjustments]
    minimum = None
    if "minimum" in v:
        m = p.table(v["minimum"], key + "minimum", '[versions.minimum] amount = 600, unit = "RM/month"')
        p.keys(m, MINIMUM, key + "minimum.")
        applies = p.applies_to(m.get("applies_to"), key + "minimum.applies_to", 2, done)
        if "percent_of_demand_charge" in m:  # MEA: 70 % of the highest demand charge of the past 12 months
            if not any(c.basis == "kW" for c in charges):
                raise p.fail(key + "minimum.percent_of_demand_charge", "this version has no per-kW charge",
                             "add a demand charge, or give amount = ... and unit = ...")
            minimum = Minimum(Decimal(0), "", applies, p.meta(m, key + "minimum.", vmeta),
                              p.number(m["percent_of_demand_charge"], key + "minimum.percent_of_demand_charge",
                                       "percent_of_demand_charge = 70"),
                              p.integer(m, "months", key + "minimum.", 12, tuple(range(1, 37))))
        else:
            unit, _, factor = p.unit(m.get("unit"), key + "minimum.unit", ("month",))
            minimum = Minimum(p.number(m.get("amount"), key + "minimum.amount", "amount = 600") * factor, unit,
                              applies, p.meta(m, key + "minimum.", vmeta))
    pf = None
    if "power_factor" in v:
        table = p.table(v["power_factor"], key + "power_factor", "[versions.power_factor]")
        pf = power_factor(p, table, key + "power_factor.", names, vmeta, done)
    levies = tuple(percent(p, t, where, "levy", 4, vmeta, done) for where, t in each("levies"))
    done += [x.name for x in levies]
    taxes = tuple(percent(p, t, where, "tax", 5, vmeta, done) for where, t in each("taxes"))
    done += [x.name for x in taxes]
    dup = sorted({n for n in done if done.count(n) > 1})
    if dup:
        raise p.fail(key + "name", f"component name {dup[0]!r} used twice",
                     "give each charge, adjustment, levy and tax its own name")
    return Version(start, end, names, grid, charges, adjustments, minimum, pf, levies, taxes,
                   rounding(p, v["rounding"], key + "rounding"), vmeta)
