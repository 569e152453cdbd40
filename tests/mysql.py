"""MariaDB/MySQL for tests: the machine's server on 127.0.0.1:3306 (root, no password), a
throwaway database per test.

Fixtures (tests/conftest.py imports them):
    mysql_server   session: the admin URL, or skip with the reason
    mysql_fresh    function: a new empty database for one test, dropped after it
"""

from __future__ import annotations

import uuid

import pytest

HOST, PORT = "127.0.0.1", 3306

__all__ = ["mysql_fresh", "mysql_server"]


def _connect(database: str | None = None):  # type: ignore[no-untyped-def]
    import pymysql

    return pymysql.connect(host=HOST, port=PORT, user="root", database=database, connect_timeout=3, autocommit=True)


@pytest.fixture(scope="session")
def mysql_server() -> str:
    try:
        import pymysql  # noqa: F401
    except ImportError:
        pytest.skip("pymysql is not installed: pip install 'wattlog[mysql]'")
    try:
        _connect().close()
    except Exception as exc:  # noqa: BLE001 — any failure means: no server here
        pytest.skip(f"no MariaDB/MySQL on {HOST}:{PORT} as root without a password: {exc}")
    return f"mysql+pymysql://root@{HOST}:{PORT}"


@pytest.fixture
def mysql_fresh(mysql_server: str):  # type: ignore[no-untyped-def]
    name = f"wattlog_test_{uuid.uuid4().hex[:10]}"
    conn = _connect()
    conn.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    yield f"{mysql_server}/{name}?charset=utf8mb4"
    conn.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()
