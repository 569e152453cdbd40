"""A hostile bus never produces a false value (issue 8, item 1): real pymodbus over TCP, RTU over
TCP and a pty against the simulator sending each bad frame; every value taken is compared with
what the simulator answered to that very request."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys

import pytest
from bus_truth import Audit, CountingLink, Ticking

from wattlog.address import parse_address
from wattlog.errors import BadFrame, NoAnswer
from wattlog.meters.definition import get_model
from wattlog.polling.bus import BusPoller, MeterSpec
from wattlog.sim import SimOptions, SimThread
from wattlog.sim.hostile import HOSTILE

RX380 = get_model("rx380")
TIMEOUT = 0.3
LINKS = ["tcp", "rtu_tcp", "serial"]
# what a client sees of each kind: None = the fault must not even be noticed as a failure
SEEN_AS = {"wrong_function": BadFrame, "other_unit": BadFrame, "wrong_count": BadFrame,
           "garbage": (BadFrame, NoAnswer), "late_reply": NoAnswer, "bad_crc": BadFrame,
           "truncated": (BadFrame, NoAnswer), "no_reply": NoAnswer}


def sim_options(kind: str, tmp_path, **kw) -> SimOptions:
    addr = [("127.0.0.1", 0)]
    return SimOptions(units={1: "office", 2: "workshop"}, tcp=addr if kind == "tcp" else [],
                      rtu_tcp=addr if kind == "rtu_tcp" else [],
                      serial_links=[str(tmp_path / "ttyRX")] if kind == "serial" else [],
                      clock=Ticking(), late_seconds=1.5 * TIMEOUT, record=True, **kw)


def url(endpoint: str, unit: int) -> str:
    if endpoint.startswith("rtu://"):
        return f"{endpoint}?unit={unit}&parity=N&timeout={TIMEOUT}"
    return f"{endpoint}/{unit}?timeout={TIMEOUT}"


@pytest.mark.parametrize("link_kind", LINKS)
def test_each_hostile_reply_is_rejected_and_the_next_is_the_true_one(link_kind, tmp_path):
    with SimThread(sim_options(link_kind, tmp_path)) as sim:
        link = CountingLink(parse_address(url(sim.endpoints[0], 1)))

        async def go():
            await link.open()
            try:
                for kind, seen in SEEN_AS.items():
                    sim.inject(kind, unit=1)
                    with pytest.raises(seen) as err:
                        await link.read(4, 1, 4002, 38, TIMEOUT)
                    if seen is BadFrame and kind != "bad_crc":
                        assert "garbled reply" in str(err.value) or "not a valid frame" in str(err.value)
                    if not link.is_open:  # pymodbus drops TCP after an undecodable frame
                        await link.open()
                    words = await link.read(4, 1, 4002, 38, TIMEOUT)
                    served = sim.ledger[1][link.sent[1] - 1]
                    assert served.true_reply and tuple(words) == served.words, \
                        f"after {kind}: the reply taken is not the answer to the request sent"
            finally:
                link.close()
        asyncio.run(go())
    assert all(sim.stats.faults[k] == 1 for k in SEEN_AS)


def test_wrong_function_code_is_named(tmp_path):
    with SimThread(sim_options("tcp", tmp_path)) as sim:
        link = CountingLink(parse_address(url(sim.endpoints[0], 1)))

        async def go():
            await link.open()
            try:
                sim.inject("wrong_function", unit=1)
                with pytest.raises(BadFrame, match="garbled reply: function code 3 answered a function 4"):
                    await link.read(4, 1, 4002, 38, TIMEOUT)
                sim.inject("wrong_count", unit=1)
                with pytest.raises(BadFrame, match="garbled reply: 74 data bytes, expected 76"):
                    await link.read(4, 1, 4002, 38, TIMEOUT)
            finally:
                link.close()
        asyncio.run(go())


@pytest.mark.parametrize("link_kind", ["tcp", "serial"])
def test_wattlog_read_fails_instead_of_printing_a_wrong_function_reply(link_kind, tmp_path):
    with SimThread(sim_options(link_kind, tmp_path, faults={"wrong_function": 1.0})) as sim:
        r = subprocess.run([sys.executable, "-m", "wattlog.cli", "read", url(sim.endpoints[0], 1), "--json"],
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stdout
    assert r.stdout == "" and "garbled reply: function code 3" in r.stderr and "register mapping" in r.stderr
    assert r.stderr.count("\n") == 1


@pytest.mark.parametrize("link_kind", LINKS)
def test_poller_under_every_hostile_kind_stores_only_true_values(link_kind, tmp_path, caplog):
    kinds = (*HOSTILE, "bad_crc", "truncated", "no_reply")
    faults = dict.fromkeys(kinds, 0.05)
    with SimThread(sim_options(link_kind, tmp_path, faults=faults, seed=3)) as sim:
        specs = [MeterSpec(f"m{u}", parse_address(url(sim.endpoints[0], u)), RX380) for u in (1, 2)]
        poller = BusPoller(specs, link=CountingLink(specs[0].address))
        audit = Audit(poller)

        async def go():
            try:
                for _ in range(12):
                    await poller.poll_cycle(interval=1.0, emit=audit.emit)
            finally:
                poller.close()
        with caplog.at_level(logging.INFO, logger="wattlog.poller"):
            asyncio.run(go())
        compared, wrong = audit.check(sim.ledger)
        injected = sum(sim.stats.faults[k] for k in kinds)
    assert not wrong, wrong[:5]
    assert compared >= 300 and len(audit.taken) >= 12  # polling went on through the faults
    assert injected >= 3
    s = poller.stats
    # every injected fault cost exactly one failed request, and nothing else failed
    assert s.no_answer + s.bad_frames + s.link_errors == injected, (s, dict(sim.stats.faults))
    assert any("m1" in r.getMessage() or "m2" in r.getMessage() for r in caplog.records
               if r.levelno >= logging.WARNING)


def test_the_audit_catches_a_value_off_by_one_step(tmp_path):
    """The audit itself can fail: a stored value 0.1 V off is reported."""
    with SimThread(sim_options("tcp", tmp_path)) as sim:
        specs = [MeterSpec("m1", parse_address(url(sim.endpoints[0], 1)), RX380)]
        poller = BusPoller(specs, link=CountingLink(specs[0].address))
        audit = Audit(poller)

        async def go():
            try:
                await poller.poll_cycle(interval=1.0, emit=audit.emit)
            finally:
                poller.close()
        asyncio.run(go())
        reading = audit.taken[0][0]
        assert audit.check(sim.ledger)[1] == []
        reading.values["voltage_l1"] += 0.1
        assert "voltage_l1" in json.dumps(audit.check(sim.ledger)[1])


def test_a_modbus_tcp_reply_with_transaction_id_0_is_not_taken():
    """pymodbus skips a wrong transaction id but lets 0 through: a gateway that zeroes it (or a
    stale reply that carries 0) would answer any request."""
    async def go():
        async def serve(reader, writer):
            while True:
                head = await reader.readexactly(7)
                pdu = await reader.readexactly(int.from_bytes(head[4:6], "big") - 1)
                count = int.from_bytes(pdu[3:5], "big")
                reply = bytes([4, 2 * count]) + bytes(2 * count)
                writer.write(b"\x00\x00\x00\x00" + (len(reply) + 1).to_bytes(2, "big") + head[6:7] + reply)

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        link = CountingLink(parse_address(f"tcp://127.0.0.1:{port}/1?timeout={TIMEOUT}"))
        await link.open()
        try:
            with pytest.raises(BadFrame, match="garbled reply: transaction id 0"):
                await link.read(4, 1, 4002, 38, TIMEOUT)
        finally:
            link.close()
            server.close()
    asyncio.run(go())
