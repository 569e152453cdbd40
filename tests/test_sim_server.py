"""The simulator's Modbus side: framing, and real pymodbus clients over TCP, RTU over TCP and a pty."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pymodbus.client import (
    AsyncModbusSerialClient,
    AsyncModbusTcpClient,
    ModbusTcpClient,
)
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.framer import FramerType

from wattlog.errors import ConfigError
from wattlog.meters import get_model
from wattlog.sim import SimOptions, SimThread, Simulator, run_sim
from wattlog.sim.protocol import (
    RtuSplitter,
    answer,
    crc16,
    crc_ok,
    mbap_frame,
    rtu_frame,
)

MODEL = get_model("rx380")
UNITS = {1: "office", 2: "workshop", 3: "aircon"}
WEDNESDAY_NOON = datetime(2026, 11, 25, 4, 0, tzinfo=timezone.utc)  # 12:00 in Kuala Lumpur
TIMEOUT = 0.25


class Clock:
    """A simulated clock the test moves by hand."""

    def __init__(self, t: datetime = WEDNESDAY_NOON) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


def options(**kw: Any) -> SimOptions:
    kw.setdefault("units", dict(UNITS))
    kw.setdefault("clock", Clock())
    return SimOptions(**kw)


def port_of(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def client_for(endpoint: str, timeout: float = TIMEOUT) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
    if endpoint.startswith("rtu://"):
        return AsyncModbusSerialClient(endpoint[len("rtu://"):], framer=FramerType.RTU, baudrate=19200,
                                       parity="N", stopbits=1, bytesize=8, timeout=timeout, retries=0)
    framer = FramerType.RTU if endpoint.startswith("rtu+tcp://") else FramerType.SOCKET
    return AsyncModbusTcpClient("127.0.0.1", port=port_of(endpoint), framer=framer, timeout=timeout,
                                retries=0, reconnect_delay=0.05, reconnect_delay_max=0.2)


def with_sim(opts: SimOptions, body: Callable[[Simulator], Awaitable[None]]) -> Simulator:
    async def main() -> Simulator:
        sim = Simulator(opts)
        await sim.start()
        try:
            await body(sim)
        finally:
            await sim.close()
        return sim
    return asyncio.run(main())


def decoded(registers: list[int], start: int = 4002) -> dict[str, float | None]:
    return {r.name: r.value(registers[r.address - start:r.end - start]) for r in MODEL.registers}


async def read_block(client: Any, unit: int = 1) -> Any:
    return await client.read_input_registers(4002, count=38, device_id=unit)


# ---------------------------------------------------------------- pure framing

def test_crc16_check_value_and_frames() -> None:
    assert crc16(b"123456789") == 0x4B37  # CRC-16/MODBUS check value
    frame = rtu_frame(1, bytes.fromhex("040fa20026"))
    assert frame.hex() == "01040fa20026d326" and crc_ok(frame)
    assert mbap_frame(0x1234, 7, b"\x04\x0f\xa2\x00\x26").hex() == "123400000006070" + "40fa20026"


def test_answer_checks_function_quantity_address_in_that_order() -> None:
    span, refuse = (4002, 4040), [(4004, 4005)]
    read = lambda a, n: list(range(a, a + n))  # noqa: E731
    pdu = lambda fc, a, n: struct.pack(">BHH", fc, a, n)  # noqa: E731
    assert answer(pdu(3, 4002, 2), span, refuse, read) == b"\x83\x01"
    assert answer(pdu(6, 4002, 2), span, refuse, read) == b"\x86\x01"
    assert answer(pdu(4, 4002, 0), span, refuse, read) == b"\x84\x03"
    assert answer(pdu(4, 4002, 126), span, refuse, read) == b"\x84\x03"
    assert answer(pdu(4, 4000, 2), span, refuse, read) == b"\x84\x02"
    assert answer(pdu(4, 4039, 2), span, refuse, read) == b"\x84\x02"
    assert answer(pdu(4, 4002, 38), span, refuse, read) == b"\x84\x02"  # overlaps 4004-4005
    assert answer(pdu(4, 4005, 1), span, refuse, read) == b"\x84\x02"
    assert answer(pdu(4, 4006, 2), span, refuse, read) == b"\x04\x04" + struct.pack(">HH", 4006, 4007)
    assert answer(pdu(4, 4002, 2), span, [], read) == b"\x04\x04" + struct.pack(">HH", 4002, 4003)


def test_rtu_splitter_pieces_batches_garbage_and_silence() -> None:
    a, b = rtu_frame(1, bytes.fromhex("040fa20026")), rtu_frame(2, bytes.fromhex("040fa20002"))
    s = RtuSplitter()
    assert s.feed(a[:3]) == [] and s.feed(a[3:7]) == [] and s.feed(a[7:]) == [a[:-2]]
    assert s.feed(a + b) == [a[:-2], b[:-2]]
    bad = a[:-1] + bytes([a[-1] ^ 1])
    assert s.feed(bad + b) == [] and s.wait(0.002, 0.5) == 0.002  # the garbage looks like FC 0x26
    assert s.silence() == [b[:-2]] and s.dropped == 8  # resynchronised on the next frame
    assert s.feed(b"\xff" + a) == [a[:-2]]  # garbage before a frame
    write = rtu_frame(1, bytes.fromhex("100fa2000204") + b"\x00\x01\x00\x02")  # FC16: 9 + byte count
    assert s.feed(write[:8]) == [] and s.wait(0.002, 0.5) == 0.5 and s.feed(write[8:]) == [write[:-2]]
    assert s.wait(0.002, 0.5) is None
    other = rtu_frame(1, b"\x11")  # report server id: no known length, only a silence ends it
    assert s.feed(other) == [] and s.wait(0.002, 0.5) == 0.002
    assert s.silence() == [other[:-2]] and not s.buffer
    s.feed(b"\x01\x2b\x0e\x01")
    assert s.silence() == [] and not s.buffer


# ---------------------------------------------------------------- reading over every link

def test_clients_read_the_whole_block_on_every_link(tmp_path: Path) -> None:
    link = str(tmp_path / "ttyRX380")
    opts = options(tcp=[("127.0.0.1", 0)], rtu_tcp=[("127.0.0.1", 0)], serial_links=[link])

    async def body(sim: Simulator) -> None:
        assert sim.endpoints[0].startswith("tcp://127.0.0.1:") and port_of(sim.endpoints[0]) > 0
        assert sim.endpoints[1].startswith("rtu+tcp://127.0.0.1:")
        assert sim.endpoints[2] == f"rtu://{link}"
        assert os.path.islink(link) and os.readlink(link).startswith("/dev/pts/")
        for endpoint in sim.endpoints:
            client = client_for(endpoint)
            assert await client.connect()
            try:
                for unit in UNITS:
                    rr = await read_block(client, unit)
                    assert not rr.isError() and len(rr.registers) == 38
                    words = sim.site.registers(unit, sim.clock())
                    assert rr.registers == [words[a] for a in range(4002, 4040)]
                    values, snap = decoded(rr.registers), sim.snapshot(unit)
                    for reg in MODEL.registers:
                        assert values[reg.name] == pytest.approx(snap[reg.name], abs=reg.factor / 2 + 1e-9)
                    assert rr.registers[2:4] == [0, 0] and rr.registers[6:8] == [0, 0]
            finally:
                client.close()

    sim = with_sim(opts, body)
    assert sim.stats.requests == {1: 3, 2: 3, 3: 3} and sim.stats.replies == {1: 3, 2: 3, 3: 3}
    assert not os.path.lexists(link)  # closing removes the symlink


def test_refusals_and_unknown_units(tmp_path: Path) -> None:
    opts = options(tcp=[("127.0.0.1", 0)], rtu_tcp=[("127.0.0.1", 0)], serial_links=[str(tmp_path / "tty")],
                   refuse=[(4004, 4005), (4008, 4009)])

    async def body(sim: Simulator) -> None:
        for endpoint in sim.endpoints:
            client = client_for(endpoint)
            await client.connect()
            try:
                rr = await read_block(client)
                assert rr.isError() and rr.exception_code == 2  # the block touches refused registers
                rr = await client.read_input_registers(4010, count=30, device_id=1)
                assert not rr.isError() and len(rr.registers) == 30
                rr = await client.read_input_registers(3990, count=14, device_id=1)
                assert rr.isError() and rr.exception_code == 2
                rr = await client.read_input_registers(4038, count=4, device_id=2)
                assert rr.isError() and rr.exception_code == 2
                rr = await client.read_holding_registers(4002, count=2, device_id=1)
                assert rr.isError() and rr.exception_code == 1
                with pytest.raises(ModbusException):  # a silent unit: the client times out
                    await client.read_input_registers(4002, count=2, device_id=9)
            finally:
                client.close()

    sim = with_sim(opts, body)
    assert sim.stats.requests[9] == 3 and sim.stats.replies[9] == 0


def test_gateway_errors_option_answers_0x0b_for_unknown_units() -> None:
    async def body(sim: Simulator) -> None:
        client = client_for(sim.endpoints[0])
        await client.connect()
        rr = await client.read_input_registers(4002, count=2, device_id=42)
        client.close()
        assert rr.isError() and rr.exception_code == 0x0B

    with_sim(options(tcp=[("127.0.0.1", 0)], gateway_errors=True), body)


async def raw_exchange(port: int, data: bytes | list[bytes], expect: int, pause: float = 0.0,
                       wait: float = 1.0) -> bytes:
    """Send bytes (pieces with pauses between them) and collect `expect` bytes or what came by `wait`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for i, piece in enumerate([data] if isinstance(data, bytes) else data):
            if i:
                await asyncio.sleep(pause)
            writer.write(piece)
            await writer.drain()
        got = b""
        deadline = time.monotonic() + wait
        while len(got) < expect and (left := deadline - time.monotonic()) > 0:
            try:
                chunk = await asyncio.wait_for(reader.read(1024), left)
            except asyncio.TimeoutError:
                break
            if not chunk:
                break
            got += chunk
        return got
    finally:
        writer.close()
        await writer.wait_closed()


def test_modbus_tcp_pipelining_and_many_clients() -> None:
    async def body(sim: Simulator) -> None:
        port = port_of(sim.endpoints[0])
        requests = b"".join(mbap_frame(tid, unit, struct.pack(">BHH", 4, 4019, 1))
                            for tid, unit in ((7, 1), (8, 2), (9, 3)))
        got = await raw_exchange(port, requests, 3 * 11)
        replies = [struct.unpack(">HHHBBBH", got[i:i + 11]) for i in range(0, 33, 11)]
        assert [(r[0], r[3]) for r in replies] == [(7, 1), (8, 2), (9, 3)]  # transaction and unit echoed
        assert all(r[4:6] == (4, 2) and 4990 <= r[6] <= 5010 for r in replies)  # 49.90..50.10 Hz

        async def one(i: int) -> list[int]:
            client = client_for(sim.endpoints[0], timeout=2)
            await client.connect()
            try:
                return [len((await read_block(client, 1 + i % 3)).registers) for _ in range(5)]
            finally:
                client.close()
        assert await asyncio.gather(*(one(i) for i in range(6))) == [[38] * 5] * 6

    with_sim(options(tcp=[("127.0.0.1", 0)]), body)


def test_rtu_over_tcp_framing() -> None:
    async def body(sim: Simulator) -> None:
        port = port_of(sim.endpoints[0])
        req = rtu_frame(1, struct.pack(">BHH", 4, 4002, 38))
        got = await raw_exchange(port, [req[:3], req[3:5], req[5:]], 81, pause=0.05)  # in pieces
        assert len(got) == 81 and crc_ok(got) and got[:3] == b"\x01\x04\x4c"
        two = req + rtu_frame(2, struct.pack(">BHH", 4, 4034, 2))
        got = await raw_exchange(port, two, 81 + 9)  # two requests in one chunk
        assert crc_ok(got[:81]) and crc_ok(got[81:]) and got[81] == 2
        bad = req[:-1] + bytes([req[-1] ^ 0x55])
        assert await raw_exchange(port, bad, 1, wait=0.2) == b""  # bad CRC: silence
        assert len(await raw_exchange(port, [bad, req], 81, pause=0.02)) == 81  # then back in step
        got = await raw_exchange(port, rtu_frame(1, struct.pack(">BHH", 6, 4002, 1)), 5)
        assert got == rtu_frame(1, b"\x86\x01")
        write = rtu_frame(1, struct.pack(">BHHB", 16, 4002, 1, 2) + b"\x00\x01")
        assert await raw_exchange(port, write, 5) == rtu_frame(1, b"\x90\x01")
        assert await raw_exchange(port, rtu_frame(1, b"\x11"), 5) == rtu_frame(1, b"\x91\x01")
        count = rtu_frame(1, struct.pack(">BHH", 4, 4002, 126))
        assert await raw_exchange(port, count, 5) == rtu_frame(1, b"\x84\x03")

    sim = with_sim(options(rtu_tcp=[("127.0.0.1", 0)]), body)
    assert sim.stats.dropped_bytes >= 16


# ---------------------------------------------------------------- faults

@pytest.mark.parametrize("kind", ["tcp", "rtu_tcp", "serial"])
def test_each_fault_is_seen_by_a_client(kind: str, tmp_path: Path) -> None:
    link = [str(tmp_path / "ttyRX")] if kind == "serial" else []
    addr = [("127.0.0.1", 0)]
    opts = options(tcp=addr if kind == "tcp" else [], rtu_tcp=addr if kind == "rtu_tcp" else [],
                   serial_links=link)

    async def body(sim: Simulator) -> None:
        client = client_for(sim.endpoints[0])
        await client.connect()
        try:
            for fault in ("no_reply", "bad_crc", "truncated"):
                sim.inject(fault, unit=1)
                with pytest.raises(ModbusException):  # nothing a client can accept
                    await read_block(client)
                await asyncio.sleep(0.05)
                if not client.connected:  # pymodbus drops TCP after an undecodable frame
                    await client.connect()
                assert len((await read_block(client)).registers) == 38
            sim.inject("exception", unit=1)
            rr = await read_block(client)
            assert rr.isError() and rr.exception_code == 4
            before = decoded((await read_block(client, 2)).registers)["total_real_energy"]
            assert before and before > 1000
            sim.inject("counter_reset", unit=2)
            assert decoded((await read_block(client, 2)).registers)["total_real_energy"] == 0
            sim.clock.t += timedelta(hours=1)  # type: ignore[attr-defined]
            assert 5 < decoded((await read_block(client, 2)).registers)["total_real_energy"] < 50
        finally:
            client.close()

    sim = with_sim(opts, body)
    assert sim.stats.faults == {"no_reply": 1, "bad_crc": 1, "truncated": 1, "exception": 1,
                                "counter_reset": 1}


@pytest.mark.parametrize("rtu", [False, True])
def test_garbled_frames_on_the_wire(rtu: bool) -> None:
    opts = options(rtu_tcp=[("127.0.0.1", 0)]) if rtu else options(tcp=[("127.0.0.1", 0)])

    async def body(sim: Simulator) -> None:
        port = port_of(sim.endpoints[0])
        pdu = struct.pack(">BHH", 4, 4002, 38)
        req, full = (rtu_frame(1, pdu), 81) if rtu else (mbap_frame(5, 1, pdu), 85)
        sim.inject("bad_crc", unit=1)
        got = await raw_exchange(port, req, full)
        if rtu:
            assert len(got) == 81 and not crc_ok(got)
        else:
            assert len(got) == 85 and got[8] != 76  # byte count disagrees with the data
        sim.inject("truncated", unit=1)
        got = await raw_exchange(port, req, full, wait=0.3)
        assert 0 < len(got) < full
        sim.inject("exception", unit=1)
        got = await raw_exchange(port, req, 5 if rtu else 9)
        assert got == (rtu_frame(1, b"\x84\x04") if rtu else mbap_frame(5, 1, b"\x84\x04"))

    with_sim(opts, body)


def test_forced_faults_count_and_any_unit() -> None:
    async def body(sim: Simulator) -> None:
        client = client_for(sim.endpoints[0], timeout=0.15)
        await client.connect()
        try:
            sim.inject("exception", unit=None, count=3)
            codes = [(await read_block(client, u)).isError() for u in (2, 3, 1, 1)]
            assert codes == [True, True, True, False]
            sim.inject("no_reply", unit=2, count=2)
            assert not (await read_block(client, 1)).isError()  # other units unaffected
            for _ in range(2):
                with pytest.raises(ModbusException):
                    await read_block(client, 2)
            assert not (await read_block(client, 2)).isError()
        finally:
            client.close()

    with_sim(options(tcp=[("127.0.0.1", 0)], exception_code=6), body)


def test_fault_rates_are_seeded() -> None:
    def run(seed: int) -> tuple[dict[str, int], list[bool]]:
        outcome: list[bool] = []

        async def body(sim: Simulator) -> None:
            port = port_of(sim.endpoints[0])
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            for tid in range(40):
                writer.write(mbap_frame(tid, 1, struct.pack(">BHH", 4, 4019, 1)))
                head = await asyncio.wait_for(reader.readexactly(7), 1)
                pdu = await reader.readexactly(struct.unpack(">H", head[4:6])[0] - 1)
                outcome.append(pdu[0] == 0x84)
            writer.close()
            await writer.wait_closed()

        sim = with_sim(options(tcp=[("127.0.0.1", 0)], faults={"exception": 0.3, "counter_reset": 0.1},
                               seed=seed), body)
        return dict(sim.stats.faults), outcome

    a, b, c = run(11), run(11), run(12)
    assert a == b and a != c
    assert 4 <= a[0]["exception"] <= 24 and sum(a[1]) == a[0]["exception"]


def test_tcp_link_down_and_back_on_the_same_port() -> None:
    async def body(sim: Simulator) -> None:
        endpoints = list(sim.endpoints)
        clients = [client_for(e) for e in endpoints]
        for c in clients:
            await c.connect()
            assert len((await read_block(c)).registers) == 38
        await sim.link_down(0.8)
        for e, c in zip(endpoints, clients):
            with pytest.raises((ConnectionException, ModbusException)):
                await read_block(c)
            with pytest.raises(OSError):  # nobody listens while the link is down
                await asyncio.open_connection("127.0.0.1", port_of(e))
        await asyncio.sleep(1.0)
        assert sim.endpoints == endpoints
        for c in clients:
            c.close()
        for e in endpoints:  # the same simulator, the same ports, serving again
            c = client_for(e)
            assert await c.connect()
            assert len((await read_block(c)).registers) == 38
            c.close()

    sim = with_sim(options(tcp=[("127.0.0.1", 0)], rtu_tcp=[("127.0.0.1", 0)]), body)
    assert sim.stats.faults["link_down"] == 1


def test_serial_link_down_unplugs_the_pty(tmp_path: Path) -> None:
    link = str(tmp_path / "ttyUSB0")

    async def body(sim: Simulator) -> None:
        fd = os.open(link, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)  # a client holding the port
        request = rtu_frame(1, struct.pack(">BHH", 4, 4002, 2))

        def unplugged() -> bool:
            try:
                os.write(fd, request)
                return not os.read(fd, 64)  # end of file
            except BlockingIOError:
                return False
            except OSError as exc:
                return exc.errno == errno.EIO  # like an unplugged USB adapter

        try:
            sim.inject("link_down")  # lasts the options' link_down_seconds
            for _ in range(100):
                if not os.path.lexists(link):
                    break
                await asyncio.sleep(0.01)
            assert not os.path.lexists(link) and unplugged()
            for _ in range(200):
                if os.path.lexists(link):
                    break
                await asyncio.sleep(0.01)
            assert os.readlink(link).startswith("/dev/pts/")
            assert unplugged()  # the old port stays dead: the link points at a new pty
        finally:
            os.close(fd)
        client = client_for(sim.endpoints[0])
        assert await client.connect()
        assert len((await read_block(client)).registers) == 38
        client.close()

    with_sim(options(serial_links=[link], link_down_seconds=0.6), body)


def test_serial_link_replaces_symlinks_not_files(tmp_path: Path) -> None:
    old = tmp_path / "ttyOld"
    old.symlink_to("/nonexistent")
    with SimThread(options(serial_links=[str(old)])):
        assert os.readlink(old).startswith("/dev/pts/")
    regular = tmp_path / "ttyFile"
    regular.write_text("keep me")
    with pytest.raises(ConfigError, match="not a symlink"):
        with SimThread(options(serial_links=[str(regular)])):
            pass
    assert regular.read_text() == "keep me"


# ---------------------------------------------------------------- pacing

def test_pacing_takes_the_wire_time_and_serialises_the_bus(tmp_path: Path) -> None:
    link = str(tmp_path / "ttyRX")
    opts = options(tcp=[("127.0.0.1", 0)], serial_links=[link], pace=True, baud=19200, latency_ms=10)
    char = 11 / 19200
    wire = (8 + 3.5 + 81 + 3.5) * char + 0.010  # 38 registers: 8-byte request, 81-byte reply
    assert wire == pytest.approx(0.065, abs=0.001)

    async def body(sim: Simulator) -> None:
        assert sim.wire_time(8, 81) == pytest.approx(wire)
        for endpoint in sim.endpoints:
            client = client_for(endpoint, timeout=2)
            await client.connect()
            t = time.perf_counter()
            assert len((await read_block(client)).registers) == 38
            assert time.perf_counter() - t >= wire * 0.98
            client.close()
        clients = [client_for(sim.endpoints[0], timeout=5) for _ in range(4)]
        for c in clients:
            await c.connect()
        t = time.perf_counter()
        done = await asyncio.gather(*(timed(read_block(c, 1 + i % 3)) for i, c in enumerate(clients)))
        assert time.perf_counter() - t >= 4 * wire * 0.98  # one request at a time on the bus
        assert sorted(done)[-1] >= 4 * wire * 0.98 and sorted(done)[1] >= 2 * wire * 0.98
        for c in clients:
            c.close()

    with_sim(opts, body)


async def timed(aw: Awaitable[Any]) -> float:
    t = time.perf_counter()
    await aw
    return time.perf_counter() - t


# ---------------------------------------------------------------- thread wrapper, run_sim, options

def test_sim_thread_for_sync_code() -> None:
    with SimThread(options(tcp=[("127.0.0.1", 0)], units={5: "retail"})) as sim:
        port = port_of(sim.endpoints[0])
        client = ModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
        assert client.connect()
        rr = client.read_input_registers(4002, count=38, device_id=5)
        assert decoded(rr.registers)["total_real_power"] == round(sim.snapshot(5)["total_real_power"])
        client.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5)


def test_sim_thread_run_link_down() -> None:
    wrapper = SimThread(options(tcp=[("127.0.0.1", 0)]))
    with wrapper as sim:
        port = port_of(sim.endpoints[0])
        wrapper.run(sim.link_down(1.0), timeout=5)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5)
        deadline = time.monotonic() + 10
        while True:  # back by itself, on the same port
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert sim.stats.faults["link_down"] == 1


def test_run_sim_serves_until_stopped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    link = tmp_path / "ttyRX"

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_sim(options(serial_links=[str(link)]), stop))
        for _ in range(200):
            if link.is_symlink():
                break
            await asyncio.sleep(0.01)
        assert link.is_symlink()
        stop.set()
        await asyncio.wait_for(task, 5)

    with caplog.at_level(logging.INFO, logger="wattlog.sim"):
        asyncio.run(main())
    assert not link.is_symlink()
    assert any(f"rtu://{link}" in r.getMessage() for r in caplog.records if r.name == "wattlog.sim")


def test_speed_runs_simulated_time_faster() -> None:
    sim = Simulator(SimOptions(units={1: "office"}, speed=3600))
    a = sim.clock()
    time.sleep(0.02)
    assert (sim.clock() - a).total_seconds() >= 0.02 * 3600 * 0.9
    assert abs((a - datetime.now(timezone.utc)).total_seconds()) < 5


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="profile"):
        Simulator(options(units={1: "bakery"}))
    with pytest.raises(ConfigError, match="unit id"):
        Simulator(options(units={300: "office"}))
    with pytest.raises(ConfigError, match="fault"):
        Simulator(options(faults={"gremlins": 0.1}))
    with pytest.raises(ConfigError, match="probability"):
        Simulator(options(faults={"no_reply": 2}))
    with pytest.raises(ValueError, match="unknown fault"):
        Simulator(options()).inject("gremlins")
    with pytest.raises(ValueError, match="not simulated"):
        Simulator(options()).inject("no_reply", unit=99)
