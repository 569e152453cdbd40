"""Test helpers for hostile-bus tests: a clock that moves on every read, a link that counts the
requests it really sent, and the check that a reading equals what the simulator answered."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from wattlog.polling.bus import BusPoller
from wattlog.reading import Reading
from wattlog.sim.hostile import Served
from wattlog.transport.modbus import ModbusLink

START = datetime(2026, 11, 25, 4, 0, tzinfo=timezone.utc)  # noon in Kuala Lumpur: loads are busy


class Ticking:
    """A simulator clock that moves a minute on every call, so no two replies carry the same
    values: a reply taken for the wrong request shows as a wrong value."""

    def __init__(self, t: datetime = START, step: timedelta = timedelta(minutes=1)) -> None:
        self.t, self.step = t, step

    def __call__(self) -> datetime:
        self.t += self.step
        return self.t


class CountingLink(ModbusLink):
    """The real link, counting the requests that went on the wire, per unit id."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.sent: Counter[int] = Counter()

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if sending and data:
            self.sent[data[6] if self.address.scheme == "tcp" else data[0]] += 1
        return super()._trace(sending, data)


@dataclass
class Audit:
    """Every reading the poller emitted, with the number of the request it must answer."""

    poller: BusPoller
    taken: list[tuple[Reading, int, int]] = field(default_factory=list)  # reading, unit, request no.

    def emit(self, reading: Reading) -> None:
        link = self.poller.link
        assert isinstance(link, CountingLink)
        unit = next(m.spec.address.unit for m in self.poller._meters if m.spec.name == reading.meter)
        self.taken.append((reading, unit, link.sent[unit]))

    def visible_resets(self, ledger: dict[int, list[Served]]) -> int:
        """Counter resets the readings show: a reset between two readings of a unit after which a
        counter is lower than before (a reset from 0 to 0 shows nothing)."""
        last: dict[int, tuple[Reading, int]] = {}
        seen = 0
        for reading, unit, n in self.taken:
            if unit in last:
                before, m = last[unit]
                drops = [name for name in {*before.values, *before.problems} if name.endswith("energy")
                         and None not in (_raw(reading, name), _raw(before, name))
                         and _raw(reading, name) < _raw(before, name)]  # type: ignore[operator]
                if drops and any(s.reset for s in ledger[unit][m:n]):
                    seen += 1
            last[unit] = (reading, n)
        return seen

    def check(self, ledger: dict[int, list[Served]]) -> tuple[int, list[str]]:
        """(values compared, each wrong value described): each value of a reading must be the decoding
        of the true reply to the last request sent to that unit before the reading was taken."""
        compared, wrong = 0, []
        for reading, unit, n in self.taken:
            served = ledger[unit][n - 1] if 0 < n <= len(ledger[unit]) else None
            if served is None or not served.true_reply:  # every value of it is one the meter did not send
                values = {**reading.values, **{k: p.raw for k, p in reading.problems.items() if p.raw is not None}}
                compared += len(values)
                wrong += [f"{reading.meter}: request {n} got {served and served.fault}, yet {name} = {v} "
                          "was taken" for name, v in values.items()]
                continue
            (block,) = self.poller.plan_of(reading.meter)
            assert (block.function, block.address, block.count) == (served.function, served.address, served.count)
            for reg in block.registers:
                truth = reg.value(block.words_of(reg, list(served.words or ())))
                got = reading.values.get(reg.name)
                if got is None and reg.name in reading.problems:
                    got = reading.problems[reg.name].raw  # flagged implausible: kept aside, still compared
                    if got is None:
                        continue
                compared += 1
                if got != truth:
                    wrong.append(f"{reading.meter} request {n} {reg.name}: stored {got}, meter sent {truth}")
        return compared, wrong


def _raw(reading: Reading, name: str) -> float | None:
    if name in reading.values:
        return reading.values[name]
    p = reading.problems.get(name)
    return p.raw if p else None
