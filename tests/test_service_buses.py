"""Several buses in one service (issue 14): each bus is polled on its own, at the same time as
the others, so a slow or dead bus never delays the meters of another."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from wattlog.config import parse_config
from wattlog.service.runner import Service
from wattlog.sim import SimOptions, SimThread
from wattlog.store import Store

UNITS = {1: "office", 2: "workshop", 3: "aircon"}


def two_bus_config(a: str, b: str, data_dir: Path, timeout: float = 1.0):
    meters = [{"name": f"{bus}_{name}", "url": f"{base}/{u}?timeout={timeout:g}"}
              for bus, base in (("a", a), ("b", b)) for u, name in UNITS.items()]
    return parse_config({"site": {"name": "t", "data_dir": str(data_dir)},
                         "intervals": {"poll": "1s", "summary": 0, "csv": "1s"}, "meters": meters}, "")


def run_for(svc: Service, seconds: float) -> None:
    async def go():
        task = asyncio.create_task(svc.run())
        await asyncio.sleep(seconds)
        svc.stop.set()
        await task
    asyncio.run(go())


def stored(cfg) -> list[tuple[str, float]]:
    """(meter, reading timestamp) in time order."""
    with Store(cfg.databases[0].url, site="t") as store:
        return sorted(((r["meter"], r["timestamp"].timestamp()) for r in store.readings()), key=lambda x: x[1])


def test_two_buses_are_polled_at_the_same_time(tmp_path):
    # Two paced gateways, each a bus of 3 meters taking about 0.2 s a read: one bus's cycle (0.6 s)
    # fits the 1 s poll, both one after the other (1.2 s) would not.
    opts = SimOptions(units=dict(UNITS), tcp=[("127.0.0.1", 0), ("127.0.0.1", 0)], pace=True, baud=9600,
                      latency_ms=100)
    with SimThread(opts) as sim:
        cfg = two_bus_config(sim.endpoints[0], sim.endpoints[1], tmp_path / "data")
        svc = Service(cfg)
        assert len(svc.pollers) == 2
        run_for(svc, 3.6)
    rows = stored(cfg)
    cycles: dict[int, list[str]] = {}
    for meter, ts in rows:
        cycles.setdefault(int(ts), []).append(meter)
    full = [names for names in cycles.values() if len(names) == 2 * len(UNITS)]
    assert len(full) >= 2, cycles  # every meter of both buses read within one poll period, more than once
    for names in full:  # and the buses took turns on the clock: b's first read came before a's last
        buses = [n[0] for n in names]
        assert buses.index("b") < len(buses) - 1 - buses[::-1].index("a") and \
            buses.index("a") < len(buses) - 1 - buses[::-1].index("b"), names


def test_a_dead_bus_does_not_delay_the_other(tmp_path):
    # bus b: a gateway that takes the connection and never answers (every read waits its 0.4 s
    # timeout and is retried once: 2.4 s a cycle); bus a: a healthy gateway.
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead.listen(8)  # never accepted: the kernel completes the connection, nothing ever replies
    try:
        with SimThread(SimOptions(units=dict(UNITS), tcp=[("127.0.0.1", 0)])) as sim:
            cfg = two_bus_config(sim.endpoints[0], f"tcp://127.0.0.1:{dead.getsockname()[1]}", tmp_path / "data",
                                 timeout=0.4)
            svc = Service(cfg)
            run_for(svc, 3.6)
    finally:
        dead.close()
    rows = stored(cfg)
    by_meter: dict[str, int] = {}
    for meter, _ in rows:
        by_meter[meter] = by_meter.get(meter, 0) + 1
    assert not any(m.startswith("b_") for m in by_meter)
    assert set(by_meter) == {f"a_{n}" for n in UNITS.values()}
    healthy, stuck = sorted(svc.pollers, key=lambda p: p.bus != sim.endpoints[0])
    assert stuck.stats.missed_cycles >= 1  # the dead bus was slow: it did hold its own poller up
    assert healthy.stats.missed_cycles == 0  # but not the other one, which kept its own pace:
    assert healthy.stats.cycles >= stuck.stats.cycles + 1, (healthy.stats, stuck.stats)
    assert set(by_meter.values()) == {healthy.stats.cycles}, by_meter  # a reading in every one of its cycles
