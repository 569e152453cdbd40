"""The `wattlog` command: thin — parse, call the library, format."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

import click

from . import __version__
from .address import parse_address
from .errors import ConfigError, LinkError, WattlogError
from .meters.definition import get_model
from .polling.bus import MeterSpec

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _model(name: str, definitions: tuple[str, ...]):
    return get_model(name, [Path(d) for d in definitions])


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="wattlog")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """wattlog: read Modbus power meters, keep every reading, and tell which location uses the
    most energy, when, and what it costs.

    \b
    Example:
      wattlog sim --tcp 127.0.0.1:5020 &
      wattlog read tcp://127.0.0.1:5020/1
    """
    _setup_logging(verbose)


@main.command(context_settings=CONTEXT)
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
    from .polling.once import ReadFailed, read_once

    if not logging.getLogger().isEnabledFor(logging.INFO):
        logging.getLogger("wattlog.poller").setLevel(logging.CRITICAL)  # the error is printed once below
    try:
        spec = MeterSpec("meter", parse_address(url), _model(model, definitions))
        reading = asyncio.run(read_once(spec))
    except ConfigError as exc:
        _fail(str(exc), 2)
    except LinkError as exc:
        _fail(str(exc))
    except ReadFailed as exc:
        _fail(f"{exc} — check: {exc.hint}" if exc.hint else str(exc))
    if as_json:
        data = reading.to_json()
        data.pop("meter")
        data["address"] = str(spec.address)
        click.echo(json.dumps(data))
        return
    from .format import reading_table

    from rich.console import Console

    Console().print(reading_table(reading, spec.model, title=f"{spec.model.name} at {spec.address}"))


@main.command(context_settings=CONTEXT)
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

    from .polling.scan import parse_units, scan as do_scan

    try:
        ids = parse_units(units)
    except ValueError as exc:
        _fail(f"--units: {exc}", 2)
    try:
        address = parse_address(url if "://" in url else url)
        m = _model(model, definitions)
    except ConfigError as exc:
        _fail(str(exc), 2)
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=as_json or not console.is_terminal) as bar:
        task = bar.add_task(f"scanning {address.bus}", total=len(ids))
        found: list[int] = []

        def tick(unit: int, hit) -> None:
            if hit:
                found.append(unit)
            bar.update(task, advance=1, description=f"unit {unit}: {len(found)} found")

        try:
            hits = asyncio.run(do_scan(address, ids, m, timeout, tick))
        except LinkError as exc:
            _fail(str(exc))
    if as_json:
        click.echo(json.dumps([{"unit": h.unit, "answer": h.answer, "values": h.values, "guess": h.guess}
                               for h in hits]))
        return
    from rich.table import Table

    t = Table(title=f"{address.bus}: {len(hits)} of {len(ids)} unit ids answered"
              f" ({timeout or 'auto'} s timeout)")
    for col in ("unit", "answer", "looks like"):
        t.add_column(col)
    for h in hits:
        t.add_row(str(h.unit), h.answer, h.guess)
    Console().print(t)
    if not hits:
        click.echo("nothing answered: check wiring (A/B), baud rate and parity, and that the meters are powered",
                   err=True)
        sys.exit(1)


def _endpoint(value: str, option: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter(f"expected HOST:PORT, e.g. 127.0.0.1:5020, got {value!r}", param_hint=option)
    return host or "127.0.0.1", int(port)


@main.command(context_settings=CONTEXT)
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
              help="Inject faults: no_reply, bad_crc, exception, truncated, counter_reset, link_down; "
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
    from .sim import PROFILES, SimOptions, run_sim

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
        _fail(str(exc))


# -- the service -------------------------------------------------------------------------------


def _print_problems(problems) -> None:  # type: ignore[no-untyped-def]
    for p in problems:
        click.echo(f"error: {p}", err=True)


def _quick_config(meters: tuple[str, ...], model: str, poll: str | None, db: str | None, csv_dir: str | None,
                  data_dir: str, site: str, tz: str):  # type: ignore[no-untyped-def]
    from .config import parse_config

    entries = []
    for item in meters:
        name, sep, url = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: expected NAME=URL, e.g. office=tcp://127.0.0.1:5020/1",
                                     param_hint="--meter")
        entries.append({"name": name, "url": url, "model": model})
    data: dict = {"site": {"name": site, "timezone": tz, "data_dir": data_dir}, "meters": entries,
                  "log": {"file": str(Path(data_dir) / "wattlog.log")}}
    if poll:
        data["intervals"] = {"poll": poll}
    if db:
        data["databases"] = [{"url": db}]
    data["csv"] = {"dir": csv_dir or str(Path(data_dir) / "csv")}
    return parse_config(data, "")


def _web_options(cfg, listen: str | None, no_web: bool):  # type: ignore[no-untyped-def]
    from .web.options import with_cli  # --- web (issue 9) ---

    try:
        return with_cli(cfg.web, listen, no_web)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--web") from None


def _run_service(cfg, duration: float | None, web=None) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console

    from .service.logsetup import setup_logging
    from .service.runner import Service
    from .service.terminal import key_reader, summary_table

    setup_logging(cfg.log_file, cfg.log_level)
    console = Console()

    def show(svc: Service) -> None:
        console.print(summary_table(cfg.site, svc.live, svc.statuses, {m.name: m.location for m in cfg.meters},
                                    cfg.poll, svc.paused))

    async def main_task() -> None:
        svc = Service(cfg, summary=show)

        def key(ch: str) -> None:
            if ch == "q":
                svc.stop.set()
            elif ch == "w" and not svc.paused:
                svc.pause(True)
            elif ch == "r" and svc.paused:
                svc.pause(False)

        if duration:
            asyncio.get_running_loop().call_later(duration, svc.stop.set)
        server = None
        if web is not None and web.enabled:  # --- web (issue 9): uvicorn in its own thread ---
            from .web.serve import for_service

            server = for_service(svc, cfg, web).start()
            console.print(f"dashboard: {server.url}", highlight=False)
        try:
            with key_reader(key) as keys:
                if keys:
                    console.print("[dim]keys: q quit · w pause · r resume[/dim]")
                await svc.run()
        finally:
            if server is not None:
                server.stop()

    try:
        asyncio.run(main_task())
    except WattlogError as exc:  # the dashboard cannot start (port in use, no login on a public address)
        _fail(str(exc), 2)


@main.command(context_settings=CONTEXT)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Site configuration (TOML).")
@click.option("--meter", "meters", multiple=True, metavar="NAME=URL", help="A meter, without a config file; repeat.")
@click.option("--model", default="rx380", show_default=True, help="Model of the --meter meters.")
@click.option("--poll", default=None, help="Seconds between polls [default: 10].")
@click.option("--db", default=None, help="Database URL [default: sqlite:///DATA_DIR/wattlog.db].")
@click.option("--csv-dir", default=None, help="Folder for the daily CSV files [default: DATA_DIR/csv].")
@click.option("--data-dir", default="data", show_default=True, help="Folder for the database, spool, CSV and log.")
@click.option("--site", default="wattlog", show_default=True, help="Site name (without a config file).")
@click.option("--tz", default="Asia/Kuala_Lumpur", show_default=True, help="Site time zone (without a config file).")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds (for trials).")
@click.option("--web", "web_listen", metavar="HOST:PORT", help="Serve the dashboard here [default: [web] listen, "
              "else 127.0.0.1:8080].")
@click.option("--no-web", is_flag=True, help="No dashboard.")
def run(config_path, meters, model, poll, db, csv_dir, data_dir, site, tz, duration, web_listen, no_web) -> None:  # type: ignore[no-untyped-def]
    """Run the logger: poll every meter, keep every reading, print a summary every 2 minutes.

    \b
    Examples:
      wattlog run --config /etc/wattlog/wattlog.toml
      wattlog run --meter office=tcp://127.0.0.1:5020/1 --meter 'workshop=rtu:///dev/ttyUSB0?unit=2' \\
                  --poll 10 --db sqlite:///data/wattlog.db --csv-dir data/csv
    \b
    Keys on a terminal: q quit, w pause polling, r resume. SIGTERM and SIGINT stop cleanly.
    """
    from .config import ConfigProblems, load_config

    if bool(config_path) == bool(meters):
        _fail("give either --config FILE or at least one --meter NAME=URL (see wattlog run --help)", 2)
    try:
        cfg = load_config(config_path) if config_path else _quick_config(meters, model, poll, db, csv_dir,
                                                                          data_dir, site, tz)
    except ConfigProblems as exc:
        _print_problems(exc.problems)
        sys.exit(2)
    _run_service(cfg, duration, _web_options(cfg, web_listen, no_web))


@main.command(context_settings=CONTEXT)
@click.option("--data-dir", default="data", show_default=True, help="Folder for the database, spool, CSV and log.")
@click.option("--port", type=int, default=0, help="TCP port of the simulated meters [default: any free port].")
@click.option("--poll", default="10s", show_default=True, help="Poll interval.")
@click.option("--summary", default="2m", show_default=True, help="Terminal summary interval.")
@click.option("--speed", type=float, default=1.0, show_default=True, help="Simulated time per real time.")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds.")
@click.option("--web", "web_listen", metavar="HOST:PORT", help="Serve the dashboard here [default: 127.0.0.1:8080].")
@click.option("--no-web", is_flag=True, help="No dashboard.")
def demo(data_dir, port, poll, summary, speed, duration, web_listen, no_web) -> None:  # type: ignore[no-untyped-def]
    """Simulate three RX380 meters (office, workshop, aircon) and log them on the defaults.

    Everything lands in DATA_DIR: wattlog.db (SQLite), csv/, wattlog.log. Press q to stop.

    \b
    Example:
      wattlog demo --duration 60
    """
    from .config import ConfigProblems, parse_config
    from .sim import SimOptions, SimThread

    units = {1: "office", 2: "workshop", 3: "aircon"}
    with SimThread(SimOptions(units=units, tcp=[("127.0.0.1", port)], speed=speed)) as simulator:
        base = simulator.endpoints[0]
        data = {"site": {"name": "demo", "data_dir": data_dir},
                "intervals": {"poll": poll, "summary": summary},
                "meters": [{"name": name, "url": f"{base}/{uid}", "tags": {"profile": name}}
                           for uid, name in units.items()],
                "csv": {"dir": str(Path(data_dir) / "csv")}, "log": {"file": str(Path(data_dir) / "wattlog.log")}}
        try:
            cfg = parse_config(data, "")
        except ConfigProblems as exc:
            _print_problems(exc.problems)
            sys.exit(2)
        web = _web_options(cfg, web_listen, no_web)
        click.echo(f"wattlog demo: 3 simulated RX380 meters at {base} (units 1-3), polled every {poll}.\n"
                   f"  database {cfg.databases[0].shown}\n  CSV      {cfg.csv_dir}/\n  log      {cfg.log_file}\n"
                   + (f"  dashboard {web.url}\n" if web.enabled else "")
                   + f"The summary table appears after the first poll, then every {summary}. q or Ctrl-C stops.")
        _run_service(cfg, duration, web)


@main.command(context_settings=CONTEXT)
@click.argument("path", default="wattlog.toml", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: str, force: bool) -> None:
    """Write a commented example configuration to PATH.

    \b
    Example:
      wattlog init /etc/wattlog/wattlog.toml && wattlog check --config /etc/wattlog/wattlog.toml
    """
    from importlib import resources

    p = Path(path)
    if p.exists() and not force:
        _fail(f"{p} exists; use --force to overwrite it", 2)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text((resources.files("wattlog") / "example.toml").read_text(encoding="utf-8"), encoding="utf-8")
    click.echo(f"wrote {p}: edit the meters, then run  wattlog check --config {p}")


@main.command(context_settings=CONTEXT)
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="Site configuration.")
def check(config_path: str) -> None:
    """Validate a configuration without opening any port; list every problem with its fix.

    \b
    Example:
      wattlog check --config wattlog.toml
    """
    import os

    from .config import ConfigProblems, load_config

    try:
        cfg = load_config(config_path)
    except ConfigProblems as exc:
        _print_problems(exc.problems)
        click.echo(f"{config_path}: {len(exc.problems)} problem(s)", err=True)
        sys.exit(1)
    buses = sorted({m.address.bus for m in cfg.meters})
    for bus in buses:
        dev = bus.removeprefix("rtu://")
        if bus.startswith("rtu://") and not os.path.exists(dev):
            click.echo(f"warning: {dev} does not exist now (adapter unplugged?); wattlog will keep trying", err=True)
    click.echo(f"{config_path}: ok — site {cfg.site} ({cfg.timezone}), {len(cfg.meters)} meters on "
               f"{len(buses)} bus(es), poll {cfg.poll:g} s")
    for db in cfg.databases:
        click.echo(f"  database {db.name}: {db.shown}")
    click.echo(f"  csv: {cfg.csv_dir or 'off'}; mqtt: {cfg.mqtt.host + ':' + str(cfg.mqtt.port) if cfg.mqtt else 'off'}")


def _register() -> None:
    from .commands.data import export, import_csv
    from .commands.export_report import monthly, workbook
    from .commands.report import report
    from .commands.web import web, web_password

    main.add_command(export)
    main.add_command(import_csv)
    main.add_command(report)
    main.add_command(workbook)
    main.add_command(monthly)
    main.add_command(web)
    main.add_command(web_password)


_register()

if __name__ == "__main__":
    main()
