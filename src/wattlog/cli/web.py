"""`wattlog web` (the dashboard read-only over any store, no polling) and `wattlog web-password`."""

from __future__ import annotations

import sys

import click

from ..errors import WattlogError
from .options import CONTEXT, fail


@click.command("web", context_settings=CONTEXT)
@click.option("--db", "db_url", metavar="URL", help="Database URL, e.g. postgresql://host/wattlog.")
@click.option("--config", "config_path", metavar="FILE", help="Site config (database, site, settings, tariff, [web]).")
@click.option("--site", "only_site", help="Show only this site (default: every site in the database).")
@click.option("--tz", help="Time zone of sites without a config [default: Asia/Kuala_Lumpur].")
@click.option("--web", "listen", metavar="HOST:PORT", help="Where to listen [default: [web] listen, else 127.0.0.1:8080].")
def web(db_url: str | None, config_path: str | None, only_site: str | None, tz: str | None, listen: str | None) -> None:
    """Serve the dashboard and REST API read-only over a database, without polling.

    With several sites in the database (each Pi delivering to one central PostgreSQL) the pages get a
    site picker. Listening on anything but 127.0.0.1 needs a login: see `wattlog web-password`.

    \b
    Examples:
      wattlog web --db sqlite:///data/wattlog.db
      wattlog web --config /etc/wattlog/wattlog.toml --web 0.0.0.0:8080
      WATTLOG_WEB_PASSWORD_HASH="$(cat /etc/wattlog/web.hash)" wattlog web --db postgresql://db/wattlog --web 0.0.0.0:8080
    """
    from ..store import Store
    from ..web.app import create_app
    from ..web.context import SiteContext
    from ..web.data import (
        ConfigProblems,
        ReportSettings,
        load_config,
        load_tariff,
        settings_from_config,
        sites_in,
    )
    from ..web.serve import WebServer
    from ..webconfig import with_cli

    if bool(db_url) == bool(config_path):
        fail("give --db URL or --config FILE (see wattlog web --help)", 2)
    cfg = None
    if config_path:
        try:
            cfg = load_config(config_path)
        except ConfigProblems as exc:
            for p in exc.problems:
                click.echo(f"error: {p}", err=True)
            sys.exit(2)
    try:
        options = with_cli(cfg.web if cfg else None, listen, False)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--web") from None
    url = db_url or cfg.databases[0].url  # type: ignore[union-attr]
    contexts = []
    try:
        names = [cfg.site] if cfg else (sites_in(url) or [])
        if only_site:
            names = [only_site]
        if not names:
            fail(f"no site has data in {url} yet (fix: check the URL, or start `wattlog run` first)")
        for name in names:
            zone = cfg.timezone if cfg and name == cfg.site else (tz or "Asia/Kuala_Lumpur")
            store = Store(url, site=name, tz=zone, gap_seconds=cfg.gap_seconds if cfg else 60.0)
            if cfg and name == cfg.site:
                contexts.append(SiteContext(store, name, zone, settings_from_config(cfg),
                                            load_tariff(cfg.tariff, cfg.tariff_dirs) if cfg.tariff else None,
                                            load_tariff(cfg.what_if, cfg.tariff_dirs) if cfg.what_if else None,
                                            poll=cfg.poll, locations={m.name: m.location for m in cfg.meters},
                                            demand_target_kw=options.demand_target_kw))
            else:
                contexts.append(SiteContext(store, name, zone, ReportSettings(timezone=zone)))
        app = create_app(sites=contexts, password_hash=options.password_hash, https=options.https)
        server = WebServer(app, options)
    except WattlogError as exc:
        fail(str(exc), 2)
    click.echo(f"wattlog web: {', '.join(c.name for c in contexts)} read-only on {server.url} (Ctrl-C stops)")
    try:
        server.server.run(sockets=[server.sock])  # in this thread: nothing else runs here
    except KeyboardInterrupt:
        pass


@click.command("web-password", context_settings=CONTEXT)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def web_password(password_stdin: bool) -> None:
    """Make a login for the dashboard: prints a hash to keep in a secret file or the environment.

    The dashboard reads it from the file named by [web] password_file (chmod 600), or from the
    environment variable WATTLOG_WEB_PASSWORD_HASH. The password itself is stored nowhere.

    \b
    Examples:
      wattlog web-password > /etc/wattlog/web.hash && chmod 600 /etc/wattlog/web.hash
      echo 'a long passphrase' | wattlog web-password --password-stdin
    """
    from ..passwords import hash_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    if len(password) < 8:
        fail("use at least 8 characters", 2)
    click.echo(hash_password(password))
