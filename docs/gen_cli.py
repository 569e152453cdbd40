"""Write docs/cli.md from the commands' own --help, so the docs cannot drift (a test checks it).

Run:  .venv/bin/python docs/gen_cli.py
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from wattlog.cli import main
from wattlog.cli.app import all_commands

OUT = Path(__file__).with_name("cli.md")


def render() -> str:
    runner = CliRunner()
    parts = ["# wattlog command line\n\nGenerated from `--help` by `docs/gen_cli.py`; do not edit by hand.\n"]
    for args in [[]] + [[name] for name in sorted(all_commands())]:
        result = runner.invoke(main, [*args, "--help"], prog_name="wattlog", terminal_width=100)
        title = "wattlog " + " ".join(args) if args else "wattlog"
        parts.append(f"## {title}\n\n```\n{result.output.rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
