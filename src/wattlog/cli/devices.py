"""`wattlog read`, `scan` and `sim`: one meter, one bus, and the simulator."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

import click

from ..address import parse_address
from ..errors import ConfigError, LinkError, WattlogError
from ..meters.definition import get_model
from ..polling.bus import MeterSpec
from .options import CONTEXT, fail


def _model(name: str, definitions: tuple[str, ...]):  # type: ignore[no-untyped-def]
    return get_model(name, [Path(d) for d in definitions])


@click.command(context_settings=CONTEXT)
@click.argument("url")
@click.option("--model", default="rx380", show_default=True, help="Meter model id, or a path to a definition .toml.")
@click.option("--definitions", multiple=True, metavar="DIR", help="Extra folder of meter definition files.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def read(url: str, model: str, definitions: tuple[str, ...], as_json: bool) -> None:
    """Read one snapshot of the meter at URL.

    \b
    URL forms:
      tcp://HOST:PORT/UNIT        Modbus TCP
      rtu+tcp://HOST:PORT/UNIT    RTU frames through an RS485-to-Ethernet converter
      rtu:///dev/ttyUSB0?unit=1&baud=19200&parity=E&stopbits=1&timeout=1
    \b
    Example:
      wattlog read 'rtu:///dev/ttyUSB0?unit=1' --json
    """
    from ..polling.once import ReadFailed, read_once

    if not logging.getLogger().isEnabledFor(logging.INFO):
        logging.getLogger("wattlog.poller").setLevel(logging.CRITICAL)  # the error is printed once below
    try:
        spec = MeterSpec("meter", parse_address(url), _model(model, definitions))
        reading = asyncio.run(read_once(spec))
    except ConfigError as exc:
        fail(str(exc), 2)
    except LinkError as exc:
        fail(str(exc))
    except ReadFailed as exc:
        fail(f"{exc} — {exc.hint}" if exc.hint else str(exc))
    if as_json:
        data = reading.to_json()
        data.pop("meter")
        data["address"] = str(spec.address)
        click.echo(json.dumps(data))
        return
    from rich.console import Console

    from .format import reading_table

    Console().print(reading_table(reading, spec.model, title=f"{spec.model.name} at {spec.address}"))


@click.command(context_settings=CONTEXT)
@click.argument("url")
@click.option("--units", default="1-247", show_default=True, help="Unit ids to try: 1-247, or 1,2,5-8.")
@click.option("--model", default="rx380", show_default=True, help="Register map to probe with.")
@click.option("--definitions", multiple=True, metavar="DIR", help="Extra folder of meter definition files.")
@click.option("--timeout", type=float, default=None, help="Seconds to wait per unit id [default: from the baud rate].")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def scan(url: str, units: str, model: str, definitions: tuple[str, ...], timeout: float | None,
         as_json: bool) -> None:
    """Find which unit ids answer on the bus at URL (the unit in URL is ignored).

    \b
    Example:
      wattlog scan 'rtu:///dev/ttyUSB0?baud=19200' --units 1-32
    """
    from rich.console import Console
    from rich.progress import Progress

    from ..polling.scan import parse_units
    from ..polling.scan import scan as do_scan

    try:
        ids = parse_units(units)
    except ValueError as exc:
        fail(f"--units: {exc}", 2)
    try:
        address = parse_address(_with_unit(url))
        m = _model(model, definitions)
    except ConfigError as exc:
        fail(str(exc), 2)
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=as_json or not console.is_terminal) as bar:
        task = bar.add_task(f"scanning {address.bus}", total=len(ids))
        found: list[int] = []

        piped = not as_json and not console.is_terminal
        done = [0]

        def tick(unit: int, hit) -> None:
            done[0] += 1
            if hit:
                found.append(unit)
            bar.update(task, advance=1, description=f"unit {unit}: {len(found)} found")
            if piped and (hit or done[0] % 10 == 0 or done[0] == len(ids)):  # no bar off a terminal: lines
                click.echo(f"scanned {done[0]} of {len(ids)} unit ids, {len(found)} answered"
                           + (f" (unit {unit} just now)" if hit else ""), err=True)

        try:
            hits = asyncio.run(do_scan(address, ids, m, timeout, tick))
        except LinkError as exc:
            fail(str(exc))
    if as_json:
        click.echo(json.dumps([{"unit": h.unit, "answer": h.answer, "values": h.values, "guess": h.guess}
                               for h in hits]))
        return
    from rich.table import Table

    t = Table(title=f"{address.bus}: {len(hits)} of {len(ids)} unit ids answered"
              + (f" ({timeout:g} s timeout each)" if timeout else " (timeout from the baud rate)"))
    for col in ("unit", "answer", "looks like"):
        t.add_column(col)
    for h in hits:
        t.add_row(str(h.unit), h.answer, h.guess)
    Console().print(t)
    if not hits:
        click.echo("nothing answered: " + ("check the IP address and port, that the meters are on this network, "
                                           "and --units" if address.scheme == "tcp" else
                                           "check wiring (A/B), baud rate and parity, and that the meters are powered"),
                   err=True)
        sys.exit(1)


def _with_unit(url: str) -> str:
    """tcp://host:port (no unit: scan ignores it anyway) -> tcp://host:port/1."""
    head, sep, query = url.partition("?")
    if head.startswith(("tcp://", "rtu+tcp://")) and head.split("://", 1)[1].rstrip("/").count("/") == 0:
        head = head.rstrip("/") + "/1"
    return head + sep + query


def _endpoint(value: str, option: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter(f"expected HOST:PORT, e.g. 127.0.0.1:5020, got {value!r}", param_hint=option)
    return host or "127.0.0.1", int(port)


@click.command(context_settings=CONTEXT)
@click.option("--tcp", "tcp", multiple=True, metavar="HOST:PORT", help="Serve Modbus TCP here.")
@click.option("--rtu-tcp", multiple=True, metavar="HOST:PORT", help="Serve RTU frames over TCP here.")
@click.option("--serial-link", multiple=True, metavar="PATH",
              help="Create a pty and link its client end at PATH (use parity N on it).")
@click.option("--unit", "units", multiple=True, metavar="ID=PROFILE",
              help="A unit id and its load profile; repeat. [default: 1=office 2=workshop 3=aircon]")
@click.option("--baud", type=int, default=19200, show_default=True, help="Line speed used for pacing.")
@click.option("--pace", is_flag=True, help="Delay each reply by its real wire time plus the meter latency.")
@click.option("--latency-ms", type=float, default=10.0, show_default=True, help="Meter reply latency when pacing.")
@click.option("--fault", "faults", multiple=True, metavar="KIND=RATE",
              help="Inject faults: no_reply, bad_crc, exception, truncated, counter_reset, link_down, and "
                   "hostile replies wrong_function, other_unit, wrong_count, garbage, late_reply; "
                   "RATE is a probability per request.")
@click.option("--link-down-seconds", type=float, default=10.0, show_default=True,
              help="How long a link_down fault lasts.")
@click.option("--exception-code", type=int, default=4, show_default=True, help="Code of injected exceptions.")
@click.option("--refuse", multiple=True, metavar="FIRST-LAST",
              help="Answer exception 02 for reads touching these registers, e.g. 4004-4005.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--speed", type=float, default=1.0, show_default=True, help="Simulated time per real time.")
@click.option("--tz", default="Asia/Kuala_Lumpur", show_default=True, help="Time zone of the load profiles.")
def sim(tcp, rtu_tcp, serial_link, units, baud, pace, latency_ms, faults, link_down_seconds, exception_code,
        refuse, seed, speed, tz) -> None:
    """Simulate RX380 meters, each unit id a location with its own daily load profile.

    \b
    Examples:
      wattlog sim --tcp 127.0.0.1:5020
      wattlog sim --serial-link /tmp/ttyRX380 --unit 1=office --unit 2=workshop --pace
      wattlog sim --rtu-tcp 127.0.0.1:5021 --fault no_reply=0.05 --fault link_down=0.001
    """
    from ..sim import PROFILES, SimOptions, run_sim

    unit_map: dict[int, str] = {}
    for item in units or ("1=office", "2=workshop", "3=aircon"):
        uid, sep, profile = item.partition("=")
        if not sep or not uid.isdigit() or not 1 <= int(uid) <= 247 or profile not in PROFILES:
            raise click.BadParameter(f"{item!r}: expected ID=PROFILE with ID 1..247 and PROFILE one of "
                                     f"{', '.join(sorted(PROFILES))}", param_hint="--unit")
        unit_map[int(uid)] = profile
    fault_rates: dict[str, float] = {}
    for item in faults:
        kind, sep, rate = item.partition("=")
        try:
            fault_rates[kind] = float(rate)
        except ValueError:
            raise click.BadParameter(f"{item!r}: expected KIND=RATE, e.g. no_reply=0.05", param_hint="--fault")
    refused = []
    for item in refuse:
        lo, _, hi = item.partition("-")
        if not lo.isdigit() or not (hi or lo).isdigit():
            raise click.BadParameter(f"{item!r}: expected FIRST-LAST, e.g. 4004-4005", param_hint="--refuse")
        refused.append((int(lo), int(hi or lo)))
    if not (tcp or rtu_tcp or serial_link):
        tcp = ("127.0.0.1:5020",)
    options = SimOptions(
        units=unit_map, tcp=[_endpoint(v, "--tcp") for v in tcp],
        rtu_tcp=[_endpoint(v, "--rtu-tcp") for v in rtu_tcp], serial_links=list(serial_link),
        baud=baud, pace=pace, latency_ms=latency_ms, faults=fault_rates, link_down_seconds=link_down_seconds,
        exception_code=exception_code, refuse=refused, seed=seed, speed=speed, tz=tz)
    logging.getLogger("wattlog.sim").setLevel(logging.INFO)

    async def serve() -> None:
        import signal

        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):  # stop cleanly: the pty link is removed
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await run_sim(options, stop)

    try:
        asyncio.run(serve())
    except (WattlogError, ValueError, OSError) as exc:
        fail(str(exc))
