"""Modbus wire format for the simulator (pure): RTU and MBAP frames, request checks, replies."""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

READ_INPUT = 4
MAX_COUNT = 125  # registers per read (function codes 3 and 4)
MAX_FRAME = 256  # longest RTU frame
ILLEGAL_FUNCTION, ILLEGAL_ADDRESS, ILLEGAL_VALUE = 1, 2, 3
GATEWAY_NO_RESPONSE = 0x0B


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """CRC-16/MODBUS (reflected 0xA001, initial 0xFFFF); sent low byte first."""
    crc = 0xFFFF
    for b in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ b) & 0xFF]
    return crc


def crc_ok(frame: bytes) -> bool:
    return len(frame) >= 4 and crc16(frame[:-2]) == int.from_bytes(frame[-2:], "little")


def rtu_frame(unit: int, pdu: bytes) -> bytes:
    body = bytes([unit]) + pdu
    return body + crc16(body).to_bytes(2, "little")


def mbap_frame(transaction: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", transaction, 0, len(pdu) + 1, unit) + pdu


def exception_pdu(function: int, code: int) -> bytes:
    return bytes([(function | 0x80) & 0xFF, code])


def answer(pdu: bytes, span: tuple[int, int], refuse: Sequence[tuple[int, int]],
           read: Callable[[int, int], list[int]]) -> bytes:
    """The reply PDU to a request PDU. Only reads of input registers inside `span` (first, end) and
    clear of the inclusive `refuse` ranges are served; `read(address, count)` gives the words.
    Checks follow the Modbus order: function (01), then quantity (03), then address (02)."""
    function = pdu[0]
    if function != READ_INPUT:
        return exception_pdu(function, ILLEGAL_FUNCTION)
    if len(pdu) != 5:
        return exception_pdu(function, ILLEGAL_VALUE)
    address, count = struct.unpack(">HH", pdu[1:5])
    if not 1 <= count <= MAX_COUNT:
        return exception_pdu(function, ILLEGAL_VALUE)
    end = address + count
    if address < span[0] or end > span[1] or any(address <= hi and lo < end for lo, hi in refuse):
        return exception_pdu(function, ILLEGAL_ADDRESS)
    words = read(address, count)
    return bytes([function, 2 * count]) + b"".join(w.to_bytes(2, "big") for w in words)


NOT_A_FRAME = -1


def rtu_request_length(buf: bytes | bytearray) -> int | None:
    """Length of the RTU request at the head of buf: 0 if more bytes are needed to tell,
    NOT_A_FRAME if no request starts here, None if its function code has no known layout
    (then only a silence on the line ends the frame)."""
    if len(buf) < 2:
        return 0
    unit, function = buf[0], buf[1]
    if unit > 247 or function == 0 or function >= 0x80:
        return NOT_A_FRAME
    if function <= 6:
        return 8
    if function in (15, 16):
        if len(buf) < 7:
            return 0
        quantity, count = int.from_bytes(buf[4:6], "big"), buf[6]
        ok = (1 <= quantity <= 123 and count == 2 * quantity if function == 16
              else 1 <= quantity <= 1968 and count == (quantity + 7) // 8)
        return 9 + count if ok else NOT_A_FRAME
    return None


class RtuSplitter:
    """Cuts a byte stream into RTU requests; frames may arrive in pieces or several per chunk.
    Garbage and frames with a bad CRC are skipped a byte at a time until a good frame lines up."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.dropped = 0  # bytes thrown away: bad CRC, garbage

    def feed(self, data: bytes) -> list[bytes]:
        """Complete requests (unit + PDU, CRC checked and removed) now in the buffer."""
        self.buffer += data
        frames = []
        while self.buffer:
            n = rtu_request_length(self.buffer)
            if n is None or n == 0 or len(self.buffer) < n:
                break
            if n > 0 and crc_ok(self.buffer[:n]):
                frames.append(bytes(self.buffer[:n - 2]))
                del self.buffer[:n]
            else:
                del self.buffer[:1]
                self.dropped += 1
        if len(self.buffer) > MAX_FRAME:  # no frame is this long: garbage without a silence
            frames += self.silence()
        return frames

    def wait(self, silence: float, piece: float) -> float | None:
        """How long a quiet line ends what is buffered: `silence` (3.5 characters) for a frame
        of unknown length, the longer `piece` for an incomplete one (it may come in pieces)."""
        if not self.buffer:
            return None
        return silence if rtu_request_length(self.buffer) is None else piece

    def silence(self) -> list[bytes]:
        """The line went quiet: what is buffered must end here. It is one frame if its CRC holds;
        otherwise drop a byte and look again, since garbage may precede a good frame."""
        frames: list[bytes] = []
        while self.buffer:
            if crc_ok(self.buffer):
                frames.append(bytes(self.buffer[:-2]))
                self.buffer.clear()
            else:
                del self.buffer[:1]
                self.dropped += 1
                frames += self.feed(b"")
        return frames
