"""The read planner: a table of cases."""

import pytest

from wattlog.meters.definition import Register, get_model
from wattlog.polling.plan import plan_reads, split_block


def reg(name, address, type_="u16", function=4):
    return Register(name=name, address=address, type=type_, function=function, word_order="high_first",
                    factor=1.0, unit="", kind="instantaneous")


def spans(blocks):
    return [(b.function, b.address, b.count, tuple(r.name for r in b.registers)) for b in blocks]


def test_rx380_full_snapshot_is_one_request():
    blocks = plan_reads(get_model("rx380").registers)
    assert [(b.function, b.address, b.count) for b in blocks] == [(4, 4002, 38)]
    assert len(blocks[0].registers) == 18


@pytest.mark.parametrize("regs, max_read, max_gap, expected", [
    # contiguous
    ([reg("a", 0), reg("b", 1, "u32"), reg("c", 3)], 125, 16, [(4, 0, 4, ("a", "b", "c"))]),
    # a small gap is bridged
    ([reg("a", 0), reg("b", 10)], 125, 16, [(4, 0, 11, ("a", "b"))]),
    # a gap wider than max_gap is not
    ([reg("a", 0), reg("b", 20)], 125, 16, [(4, 0, 1, ("a",)), (4, 20, 1, ("b",))]),
    # max_gap 0 never bridges
    ([reg("a", 0), reg("b", 2)], 125, 0, [(4, 0, 1, ("a",)), (4, 2, 1, ("b",))]),
    # over 125 registers: split, no register cut in two
    ([reg("a", 0), reg("b", 100), reg("c", 124, "u32"), reg("d", 126)], 125, 100,
     [(4, 0, 101, ("a", "b")), (4, 124, 3, ("c", "d"))]),
    # exactly 125 fits
    ([reg("a", 0), reg("b", 124)], 125, 200, [(4, 0, 125, ("a", "b"))]),
    # function codes never mix, even when adjacent
    ([reg("a", 0, function=3), reg("b", 1, function=4), reg("c", 2, function=3)], 125, 16,
     [(3, 0, 3, ("a", "c")), (4, 1, 1, ("b",))]),
    # order of the input does not matter
    ([reg("c", 5), reg("a", 0), reg("b", 2)], 125, 16, [(4, 0, 6, ("a", "b", "c"))]),
    # a meter that allows only small reads
    ([reg(f"r{i}", i) for i in range(10)], 4, 16,
     [(4, 0, 4, ("r0", "r1", "r2", "r3")), (4, 4, 4, ("r4", "r5", "r6", "r7")), (4, 8, 2, ("r8", "r9"))]),
])
def test_plan_cases(regs, max_read, max_gap, expected):
    assert spans(plan_reads(regs, max_read, max_gap)) == expected


def test_exception_02_split_first_drops_the_bridged_gaps():
    block = plan_reads(get_model("rx380").registers)[0]
    parts = split_block(block)
    assert [(b.address, b.count) for b in parts] == [(4002, 2), (4006, 2), (4010, 30)]


def test_exception_02_split_then_halves_then_gives_up():
    block = plan_reads([reg("a", 0), reg("b", 1), reg("c", 2), reg("d", 3)])[0]
    halves = split_block(block)
    assert spans(halves) == [(4, 0, 2, ("a", "b")), (4, 2, 2, ("c", "d"))]
    quarters = split_block(halves[0])
    assert spans(quarters) == [(4, 0, 1, ("a",)), (4, 1, 1, ("b",))]
    assert split_block(quarters[0]) == []
