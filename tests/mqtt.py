"""Mosquitto for tests: the machine's broker on 127.0.0.1:1883, and throwaway brokers to stop at will."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

__all__ = ["Broker", "mqtt_broker", "throwaway_broker"]


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def mqtt_broker() -> int:
    """The port of a running Mosquitto on 127.0.0.1 (started if installed but stopped), or skip."""
    if _listening(1883):
        return 1883
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        pytest.skip("Mosquitto is not installed (Debian: apt-get install mosquitto) and none listens on 1883")
    conf = "/etc/mosquitto/mosquitto.conf"
    subprocess.run([exe, "-d", "-c", conf] if Path(conf).exists() else [exe, "-d"], capture_output=True, timeout=10)
    for _ in range(50):
        if _listening(1883):
            return 1883
        time.sleep(0.1)
    pytest.skip("Mosquitto did not start on 127.0.0.1:1883")


class Broker:
    """A private Mosquitto with persistence on its own port, for outage tests."""

    def __init__(self) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            raise FileNotFoundError("mosquitto not installed")
        self.exe = exe
        self.dir = Path(tempfile.mkdtemp(prefix="wattlog-mqtt-"))
        shutil.chown(self.dir, "mosquitto", "mosquitto") if _user_exists("mosquitto") else None
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                             f"persistence_location {self.dir}/\nautosave_interval 1\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(100):
            if _listening(self.port):
                return
            time.sleep(0.05)
        raise RuntimeError("throwaway mosquitto did not start")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()  # mosquitto saves its persistence file on SIGTERM
            self.proc.wait(10)
            self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture
def throwaway_broker():
    try:
        broker = Broker()
    except FileNotFoundError as exc:
        pytest.skip(f"cannot run a throwaway broker: {exc}")
    broker.start()
    yield broker
    broker.cleanup()
