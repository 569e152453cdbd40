"""The read planner (pure): a model's registers become the fewest Modbus requests.

Registers of one function code are merged into blocks of at most `max_read` registers, bridging
gaps of up to `max_gap` unmapped registers (reading a few unused words is cheaper than another
round trip). When a meter refuses a block (exception 02), `split_block` gives what to try next.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..meters.definition import MAX_READ, Register


@dataclass(frozen=True)
class ReadBlock:
    function: int
    address: int
    count: int
    registers: tuple[Register, ...]

    @property
    def end(self) -> int:
        return self.address + self.count

    @property
    def span(self) -> str:
        return f"{self.address}-{self.end - 1}"

    @property
    def bridges_gap(self) -> bool:
        return sum(r.words for r in self.registers) != self.count

    def words_of(self, reg: Register, words: list[int]) -> list[int]:
        """The slice of this block's reply that holds `reg`."""
        i = reg.address - self.address
        return words[i:i + reg.words]


def plan_reads(registers: Iterable[Register], max_read: int = MAX_READ, max_gap: int = 16) -> list[ReadBlock]:
    """Fewest blocks covering `registers`: greedy by address per function code, which is optimal
    for covering sorted intervals under a maximum length and gap."""
    blocks: list[ReadBlock] = []
    current: list[Register] = []

    def close() -> None:
        if current:
            start = current[0].address
            end = max(r.end for r in current)
            blocks.append(ReadBlock(current[0].function, start, end - start, tuple(current)))

    for reg in sorted(registers, key=lambda r: (r.function, r.address)):
        if current:
            start, end = current[0].address, max(r.end for r in current)
            fits = (reg.function == current[0].function and reg.address - end <= max_gap
                    and reg.end - start <= max_read)
            if not fits:
                close()
                current = []
        current.append(reg)
    close()
    return blocks


def split_block(block: ReadBlock) -> list[ReadBlock]:
    """What to try after the meter refused `block`: first without bridged gaps, then halves.
    An empty list means the single register left is not readable on this meter."""
    if block.bridges_gap:
        return plan_reads(block.registers, max_read=block.count, max_gap=0)
    if len(block.registers) == 1:
        return []
    half = len(block.registers) // 2
    regs = sorted(block.registers, key=lambda r: r.address)
    return [b for part in (regs[:half], regs[half:]) for b in plan_reads(part, max_read=block.count, max_gap=0)]
