"""The generated function blocks, run by an evaluator over blark's parse tree, against wattlog's Python.

Decode: every type and word order of the definition format (the reference table of test_decode and
random words), sentinel, scale, unit conversion and each plausibility rule, against
`Register.value` + `check_plausible` as the poller applies them. Energy/demand: a day of polls
with jitter, gaps, untrusted power and boundary hits, against the rollups (`compute_15m`) and the
demand blocks (`demand_blocks`) the reports use.
"""

from __future__ import annotations

import math
import random
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from plc_eval import FunctionBlock, struct_fields
from test_decode import CASES

from wattlog.analytics.series import Interval, demand_blocks
from wattlog.meters.decode import WORDS, encode
from wattlog.meters.definition import get_model, parse_model
from wattlog.plc.bodies import decimal_ratio
from wattlog.plc.project import project
from wattlog.plc.st import st_files
from wattlog.reading import MISSING, Problem, Reading, check_plausible
from wattlog.store.refresh import HORIZON
from wattlog.store.rollup import compute_15m

ORDERS = ("high_first", "low_first")
T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


def every_kind_model():
    """A definition using every type x word order, scales, a unit conversion, sentinels, every
    plausibility rule, and both function codes (two read blocks)."""
    regs, addr = [], 100
    for type_ in WORDS:
        for order in ORDERS:
            regs.append({"name": f"{type_}_{order}", "address": addr, "type": type_, "word_order": order,
                         "unit": "x", "kind": "instantaneous",
                         "scale": 0.01 if type_ != "float32" else 1})
            addr += WORDS[type_]
    regs += [
        {"name": "total_power_factor", "address": 200, "type": "s16", "scale": 0.001, "unit": ""},
        {"name": "frequency", "address": 201, "type": "u16", "scale": 0.01, "unit": "Hz"},
        {"name": "voltage_l1", "address": 202, "type": "u32", "scale": 0.1, "unit": "V", "valid": [0, 300],
         "sentinel": 0xFFFFFFFF},
        {"name": "total_real_power", "address": 204, "type": "s32", "unit": "kW", "scale": 0.001},
        {"name": "total_real_energy", "address": 206, "type": "u64", "unit": "Wh", "word_order": "low_first",
         "sentinel": -1 + (1 << 64)},
        {"name": "total_reactive_energy", "address": 210, "type": "float32", "unit": "kvarh", "valid": [0, 1e9]},
        {"name": "s64_sentinel", "address": 212, "type": "s64", "unit": "x", "kind": "counter",
         "sentinel": -(1 << 63)},
        {"name": "scaled_odd", "address": 216, "type": "s32", "unit": "x", "kind": "instantaneous", "scale": 0.0025,
         "valid": [-2e6, 3e20]},
        {"name": "sentinel_low", "address": 218, "type": "s32", "word_order": "low_first", "unit": "x",
         "kind": "instantaneous", "sentinel": -32768},  # words 0x8000, 0xFFFF: the order matters
        {"name": "scaled_decimal", "address": 220, "type": "s32", "unit": "x", "kind": "instantaneous",
         "scale": 0.3},  # not 1/d: raw x 3 / 10
        {"name": "scaled_binary", "address": 222, "type": "u16", "unit": "x", "kind": "instantaneous",
         "scale": 0.1 / 3},  # no short decimal: multiplied, as in Python
        {"name": "current_l1", "address": 300, "type": "u16", "scale": 0.001, "unit": "A", "function": 3},
    ]
    return parse_model({"model": "every_kind", "name": "Every kind", "max_gap": 16, "registers": regs},
                       "every_kind.toml")


def build(model):
    proj = project(model)
    files = st_files(proj)
    structs = dict(struct_fields(files[f"{s.name}.st"]) for s in proj.structs)
    decode = next(p for p in proj.pous if p.name.endswith("Decode"))
    return proj, files, structs, FunctionBlock(files[f"{decode.name}.st"], structs)


class Pair:
    """The generated decode FB and the Python path (Register.value + check_plausible) side by side."""

    def __init__(self, model):
        self.model = model
        self.proj, self.files, _, self.fb = build(model)
        self.blocks = self.proj.blocks
        self.last_counters: dict[str, float] = {}

    def run(self, words: list[list[int]], ok: list[bool] | None = None):
        ok = ok or [True] * len(words)
        reading = Reading("m", T0, self.model.model)
        inputs = {}
        for i, (blk, w, good) in enumerate(zip(self.blocks, words, ok)):
            inputs[f"awBlock{i + 1}"], inputs[f"xBlock{i + 1}Ok"] = w, good
            for reg in blk.registers:  # as polling/bus.py turns a reply into a reading
                if not good:
                    reading.problems[reg.name] = Problem(MISSING, "no answer")
                    continue
                value = reg.value(blk.words_of(reg, w))
                if value is None:
                    reading.problems[reg.name] = Problem(MISSING, "the meter reports 'not available'")
                else:
                    reading.values[reg.name] = value
        check_plausible(reading, self.model, self.last_counters)
        self.fb(**inputs)
        return reading, self.fb["stValues"], self.fb["stQuality"]

    def place(self, values: dict[str, list[int]]) -> list[list[int]]:
        """Block words with each named register's words at its offset (others zero)."""
        out = []
        for blk in self.blocks:
            w = [0] * blk.count
            for reg in blk.registers:
                if reg.name in values:
                    w[reg.address - blk.address:reg.end - blk.address] = values[reg.name]
            out.append(w)
        return out


def same(st: float, py: float, reg=None) -> bool:  # type: ignore[no-untyped-def]
    """Python rounds integer-scaled values to 9 decimals (binary noise); the ST divides by the
    scale's decimal denominator, which gives the same float below 1e6 and may differ in the last
    bit above. A scale that is no short decimal (0.1 / 3) is multiplied: then the two differ by at
    most Python's rounding step, 5e-10."""
    if reg is not None and reg.type != "float32" and reg.factor != 1.0 and decimal_ratio(reg.factor) is None:
        return abs(st - py) <= 5e-10 + 2 * math.ulp(py)
    if abs(py) < 1e6:
        return st == py
    return abs(st - py) <= 2 * math.ulp(py)


def assert_agree(reading, values, quality, model):
    for reg in model.registers:
        n = reg.name
        flag = reading.quality(n)
        assert quality[n] == {"ok": 0, "missing": 1, "implausible": 2}[flag], (n, flag, values[n])
        if flag == "ok":
            assert same(values[n], reading.values[n], reg), (n, values[n], reading.values[n])
        elif flag == "implausible":
            raw = reading.problems[n].raw
            assert (values[n] == 0.0 and not math.isfinite(raw)) or same(values[n], raw, reg), (n, values[n], raw)
        else:
            assert values[n] == 0.0


@pytest.fixture(scope="module")
def every():
    return every_kind_model()


def test_the_definition_needs_two_blocks(every):
    assert [(b.function, b.address, b.count) for b in Pair(every).blocks] == [(3, 300, 1), (4, 100, 32), (4, 200, 23)]


@pytest.mark.parametrize("words, type_, order, value", CASES)
def test_reference_table(every, words, type_, order, value):
    pair = Pair(every)
    name = f"{type_}_{order}"
    reading, values, quality = pair.run(pair.place({name: words}))
    assert quality[name] == 0
    expected = value if type_ == "float32" else round(value * 0.01, 9)
    assert reading.values[name] == expected  # the Python path: the table's value, scaled
    assert same(values[name], expected)
    assert_agree(reading, values, quality, every)


def test_random_words_every_type_and_rule(every):
    """Random words (biased to edges: sentinels, NaN, infinity, the bounds) poll after poll, so the
    counters' memory is exercised too."""
    rng = random.Random(15)
    pair = Pair(every)
    specials = {"voltage_l1": [[0xFFFF, 0xFFFF], encode(3000, "u32"), encode(3001, "u32")],
                "total_real_energy": [[0xFFFF] * 4],
                "s64_sentinel": [[0x8000, 0, 0, 0]],
                "sentinel_low": [[0x8000, 0xFFFF], [0xFFFF, 0x8000]],
                "frequency": [encode(4500, "u16"), encode(6500, "u16"), encode(4499, "u16"), encode(6501, "u16")],
                "total_power_factor": [encode(1000, "s16"), encode(-1000, "s16"), encode(-1001, "s16")],
                "total_reactive_energy": [encode(float("inf"), "float32"), [0x7FC0, 0], [0x0000, 0x0001]]}
    seen = {"ok": 0, "missing": 0, "implausible": 0}
    for _ in range(300):
        values = {}
        for reg in every.registers:
            pick = rng.random()
            if reg.name in specials and pick < 0.3:
                values[reg.name] = rng.choice(specials[reg.name])
            elif reg.kind == "counter" and pick < 0.8:  # mostly rising, sometimes falling
                values[reg.name] = encode(rng.randrange(0, 1 << 20) + rng.randrange(0, 1 << 10), reg.type,
                                          reg.word_order)
            else:
                values[reg.name] = [rng.randrange(0, 1 << 16) for _ in range(reg.words)]
        ok = [rng.random() > 0.05 for _ in pair.blocks]
        reading, st_values, st_quality = pair.run(pair.place(values), ok)
        assert_agree(reading, st_values, st_quality, every)
        for reg in every.registers:
            seen[reading.quality(reg.name)] += 1
    assert min(seen.values()) > 50, seen  # every outcome was compared many times


def test_rx380_reference_words():
    rx = get_model("rx380")
    pair = Pair(rx)
    words = {"voltage_l1": encode(2314, "u32"), "voltage_l2": encode(2299, "u32"), "voltage_l3": encode(3001, "u32"),
             "frequency": encode(5002, "u16"), "total_power_factor": encode(-950, "s16"),
             "total_real_power": encode(-1500, "s32"), "total_real_energy": encode(123456, "u32"),
             "current_l1": encode(12345, "u32")}
    reading, values, quality = pair.run(pair.place(words))
    assert values["voltage_l1"] == 231.4 and values["frequency"] == 50.02
    assert values["total_power_factor"] == -0.95 and values["total_real_power"] == -1500.0
    assert quality["voltage_l3"] == 2  # 300.1 V > 300 V
    assert_agree(reading, values, quality, rx)
    reading, values, quality = pair.run(pair.place({**words, "total_real_energy": encode(123455, "u32")}))
    assert quality["total_real_energy"] == 2  # went backwards
    assert_agree(reading, values, quality, rx)
    reading, values, quality = pair.run(pair.place(words), [False])
    assert set(quality.values()) == {1}
    assert_agree(reading, values, quality, rx)


# -- energy and demand

OFFSET_US = 8 * 3600 * 1_000_000  # the site's clock: UTC+8, as the PLC's local time
GAP_US = 60_000_000


def polls(seed: int) -> list[tuple[int, float | None]]:
    """About 27 hours of 10-second polls (UTC us, W or None): jitter, gaps of 1.5 and 40 minutes,
    intervals of exactly the gap limit and 1 us more, readings exactly on quarter boundaries,
    untrusted power, and a midnight."""
    rng = random.Random(seed)
    t = int(T0.timestamp() * 1e6) - 3 * 3600 * 1_000_000 + 123_456
    out = []
    p = 20_000.0
    while len(out) < 10_000:
        r = rng.random()
        if r < 0.002:
            t += 40 * 60 * 1_000_000
        elif r < 0.006:
            t += 90 * 1_000_000
        elif r < 0.010:
            t += GAP_US  # exactly the gap limit: still integrated
        elif r < 0.012:
            t += GAP_US + 1  # one microsecond more: a gap
        elif r < 0.02:
            t += 900_000_000 - t % 900_000_000  # exactly on a boundary
        else:
            t += 10_000_000 + rng.randrange(-400_000, 400_000)
        p = max(-5000.0, p + rng.uniform(-800, 800))
        out.append((t, None if rng.random() < 0.03 else round(p, 1)))
    return out


def python_side(seq, window):
    rows = [(t, p) + (None,) * 14 for t, p in seq]
    lo = seq[0][0] - seq[0][0] % 900_000_000
    hi = seq[-1][0] - seq[-1][0] % 900_000_000 + 900_000_000
    quarters = compute_15m(rows, lo, hi, GAP_US, HORIZON, None, None)
    tz = timezone(timedelta(hours=8))
    intervals = []
    for b in range(lo, hi, 900_000_000):  # every quarter of the span, as the reports' day grid has
        row = quarters.get(b)
        kwh = row["energy_kwh"] if row else None
        # reports: a quarter without integrated energy is unknown (a whole-quarter gap), not zero
        gap = 900.0 if kwh is None else row["gap_s"]
        start = datetime.fromtimestamp(b / 1e6, tz)
        intervals.append(Interval(start, kwh or 0.0, gap_s=gap))
    return quarters, demand_blocks(intervals, window)


def run_energy(seq, window):
    _, files, structs, _ = build(get_model("rx380"))
    fb = FunctionBlock(files["FB_WattlogEnergy.st"], structs)
    quarters, blocks = {}, {}
    fb.watch["udiquarters"] = lambda f: quarters.__setitem__(
        f["liLastQuarterStartUs"], (f["rLastQuarterKWh"], f["rLastQuarterCoveredS"], f["rLastQuarterGapS"]))
    fb.watch["udiblocks"] = lambda f: blocks.__setitem__(
        f["liLastBlockStartUs"], (f["rLastBlockKW"], f["rLastBlockKWh"], f["xLastBlockComplete"]))
    for t, p in seq:
        fb(xSample=True, liNowUs=t + OFFSET_US, rPowerW=p if p is not None else 0.0, xPowerOk=p is not None,
           liGapUs=GAP_US, iWindowMin=window)
        fb(xSample=False)  # a PLC cycle without a new poll changes nothing
    quarters[fb["liQuarterStartUs"]] = (fb["rQuarterKWh"], fb["rQuarterCoveredS"], fb["rQuarterGapS"])
    return fb, quarters, blocks


@pytest.mark.parametrize("window", [30, 15])
def test_energy_and_demand_equal_the_rollups_and_the_reports(window):
    seq = polls(window)
    py_quarters, py_blocks = python_side(seq, window)
    fb, quarters, blocks = run_energy(seq, window)
    # every quarter the rollups have, the FB closed with the same floats (energy, covered, gap)
    expected = {b + OFFSET_US: (row["energy_kwh"] or 0.0, row["covered_s"], row["gap_s"])
                for b, row in py_quarters.items() if row["energy_kwh"] is not None or row["gap_s"]}
    got = {k: v for k, v in quarters.items() if k in expected}
    assert got == expected
    assert len(expected) > 100
    # demand blocks: every block the FB closed equals the report's block (kW, kWh, complete)
    py = {int(d.start.timestamp() * 1e6) + OFFSET_US: (d.kw, d.kwh, d.complete) for d in py_blocks}
    assert blocks and all(blocks[k] == py[k] for k in blocks), [(k, blocks[k], py[k]) for k in blocks
                                                                 if blocks[k] != py[k]][:3]
    assert {c for _, _, c in blocks.values()} == {True, False}  # both kinds were compared
    best = max(py_blocks[:-1], key=lambda d: d.kw)  # the last block is still open in the FB
    assert fb["rMaxKW"] == best.kw and fb["liMaxStartUs"] == int(best.start.timestamp() * 1e6) + OFFSET_US
    assert fb["rTotalKWh"] == pytest.approx(sum(v[0] for v in quarters.values()), rel=1e-12)


def test_projected_demand():
    seq = polls(7)[:500]
    _, files, structs, _ = build(get_model("rx380"))
    fb = FunctionBlock(files["FB_WattlogEnergy.st"], structs)
    checked = 0
    for k, (t, p) in enumerate(seq):
        fb(xSample=True, liNowUs=t + OFFSET_US, rPowerW=p or 0.0, xPowerOk=p is not None, liGapUs=GAP_US,
           iWindowMin=30)
        if k % 97 == 96 and p is not None:
            _, blocks = python_side(seq[:k + 1], 30)
            current = blocks[-1]  # the block now running: kWh so far as the report computes it
            remaining = (current.end.timestamp() * 1e6 - t) / 1e6
            expected = (current.kwh + p * remaining / 3.6e6) * 60 / 30
            assert fb["rBlockKWh"] == pytest.approx(current.kwh, rel=1e-12)
            assert fb["rProjectedKW"] == pytest.approx(expected, rel=1e-12)
            checked += 1
    assert checked >= 4


def test_a_bad_window_is_refused():
    _, files, structs, _ = build(get_model("rx380"))
    fb = FunctionBlock(files["FB_WattlogEnergy.st"], structs)
    fb(xSample=True, liNowUs=1, rPowerW=1.0, xPowerOk=True, iWindowMin=20)
    assert fb["xError"] and fb["udiQuarters"] == 0 and not fb["xHavePrev"]


def test_the_acceptance_table_in_the_docs_is_right():
    """docs/plc.md gives users words to type into the PLC and the values to expect: run them here."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "plc.md").read_text(encoding="utf-8")
    rows = [line for line in doc.splitlines() if line.startswith("| [")]
    assert len(rows) >= 5
    pair = Pair(get_model("rx380"))
    for row in rows:
        index, words, field, expected = [c.strip() for c in row.strip("|").split("|")]
        words_ = [int(w) for w in re.sub(r"\(.*?\)", "", words).split(",")]
        block = [0] * pair.blocks[0].count
        for i, w in zip(re.findall(r"\[(\d+)\]", index), words_):
            block[int(i)] = w
        name = field.strip("`").split(".")[1]
        _, values, quality = pair.run([block])
        value, _, rest = expected.partition(",")
        assert values[name] == float(value), row
        assert quality[name] == (2 if "**2**" in rest else 0), row


def test_the_example_program_wires_the_blocks():
    """PRG_Rx380Example run cycle by cycle: its struct equals the Python reading, and its energy
    block equals one fed directly with the Python-decoded power at the polls the timer makes."""
    rx = get_model("rx380")
    proj, files, structs, _ = build(rx)
    now = {"ms": 0}
    library = {p.name: files[f"{p.name}.st"] for p in proj.pous}
    prg = FunctionBlock(files["PRG_Rx380Example.st"], structs, library, clock=lambda: now["ms"])
    direct = FunctionBlock(files["FB_WattlogEnergy.st"], structs)
    pair = Pair(rx)
    rng = random.Random(3)
    samples = 0
    for cycle in range(120):
        now["ms"] = cycle * 2000  # a 2-second task cycle; the program's timer polls every 10 s
        power = rng.randrange(-3000, 60000)
        words = pair.place({"total_real_power": encode(power, "s32"),
                            "voltage_l1": encode(2300 + cycle, "u32"), "frequency": encode(5000, "u16")})[0]
        ok = cycle % 23 != 5  # now and then the read failed: power missing, that poll skipped
        prg.env["awblock1"], prg.env["xblock1ok"] = words, ok
        prg.env["lilocalnowus"] = 1_800_000_000_000_000 + now["ms"] * 1000
        prg()
        reading, _, _ = pair.run([words], [ok])
        for reg in rx.registers:
            expected = reading.values.get(reg.name)
            assert prg["stMeter"][reg.name] == (expected if expected is not None else 0.0)
        if prg["tonPoll"].env["q"]:  # the cycle the program sampled: feed the same to the direct FB
            samples += 1
            p = reading.values.get("total_real_power")
            direct(xSample=True, liNowUs=prg["liLocalNowUs"], rPowerW=p if p is not None else 0.0,
                   xPowerOk=p is not None, liGapUs=GAP_US, iWindowMin=30)
    energy = prg["fbEnergy"]
    assert samples >= 15 and energy["rTotalKWh"] > 0
    for out in ("rTotalKWh", "rQuarterKWh", "rBlockKW", "rProjectedKW", "liPrevUs"):
        assert energy[out] == direct[out], out
