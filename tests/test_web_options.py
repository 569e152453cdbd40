"""[web] in the config, --web / --no-web, the bind rule (no login, no public address), and the demo's URL."""

from __future__ import annotations

import subprocess
import sys
import urllib.request

import pytest
from web_browser import free_port

from wattlog.config import ConfigProblems, parse_config
from wattlog.errors import WebError
from wattlog.passwords import check_hash, hash_password, verify
from wattlog.web.serve import check_bind
from wattlog.webconfig import parse_listen, with_cli

METER = [{"name": "office", "url": "tcp://127.0.0.1:5020/1"}]


def problems(web: dict, monkeypatch=None) -> list[str]:
    try:
        parse_config({"meters": METER, "web": web}, "site.toml")
    except ConfigProblems as exc:
        return [str(p) for p in exc.problems]
    return []


def test_defaults_to_loopback_8080(monkeypatch):
    monkeypatch.delenv("WATTLOG_WEB_PASSWORD_HASH", raising=False)
    cfg = parse_config({"meters": METER}, "site.toml")
    assert (cfg.web.enabled, cfg.web.host, cfg.web.port, cfg.web.password_hash) == (True, "127.0.0.1", 8080, None)


def test_a_public_address_without_a_login_is_a_config_problem(monkeypatch, tmp_path):
    monkeypatch.delenv("WATTLOG_WEB_PASSWORD_HASH", raising=False)
    found = problems({"listen": "0.0.0.0:8080"})
    assert len(found) == 1 and "web.listen" in found[0] and "wattlog web-password" in found[0]
    secret = tmp_path / "web.hash"
    secret.write_text(hash_password("a long passphrase") + "\n")
    assert problems({"listen": "0.0.0.0:8080", "password_file": str(secret)}) == []
    monkeypatch.setenv("WATTLOG_WEB_PASSWORD_HASH", "hunter2")  # a password, not a hash: refused
    assert "not a wattlog password hash" in problems({})[0]


def test_bad_web_keys_name_the_key_and_the_fix(monkeypatch):
    monkeypatch.delenv("WATTLOG_WEB_PASSWORD_HASH", raising=False)
    found = problems({"listen": "8080", "port": 1, "demand_target_kw": -5})
    assert any("web.listen" in p and "HOST:PORT" in p for p in found)
    assert any("web.port: unknown key" in p for p in found)
    assert any("web.demand_target_kw" in p for p in found)


def test_cli_overrides_and_the_bind_rule(monkeypatch):
    monkeypatch.delenv("WATTLOG_WEB_PASSWORD_HASH", raising=False)
    assert parse_listen("[::1]:9000") == ("::1", 9000) and parse_listen(":81") == ("127.0.0.1", 81)
    with pytest.raises(ValueError):
        parse_listen("localhost")
    assert not with_cli(None, None, True).enabled
    public = with_cli(None, "0.0.0.0:8080", False)
    with pytest.raises(WebError, match="without a login"):
        check_bind(public)
    check_bind(with_cli(None, "127.0.0.1:8080", False))


def test_password_hashes_verify_and_reject():
    h = hash_password("pump room 7")
    assert check_hash(h) is None and verify("pump room 7", h) and not verify("pump room 8", h)
    assert "pump room" not in h


def test_demo_prints_the_dashboard_url_and_serves_it(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "wattlog.cli", "demo", "--data-dir", str(tmp_path), "--poll", "1s",
                             "--duration", "8", "--web", f"127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = proc.stdout.readline() + proc.stdout.readline() + proc.stdout.readline() + proc.stdout.readline() + \
        proc.stdout.readline()
    assert f"dashboard http://127.0.0.1:{port}/" in first
    import time

    deadline, body = time.monotonic() + 20, b""
    while time.monotonic() < deadline and b'"status":"ok"' not in body:
        try:
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/latest", timeout=2).read()
        except OSError:
            pass
        time.sleep(0.3)
    out = first + proc.communicate(timeout=60)[0]
    assert b'"status":"ok"' in body, out
    assert proc.returncode == 0, out
