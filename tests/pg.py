"""PostgreSQL for tests: the machine's server (a throwaway database per use) and throwaway clusters.

Fixtures (plain pytest fixtures; tests/conftest.py imports them):
    pg_server   session: the admin URL of the server on 127.0.0.1:5432, or skip with the reason
    pg_url      session: a database made for this test session, dropped at the end
    pg_fresh    function: a new empty database for one test
    pg_cluster  function: a started ThrowawayCluster (its own initdb, port and socket dir), for outage tests
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

HOST, PORT = "127.0.0.1", 5432
USERS = ("postgres", "root")

__all__ = ["ThrowawayCluster", "find_server", "pg_cluster", "pg_fresh", "pg_server", "pg_url"]


def _connect(url: str):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True,
                           connect_timeout=3)


def _try_users() -> tuple[str | None, str]:
    last = ""
    for user in USERS:
        url = f"postgresql+psycopg://{user}@{HOST}:{PORT}/test"
        try:
            with _connect(url) as conn:
                conn.execute("select 1")
            return url, ""
        except Exception as exc:  # noqa: BLE001 - any failure means: try the next way
            last = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None, last


def find_server() -> tuple[str | None, str]:
    """(admin URL, "") of the PostgreSQL on 127.0.0.1:5432, starting it if it is installed; else (None, why)."""
    url, why = _try_users()
    if url:
        return url, ""
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if versions and shutil.which("pg_ctlcluster"):
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
                       capture_output=True, timeout=60)
        for _ in range(20):
            url, why = _try_users()
            if url:
                return url, ""
            time.sleep(0.5)
    return None, (f"no PostgreSQL on {HOST}:{PORT} ({why}); install Debian's postgresql package "
                  "or start it with pg_ctlcluster")


def _with_db(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def create_database(admin: str) -> str:
    name = f"wattlog_test_{uuid.uuid4().hex[:10]}"
    with _connect(admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _with_db(admin, name)


def drop_database(admin: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with _connect(admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_server() -> str:
    url, why = find_server()
    if url is None:
        pytest.skip(why)
    return url


@pytest.fixture(scope="session")
def pg_url(pg_server: str):  # type: ignore[no-untyped-def]
    url = create_database(pg_server)
    yield url
    drop_database(pg_server, url)


@pytest.fixture
def pg_fresh(pg_server: str):  # type: ignore[no-untyped-def]
    url = create_database(pg_server)
    yield url
    drop_database(pg_server, url)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _bindir() -> Path:
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise FileNotFoundError("initdb not found: install Debian's postgresql package")


class ThrowawayCluster:
    """A private PostgreSQL (initdb -A trust in a temp dir) that a test can stop and start at will.

    As root it runs as the postgres user (PostgreSQL refuses root). The URL stays valid across
    stop()/start(): same port, same database `postgres`, user `postgres`.
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="wattlog-pg-"))
        self.data = self.dir / "data"
        self.bin = _bindir()
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-A", "trust", "-U", "postgres", "-D", str(self.data), "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [*self._as, str(self.bin / tool), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses={HOST} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def cleanup(self) -> None:
        if self.running:
            try:
                self.stop()
            except RuntimeError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def pg_cluster():  # type: ignore[no-untyped-def]
    try:
        cluster = ThrowawayCluster()
    except (FileNotFoundError, RuntimeError) as exc:
        pytest.skip(f"cannot make a throwaway PostgreSQL cluster: {exc}")
    cluster.start()
    yield cluster
    cluster.cleanup()
