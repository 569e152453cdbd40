"""The exception tree. Errors of libraries underneath are translated at one boundary each.

    WattlogError
    ├── ConfigError          a file or argument is wrong: names the file, the key and the fix
    │   ├── DefinitionError  a meter definition file
    │   ├── AddressError     a meter URL
    │   └── TariffError      a tariff file, or no tariff fits what was asked
    ├── ConfigProblems       every problem found in one config file, reported together
    ├── LinkError            the bus link (serial port, TCP socket) cannot be opened or was lost
    ├── RequestError         one request on an open link failed
    │   ├── NoAnswer         silence until the timeout: wiring, unit id, baud rate
    │   ├── BadFrame         bytes came back but no valid reply: CRC, truncated, wrong parity/baud
    │   ├── DeviceRefused    the meter answered with a Modbus exception (code 2: no such address)
    │   └── ReadFailed       a one-shot read got nothing from the meter (with a hint)
    ├── StoreError           the database refused something: schema, permission, data
    │   └── StoreUnavailable the database cannot be reached now; the same write can be retried
    ├── ArchiveStopped       an archive run stopped for a service stop; the rest waits for the next run
    ├── WebError             the dashboard cannot start: address in use, or public without a login
    ├── ImportRefused        a file to import is refused whole (its meter column, an unknown meter)
    ├── ReportError          a report cannot be made as asked; the fix says what to do instead
    │   └── NoData           no rollups in the requested range
    └── SendError            an alarm channel refused or could not be reached; the outbox retries

The test in tests/test_layout.py keeps this drawing and the classes below equal.
"""

from __future__ import annotations

MODBUS_EXCEPTIONS = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}


class WattlogError(Exception):
    """Base of every error wattlog raises on purpose."""


class ConfigError(WattlogError):
    """A configuration problem, with where it is and how to fix it."""

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None,
                 fix: str | None = None) -> None:
        self.file, self.key, self.fix, self.problem = file, key, fix, message
        where = ": ".join(p for p in (file, key) if p)
        text = f"{where}: {message}" if where else message
        if fix:
            text += f" (fix: {fix})"
        super().__init__(text)


class DefinitionError(ConfigError):
    """A meter definition file is invalid."""


class AddressError(ConfigError):
    """A meter address URL is invalid."""


class LinkError(WattlogError):
    """The bus link cannot be opened, or it was lost."""


class RequestError(WattlogError):
    """One request on an open link failed."""

    hint = ""


class NoAnswer(RequestError):
    """Nothing came back before the timeout."""

    hint = "check wiring (A/B), power, unit id and baud rate"


class BadFrame(RequestError):
    """Bytes came back, but not a valid reply."""

    hint = "check baud rate, parity, termination and that no two meters share a unit id"


class DeviceRefused(RequestError):
    """The device answered with a Modbus exception."""

    def __init__(self, code: int, message: str = "") -> None:
        self.code = code
        name = MODBUS_EXCEPTIONS.get(code, "unknown exception")
        super().__init__(message or f"meter refused: exception {code:02d} ({name})")

    @property
    def hint(self) -> str:  # type: ignore[override]
        if self.code == 2:
            return "the meter has no such register: check the model (--model)"
        if self.code in (10, 11):
            return "the gateway cannot reach the meter: check the RS485 side and unit id"
        return "the meter is busy or faulty; it will be retried"


class ReadFailed(RequestError):
    """Nothing could be read from the meter."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint  # type: ignore[misc]


class TariffError(ConfigError):
    """A tariff file is invalid, or no tariff fits what was asked."""


class ConfigProblems(WattlogError):
    """Every problem found in a config file."""

    def __init__(self, problems: list[ConfigError]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class StoreError(WattlogError):
    """The database refused something: a schema, permission or data problem, not an outage."""

    def __init__(self, problem: str, *, url: str = "", fix: str = "") -> None:
        self.problem, self.url, self.fix = problem, url, fix
        text = f"{url}: {problem}" if url else problem
        super().__init__(f"{text} (fix: {fix})" if fix else text)


class StoreUnavailable(StoreError):
    """The database cannot be reached now; nothing was written, so the same write can be retried."""


class ArchiveStopped(WattlogError):
    """An archive run was asked to stop (the service stops): what is done is done, the rest waits."""


class ImportRefused(WattlogError):
    """A file to import is refused whole: nothing of it is written; the message says why and the fix."""


class ReportError(WattlogError):
    """A report cannot be made as asked; `fix` says what to do instead."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem} (fix: {fix})" if fix else problem)


class NoData(ReportError):
    """No rollups in the requested range."""


class WebError(WattlogError):
    """The dashboard cannot start (address in use, or a non-loopback address without a login)."""


class SendError(WattlogError):
    """An alarm channel (e-mail, Telegram, LINE, webhook, MQTT) refused or could not be reached."""
