"""The Node-RED examples: the committed flows equal the generated ones, and real Node-RED 4 (from npm,
node_modules cached in ~/.cache/wattlog-node-red) receives wattlog's MQTT readings in the dashboard
flow and reads the simulated RX380 over Modbus TCP with the generated decoder."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from test_service import run_for

from wattlog.config import parse_config
from wattlog.meters.definition import load_models
from wattlog.service.runner import Service
from wattlog.sim import SimOptions, SimThread

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "node-red"
CACHE = Path(os.environ.get("WATTLOG_NODE_RED_CACHE", Path.home() / ".cache" / "wattlog-node-red"))


def _generator():
    spec = importlib.util.spec_from_file_location("node_red_generate", EXAMPLES / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_flows_equal_the_generated_ones():
    gen = _generator()
    for name, nodes in gen.flows().items():
        assert (EXAMPLES / name).read_text(encoding="utf-8") == gen.render(nodes), \
            f"examples/node-red/{name} is stale: run python examples/node-red/generate.py"
    # the decoder's table is the definition's register map, register for register
    model = load_models()["rx380"]
    func = next(n for n in gen.flows()["rx380-modbus.json"] if n["type"] == "function")["func"]
    for r in model.registers:
        assert json.dumps([r.name, r.address - 4002, gen.GETTERS[r.type]])[:-1] in func, r.name


def _node_red() -> Path:
    """The cached node_modules with Node-RED and the example's nodes (npm install when package.json changed)."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("Node.js/npm are not installed (Debian: apt-get install nodejs npm); Node-RED cannot run")
    major = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip().lstrip("v").split(".")[0]
    if int(major) < 18:
        pytest.skip(f"Node {major} is too old for Node-RED 4 (needs 18 or newer)")
    CACHE.mkdir(parents=True, exist_ok=True)
    wanted = (EXAMPLES / "package.json").read_bytes()
    stamp = CACHE / ".installed"
    digest = hashlib.sha256(wanted).hexdigest()
    if not (CACHE / "node_modules" / "node-red").exists() or not stamp.exists() or stamp.read_text() != digest:
        (CACHE / "package.json").write_bytes(wanted)
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=CACHE, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        stamp.write_text(digest)
    return CACHE / "node_modules"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 — a local test server
        return r.status, r.read()


def test_node_red_receives_wattlog_and_reads_the_meter(mqtt_broker, tmp_path):
    modules = _node_red()
    gen = _generator()
    site = f"nr{int(time.time() * 1000) % 10**8}"
    with SimThread(SimOptions(units={1: "office", 2: "workshop"}, tcp=[("127.0.0.1", 0)])) as sim:
        host, port = sim.endpoints[0].removeprefix("tcp://").rsplit(":", 1)
        flows = gen.dashboard_flow(port=mqtt_broker) + gen.modbus_flow(load_models()["rx380"], host, int(port),
                                                                          unit=1, rate_s=1)
        user = tmp_path / "nr"
        user.mkdir()
        (user / "node_modules").symlink_to(modules)
        (user / "flows.json").write_text(json.dumps(flows))
        http = _free_port()
        log = (tmp_path / "node-red.log").open("w")
        proc = subprocess.Popen(["node", str(modules / "node-red" / "red.js"), "--userDir", str(user), "--port",
                                 str(http), "flows.json"], stdout=log, stderr=subprocess.STDOUT, cwd=user)
        try:
            deadline = time.monotonic() + 60
            while "Started flows" not in (tmp_path / "node-red.log").read_text() and time.monotonic() < deadline:
                assert proc.poll() is None, (tmp_path / "node-red.log").read_text()[-3000:]
                time.sleep(0.2)
            text = (tmp_path / "node-red.log").read_text()
            assert "Started flows" in text, text[-3000:]
            assert "Missing node types" not in text and "Waiting for missing types" not in text, text
            time.sleep(1.0)  # the MQTT node subscribes after the flows start

            cfg = parse_config({"site": {"name": site, "data_dir": str(tmp_path / "data")},
                                "intervals": {"poll": "0.5s", "summary": 0},
                                "meters": [{"name": "office", "url": f"{sim.endpoints[0]}/1"},
                                           {"name": "workshop", "url": f"{sim.endpoints[0]}/2"}],
                                "log": {"file": str(tmp_path / "wattlog.log")},
                                "mqtt": {"url": f"mqtt://127.0.0.1:{mqtt_broker}", "homeassistant": False}}, "")
            svc = Service(cfg)
            run_for(svc, 3.0)
            last = {m: svc.live.latest(m) for m in ("office", "workshop")}

            # wattlog's last reading of each meter is what the dashboard flow holds (same timestamp, same values)
            deadline, got = time.monotonic() + 10, {}
            while time.monotonic() < deadline:
                got = json.loads(_get(f"http://127.0.0.1:{http}/wattlog/latest")[1] or b"{}")
                if all(got.get(f"{site}/{m}", {}).get("timestamp") == r.timestamp.isoformat() for m, r in last.items()):
                    break
                time.sleep(0.3)
            for m, r in last.items():
                entry = got.get(f"{site}/{m}")
                assert entry and entry["timestamp"] == r.timestamp.isoformat(), (m, entry)
                assert entry["values"]["total_real_power"] == r.values["total_real_power"]

            # the Modbus flow decodes the same meter as wattlog does
            deadline, direct = time.monotonic() + 15, None
            while time.monotonic() < deadline and not direct:
                direct = json.loads(_get(f"http://127.0.0.1:{http}/rx380/latest")[1] or b"null")
                time.sleep(0.3)
            assert direct, (tmp_path / "node-red.log").read_text()[-3000:]
            assert set(direct["values"]) == {r.name for r in load_models()["rx380"].registers}
            ours = last["office"].values
            assert abs(direct["values"]["total_real_energy"] - ours["total_real_energy"]) <= 1
            assert abs(direct["values"]["voltage_l1"] - ours["voltage_l1"]) < 15
            assert 49 < direct["values"]["frequency"] < 51 and -1 <= direct["values"]["total_power_factor"] <= 1

            status, body = _get(f"http://127.0.0.1:{http}/dashboard")
            assert status == 200 and b"<html" in body.lower()
        finally:
            proc.terminate()
            proc.wait(10)
            log.close()
    errors = [line for line in (tmp_path / "node-red.log").read_text().splitlines() if "[error]" in line]
    assert not errors, errors
