"""`wattlog events` (the alarm events of a site) and `wattlog alarms test` (a test message through
every configured channel)."""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import click

from .options import CONTEXT, parse_when, resolve_target, site_options

COLUMNS = ["start", "end", "rule", "kind", "subject", "peak", "unit", "message", "notified"]


@click.command(context_settings=CONTEXT)
@site_options("Take the database, site and time zone from this config.",
              "Time zone of --from/--to and of the output (default: the site's).")
@click.option("--from", "start", metavar="WHEN", help="Events still open at or after this local date/time.")
@click.option("--to", "end", metavar="WHEN", help="Events that started before this local date/time.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
def events(db_url, config_path, site, tz, start, end, fmt) -> None:  # type: ignore[no-untyped-def]
    """List alarm events: start, end (empty while active), rule, worst value, notifications sent.

    \b
    Examples:
      wattlog events --config wattlog.toml --from 2026-12-01
      wattlog events --db sqlite:///data/wattlog.db --format json
    """
    from ..alarms.events import list_events
    from ..store import Store, StoreError

    target = resolve_target(db_url, config_path, site, tz)
    zone = ZoneInfo(target.tz)
    lo, hi = parse_when(start, target.tz, "--from"), parse_when(end, target.tz, "--to")
    try:
        with Store(target.url, site=target.name, tz=target.tz) as store:
            store.migrate()
            rows = list_events(store, lo, hi)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None

    def when(t: datetime | None) -> str:
        return t.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if t else ""

    flat = [{"start": when(e["start"]), "end": when(e["end"]), "rule": e["rule"], "kind": e["kind"],
             "subject": e["subject"], "peak": None if e["peak"] is None else round(e["peak"], 3), "unit": e["unit"],
             "message": e["message"],
             "notified": " ".join(f"{n['channel']}:{n['state']}" for n in e["notified"])} for e in rows]
    if fmt == "json":
        click.echo(json.dumps([{**f, "details": e["details"], "notified": e["notified"]} for f, e in zip(flat, rows)],
                              ensure_ascii=False, indent=2))
    elif fmt == "csv":
        w = csv.DictWriter(sys.stdout, COLUMNS)
        w.writeheader()
        w.writerows(flat)
    elif not flat:
        click.echo(f"no events for site {target.name}" + (f" from {start}" if start else "") + (f" to {end}" if end else ""))
    else:
        from rich.console import Console
        from rich.table import Table

        t = Table(title=f"alarm events, site {target.name} ({target.tz})")
        for c in ("start", "end", "rule", "subject", "peak", "notified", "message"):
            t.add_column(c, overflow="fold")
        for f in flat:
            t.add_row(f["start"], f["end"] or "active", f["rule"], f["subject"],
                      "" if f["peak"] is None else f"{f['peak']:g} {f['unit']}", f["notified"], f["message"])
        Console(width=160).print(t)


@click.group(context_settings=CONTEXT)
def alarms() -> None:
    """Alarm rules and notification channels ([alarms] in the config).

    \b
    Example:
      wattlog alarms test --config wattlog.toml
    """


@alarms.command("test", context_settings=CONTEXT)
@click.option("--config", "config_path", required=True, metavar="FILE", help="The site config with [alarms.channels.*].")
@click.option("--channel", "only", multiple=True, metavar="NAME", help="Only this channel (repeatable).")
def test_channels(config_path: str, only: tuple[str, ...]) -> None:
    """Send a test message through each configured channel and say which worked (exit 1 if any failed).

    \b
    Example:
      wattlog alarms test --config wattlog.toml
    """
    from ..alarms.notify import send
    from ..config import ConfigProblems, load_config
    from ..errors import SendError

    try:
        cfg = load_config(config_path)
    except ConfigProblems as exc:
        for p in exc.problems:
            click.echo(str(p), err=True)
        sys.exit(2)
    channels = [c for c in cfg.alarms.channels if not only or c.name in only]
    if not channels:
        click.echo(f"{config_path}: no alarm channels" + (f" named {', '.join(only)}" if only else "")
                   + " (fix: add [alarms.channels.NAME] with type = \"telegram\", \"line\", \"smtp\", \"webhook\" or \"mqtt\")",
                   err=True)
        sys.exit(2)
    now = datetime.now(timezone.utc)
    local = now.astimezone(cfg.tz).strftime("%Y-%m-%d %H:%M")
    failed = 0
    for ch in channels:
        text = (f"wattlog test message from site {cfg.site} through channel {ch.name} ({ch.type}) at {local} "
                f"(local time). If you read this, alarms reach you here.")
        message = {"id": f"test|{ch.name}|{now.isoformat()}", "title": f"[{cfg.site}] wattlog test message",
                   "text": text, "state": "test", "event": {"key": "test", "kind": "test", "subject": cfg.site}}
        try:
            send(ch, message)
            click.echo(f"{ch.name}: sent ({ch.type})")
        except SendError as exc:
            failed += 1
            click.echo(f"{ch.name}: FAILED ({ch.type}): {exc}")
    sys.exit(1 if failed else 0)
