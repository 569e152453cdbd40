"""Structured Text bodies: the decode function block, the energy/demand function block, the example.

The decode FB repeats `Register.value` and `reading.check_plausible` register by register; the
energy FB repeats the rollups' trapezoid integration (`store/rollup.py`, gap rule, cut at every
15-minute boundary) and the clock-aligned demand blocks (`analytics/series.demand_blocks`).
Arithmetic is done in LREAL in the same order as the Python, so the results are the same floats.
"""

from __future__ import annotations

from fractions import Fraction

from ..meters.decode import WORDS, encode
from ..meters.definition import MeterModel, Register
from ..polling.plan import ReadBlock
from ..reading import FREQUENCY_RANGE
from ..store.refresh import HORIZON
from .model import (
    QUALITY_IMPLAUSIBLE,
    QUALITY_MISSING,
    QUALITY_OK,
    Pou,
    Var,
    block_ok,
    block_var,
)

QUARTER_US = 900_000_000
DAY_US = 86_400_000_000
FUNCTION_NAMES = {3: "holding registers (function 3)", 4: "input registers (function 4)"}


def real(x: float) -> str:
    """An LREAL literal that reads back as exactly `x` (IEC wants a digit on both sides of the point)."""
    text = repr(float(x))
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + (f"E{exponent}" if exponent else "")


def decimal_ratio(factor: float) -> tuple[int, int] | None:
    """(p, q) when the factor is the decimal p/q with q dividing 10^9 (0.1 -> 1/10, 0.3 -> 3/10,
    0.0025 -> 1/400) and p small enough that raw x p stays exact in LREAL for 32-bit raws."""
    ratio = Fraction(repr(factor))  # the decimal the definition file wrote
    p, q = ratio.numerator, ratio.denominator
    if q == 1 or 10**9 % q or abs(p) >= 1 << 20:
        return None
    return p, q


def _word(array: str, i: int) -> str:
    return f"UINT_TO_LREAL(WORD_TO_UINT({array}[{i}]))"


def _raw(reg: Register, array: str, offset: int) -> list[str]:
    """Statements leaving the register's raw value in rRaw (and xNaN/xInf for float32)."""
    idx = list(range(offset, offset + WORDS[reg.type]))
    if reg.word_order == "low_first":
        idx.reverse()  # idx[0] is now the most significant word
    if reg.type == "float32":
        return [f"uiHi := WORD_TO_UINT({array}[{idx[0]}]);",
                f"uiLo := WORD_TO_UINT({array}[{idx[1]}]);",
                "iExp := UINT_TO_INT((uiHi / 128) MOD 256);",
                "rMant := UINT_TO_LREAL(uiHi MOD 128) * 65536.0 + UINT_TO_LREAL(uiLo);",
                "xNaN := iExp = 255 AND rMant <> 0.0;",
                "xInf := iExp = 255 AND rMant = 0.0;",
                "IF iExp = 0 THEN",
                "    rRaw := rMant * EXPT(LREAL#2.0, -149); (* subnormal *)",
                "ELSE",
                "    rRaw := (rMant + 8388608.0) * EXPT(LREAL#2.0, iExp - 150);",
                "END_IF;",
                "IF uiHi >= 32768 THEN",
                "    rRaw := -rRaw;",
                "END_IF;"]
    lines = [f"rRaw := {_word(array, idx[0])};"]
    if reg.type.startswith("s"):  # two's complement: the top word carries the sign
        lines += ["IF rRaw >= 32768.0 THEN", "    rRaw := rRaw - 65536.0;", "END_IF;"]
    # Exact up to the last word; the last addition rounds once, as float(int) does in Python.
    lines += [f"rRaw := rRaw * 65536.0 + {_word(array, i)};" for i in idx[1:]]
    return lines


def _scaled(reg: Register) -> str:
    """Integer registers: the Python rounds raw x factor to 9 decimals (binary noise away); dividing
    by the decimal's denominator gives that same float directly. float32 is multiplied, as in Python."""
    if reg.factor == 1.0:
        return "rRaw"
    ratio = decimal_ratio(reg.factor) if reg.type != "float32" else None
    if ratio is None:
        return f"rRaw * {real(reg.factor)}"
    p, q = ratio
    return f"rRaw / {real(q)}" if p == 1 else f"rRaw * {real(p)} / {real(q)}"


def _checks(reg: Register, v: str, q: str) -> list[str]:
    """reading.check_plausible for this register, in its order: the first failing check flags it."""
    bad = f"    {q} := {QUALITY_IMPLAUSIBLE};"
    tests: list[tuple[str, str]] = []
    if reg.name.endswith("power_factor"):
        tests.append((f"ABS({v}) > 1.0", "|PF| > 1"))
    if reg.name == "frequency":
        lo, hi = FREQUENCY_RANGE
        tests.append((f"{v} < {real(lo)} OR {v} > {real(hi)}", f"frequency outside {lo:g}-{hi:g} Hz"))
    if reg.valid:
        tests.append((f"{v} < {real(reg.valid[0])} OR {v} > {real(reg.valid[1])}",
                      f"outside the meter's range {reg.valid[0]:g}-{reg.valid[1]:g} {reg.unit}"))
    out: list[str] = []
    for i, (cond, why) in enumerate(tests):
        out += [f"{'IF' if i == 0 else 'ELSIF'} {cond} THEN (* {why} *)", bad]
    if reg.kind == "counter":
        last, seen = f"rLast_{reg.name}", f"xSeen_{reg.name}"
        body = [f"xBack := {seen} AND {v} < {last}; (* compared with the last value read *)",
                f"{last} := {v};", f"{seen} := TRUE;", "IF xBack THEN (* counter went backwards: reset or replaced? *)",
                f"    {q} := {QUALITY_IMPLAUSIBLE};", "END_IF;"]
        if out:
            out += ["ELSE"] + ["    " + s for s in body]
        else:
            out = body
            return out
    if out:
        out.append("END_IF;")
    return out


def _register_code(reg: Register, block: ReadBlock, b: int) -> list[str]:
    array, ok = block_var(b), block_ok(b)
    off = reg.address - block.address
    v, q = f"stValues.{reg.name}", f"stQuality.{reg.name}"
    missing = [f"    {v} := 0.0;", f"    {q} := {QUALITY_MISSING};"]
    head = (f"(* {reg.name}: {reg.note or reg.name} [{reg.unit or 'no unit'}]; registers {reg.address}"
            f"..{reg.end - 1} = {array}[{off}..{off + reg.words - 1}], {reg.type} {reg.word_order}, "
            f"x {reg.factor:g} *)")
    lines = [head, f"IF NOT {ok} THEN (* the block was not read *)", *missing]
    if reg.sentinel is not None:
        words = encode(reg.sentinel, reg.type, reg.word_order)
        cond = " AND ".join(f"{array}[{off + i}] = 16#{w:04X}" for i, w in enumerate(words))
        lines += [f"ELSIF {cond} THEN (* sentinel {reg.sentinel}: not available *)", *missing]
    lines.append("ELSE")
    inner = _raw(reg, array, off)
    value = [f"{v} := {_scaled(reg)};", f"{q} := {QUALITY_OK};", *_checks(reg, v, q)]
    if reg.type == "float32":
        inner += ["IF xNaN THEN (* NaN: not available *)", *missing,
                  "ELSIF xInf THEN (* not a finite number *)", f"    {v} := 0.0;",
                  f"    {q} := {QUALITY_IMPLAUSIBLE};", "ELSE", *["    " + s for s in value], "END_IF;"]
    else:
        inner += value
    lines += ["    " + s for s in inner]
    lines.append("END_IF;")
    return lines


def decode_fb(model: MeterModel, blocks: list[ReadBlock], name: str) -> Pou:
    inputs: list[Var] = []
    for i, blk in enumerate(blocks):
        inputs.append(Var(block_var(i), f"ARRAY[0..{blk.count - 1}] OF WORD",
                          comment=f"{FUNCTION_NAMES[blk.function]} {blk.span}: {blk.count} words as read"))
        inputs.append(Var(block_ok(i), "BOOL", "TRUE",
                          f"the read of block {i + 1} succeeded; FALSE marks its quantities missing"))
    outputs = [Var("stValues", f"ST_{name}", comment="values in canonical units; 0.0 where not ok"),
               Var("stQuality", f"ST_{name}Quality",
                   comment=f"{QUALITY_OK} ok, {QUALITY_MISSING} missing, {QUALITY_IMPLAUSIBLE} implausible")]
    local = [Var("rRaw", "LREAL", comment="the raw value before scaling"), Var("uiHi", "UINT"), Var("uiLo", "UINT"),
             Var("iExp", "INT"), Var("rMant", "LREAL"), Var("xNaN", "BOOL"), Var("xInf", "BOOL"),
             Var("xBack", "BOOL")]
    for reg in model.registers:
        if reg.kind == "counter":
            local += [Var(f"rLast_{reg.name}", "LREAL", comment=f"last {reg.name} read"),
                      Var(f"xSeen_{reg.name}", "BOOL")]
    body: list[str] = []
    for b, blk in enumerate(blocks):
        for reg in sorted(blk.registers, key=lambda r: r.address):
            body += _register_code(reg, blk, b) + [""]
    return Pou("functionBlock", f"FB_{name}Decode",
               f"{model.name}: raw register words of the read plan -> values, quality (same rules as wattlog's "
               f"Python decoder)", {"VAR_INPUT": inputs, "VAR_OUTPUT": outputs, "VAR": local},
               "\n".join(body).rstrip() + "\n")


ENERGY_BODY = f"""\
IF iWindowMin <= 0 OR iWindowMin MOD 15 <> 0 OR 1440 MOD iWindowMin <> 0 THEN
    xError := TRUE; (* the demand window must be 15, 30, 45, 60 ... minutes and divide the day *)
    RETURN;
END_IF;
xError := FALSE;
liWindowUs := INT_TO_LINT(iWindowMin) * 60000000;
IF xResetMax THEN (* e.g. at the start of a billing month *)
    xHaveMax := FALSE;
    rMaxKW := 0.0;
    liMaxStartUs := 0;
    xMaxComplete := FALSE;
END_IF;
IF NOT xSample OR NOT xPowerOk THEN (* readings without a trusted power are skipped, as in the rollups *)
    RETURN;
END_IF;
IF xHavePrev AND liNowUs < liPrevUs THEN (* the clock went back: ignore the reading *)
    RETURN;
END_IF;
(* The interval since the last reading: integrated when at most liGapUs long, a gap (energy unknown,
   never filled in) when longer, ignored beyond a day (an outage). *)
xInside := FALSE;
liT := liNowUs;
IF xHavePrev THEN
    liDt := liNowUs - liPrevUs;
    IF liDt <= {HORIZON} THEN
        liT := liPrevUs;
        xInside := liDt <= liGapUs;
    END_IF;
END_IF;
xTouch := TRUE;
WHILE liT < liNowUs OR xTouch DO
    liBucket := liT - liT MOD {QUARTER_US};
    IF NOT xQuarterOpen OR liBucket <> liQuarterStartUs THEN
        IF xQuarterOpen THEN (* close the quarter: it joins the day profile and its demand block *)
            rQuarterKWh := rQuarterWs / 3600000.0;
            liLastQuarterStartUs := liQuarterStartUs;
            rLastQuarterKWh := rQuarterKWh;
            rLastQuarterCoveredS := rQuarterCoveredS;
            rLastQuarterGapS := rQuarterGapS;
            iIdx := LINT_TO_INT((liQuarterStartUs MOD {DAY_US}) / {QUARTER_US});
            arDayKWh[iIdx] := rQuarterKWh;
            arDayGapS[iIdx] := rQuarterGapS;
            udiQuarters := udiQuarters + 1;
            rBlockDoneKWh := rBlockDoneKWh + rQuarterKWh;
            iBlockQuarters := iBlockQuarters + 1;
            (* the reports count a quarter without integrated energy as unknown, like a gap *)
            xBlockGap := xBlockGap OR rQuarterGapS > 0.0 OR NOT xQuarterArea;
        END_IF;
        IF xBlockOpen AND liBucket - liBucket MOD liWindowUs <> liBlockStartUs THEN (* close the block *)
            liLastBlockStartUs := liBlockStartUs;
            rLastBlockKWh := rBlockDoneKWh;
            rLastBlockKW := rBlockDoneKWh * 60.0 / INT_TO_LREAL(iWindowMin);
            xLastBlockComplete := iBlockQuarters = iWindowMin / 15 AND NOT xBlockGap;
            udiBlocks := udiBlocks + 1;
            IF NOT xHaveMax OR rLastBlockKW > rMaxKW THEN (* the earliest of equal blocks stays *)
                xHaveMax := TRUE;
                rMaxKW := rLastBlockKW;
                liMaxStartUs := liLastBlockStartUs;
                xMaxComplete := xLastBlockComplete;
            END_IF;
            xBlockOpen := FALSE;
        END_IF;
        IF NOT xBlockOpen THEN
            liBlockStartUs := liBucket - liBucket MOD liWindowUs;
            rBlockDoneKWh := 0.0;
            iBlockQuarters := 0;
            xBlockGap := FALSE;
            xBlockOpen := TRUE;
        END_IF;
        IF liBucket - liBucket MOD {DAY_US} <> liDayStartUs THEN (* local midnight: a new day profile *)
            liDayStartUs := liBucket - liBucket MOD {DAY_US};
            FOR iIdx := 0 TO 95 DO
                arDayKWh[iIdx] := 0.0;
                arDayGapS[iIdx] := 0.0;
            END_FOR;
        END_IF;
        liQuarterStartUs := liBucket;
        rQuarterWs := 0.0;
        rQuarterCoveredS := 0.0;
        rQuarterGapS := 0.0;
        xQuarterArea := FALSE;
        xQuarterOpen := TRUE;
    END_IF;
    IF liT < liNowUs THEN (* the part of the interval inside this quarter *)
        liEnd := MIN(liBucket + {QUARTER_US}, liNowUs);
        rSecs := LINT_TO_LREAL(liEnd - liT) / 1000000.0;
        IF xInside THEN (* trapezoid, cut at the quarter boundary on the straight line between readings *)
            IF liT = liPrevUs AND liEnd = liNowUs THEN
                rPart := (rPrevW + rPowerW) / 2.0 * rSecs;
            ELSE
                rSlope := (rPowerW - rPrevW) / LINT_TO_LREAL(liDt);
                rPart := (2.0 * rPrevW + rSlope * LINT_TO_LREAL(liT - liPrevUs + liEnd - liPrevUs)) / 2.0 * rSecs;
            END_IF;
            rQuarterWs := rQuarterWs + rPart;
            rQuarterCoveredS := rQuarterCoveredS + rSecs;
            xQuarterArea := TRUE;
            rTotalKWh := rTotalKWh + rPart / 3600000.0;
        ELSE
            rQuarterGapS := rQuarterGapS + rSecs;
        END_IF;
        liT := liEnd;
    ELSE
        xTouch := FALSE;
    END_IF;
END_WHILE;
liPrevUs := liNowUs;
rPrevW := rPowerW;
xHavePrev := TRUE;
rQuarterKWh := rQuarterWs / 3600000.0;
rBlockKWh := rBlockDoneKWh + rQuarterKWh;
rBlockKW := rBlockKWh * 60.0 / INT_TO_LREAL(iWindowMin);
xBlockClean := NOT xBlockGap AND rQuarterGapS = 0.0 AND xQuarterArea;
(* Projected: the block's average if the present power holds until the block ends. *)
rProjectedKW := (rBlockKWh + rPowerW * (LINT_TO_LREAL(liBlockStartUs + liWindowUs - liNowUs) / 1000000.0) / 3600000.0)
    * 60.0 / INT_TO_LREAL(iWindowMin);
"""


def energy_fb() -> Pou:
    inputs = [
        Var("xSample", "BOOL", comment="TRUE on one call per poll: a new reading is presented"),
        Var("liNowUs", "LINT", comment="the reading's time: LOCAL clock, microseconds since 1970-01-01 00:00 local"),
        Var("rPowerW", "LREAL", comment="total_real_power [W] (negative when exporting)"),
        Var("xPowerOk", "BOOL", comment="its quality is ok (0); otherwise the reading is skipped"),
        Var("liGapUs", "LINT", "60000000", "readings further apart are a gap (wattlog: max(6 x poll, 60 s))"),
        Var("iWindowMin", "INT", "30", "demand block: 30 (TNB maximum demand) or 15 minutes (MEA/PEA)"),
        Var("xResetMax", "BOOL", comment="TRUE forgets the maximum (e.g. at the start of a billing month)"),
    ]
    outputs = [
        Var("xError", "BOOL", comment="iWindowMin is not a multiple of 15 dividing the day: nothing is done"),
        Var("rTotalKWh", "LREAL", comment="energy integrated since the start [kWh]"),
        Var("liQuarterStartUs", "LINT", comment="start of the current 15-minute interval (local us)"),
        Var("rQuarterKWh", "LREAL", comment="its energy so far [kWh]"),
        Var("rQuarterCoveredS", "LREAL", comment="its seconds with energy known [s]"),
        Var("rQuarterGapS", "LREAL", comment="its seconds inside a gap: energy unknown [s]"),
        Var("liLastQuarterStartUs", "LINT", comment="the last closed 15-minute interval"),
        Var("rLastQuarterKWh", "LREAL", comment="[kWh]"),
        Var("rLastQuarterCoveredS", "LREAL", comment="[s]"),
        Var("rLastQuarterGapS", "LREAL", comment="[s]"),
        Var("udiQuarters", "UDINT", comment="quarters closed so far: a change means the last-quarter outputs are new"),
        Var("arDayKWh", "ARRAY[0..95] OF LREAL", comment="today's closed quarters by index (00:00 = 0) [kWh]"),
        Var("arDayGapS", "ARRAY[0..95] OF LREAL", comment="today's closed quarters' gap seconds [s]"),
        Var("liBlockStartUs", "LINT", comment="start of the current clock-aligned demand block"),
        Var("rBlockKWh", "LREAL", comment="its energy so far [kWh]"),
        Var("rBlockKW", "LREAL", comment="its kWh so far x 60 / window [kW]: what it counts already"),
        Var("rProjectedKW", "LREAL", comment="its average if the present power holds to its end [kW]"),
        Var("xBlockClean", "BOOL", comment="no gap in it so far"),
        Var("liLastBlockStartUs", "LINT", comment="the last closed demand block"),
        Var("rLastBlockKWh", "LREAL", comment="[kWh]"),
        Var("rLastBlockKW", "LREAL", comment="its maximum-demand value: kWh x 60 / window [kW]"),
        Var("xLastBlockComplete", "BOOL",
            comment="every quarter present with energy and no gap: else the true kW may be higher"),
        Var("udiBlocks", "UDINT", comment="blocks closed so far"),
        Var("rMaxKW", "LREAL", comment="the highest closed block since the start or xResetMax [kW]"),
        Var("liMaxStartUs", "LINT", comment="its start"),
        Var("xMaxComplete", "BOOL", comment="it had no gap"),
    ]
    local = [Var(n, t) for n, t in [
        ("xHavePrev", "BOOL"), ("liPrevUs", "LINT"), ("rPrevW", "LREAL"), ("xQuarterOpen", "BOOL"), ("xQuarterArea", "BOOL"),
        ("rQuarterWs", "LREAL"), ("liDayStartUs", "LINT"), ("xBlockOpen", "BOOL"), ("rBlockDoneKWh", "LREAL"),
        ("iBlockQuarters", "INT"), ("xBlockGap", "BOOL"), ("xHaveMax", "BOOL"), ("liWindowUs", "LINT"),
        ("liDt", "LINT"), ("liT", "LINT"), ("liEnd", "LINT"), ("liBucket", "LINT"), ("rSecs", "LREAL"),
        ("rSlope", "LREAL"), ("rPart", "LREAL"), ("xInside", "BOOL"), ("xTouch", "BOOL"), ("iIdx", "INT")]]
    return Pou("functionBlock", "FB_WattlogEnergy",
               "energy integrated from power across polls (trapezoids, gap rule, cut at 15-minute boundaries) and "
               "the clock-aligned demand block, as wattlog's rollups and demand report compute them",
               {"VAR_INPUT": inputs, "VAR_OUTPUT": outputs, "VAR": local}, ENERGY_BODY)


def example_program(model: MeterModel, blocks: list[ReadBlock], name: str, with_energy: bool) -> Pou:
    local: list[Var] = []
    for i, blk in enumerate(blocks):
        local.append(Var(block_var(i), f"ARRAY[0..{blk.count - 1}] OF WORD",
                         comment=f"map to the Modbus slave channel: {FUNCTION_NAMES[blk.function]}, "
                                 f"offset {blk.address}, length {blk.count}"))
        local.append(Var(block_ok(i), "BOOL", "TRUE", "set FALSE while the channel reports an error"))
    local += [Var("fbDecode", f"FB_{name}Decode"), Var("stMeter", f"ST_{name}", comment="the values, for SCADA"),
              Var("stQuality", f"ST_{name}Quality")]
    call = ", ".join(f"{n}:={n}" for i in range(len(blocks)) for n in (block_var(i), block_ok(i)))
    body = [f"fbDecode({call});", "stMeter := fbDecode.stValues;", "stQuality := fbDecode.stQuality;"]
    if with_energy:
        local += [Var("fbEnergy", "FB_WattlogEnergy"), Var("tonPoll", "TON", comment="one energy sample per poll"),
                  Var("tPoll", "TIME", "T#10S", "the channel's cycle time"),
                  Var("liLocalNowUs", "LINT",
                      comment="local time in microseconds since 1970: set from the controller's clock (docs/plc.md)")]
        body += ["tonPoll(IN:=NOT tonPoll.Q, PT:=tPoll);",
                 "fbEnergy(xSample:=tonPoll.Q, liNowUs:=liLocalNowUs, rPowerW:=stMeter.total_real_power,",
                 f"    xPowerOk:=stQuality.total_real_power = {QUALITY_OK}, liGapUs:=60000000, iWindowMin:=30);"]
    return Pou("program", f"PRG_{name}Example",
               f"example: the {model.name} on a CODESYS Modbus serial master, decoded, integrated",
               {"VAR": local}, "\n".join(body) + "\n")
