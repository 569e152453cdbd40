"""The spool's bound and pruning, on the real SQLite spool: only undelivered rows count, the
slowest sink holds rows, drops are the oldest undelivered only, counted and logged once per episode."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import datetime, timedelta, timezone

from wattlog.reading import Reading
from wattlog.sinks.spool import Spool

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


def readings(n: int, start: int = 0) -> list[Reading]:
    return [Reading("m", T0 + timedelta(seconds=start + i), "rx380", {"total_real_power": float(start + i)})
            for i in range(n)]


def seqs(path) -> list[int]:
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute("SELECT seq FROM spool ORDER BY seq")]


def test_prune_keeps_what_the_slowest_sink_has_not_taken(tmp_path):
    async def go() -> list[int]:
        sp = Spool(tmp_path / "spool.db")
        for s in ("fast", "slow"):
            await sp.register(s)
        await sp.append(readings(100))
        await sp.ack("fast", 100)
        await sp.ack("slow", 10)
        removed = await sp.prune(["fast", "slow"])
        assert removed == 10
        left = await sp.fetch("slow", 1000)
        await sp.close()
        return [e.seq for e in left]

    assert asyncio.run(go()) == list(range(11, 101))
    assert seqs(tmp_path / "spool.db") == list(range(11, 101))


def test_the_bound_counts_only_undelivered_rows(tmp_path, caplog):
    """Every sink healthy: thousands of delivered rows past the bound are no loss and no error."""
    async def go() -> int:
        sp = Spool(tmp_path / "spool.db", max_readings=100)
        await sp.register("db")
        for i in range(30):
            await sp.append(readings(20, 20 * i))
            batch = await sp.fetch("db", 1000)
            await sp.ack("db", batch[-1].seq)
        dropped = sp.dropped
        await sp.close()
        return dropped

    with caplog.at_level(logging.WARNING, logger="wattlog"):
        assert asyncio.run(go()) == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert len(seqs(tmp_path / "spool.db")) <= 100  # the delivered rows were pruned, not kept for ever


def test_past_the_bound_only_the_oldest_undelivered_go_counted_once_per_episode(tmp_path, caplog):
    async def go() -> tuple[int, list[int], list[int]]:
        sp = Spool(tmp_path / "spool.db", max_readings=100)
        for s in ("csv", "db"):
            await sp.register(s)
        await sp.append(readings(50))
        await sp.ack("csv", 50)
        await sp.ack("db", 50)  # both healthy so far
        for i in range(10):  # then db is down: 200 more, 20 per flush
            await sp.append(readings(20, 50 + 20 * i))
            batch = await sp.fetch("csv", 1000)
            await sp.ack("csv", batch[-1].seq)
        during = [e.seq for e in await sp.fetch("db", 1000)]
        # db is back and catches up: the episode ends
        await sp.ack("db", during[-1])
        await sp.append(readings(1, 250))
        after = [e.seq for e in await sp.fetch("db", 1000)]
        dropped = sp.dropped
        await sp.close()
        return dropped, during, after

    with caplog.at_level(logging.INFO, logger="wattlog.spool"):
        dropped, during, after = asyncio.run(go())
    # 200 undelivered for db against a bound of 100: exactly the 100 oldest of them are lost
    assert dropped == 100
    assert during == list(range(151, 251)), "the newest max_readings undelivered are kept, in order"
    assert after == [251]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2, errors  # one when the episode starts, one with the total when it ends
    assert "db" in errors[0] and "csv" not in errors[0].split("because")[1].split("did not")[0]
    assert "100 undelivered readings were dropped" in errors[1] and "db did not take them" in errors[1]


def test_an_episode_still_going_at_the_stop_is_totalled(tmp_path, caplog):
    async def go() -> None:
        sp = Spool(tmp_path / "spool.db", max_readings=10)
        await sp.register("db")
        for i in range(5):
            await sp.append(readings(7, 7 * i))
        await sp.close()

    with caplog.at_level(logging.INFO, logger="wattlog.spool"):
        asyncio.run(go())
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2 and "25 undelivered readings were dropped" in errors[1], errors


# -- the stored format (issue 14: records deflated against a fixed dictionary) ---------------------

PACKED = bytes.fromhex(
    "01ab0647737e5a5a66722a72641b1a8123db021ad98646c626a66644473634988dcc4ccc31dc6f64a967a8832d6598991b9b2"
    "11c8d1409d1c8ae06da9698945f96aa606ea0e051a5a463666aaa676c1a5b5b0b00")


def sample() -> Reading:
    from wattlog.reading import Problem

    return Reading("office", datetime(2026, 12, 1, 8, 0, 0, 123456, tzinfo=timezone.utc), "rx380",
                   {"total_real_power": 2647.0, "voltage_l1": 229.1, "total_real_energy": 6736.0},
                   {"frequency": Problem("implausible", "above 70 Hz", 655.35)})


def test_a_row_spooled_by_an_earlier_version_is_read_after_an_upgrade(tmp_path):
    """Rows packed by this version (bytes fixed here: the dictionary must never change) and JSON text rows
    of the versions before issue 14 are both delivered, in order, with every value and problem."""
    import json

    from wattlog.reading import to_record
    from wattlog.sinks.spool import SCHEMA, unpack

    path = tmp_path / "spool.db"
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        db.execute("INSERT INTO spool (data) VALUES (?)", (json.dumps(to_record(sample())),))
        db.execute("INSERT INTO spool (data) VALUES (?)", (PACKED,))

    async def go() -> list[Reading]:
        sp = Spool(path)
        await sp.register("db", from_start=True)
        await sp.append([sample()])
        got = [e.reading for e in await sp.fetch("db", 10)]
        await sp.close()
        return got

    assert asyncio.run(go()) == [sample()] * 3
    with sqlite3.connect(path) as db:
        newest = db.execute("SELECT data FROM spool ORDER BY seq DESC LIMIT 1").fetchone()[0]
    assert newest[:1] == b"\x01" and len(newest) < len(json.dumps(to_record(sample()))) / 2
    try:
        unpack(b"\x07" + PACKED[1:])
    except ValueError as exc:
        assert "unknown format" in str(exc)
    else:
        raise AssertionError("a row in an unknown format must not pass as a reading")


def test_the_dictionary_of_packed_rows_never_changes():
    """Rows packed with it may sit in a spool across an upgrade: a change, even one a given row does
    not happen to reference, must come with a new format tag, not an edit (PACKED above would still
    decode after some edits)."""
    import hashlib

    from wattlog.sinks.spool import _ZDICT_V1

    assert hashlib.sha256(_ZDICT_V1).hexdigest() == "45fa4a2af99d9e966cee053378ed3e8be9a4c31e78e03bc82fc9f0b5e3c45869"
