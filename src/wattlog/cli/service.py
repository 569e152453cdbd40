"""`wattlog run`, `demo`, `init` and `check`: the service and its config."""

from __future__ import annotations

import asyncio
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from ..errors import WattlogError
from .options import CONTEXT, fail


def _print_problems(problems) -> None:  # type: ignore[no-untyped-def]
    for p in problems:
        click.echo(f"error: {p}", err=True)


def _quick_config(meters: tuple[str, ...], model: str, poll: str | None, db: str | None, csv_dir: str | None,
                  data_dir: str, site: str, tz: str, patch=None):  # type: ignore[no-untyped-def]
    from ..config import parse_config

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
    if patch is not None:
        patch(data)
    return parse_config(data, "")


def _web_options(cfg, listen: str | None, no_web: bool):  # type: ignore[no-untyped-def]
    from ..webconfig import with_cli

    try:
        return with_cli(cfg.web, listen, no_web)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--web") from None


def _run_service(cfg, duration: float | None, web=None) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console

    from ..errors import ConfigError
    from ..service.datadir import UMASK, DataDirLock, prepare
    from ..service.logsetup import setup_logging
    from ..service.runner import Service
    from ..service.terminal import key_reader, summary_table

    os.umask(UMASK)  # data_dir 0750, databases, spool and log 0640 whatever the caller's umask
    lock = DataDirLock(cfg.data_dir)
    try:
        prepare(cfg.data_dir)
        lock.acquire()
    except ConfigError as exc:
        fail(str(exc), 2)
    try:
        setup_logging(cfg.log_file, cfg.log_level)
    except OSError as exc:
        fail(f"log.file: cannot write {cfg.log_file}: {exc.strerror} (fix: make its folder writable or "
             "choose another file)", 2)
    console = Console()
    # The table is built on the loop (a snapshot: 20 ms for 1,000 meters) and printed by this thread:
    # rich takes about 1 ms a row, so printing on the loop stalled every bus for a second at 1,000
    # meters and made RS485 buses near their capacity miss a cycle (issue 14, bench/scale.py).
    printer = ThreadPoolExecutor(1, thread_name_prefix="wattlog-summary")

    def show(svc: Service) -> None:
        table = summary_table(cfg.site, svc.live, svc.statuses, {m.name: m.location for m in cfg.meters},
                              cfg.poll, svc.paused, warning=svc.disk.warning)
        printer.submit(console.print, table)

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
        if web is not None and web.enabled:  # the dashboard: uvicorn in its own thread, never in the way of polling
            from ..web.serve import for_service

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
        fail(str(exc), 2)
    finally:
        printer.shutdown()  # the last table is printed before the exit


@click.command(context_settings=CONTEXT)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Site configuration (TOML).")
@click.option("--meter", "meters", multiple=True, metavar="NAME=URL", help="A meter, without a config file; repeat.")
@click.option("--model", default="rx380", show_default=True, help="Model of the --meter meters.")
@click.option("--poll", default=None, help="Seconds between polls [default: 10].")
@click.option("--db", default=None, help="Database URL [default: sqlite:///DATA_DIR/wattlog.db].")
@click.option("--csv-dir", default=None, help="Folder for the daily CSV files [default: DATA_DIR/csv].")
@click.option("--data-dir", default="data", show_default=True, help="Folder for the database, spool, CSV and log.")
@click.option("--site", default="wattlog", show_default=True, help="Site name (without a config file).")
@click.option("--tz", default="Asia/Kuala_Lumpur", show_default=True, help="Site time zone (without a config file).")
@click.option("--mqtt", "mqtt_url", default=None, metavar="URL",
              help="Publish to this MQTT broker: mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (overrides [mqtt] url).")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds (for trials).")
@click.option("--web", "web_listen", metavar="HOST:PORT", help="Serve the dashboard here [default: [web] listen, "
              "else 127.0.0.1:8080].")
@click.option("--no-web", is_flag=True, help="No dashboard.")
def run(config_path, meters, model, poll, db, csv_dir, data_dir, site, tz, mqtt_url, duration, web_listen, no_web) -> None:  # type: ignore[no-untyped-def]
    """Run the logger: poll every meter, keep every reading, print a summary every 2 minutes.

    \b
    Examples:
      wattlog run --config /etc/wattlog/wattlog.toml
      wattlog run --meter office=tcp://127.0.0.1:5020/1 --meter 'workshop=rtu:///dev/ttyUSB0?unit=2' \\
                  --poll 10 --db sqlite:///data/wattlog.db --csv-dir data/csv
      wattlog run --config wattlog.toml --mqtt mqtts://broker.lan:8883
    \b
    Keys on a terminal: q quit, w pause polling, r resume. SIGTERM and SIGINT stop cleanly.
    """
    from ..config import ConfigProblems, load_config

    if bool(config_path) == bool(meters):
        fail("give either --config FILE or at least one --meter NAME=URL (see wattlog run --help)", 2)

    def with_mqtt(data: dict) -> None:
        if mqtt_url:  # the URL replaces the file's broker address; its other [mqtt] settings stay
            table = data.get("mqtt") if isinstance(data.get("mqtt"), dict) else {}
            data["mqtt"] = {**{k: v for k, v in table.items() if k not in ("host", "port", "url", "tls", "enabled")},
                            "url": mqtt_url}

    try:
        cfg = load_config(config_path, with_mqtt) if config_path else _quick_config(
            meters, model, poll, db, csv_dir, data_dir, site, tz, with_mqtt)
    except ConfigProblems as exc:
        _print_problems(exc.problems)
        sys.exit(2)
    _run_service(cfg, duration, _web_options(cfg, web_listen, no_web))


@click.command(context_settings=CONTEXT)
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
    from ..config import ConfigProblems, parse_config
    from ..sim import SimOptions, SimThread

    units = {1: "office", 2: "workshop", 3: "aircon"}
    with ExitStack() as stack:
        try:
            simulator = stack.enter_context(SimThread(SimOptions(units=units, tcp=[("127.0.0.1", port)], speed=speed)))
        except OSError as exc:
            fail(f"--port {port}: cannot listen on 127.0.0.1:{port}: {exc.strerror} (fix: choose another port, "
                 "or leave --port out for any free one)", 2)
        base = simulator.endpoints[0]
        data = {"site": {"name": "demo", "data_dir": data_dir},
                "intervals": {"poll": poll, "summary": summary},
                "meters": [{"name": name, "url": f"{base}/{uid}", "tags": {"profile": name}}
                           for uid, name in units.items()],
                "csv": {"dir": str(Path(data_dir) / "csv")}, "log": {"file": str(Path(data_dir) / "wattlog.log")},
                # a demo shows every reading in the dashboard's charts at once; a site's defaults spare
                # the SD card instead (spool every 5 s, SQLite once a minute: README, Durability)
                "spool": {"flush": "1s"},
                "databases": [{"url": f"sqlite:///{Path(data_dir) / 'wattlog.db'}", "every": "0s"}]}
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
    today = datetime.now(ZoneInfo(cfg.timezone)).date()
    url = cfg.databases[0].shown
    me = ".venv/bin/wattlog" if Path(".venv/bin/wattlog").exists() else "wattlog"  # after ./dev: not on PATH
    click.echo(f"demo stopped. What it logged is in {url}, {cfg.csv_dir}/ and {cfg.log_file}. Look at it with:\n"
               f"  {me} report ranking --db {url} --from {today} --to {today + timedelta(days=1)}\n"
               f"  {me} export --db {url} --from {today} | head")


@click.command(context_settings=CONTEXT)
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
        fail(f"{p} exists; use --force to overwrite it", 2)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text((resources.files("wattlog") / "example.toml").read_text(encoding="utf-8"), encoding="utf-8")
    click.echo(f"wrote {p}: edit the meters, then run  wattlog check --config {p}")


@click.command(context_settings=CONTEXT)
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="Site configuration.")
def check(config_path: str) -> None:
    """Validate a configuration without opening any port; list every problem with its fix.

    \b
    Example:
      wattlog check --config wattlog.toml
    """

    from ..config import ConfigProblems, load_config

    try:
        cfg = load_config(config_path)
    except ConfigProblems as exc:
        _print_problems(exc.problems)
        click.echo(f"{config_path}: {len(exc.problems)} problem(s)", err=True)
        sys.exit(1)
    from ..service.datadir import problem

    wrong = problem(cfg.data_dir)
    if wrong is not None:
        click.echo(f"error: {config_path}: {wrong}", err=True)
        sys.exit(1)  # like every problem check finds
    buses = sorted({m.address.bus for m in cfg.meters})
    for bus in buses:
        dev = bus.removeprefix("rtu://")
        if bus.startswith("rtu://") and not os.path.exists(dev):
            click.echo(f"warning: {dev} does not exist now (adapter unplugged?); wattlog will keep trying", err=True)
    click.echo(f"{config_path}: ok — site {cfg.site} ({cfg.timezone}), {len(cfg.meters)} meters on "
               f"{len(buses)} bus(es), poll {cfg.poll:g} s")
    for db in cfg.databases:
        click.echo(f"  database {db.name}: {db.shown}" + (f" (takes readings every {db.every:g} s)" if db.every else ""))
    click.echo(f"  spool: fsynced every {cfg.spool_flush:g} s (a power cut loses at most the last {cfg.spool_flush:g} s)")
    click.echo(f"  csv: {cfg.csv_dir or 'off'}; mqtt: {cfg.mqtt.host + ':' + str(cfg.mqtt.port) if cfg.mqtt else 'off'}")
    click.echo(f"  raw readings: {cfg.raw_retention_days:g} days, then "
               + (f"archived to {cfg.archive_dir}" if cfg.archive_dir else "deleted ([archive] enabled = false)"))
    if cfg.alarms.rules or cfg.alarms.channels:  # issue 13
        click.echo(f"  alarms: {len(cfg.alarms.rules)} rule(s); channels: "
                   f"{', '.join(f'{c.name} ({c.type})' for c in cfg.alarms.channels) or 'none'}")
