"""Find which unit ids answer on a bus, and what each looks like."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..address import MeterAddress
from ..errors import DeviceRefused, LinkError, RequestError
from ..meters.definition import MeterModel
from ..transport import Link, make_link
from .plan import plan_reads

PROBE = ("voltage_l1", "voltage_l2", "voltage_l3", "frequency")


@dataclass(frozen=True)
class ScanHit:
    unit: int
    answer: str  # "registers" or the exception it answered with
    values: dict[str, float]
    guess: str


def probe_timeout(address: MeterAddress, count: int) -> float:
    """Long enough for the reply on the wire plus a slow meter, short enough to scan 247 ids."""
    if address.scheme == "tcp":
        return 0.2
    wire = (8 + 5 + 2 * count + 7) * address.char_time
    return round(max(0.1, 1.5 * wire + 0.06), 3)


def _guess(model: MeterModel, values: dict[str, float]) -> str:
    volts = [v for k, v in values.items() if k.startswith("voltage_l")]
    freq = values.get("frequency")
    if volts and all(90 <= v <= 300 for v in volts) and (freq is None or 45 <= freq <= 65):
        return f"probably a {model.name} (voltage {max(volts):.1f} V" + (f", {freq:.2f} Hz)" if freq else ")")
    if volts and all(v == 0 for v in volts):
        return f"answers the {model.name} map with 0 V: a meter with no voltage connected?"
    return f"answers, but the values do not look like a {model.name}: another device or model"


async def scan(address: MeterAddress, units: Iterable[int], model: MeterModel, timeout: float | None = None,
               progress: Callable[[int, ScanHit | None], None] | None = None,
               link: Link | None = None) -> list[ScanHit]:
    """Ask each unit id for a few of `model`'s registers; report the ones that answer at all."""
    regs = [model.by_name[n] for n in PROBE if n in model.by_name] or list(model.registers[:1])
    block = plan_reads(regs, model.max_read, model.max_gap)[0]
    timeout = timeout or probe_timeout(address, block.count)
    link = link or make_link(address)
    await link.open()
    hits: list[ScanHit] = []
    try:
        for unit in units:
            hit: ScanHit | None = None
            try:
                words = await link.read(block.function, unit, block.address, block.count, timeout)
            except DeviceRefused as exc:
                hit = ScanHit(unit, f"exception {exc.code:02d}", {},
                              f"a device answers, but not with the {model.name} map ({exc})")
            except LinkError:
                raise
            except RequestError:
                pass  # silence or garbage: nobody (sane) at this id
            else:
                values = {r.name: v for r in block.registers
                          if (v := r.value(block.words_of(r, words))) is not None}
                hit = ScanHit(unit, "registers", values, _guess(model, values))
            if hit:
                hits.append(hit)
            if progress:
                progress(unit, hit)
    finally:
        link.close()
    return hits


def parse_units(text: str) -> list[int]:
    """'1-247' or '1,2,5-8' → unit ids; ValueError with the reason otherwise."""
    units: list[int] = []
    for part in text.split(","):
        part = part.strip()
        lo, _, hi = part.partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise ValueError(f"{part!r} is not a unit id or range like 1-247") from None
        if not (1 <= a <= b <= 247):
            raise ValueError(f"{part!r}: unit ids are 1..247, low to high")
        units.extend(range(a, b + 1))
    return sorted(set(units))
