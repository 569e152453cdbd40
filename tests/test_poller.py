"""The bus poller against the simulator (TCP, RTU over TCP, a pty) and a plain pymodbus server:
one request per snapshot, the exception-02 split, every fault kind, backoff and reconnects."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from pymodbus.framer import FramerType
from reference_server import RX380_VALUES, ReferenceServer, rx380_device

from wattlog.address import parse_address
from wattlog.meters.definition import get_model
from wattlog.polling.bus import BusPoller, MeterSpec
from wattlog.polling.scan import scan
from wattlog.sim import SimOptions, SimThread

RX380 = get_model("rx380")
UNITS = {1: "office", 2: "workshop", 3: "aircon"}


def specs(base: str, units=(1, 2, 3), query: str = "?timeout=0.3") -> list[MeterSpec]:
    out = []
    for u in units:
        url = f"{base}?unit={u}&parity=N&timeout=0.3" if base.startswith("rtu://") else f"{base}/{u}{query}"
        out.append(MeterSpec(f"m{u}", parse_address(url), RX380))
    return out


def cycles(poller: BusPoller, n: int = 1, before=None) -> list:
    """Run n poll cycles on one event loop; before(i) runs ahead of cycle i. Closes the poller."""
    async def go():
        out = []
        try:
            for i in range(n):
                if before:
                    before(i)
                out.append(await poller.poll_cycle(interval=0.5))
        finally:
            poller.close()
        return out
    return asyncio.run(go())


@pytest.fixture(params=["tcp", "rtu_tcp", "serial"])
def endpoint(request, tmp_path):
    kind = request.param
    opts = SimOptions(units=dict(UNITS), tcp=[("127.0.0.1", 0)] if kind == "tcp" else [],
                      rtu_tcp=[("127.0.0.1", 0)] if kind == "rtu_tcp" else [],
                      serial_links=[str(tmp_path / "ttyRX")] if kind == "serial" else [])
    with SimThread(opts) as sim:
        yield sim, sim.endpoints[0]


def test_one_request_per_meter_and_values_match_the_simulator(endpoint):
    sim, base = endpoint
    poller = BusPoller(specs(base))
    (readings,) = cycles(poller)
    assert [r.meter for r in readings] == ["m1", "m2", "m3"]
    assert poller.stats.requests == 3 and poller.stats.replies == 3
    for r in readings:
        assert set(r.values) == {reg.name for reg in RX380.registers} and not r.problems
        truth = sim.snapshot(int(r.meter[1:]))
        assert r.values["total_real_energy"] == pytest.approx(truth["total_real_energy"], abs=1)
        assert r.values["voltage_l1"] == pytest.approx(truth["voltage_l1"], abs=1.0)
        assert r.values["frequency"] == pytest.approx(truth["frequency"], abs=0.05)
        assert r.timestamp.tzinfo is not None


@pytest.mark.parametrize("framer", [FramerType.SOCKET, FramerType.RTU])
def test_decoding_pinned_by_a_plain_pymodbus_server(framer):
    with ReferenceServer([rx380_device(1), rx380_device(7)], framer) as srv:
        scheme = "tcp" if framer == FramerType.SOCKET else "rtu+tcp"
        poller = BusPoller([MeterSpec("a", parse_address(f"{scheme}://127.0.0.1:{srv.port}/1"), RX380),
                            MeterSpec("b", parse_address(f"{scheme}://127.0.0.1:{srv.port}/7"), RX380)])
        (readings,) = cycles(poller)
    assert len(readings) == 2
    for r in readings:
        assert r.values == pytest.approx(RX380_VALUES, abs=1e-9)
    assert poller.stats.requests == 2


def test_exception_02_splits_the_block_and_remembers(caplog, tmp_path):
    opts = SimOptions(units={1: "office"}, tcp=[("127.0.0.1", 0)], refuse=[(4004, 4005), (4008, 4009)])
    with SimThread(opts) as sim, caplog.at_level(logging.INFO, logger="wattlog.poller"):
        poller = BusPoller(specs(sim.endpoints[0], units=(1,)))
        requests = []
        first, second = cycles(poller, 2, before=lambda i: requests.append(poller.stats.requests))
    assert len(first[0].values) == 18 and not first[0].problems
    assert requests[1] == 4  # the refused block, then 4002-4003, 4006-4007, 4010-4039
    assert [b.span for b in poller.plan_of("m1")] == ["4002-4003", "4006-4007", "4010-4039"]
    assert poller.stats.requests == 7  # no rediscovery: 3 requests
    assert len(second[0].values) == 18
    refused = [r for r in caplog.records if "refuses registers 4002-4039" in r.message]
    assert len(refused) == 1


def test_a_register_the_meter_lacks_is_missing_with_a_reason(tmp_path):
    opts = SimOptions(units={1: "office"}, tcp=[("127.0.0.1", 0)], refuse=[(4019, 4019)])
    with SimThread(opts) as sim:
        poller = BusPoller(specs(sim.endpoints[0], units=(1,)))
        (r1,), (r2,) = cycles(poller, 2)
    for r in (r1, r2):
        assert "frequency" not in r.values and len(r.values) == 17
        assert r.quality("frequency") == "missing"
        assert "refuses register 4019-4019" in r.problems["frequency"].reason
    assert "4019" not in "".join(b.span for b in poller.plan_of("m1"))


@pytest.mark.parametrize("kind, cause", [("no_reply", "no answer"), ("bad_crc", "not a valid frame"),
                                         ("truncated", "not a valid frame"), ("exception", "exception 04")])
def test_every_fault_kind_is_survived_logged_once_and_recovered(kind, cause, caplog):
    opts = SimOptions(units=dict(UNITS), rtu_tcp=[("127.0.0.1", 0)])
    with SimThread(opts) as sim, caplog.at_level(logging.INFO, logger="wattlog.poller"):
        poller = BusPoller(specs(sim.endpoints[0]))
        sim.inject(kind, unit=2, count=4)  # the request, its retry, and the next poll's two
        c1, c2, c3 = cycles(poller, 3)
    assert [r.meter for r in c1] == ["m1", "m3"]  # nothing reported for m2: never a made-up value
    assert [r.meter for r in c2] == ["m1", "m3"]
    assert [r.meter for r in c3] == ["m1", "m2", "m3"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, [r.message for r in errors]
    assert "m2 (unit 2" in errors[0].message and "registers 4002-4039" in errors[0].message
    assert cause in errors[0].message
    recovered = [r for r in caplog.records if "recovered" in r.message]
    assert len(recovered) == 1 and "m2" in recovered[0].message
    st = {s.name: s for s in poller.meters}
    assert st["m2"].state == "ok" and st["m1"].errors == 0


def test_a_dead_meter_is_backed_off_and_does_not_stall_the_others(caplog):
    opts = SimOptions(units={1: "office", 3: "aircon"}, tcp=[("127.0.0.1", 0)])
    with SimThread(opts) as sim, caplog.at_level(logging.INFO, logger="wattlog.poller"):
        poller = BusPoller(specs(sim.endpoints[0]), backoff_max=60)  # unit 2 does not exist
        results = cycles(poller, 6)
    assert all([r.meter for r in c] == ["m1", "m3"] for c in results)
    st = {s.name: s for s in poller.meters}
    assert st["m2"].state == "offline" and st["m2"].failures == 3
    # 3 polls x (request + retry), then backed off: no more bus time spent on it
    assert st["m2"].requests == 6
    assert sum(1 for r in caplog.records if r.levelno == logging.ERROR) == 1
    assert sum(1 for r in caplog.records if "is offline" in r.message) == 1


def test_counter_reset_is_flagged_once():
    opts = SimOptions(units={1: "office"}, tcp=[("127.0.0.1", 0)])
    with SimThread(opts) as sim:
        poller = BusPoller(specs(sim.endpoints[0], units=(1,)))
        a, b, c = cycles(poller, 3, before=lambda i: i == 1 and sim.inject("counter_reset", unit=1))
    assert a[0].quality("total_real_energy") == "ok"
    assert b[0].quality("total_real_energy") == "implausible"
    assert "went backwards" in b[0].problems["total_real_energy"].reason
    assert c[0].quality("total_real_energy") == "ok"


@pytest.mark.parametrize("kind", ["tcp", "serial"])
def test_link_gone_and_back_without_restart(kind, tmp_path, caplog):
    opts = SimOptions(units={1: "office", 2: "workshop"}, tcp=[("127.0.0.1", 0)] if kind == "tcp" else [],
                      serial_links=[str(tmp_path / "ttyRX")] if kind == "serial" else [])
    with SimThread(opts) as thread_sim, caplog.at_level(logging.INFO, logger="wattlog.poller"):
        sim = thread_sim
        poller = BusPoller(specs(sim.endpoints[0], units=(1, 2)))

        async def scenario():
            got = [await poller.poll_cycle(0.5)]
            fut = asyncio.run_coroutine_threadsafe(sim.link_down(1.5), sim._loop)
            await asyncio.wrap_future(fut)
            down = []
            t_end = time.monotonic() + 8
            while time.monotonic() < t_end:
                out = await poller.poll_cycle(0.5)
                down.append(out)
                if out and poller.link_state == "open" and len(out) == 2:
                    break
                await asyncio.sleep(0.3)
            poller.close()
            return got, down

        got, down = asyncio.run(scenario())
    assert len(got[0]) == 2
    assert len(down[-1]) == 2, "readings resumed after the link came back"
    assert any(not d for d in down), "no reading was invented while the link was gone"
    assert poller.stats.reconnects >= 1
    msgs = [r.message for r in caplog.records]
    assert sum("is back" in m for m in msgs) == 1
    assert sum(m.startswith("bus ") and "retrying" in m for m in msgs) == 1


def test_scan_finds_the_units_that_answer():
    opts = SimOptions(units={2: "office", 5: "workshop"}, tcp=[("127.0.0.1", 0)])
    with SimThread(opts) as sim:
        seen = []
        hits = asyncio.run(scan(parse_address(sim.endpoints[0] + "/1"), range(1, 8), RX380, timeout=0.1,
                                progress=lambda u, h: seen.append(u)))
    assert [h.unit for h in hits] == [2, 5]
    assert seen == list(range(1, 8))
    assert all("probably a Mikro RX380" in h.guess for h in hits)
