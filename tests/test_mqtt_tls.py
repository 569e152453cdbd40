"""MQTT over TLS with a throwaway CA: a private Mosquitto that requires a client certificate, and
`wattlog run --mqtt mqtts://…` delivering to it with the CA and client certificate from the config."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from mqtt import Broker, _user_exists

from wattlog.sim import SimOptions, SimThread
from wattlog.sinks.mqtt import MqttConfig, MqttSink


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d: Path) -> None:
    """ca.pem signs server.pem (127.0.0.1) and client.pem; other-ca.pem signs nothing we use."""
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", f"/CN=wattlog test {ca}",
                 "-keyout", f"{ca}.key", "-out", f"{ca}.pem", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in ("server", "client"):
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-days", "2", "-extfile", "san.ext", "-out", f"{name}.pem", cwd=d)


@pytest.fixture
def tls_broker():
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed (Debian: apt-get install openssl)")
    try:
        broker = Broker()
    except FileNotFoundError as exc:
        pytest.skip(f"cannot run a throwaway broker: {exc}")
    make_pki(broker.dir)
    if _user_exists("mosquitto"):
        for f in broker.dir.iterdir():
            shutil.chown(f, "mosquitto", "mosquitto")
    d = broker.dir
    broker.conf.write_text(f"listener {broker.port} 127.0.0.1\nallow_anonymous true\n"
                           f"cafile {d}/ca.pem\ncertfile {d}/server.pem\nkeyfile {d}/server.key\n"
                           "require_certificate true\n")
    broker.start()
    yield broker
    broker.cleanup()


def _tls_subscriber(broker: Broker, topic: str) -> tuple[mqtt.Client, list]:
    got: list = []
    ready = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    d = broker.dir
    c.tls_set(ca_certs=str(d / "ca.pem"), certfile=str(d / "client.pem"), keyfile=str(d / "client.key"))
    c.on_connect = lambda cl, u, f, rc, p=None: (cl.subscribe(topic, qos=1), ready.set())
    c.on_message = lambda _c, _u, msg: got.append((msg.topic, msg.payload))
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    assert ready.wait(10), "the test's own TLS client could not connect"
    return c, got


def test_run_with_mqtts_url_and_client_certificate(tls_broker, tmp_path):
    d = tls_broker.dir
    sub, got = _tls_subscriber(tls_broker, "wattlog/tls/#")
    with SimThread(SimOptions(units={1: "office"}, tcp=[("127.0.0.1", 0)])) as sim:
        conf = tmp_path / "wattlog.toml"
        conf.write_text(f'[site]\nname = "tls"\ndata_dir = "{tmp_path}/data"\n[intervals]\npoll = "0.5s"\nsummary = 0\n'
                        f'[[meters]]\nname = "office"\nurl = "{sim.endpoints[0]}/1"\n'
                        f'[mqtt]\nhost = "192.0.2.1"\nca_file = "{d}/ca.pem"\ncert_file = "{d}/client.pem"\n'
                        f'key_file = "{d}/client.key"\nhomeassistant = false\n')
        # --mqtt replaces the file's (unreachable) host; the certificates stay
        proc = subprocess.run([sys.executable, "-m", "wattlog.cli", "run", "--no-web", "--config", str(conf), "--duration", "3",
                               "--mqtt", f"mqtts://127.0.0.1:{tls_broker.port}"],
                              capture_output=True, text=True, timeout=60)
    time.sleep(0.5)
    sub.disconnect()
    sub.loop_stop()
    assert proc.returncode == 0, proc.stderr
    readings = [json.loads(p) for t, p in got if t == "wattlog/tls/office"]
    assert len(readings) >= 3 and all("timestamp" in r for r in readings)
    assert (b"online" in [p for t, p in got if t == "wattlog/tls/status"])
    assert any(t == "wattlog/tls/office/voltage_l1" for t, _p in got)


def test_wrong_ca_or_no_client_certificate_is_refused(tls_broker):
    d = tls_broker.dir
    wrong = MqttSink(MqttConfig(host="127.0.0.1", port=tls_broker.port, tls=True, ca_file=str(d / "other-ca.pem"),
                                cert_file=str(d / "client.pem"), key_file=str(d / "client.key"),
                                homeassistant=False), "tls")
    with pytest.raises(ConnectionError):
        wrong._open()
    no_cert = MqttSink(MqttConfig(host="127.0.0.1", port=tls_broker.port, tls=True, ca_file=str(d / "ca.pem"),
                                  homeassistant=False), "tls")
    with pytest.raises(ConnectionError):
        no_cert._open()
    right = MqttSink(MqttConfig(host="127.0.0.1", port=tls_broker.port, tls=True, ca_file=str(d / "ca.pem"),
                                cert_file=str(d / "client.pem"), key_file=str(d / "client.key"),
                                homeassistant=False), "tls")
    right._open()
    assert right._connected.is_set()
    right._close()
