"""Meter addresses as URLs: where a meter is, and which bus it shares with others.

    tcp://HOST:PORT/UNIT          Modbus TCP (a meter or a Modbus gateway)
    rtu+tcp://HOST:PORT/UNIT      RTU frames through a transparent RS485-to-Ethernet converter
    rtu:///dev/ttyUSB0?unit=1&baud=19200&parity=E&stopbits=1&timeout=1
                                  Modbus RTU on a serial port (RX380 defaults: 19200 8E1, unit 1)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlsplit

from .errors import AddressError

EXAMPLES = ("tcp://192.168.1.50:502/1", "rtu+tcp://192.168.1.60:4196/2",
            "rtu:///dev/ttyUSB0?unit=1&baud=19200&parity=E&stopbits=1&timeout=1")
SERIAL_KEYS = {"unit", "baud", "parity", "stopbits", "bytesize", "timeout", "rs485"}
NET_KEYS = {"timeout"}
IPV6_FIX = ("put an IPv6 address in square brackets with the port after them, tcp://[fe80::1]:502/1; "
            "a link-local one takes its interface, tcp://[fe80::1%eth0]:502/1")
BRACKETED = re.compile(r"\[[^\[\]/]+\](:[^\[\]]*)?")
BAUDS = (1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200)


@dataclass(frozen=True)
class MeterAddress:
    scheme: str  # "tcp", "rtu+tcp" or "rtu"
    unit: int
    host: str = ""
    port: int = 0
    device: str = ""
    baud: int = 19200
    parity: str = "E"
    stopbits: int = 1
    bytesize: int = 8
    timeout: float = 1.0
    rs485: bool = False  # kernel RS485 mode (built-in ports of industrial controllers)

    @property
    def bus(self) -> str:
        """The shared line: meters with the same bus are polled one after another."""
        if self.scheme == "rtu":
            return f"rtu://{self.device}"
        host = f"[{self.host}]" if ":" in self.host else self.host  # IPv6
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def line_settings(self) -> tuple[object, ...]:
        """What every meter on one serial bus must agree on."""
        return (self.baud, self.parity, self.stopbits, self.bytesize, self.rs485)

    @property
    def char_time(self) -> float:
        """Seconds per character on the wire (start + data + parity + stop bits)."""
        bits = 1 + self.bytesize + (0 if self.parity == "N" else 1) + self.stopbits
        return bits / self.baud

    def with_unit(self, unit: int) -> MeterAddress:
        return replace(self, unit=unit)

    def __str__(self) -> str:
        if self.scheme == "rtu":
            q = f"unit={self.unit}&baud={self.baud}&parity={self.parity}&stopbits={self.stopbits}"
            if self.timeout != 1.0:
                q += f"&timeout={self.timeout:g}"
            if self.rs485:
                q += "&rs485=1"
            return f"rtu://{self.device}?{q}"
        return f"{self.bus}/{self.unit}"


def _bad(url: str, why: str) -> AddressError:
    return AddressError(f"bad meter address {url!r}: {why}",
                        fix="write it like " + " or ".join(EXAMPLES))


def _bad_ipv6(url: str, why: str) -> AddressError:
    return AddressError(f"bad meter address {url!r}: {why}", fix=IPV6_FIX)


def _check_ipv6(url: str, scheme: str) -> None:
    """A typo in an IPv6 address (a missing bracket, the port inside the brackets, no brackets)
    gets the IPv6 fix, not urllib's "Invalid IPv6 URL" or a misleading port error."""
    netloc = url.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0] if "://" in url else ""
    if scheme not in ("tcp", "rtu+tcp") or not netloc:
        return
    if "[" in netloc or "]" in netloc:
        if not BRACKETED.fullmatch(netloc):
            raise _bad_ipv6(url, f"the brackets around the IPv6 address in {netloc!r} do not pair up")
    elif netloc.count(":") >= 2:
        raise _bad_ipv6(url, f"{netloc!r} looks like an IPv6 address without square brackets")


def _int(url: str, key: str, text: str, lo: int, hi: int) -> int:
    try:
        v = int(text)
    except ValueError:
        raise _bad(url, f"{key} must be a whole number, got {text!r}") from None
    if not lo <= v <= hi:
        raise _bad(url, f"{key} must be {lo}..{hi}, got {v}")
    return v


def _timeout(url: str, text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise _bad(url, f"timeout must be seconds, got {text!r}") from None
    if not 0.01 <= v <= 60:
        raise _bad(url, f"timeout must be 0.01..60 seconds, got {v:g}")
    return v


def parse_address(url: str) -> MeterAddress:
    """Parse a meter URL; a bad one raises AddressError showing correct examples."""
    url = url.strip()
    _check_ipv6(url, url.split("://", 1)[0].lower())
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # urllib checks the address in brackets
        raise _bad_ipv6(url, f"not an IPv6 address: {exc}") from None
    scheme = parts.scheme.lower()
    try:
        query = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)))
    except ValueError:
        raise _bad(url, "cannot read the ?key=value part") from None
    if scheme == "rtu":
        if parts.netloc or not parts.path.startswith("/"):
            raise _bad(url, "a serial address has three slashes and the device path: rtu:///dev/ttyUSB0")
        unknown = set(query) - SERIAL_KEYS
        if unknown:
            raise _bad(url, f"unknown setting {sorted(unknown)[0]!r}; allowed: {', '.join(sorted(SERIAL_KEYS))}")
        baud = _int(url, "baud", query.get("baud", "19200"), 300, 921600)
        parity = query.get("parity", "E").upper()
        if parity not in ("N", "E", "O"):
            raise _bad(url, f"parity must be N, E or O, got {parity!r}")
        return MeterAddress(
            scheme="rtu", device=parts.path, unit=_int(url, "unit", query.get("unit", "1"), 1, 247),
            baud=baud, parity=parity, stopbits=_int(url, "stopbits", query.get("stopbits", "1"), 1, 2),
            bytesize=_int(url, "bytesize", query.get("bytesize", "8"), 7, 8),
            timeout=_timeout(url, query.get("timeout", "1")),
            rs485=query.get("rs485", "0").lower() in ("1", "true", "yes", "on"))
    if scheme in ("tcp", "rtu+tcp"):
        unknown = set(query) - NET_KEYS
        if unknown:
            raise _bad(url, f"unknown setting {sorted(unknown)[0]!r}; a network address takes only timeout")
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            raise _bad(url, "the port must be a number 1..65535") from None
        if not host:
            raise _bad(url, "no host")
        unit_text = parts.path.strip("/")
        if not unit_text:
            raise _bad(url, "no unit id after the port (…:502/1)")
        top = 255 if scheme == "tcp" else 247
        return MeterAddress(scheme=scheme, host=host, port=port or 502,
                            unit=_int(url, "unit", unit_text, 0 if scheme == "tcp" else 1, top),
                            timeout=_timeout(url, query.get("timeout", "1")))
    raise _bad(url, f"unknown scheme {parts.scheme + '://' if parts.scheme else '(none)'}; "
               "use tcp://, rtu+tcp:// or rtu://")
