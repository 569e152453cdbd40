"""Hostile replies for the simulator: frames a broken meter or gateway really sends, and a ledger
of what each request was answered with (the truth a test compares stored values against)."""

# Each kind is a well-formed lie or a broken frame a client must never decode as the answer:
#   wrong_function  an FC 3 frame (other registers' data) answering an FC 4 request; right unit,
#                   transaction id and CRC
#   other_unit      the right data framed with another unit id
#   wrong_count     a valid frame (CRC right) with one register fewer than asked for
#   garbage         random bytes, as long as the real frame
#   late_reply      the true reply, sent after `late_seconds`: beyond the client's timeout, so on
#                   RTU it lands while the client waits for its next request

from __future__ import annotations

import random
from dataclasses import dataclass

HOSTILE = ("wrong_function", "other_unit", "wrong_count", "garbage", "late_reply")
READ_HOLDING = 3


@dataclass(frozen=True)
class Served:
    """What the simulator did with one request to one unit, in arrival order per unit."""

    fault: str | None  # None: a true reply on time
    function: int
    address: int
    count: int
    words: tuple[int, ...] | None  # the true registers sent (on time or late); None if none were
    reset: bool = False  # the unit's energy counters were reset just before this request was served

    @property
    def true_reply(self) -> bool:
        """A reply a client may take as the answer to this very request."""
        return self.fault is None and self.words is not None


def lie(pdu: bytes, fault: str | None) -> bytes:
    """The reply PDU after a PDU-level hostile fault (wrong_function, wrong_count)."""
    if len(pdu) < 2 or pdu[0] & 0x80:
        return bytes([pdu[0] ^ 0x07]) + pdu[1:] if fault == "wrong_function" else pdu
    data = pdu[2:]
    if fault == "wrong_function":
        # the registers one further on: plausible numbers, just not the ones asked for
        rotated = data[2:] + data[:2]
        return bytes([READ_HOLDING if pdu[0] != READ_HOLDING else 4, pdu[1]]) + rotated
    if fault == "wrong_count" and len(data) >= 2:
        return bytes([pdu[0], len(data) - 2]) + data[:-2]
    return pdu


def other_unit(unit: int) -> int:
    return unit % 247 + 1


def scramble(frame: bytes, rng: random.Random) -> bytes:
    """Random bytes as long as `frame` (line noise, a babbling device)."""
    return bytes(rng.randrange(256) for _ in range(len(frame)))
