"""Recovery that is quick and quiet (issue 8, item 8): link retries capped near the poll interval,
a flapping meter summarised instead of a line per episode, a counter reset logged once."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time

from wattlog.address import parse_address
from wattlog.errors import BadFrame, NoAnswer
from wattlog.meters.definition import get_model
from wattlog.polling.bus import BusPoller, MeterSpec
from wattlog.polling.episodes import EpisodeLog
from wattlog.sim import SimOptions, SimThread

RX380 = get_model("rx380")


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def lines(caplog, level=logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "wattlog.poller" and r.levelno >= level]


def test_flapping_is_one_line_then_a_summary(caplog):
    clock = FakeClock()
    ep = EpisodeLog("office (unit 1 on bus)", window=300, clock=clock)
    with caplog.at_level(logging.INFO, logger="wattlog.poller"):
        # 30 episodes 10 s apart: 9 with no answer, 5 garbled (2 polls each) ... over 5 minutes
        for i in range(30):
            error = NoAnswer("no answer within 1 s") if i % 3 else BadFrame("garbled reply")
            ep.failed(error, f"office: failure {i}")
            clock.t += 5
            ep.ok(f"office recovered {i}")
            clock.t += 5
        ep.ok("still ok")
    got = lines(caplog)
    assert got[:2] == ["office: failure 0", "office recovered 0"]
    assert got[2:] == ["office (unit 1 on bus): 30 failures in the last 5 min (no answer ×20, garbled ×10) "
                       "in 30 episodes; now ok"]


def test_a_long_outage_is_one_episode_and_its_recovery_is_logged(caplog):
    clock = FakeClock()
    ep = EpisodeLog("office", window=300, clock=clock)
    with caplog.at_level(logging.INFO, logger="wattlog.poller"):
        for _ in range(200):  # 2000 s down
            ep.failed(NoAnswer("x"), "office: no answer")
            clock.t += 10
        ep.ok("office recovered")
        clock.t += 1000
        ep.failed(NoAnswer("x"), "office: no answer again")  # after a quiet spell: logged in full
    assert lines(caplog) == ["office: no answer", "office recovered", "office: no answer again"]


def test_poller_on_a_flaky_meter_logs_a_handful_of_lines(caplog):
    opts = SimOptions(units={1: "office", 2: "workshop"}, tcp=[("127.0.0.1", 0)])
    with SimThread(opts) as sim:
        specs = [MeterSpec(n, parse_address(f"{sim.endpoints[0]}/{u}?timeout=0.2"), RX380)
                 for u, n in ((1, "office"), (2, "workshop"))]
        poller = BusPoller(specs, retries=0)
        clock = FakeClock()
        for m in poller._meters:
            m.episodes.clock = clock

        async def go():
            try:
                for i in range(36):  # 6 minutes of 10 s polls: office fails every other poll
                    if i % 2 == 0:
                        sim.inject("no_reply" if i % 4 else "bad_crc", unit=1)
                    await poller.poll_cycle(interval=10)
                    clock.t += 10
            finally:
                poller.close()
        with caplog.at_level(logging.INFO, logger="wattlog.poller"):
            asyncio.run(go())
    got = lines(caplog)
    office = poller.meters[0]
    assert office.errors == 18 and poller.meters[1].errors == 0
    # it was 36 lines, a failure and a recovery per episode; now per 5 minutes: the first episode
    # and its recovery in full, then one summary (the next window starts the same way)
    assert len(got) == 5 and got[3].startswith("office") and "recovered" in got[4], got
    (summary,) = [m for m in got if "failures in the last" in m]
    assert re.search(r"office \(unit 1 on tcp://.*\): 1[4-8] failures in the last 5 min "
                     r"\((no answer|garbled) ×\d+, (no answer|garbled) ×\d+\) in 1[4-8] episodes", summary), summary


def test_link_retry_backoff_is_capped_near_the_poll_interval():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    poller = BusPoller([MeterSpec("office", parse_address(f"tcp://127.0.0.1:{port}/1?timeout=0.2"), RX380)])

    async def go():
        delays = []
        for _ in range(8):
            poller._link_next_try = 0.0  # as if the wait had passed
            await poller.poll_cycle(interval=10)
            delays.append(round(poller._link_next_try - time.monotonic()))
        return delays
    delays = asyncio.run(go())
    assert poller.link_state == "down" and poller.stats.link_errors == 8
    assert max(delays) <= 5 and delays[-1] == 5, delays  # every 10 s cycle tries; it was 1, 2, 4, 8, 16, 30


def test_counter_reset_is_logged_once_with_old_and_new_values(caplog):
    opts = SimOptions(units={1: "office"}, tcp=[("127.0.0.1", 0)])
    with SimThread(opts) as sim:
        poller = BusPoller([MeterSpec("office", parse_address(f"{sim.endpoints[0]}/1?timeout=0.3"), RX380)])

        async def go():
            out = []
            try:
                for i in range(4):
                    if i == 2:
                        sim.inject("counter_reset", unit=1)
                    out += await poller.poll_cycle(interval=10)
            finally:
                poller.close()
            return out
        with caplog.at_level(logging.INFO, logger="wattlog.poller"):
            readings = asyncio.run(go())
    before = readings[1].values["total_real_energy"]
    assert readings[2].problems["total_real_energy"].flag == "implausible"
    got = [m for m in lines(caplog, logging.WARNING) if "counter reset" in m]
    assert len(got) == 1, lines(caplog)
    assert got[0].startswith("office (unit 1 on tcp://")
    assert f"total_real_energy {before:g} → 0 kWh" in got[0]
