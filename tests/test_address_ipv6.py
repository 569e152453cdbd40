"""IPv6 meter addresses (issue 8, item 7): a typo gets one line with the IPv6 fix and exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from wattlog.address import parse_address
from wattlog.errors import AddressError


@pytest.mark.parametrize("url, words", [
    ("tcp://[fe80::1/1", "brackets around the IPv6 address in '[fe80::1' do not pair up"),
    ("tcp://[::1:502/1", "do not pair up"),
    ("tcp://fe80::1]:502/1", "do not pair up"),
    ("tcp://[::1]]:502/1", "do not pair up"),  # urllib took this for ::1 port 502
    ("tcp://fe80::1:502/1", "looks like an IPv6 address without square brackets"),
    ("rtu+tcp://::1/2", "without square brackets"),
    ("tcp://[fe80::zz]:502/1", "not an IPv6 address"),
])
def test_ipv6_typos_get_the_ipv6_fix(url, words):
    with pytest.raises(AddressError) as err:
        parse_address(url)
    assert words in str(err.value)
    assert "tcp://[fe80::1]:502/1" in str(err.value)


@pytest.mark.parametrize("url, host, port", [
    ("tcp://[fe80::1]:502/1", "fe80::1", 502),
    ("rtu+tcp://[::1]/3", "::1", 502),
    ("tcp://[fe80::1%eth0]:5020/1", "fe80::1%eth0", 5020),
])
def test_ipv6_addresses_parse_and_print_back(url, host, port):
    a = parse_address(url)
    assert (a.host, a.port) == (host, port)
    assert a.bus.startswith(f"{a.scheme}://[{host}]:")
    assert parse_address(str(a)) == a


def test_cli_reports_an_ipv6_typo_in_one_line_with_exit_2(tmp_path):
    r = subprocess.run([sys.executable, "-m", "wattlog.cli", "read", "tcp://[fe80::1/1"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "tcp://[fe80::1]:502/1" in r.stderr and "Traceback" not in r.stderr
    config = tmp_path / "wattlog.toml"
    config.write_text('[site]\nname = "t"\ndata_dir = "data"\n[[meters]]\nname = "office"\n'
                      'url = "tcp://fe80::1:502/1"\n')
    r = subprocess.run([sys.executable, "-m", "wattlog.cli", "run", "--no-web", "--config", str(config)],
                       capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and "meters[0].url" in r.stderr and "square brackets" in r.stderr
