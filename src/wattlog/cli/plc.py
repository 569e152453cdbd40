"""`wattlog plc export`: IEC 61131-3 code for a PLC from the meter definitions the poller uses."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import WattlogError
from ..meters.definition import MeterModel, get_model
from .options import CONTEXT, fail


@click.group(context_settings=CONTEXT)
def plc() -> None:
    """Code for a PLC (IEC 61131-3 Structured Text, PLCopen XML for CODESYS) from meter definitions.

    \b
    Example:
      wattlog plc export rx380 --format plcopen -o plc/
    """


def _models(model: str | None, config_path: str | None, definitions: tuple[str, ...]) -> list[MeterModel]:
    if bool(model) == bool(config_path):
        raise click.UsageError("give a MODEL or --config FILE (not both)")
    if model:
        return [get_model(model, [Path(d) for d in definitions])]
    from ..config import load_config
    from ..errors import ConfigProblems

    try:
        cfg = load_config(config_path)  # type: ignore[arg-type]
    except ConfigProblems as exc:
        first = exc.problems[0]
        more = f" (and {len(exc.problems) - 1} more: wattlog check --config {config_path})" if exc.problems[1:] else ""
        raise WattlogError(f"{first}{more}") from exc
    chosen: dict[str, MeterModel] = {}
    for m in cfg.meters:
        chosen.setdefault(m.model.model, m.model)
    return list(chosen.values())


@plc.command(context_settings=CONTEXT)
@click.argument("model", required=False)
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Export every model this site configuration uses.")
@click.option("--definitions", multiple=True, metavar="DIR", help="Extra folder of meter definition files.")
@click.option("--format", "fmt", type=click.Choice(["st", "plcopen"]), default="st", show_default=True,
              help="st: one .st file per type and POU; plcopen: one PLCopen TC6 XML 2.01 file.")
@click.option("-o", "--output", "out", required=True, type=click.Path(file_okay=False), help="Output folder.")
def export(model: str | None, config_path: str | None, definitions: tuple[str, ...], fmt: str, out: str) -> None:
    """Generate the data types, the decode and energy/demand function blocks and an example
    program for MODEL (a model id or a definition .toml), or for every model of --config.

    \b
    Examples:
      wattlog plc export rx380 --format st -o plc/
      wattlog plc export --config wattlog.toml --format plcopen -o plc/
    Import into CODESYS: see docs/plc.md.
    """
    from ..plc.plcopen import write_plcopen
    from ..plc.project import (
        project,  # here, not at the top: `wattlog run` need not load the generator
    )
    from ..plc.st import write_st

    try:
        for m in _models(model, config_path, definitions):
            p = project(m)
            if fmt == "st":
                paths = write_st(p, Path(out) / m.model)
                click.echo(f"{m.model}: {len(paths)} files in {Path(out) / m.model}")
            else:
                click.echo(f"{m.model}: {write_plcopen(p, Path(out))}")
    except WattlogError as exc:
        fail(str(exc))
