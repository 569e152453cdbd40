"""Links to Modbus buses. Only transport/modbus.py imports pymodbus."""

from __future__ import annotations

from typing import Protocol

from ..address import MeterAddress


class Link(Protocol):
    """What a bus poller needs from a link; ModbusLink is the real one."""

    address: MeterAddress

    @property
    def is_open(self) -> bool: ...

    async def open(self) -> None: ...

    async def read(self, function: int, unit: int, address: int, count: int, timeout: float) -> list[int]: ...

    def close(self) -> None: ...


def make_link(address: MeterAddress) -> Link:
    """A (not yet opened) link to the bus `address` is on."""
    from .modbus import ModbusLink

    return ModbusLink(address)
