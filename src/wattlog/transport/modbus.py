"""The only module that imports pymodbus: one link to a bus, reading register blocks.

pymodbus renames arguments between 3.x minor releases (it is pinned to 3.16.1); its errors are
translated here, once, into wattlog's: NoAnswer, BadFrame, DeviceRefused and LinkError.
pymodbus's own retries and reconnects are switched off: the bus poller decides both.

pymodbus 3.16.1 checks a reply's unit id and (Modbus TCP) a non-zero transaction id, but not its
function code: an FC 3 frame answering an FC 4 request is returned as the answer, and on RTU the
first CRC-valid frame from the unit is taken, whatever request it answers. So every reply is
checked here (function code, unit, transaction id, byte count), and after a timeout the next RTU
request to the same unit waits one more timeout, so a late reply drains away instead of answering
it (RTU frames carry nothing that says which request they answer; another unit's late reply is
told apart by its unit id, so a scan of 247 ids is not slowed down).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import time

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.framer import FramerType

from ..address import MeterAddress
from ..errors import BadFrame, DeviceRefused, LinkError, NoAnswer

try:  # applying serial settings raises termios.error (not an OSError) on POSIX
    from termios import error as _termios_error
    _TERMIOS: tuple[type[BaseException], ...] = (_termios_error,)
except ImportError:  # pragma: no cover - Windows
    _TERMIOS = ()

# pymodbus logs every timeout at ERROR; the poller logs a failing meter once, with context.
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


class ModbusLink:
    """One open connection to a bus: a serial port, or a TCP socket to a meter or gateway.

    Not safe for concurrent use: the bus poller owns it and sends one request at a time.
    """

    def __init__(self, address: MeterAddress) -> None:
        self.address = address
        self._client: AsyncModbusSerialClient | AsyncModbusTcpClient | None = None
        self._rx_seen = False
        self._quiet_until: dict[int, float] = {}  # RTU: unit -> nothing sent to it before (monotonic)

    @property
    def is_open(self) -> bool:
        return self._client is not None and self._client.connected

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if sending:
            self._rx_seen = False
        elif data:
            self._rx_seen = True
        return data

    def _make_client(self) -> AsyncModbusSerialClient | AsyncModbusTcpClient:
        a = self.address
        common = dict(timeout=a.timeout, retries=0, reconnect_delay=0, name=a.bus, trace_packet=self._trace)
        if a.scheme == "rtu":
            return AsyncModbusSerialClient(a.device, framer=FramerType.RTU, baudrate=a.baud,
                                           bytesize=a.bytesize, parity=a.parity, stopbits=a.stopbits,
                                           **common)  # type: ignore[arg-type]
        framer = FramerType.SOCKET if a.scheme == "tcp" else FramerType.RTU
        return AsyncModbusTcpClient(a.host, port=a.port, framer=framer, **common)  # type: ignore[arg-type]

    async def open(self) -> None:
        """Open the port or connect the socket; LinkError says what to check."""
        self.close()
        client = self._make_client()
        try:
            connected = await client.connect()
        except (OSError, ValueError, *_TERMIOS) as exc:  # the port refused its settings when applied
            client.close()
            a, why = self.address, exc.args[-1] if len(exc.args) == 2 else exc
            raise LinkError(f"serial port {a.device} rejects the settings {a.baud} {a.bytesize}{a.parity}{a.stopbits} "
                            f"({why}): use the settings it takes (a pseudo-terminal, like the simulator's, "
                            "takes no parity: add parity=N to the URL)") from None
        if not connected:
            client.close()
            raise LinkError(await self._why_not_open())
        # Never let pymodbus drop the connection after timeouts: a dead meter is not a dead bus.
        client.set_max_no_responses(1 << 30)
        _drop_undecodable(client)
        if self.address.scheme == "rtu" and self.address.rs485:
            _enable_rs485(client)
        self._client = client

    async def _why_not_open(self) -> str:
        a = self.address
        if a.scheme == "rtu":
            if not os.path.exists(a.device):
                return (f"serial port {a.device} does not exist: is the RS485 adapter plugged in? "
                        "(ls /dev/serial/by-id/)")
            if not os.access(a.device, os.R_OK | os.W_OK):
                return f"no permission to open {a.device}: add the user to the dialout group"
            return (f"cannot open serial port {a.device} with {a.baud} {a.bytesize}{a.parity}{a.stopbits}: "
                    "is another program using it, or does the port reject these settings?")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(a.host, a.port), a.timeout)
            writer.close()
            return f"cannot connect to {a.host}:{a.port} (it accepted a test connection; retrying)"
        except asyncio.TimeoutError:
            return f"no answer from {a.host}:{a.port} within {a.timeout:g} s: is the gateway powered and on this network?"
        except OSError as exc:
            why = "connection refused (wrong port, or the gateway's Modbus server is off)" \
                if exc.errno == errno.ECONNREFUSED else (exc.strerror or str(exc))
            return f"cannot connect to {a.host}:{a.port}: {why}"

    async def read(self, function: int, unit: int, address: int, count: int, timeout: float) -> list[int]:
        """Registers [address, address+count) of `unit` with function code 3 or 4."""
        client = self._client
        if client is None or not client.connected:
            raise LinkError(f"{self.address.bus} is not open")
        rtu = self.address.scheme != "tcp"
        wait = self._quiet_until.get(unit, 0.0) - time.monotonic()
        if rtu and wait > 0:
            await asyncio.sleep(wait)  # a late reply to the timed-out request lands and is dropped
        client.ctx.comm_params.timeout_connect = timeout  # per request: scan uses short timeouts
        call = client.read_input_registers if function == 4 else client.read_holding_registers
        try:
            reply = await call(address, count=count, device_id=unit)
        except ConnectionException as exc:
            raise LinkError(f"{self.address.bus} lost: {exc}") from None
        except (ModbusException, asyncio.TimeoutError):
            if not client.connected:
                raise LinkError(f"{self.address.bus} lost during a request") from None
            if rtu:
                self._quiet_until[unit] = time.monotonic() + timeout
            if self._rx_seen:
                raise BadFrame(f"no valid reply within {timeout:g} s (bytes arrived but not a valid frame)") from None
            raise NoAnswer(f"no answer within {timeout:g} s") from None
        return _checked(reply, function, unit, count, None if rtu else client.ctx.request_transaction_id)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _drop_undecodable(client: AsyncModbusSerialClient | AsyncModbusTcpClient) -> None:
    """A frame pymodbus cannot decode (say a byte count longer than its data) raises inside its
    data_received, and asyncio then closes the TCP connection with a traceback in the log: one
    garbled reply would look like a lost link. Drop those bytes instead; the request then ends
    as a garbled reply (BadFrame) and the link stays up."""
    ctx = client.ctx
    inner = ctx.callback_data

    def callback_data(data: bytes, addr: tuple | None = None) -> int:  # type: ignore[type-arg]
        try:
            return inner(data, addr)
        except ModbusException:
            return len(data)

    ctx.callback_data = callback_data  # type: ignore[method-assign]


def _checked(reply: object, function: int, unit: int, count: int, tid: int | None) -> list[int]:
    """The registers of a reply that answers this request; BadFrame ("garbled reply") otherwise."""
    code = getattr(reply, "function_code", None)
    if unit and getattr(reply, "dev_id", unit) != unit:  # unit 0 on Modbus TCP: any device may answer
        raise BadFrame(f"garbled reply: unit {getattr(reply, 'dev_id', '?')} answered a request to unit {unit}")
    if tid is not None and getattr(reply, "transaction_id", tid) != tid:
        raise BadFrame(f"garbled reply: transaction id {getattr(reply, 'transaction_id', '?')}, "
                       f"expected {tid}")
    if code == function | 0x80:
        raise DeviceRefused(getattr(reply, "exception_code", 0) or 0)
    if code != function:
        exc = BadFrame(f"garbled reply: function code {code} answered a function {function} request")
        exc.hint = (f"the meter or gateway answers function {function} with another function code: check the "
                    "model's function code for these registers and the gateway's register mapping")
        raise exc
    words = list(getattr(reply, "registers", None) or [])
    if len(words) != count:
        raise BadFrame(f"garbled reply: {2 * len(words)} data bytes, expected {2 * count}")
    return words


def _enable_rs485(client: AsyncModbusSerialClient) -> None:
    """Kernel RS485 mode (driver toggles the transceiver), for built-in ports of CM4 controllers."""
    import serial.rs485

    port = client.ctx.transport.sync_serial  # type: ignore[attr-defined]
    try:
        port.rs485_mode = serial.rs485.RS485Settings(rts_level_for_tx=True, rts_level_for_rx=False)
    except (ValueError, OSError) as exc:
        raise LinkError(f"{port.port} does not support kernel RS485 mode ({exc}): remove rs485=1 "
                        "from the address for a USB adapter") from None
