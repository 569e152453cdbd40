#!/usr/bin/env python3
"""Every report in every format as a whole command (issue 14): wall time and peak memory of the process.

    .venv/bin/python bench/report_commands.py --db /tmp/r.db           # 32 meters x 2025 (built if missing)
    .venv/bin/python bench/report_commands.py --quick --db /tmp/q.db   # 8 meters x January-February 2025

The database is bench/reports.py's (the same --db file is reused by both); reports open it by --db,
the cost report by a site config with its tariffs (--config). Each command is run as a
child process `wattlog report NAME --format F` with its output to a file (a pipe or file: what a
person gets with `> file` or `| less`); wall time is the median of --repeat runs, memory the largest
max RSS of the child (os.wait4). Baselines measured in the same run: `python -c pass` and
`wattlog --help` in the same venv. Goals: every report <= 2 s and <= 200 MB; `wattlog --help` <= 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import reports as bench_db  # noqa: E402 (bench/reports.py builds the database)

WATTLOG = str(Path(sys.executable).with_name("wattlog"))
GOAL_S, GOAL_MB, HELP_S = 2.0, 200.0, 0.3
FORMATS = ("table", "csv", "json")
# The cost report needs the site's tariffs: a site config with TNB's C2 (2014) and, from July 2025, MV ToU.
SITE = """[site]
name = "bench"
timezone = "{tz}"
[[meters]]
name = "main"
url = "tcp://127.0.0.1:5020/1"
[[databases]]
url = "sqlite:///{db}"
[reports]
main_meter = "main"
[[tariff.periods]]
from = 2014-01-01
name = "my-tnb-c2-2014"
[[tariff.periods]]
from = 2025-07-01
name = "my-tnb-mv-tou-2025"
"""


# The command is started by a small launcher (python -S, ~10 MB): a child's max RSS counts the memory
# of the process it was forked from, and this script's own (with SQLAlchemy) would hide a small child's.
LAUNCH = """import os, sys, time
t = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - t, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, os.waitstatus_to_exitcode(status),
      file=sys.stderr)
"""


def run(argv: list[str], out: Path) -> tuple[float, float, float, int]:
    """(wall s, CPU s, max RSS MB, output bytes) of one child process."""
    with open(out, "wb") as f:
        p = subprocess.run([sys.executable, "-S", "-c", LAUNCH, *argv], stdout=f, stderr=subprocess.PIPE, text=True)
    wall, cpu, rss_kb, code = p.stderr.split()[-4:]
    if int(code):
        raise SystemExit(f"failed ({code}): {' '.join(argv)}\n{p.stderr}")
    return float(wall), float(cpu), int(rss_kb) / 1024, out.stat().st_size


def measure(argv: list[str], out: Path, repeat: int) -> tuple[float, float, float, float, float, int]:
    """(median, min, max wall s, median CPU s, max RSS MB, bytes) over `repeat` runs after one warm-up."""
    run(argv, out)  # page cache and .pyc files warm, as on a machine in use
    runs = [run(argv, out) for _ in range(repeat)]
    walls = [r[0] for r in runs]
    return (statistics.median(walls), min(walls), max(walls), statistics.median(r[1] for r in runs),
            max(r[2] for r in runs), runs[-1][3])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="8 meters, January-February (about a minute)")
    ap.add_argument("--db", type=Path, help="database file to build or reuse (default: a temporary one)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per command (median wall time)")
    ap.add_argument("--only", help="comma-separated report names")
    args = ap.parse_args()
    n_meters, n_raw10, start, end = (8, 2, date(2025, 1, 1), date(2025, 3, 1)) if args.quick else \
        (32, 4, date(2025, 1, 1), date(2026, 1, 1))
    tmp = tempfile.TemporaryDirectory(prefix="wattlog-cmd-bench-")
    db = args.db or Path(tmp.name) / "reports.db"
    print(f"# report commands benchmark {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; Python "
          f"{platform.python_version()}, {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs")
    bench_db.build(db, n_meters, n_raw10, start, end)
    out = Path(tmp.name) / "out"
    site = Path(tmp.name) / "site.toml"
    site.write_text(SITE.format(tz=bench_db.TZ, db=db.resolve()), encoding="utf-8")
    span = ["--from", start.isoformat(), "--to", end.isoformat()]
    by_db = ["--db", f"sqlite:///{db}", "--tz", bench_db.TZ, "--main-meter", "main", *span]
    from wattlog.reports.registry import REPORTS

    names = args.only.split(",") if args.only else list(REPORTS)
    py, _, _, py_cpu, py_mb, _ = measure([sys.executable, "-c", "pass"], out, args.repeat)
    hlp, hlp_lo, hlp_hi, hlp_cpu, hlp_mb, _ = measure([WATTLOG, "--help"], out, args.repeat)
    print(f"baseline: python -c pass {py:.3f} s (CPU {py_cpu:.3f} s) {py_mb:.0f} MB; wattlog --help {hlp:.3f} s "
          f"({hlp_lo:.3f}-{hlp_hi:.3f}; CPU {hlp_cpu:.3f} s) {hlp_mb:.0f} MB "
          f"({hlp / py:.1f}x python)")
    print(f"{n_meters} meters, {start} to {end} ({(end - start).days} days)\n")
    print("| report | format | wall (median; min-max) | × python | CPU | max RSS | output | goal |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    failed = [] if hlp <= HELP_S else [f"wattlog --help {hlp:.3f} s"]
    for name in names:
        for fmt in FORMATS:
            where = ["--config", str(site), *span] if name == "cost" else by_db
            argv = [WATTLOG, "report", name, *where, "--format", fmt]
            med, lo, hi, cpu, mb, size = measure(argv, out, args.repeat)
            ok = med <= GOAL_S and mb <= GOAL_MB
            if not ok:
                failed.append(f"{name} {fmt}: {med:.2f} s, {mb:.0f} MB")
            print(f"| {name} | {fmt} | {med:.2f} s ({lo:.2f}-{hi:.2f}) | {med / py:.0f}× | {cpu:.2f} s | {mb:.0f} MB | "
                  f"{size / 1e3:,.0f} kB | {'met' if ok else 'NOT met'} |", flush=True)
    print(f"\ngoals (median ≤ {GOAL_S:g} s, max RSS ≤ {GOAL_MB:g} MB; wattlog --help median ≤ {HELP_S:g} s): "
          + ("all met" if not failed else "NOT met: " + "; ".join(failed)))
    tmp.cleanup()
    return 0  # the verdict is printed: ./dev bench runs the next script either way


if __name__ == "__main__":
    sys.exit(main())
