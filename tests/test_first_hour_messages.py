"""Messages a new user meets: a pty that rejects parity E, scan without a unit and piped, TCP advice."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time

from wattlog.sim import SimOptions, SimThread


def wattlog(*args: str, **kw) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run([sys.executable, "-m", "wattlog.cli", *args], capture_output=True, text=True,
                          env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"}, **kw)


def test_a_port_that_rejects_its_settings_is_one_line_under_read_and_logged_under_run(tmp_path):
    master, slave = pty.openpty()
    name = os.ttyname(slave)
    try:
        r = wattlog("read", f"rtu://{name}?unit=1&timeout=0.3")  # the default parity E: a pty refuses it
        assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
        assert f"serial port {name} rejects the settings 19200 8E1" in r.stderr and "parity=N" in r.stderr
        config = tmp_path / "w.toml"
        config.write_text(f'[site]\nname = "t"\ndata_dir = "{tmp_path}/data"\n\n[intervals]\npoll = "2s"\n\n[[meters]]\nname = "office"\n'
                          f'url = "rtu://{name}?unit=1&timeout=0.3"\n\n[[databases]]\nurl = "sqlite:///{tmp_path}/w.db"\n')
        p = subprocess.Popen([sys.executable, "-m", "wattlog.cli", "run", "--no-web", "--config", str(config)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(6)
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=30)
        assert "Traceback" not in out
        assert f"ERROR wattlog.poller: bus rtu://{name}: serial port {name} rejects the settings 19200 8E1" in out
        assert "bus down" in out  # the meter's status says so, not "new"
    finally:
        os.close(master)
        os.close(slave)


def test_scan_takes_a_url_without_a_unit_and_shows_progress_when_piped():
    with SimThread(SimOptions(units={2: "office"}, tcp=[("127.0.0.1", 0)])) as sim:
        base = sim.endpoints[0]  # tcp://127.0.0.1:PORT
        r = wattlog("scan", base, "--units", "1-3", "--timeout", "0.3")
        assert r.returncode == 0, r.stderr
        assert "scanned 3 of 3 unit ids, 1 answered" in r.stderr and "(unit 2 just now)" in r.stderr
        assert "3 unit ids answered (0.3 s timeout each)" in r.stdout and "auto s" not in r.stdout
        r = wattlog("scan", base, "--units", "5", "--timeout", "0.2")
        assert r.returncode == 1 and "check the IP address and port" in r.stderr and "A/B" not in r.stderr


def test_an_empty_export_says_where_the_data_is_and_the_demo_ends_with_what_to_do_next(tmp_path):
    r = wattlog("demo", "--duration", "4", "--poll", "1s", "--port", "0", "--data-dir", str(tmp_path / "data"),
                cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    last = r.stdout.rstrip().splitlines()[-3:]
    assert last[0].startswith("demo stopped. What it logged is in sqlite:///")
    assert last[1].strip().startswith("wattlog report ranking --db sqlite:///") and "--from 20" in last[1]
    url = last[1].split("--db ")[1].split()[0]
    r = wattlog("export", "--db", url, "--from", "2001-01-01", "--to", "2001-01-02", cwd=tmp_path)
    assert r.returncode == 0 and "0 readings exported in this range; data exists from 20" in r.stderr
    assert "try --from 20" in r.stderr
    r = wattlog("export", "--db", url, "--meter", "nobody", cwd=tmp_path)
    assert "no meter 'nobody' at site 'demo' (meters: aircon, office, workshop)" in r.stderr
    header = wattlog("export", "--db", url, cwd=tmp_path).stdout.splitlines()[0].split(",")
    assert header[:3] == ["timestamp", "meter", "voltage_l12"] and header[-1] == "flags"
