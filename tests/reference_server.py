"""A plain pymodbus server holding fixed registers written by hand: pins decoding with a server
that is not our simulator."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

from pymodbus.framer import FramerType
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

# RX380 block 4002-4039 as words, with the values they stand for (computed by hand).
RX380_WORDS = {
    4002: [0x0001, 0xE240],  # total_real_energy   123456 kWh
    4004: [0x0000, 0x0000],  # undocumented
    4006: [0x0002, 0x0000],  # total_apparent_energy 131072 kVAh
    4008: [0x0000, 0x0000],  # undocumented
    4010: [0x0000, 0x3039],  # total_reactive_energy 12345 kvarh
    4012: [0xFFFF, 0xFA24],  # total_real_power -1500 W (exporting)
    4014: [0x0000, 0x0640],  # total_apparent_power 1600 VA
    4016: [0x0000, 0x022B],  # total_reactive_power 555 var
    4018: [0xFC4A],          # total_power_factor -0.950
    4019: [0x138A],          # frequency 50.02 Hz
    4020: [0x0000, 0x0929],  # current_l1 2.345 A
    4022: [0x0001, 0x0000],  # current_l2 65.536 A
    4024: [0x0000, 0x0000],  # current_l3 0 A
    4026: [0x0000, 0x007B],  # current_ln 0.123 A
    4028: [0x0000, 0x0FA5],  # voltage_l12 400.5 V
    4030: [0x0000, 0x0F9C],  # voltage_l23 399.6 V
    4032: [0x0000, 0x0FAF],  # voltage_l31 401.5 V
    4034: [0x0000, 0x090A],  # voltage_l1 231.4 V
    4036: [0x0000, 0x08FC],  # voltage_l2 230.0 V
    4038: [0x0000, 0x0903],  # voltage_l3 230.7 V
}
RX380_VALUES = {
    "total_real_energy": 123456, "total_apparent_energy": 131072, "total_reactive_energy": 12345,
    "total_real_power": -1500, "total_apparent_power": 1600, "total_reactive_power": 555,
    "total_power_factor": -0.95, "frequency": 50.02, "current_l1": 2.345, "current_l2": 65.536,
    "current_l3": 0.0, "current_ln": 0.123, "voltage_l12": 400.5, "voltage_l23": 399.6,
    "voltage_l31": 401.5, "voltage_l1": 231.4, "voltage_l2": 230.0, "voltage_l3": 230.7,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rx380_device(unit: int, words: dict[int, list[int]] | None = None) -> SimDevice:
    flat: list[int] = []
    for addr in sorted(words or RX380_WORDS):
        flat.extend((words or RX380_WORDS)[addr])
    return SimDevice(id=unit, simdata=[SimData(4002, values=flat, datatype=DataType.REGISTERS)])


class ReferenceServer:
    """pymodbus ModbusTcpServer in a thread; `framer` SOCKET (Modbus TCP) or RTU (RTU over TCP)."""

    def __init__(self, devices: list[SimDevice], framer: FramerType = FramerType.SOCKET) -> None:
        self.port = free_port()
        self.devices, self.framer = devices, framer
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> "ReferenceServer":
        self._thread.start()

        async def start() -> None:
            self.server = ModbusTcpServer(self.devices, framer=self.framer, address=("127.0.0.1", self.port))
            await self.server.serve_forever(background=True)

        asyncio.run_coroutine_threadsafe(start(), self._loop).result(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
