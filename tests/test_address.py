"""Meter addresses as URLs."""

import pytest

from wattlog.address import parse_address
from wattlog.errors import AddressError


def test_tcp():
    a = parse_address("tcp://192.168.1.50:502/3")
    assert (a.scheme, a.host, a.port, a.unit, a.bus) == ("tcp", "192.168.1.50", 502, 3, "tcp://192.168.1.50:502")
    assert str(a) == "tcp://192.168.1.50:502/3"
    assert parse_address("tcp://gw.local/1").port == 502


def test_rtu_over_tcp():
    a = parse_address("rtu+tcp://10.0.0.7:4196/2?timeout=0.5")
    assert (a.scheme, a.port, a.unit, a.timeout, a.bus) == ("rtu+tcp", 4196, 2, 0.5, "rtu+tcp://10.0.0.7:4196")


def test_rtu_defaults_are_the_rx380s():
    a = parse_address("rtu:///dev/ttyUSB0")
    assert (a.device, a.unit, a.baud, a.parity, a.stopbits, a.bytesize, a.timeout) == \
        ("/dev/ttyUSB0", 1, 19200, "E", 1, 8, 1.0)
    assert a.bus == "rtu:///dev/ttyUSB0"
    assert a.char_time == pytest.approx(11 / 19200)


def test_rtu_with_settings_and_by_id_path():
    a = parse_address("rtu:///dev/serial/by-id/usb-FTDI_FT232R-if00-port0?unit=7&baud=9600&parity=n&stopbits=2&timeout=0.3&rs485=1")
    assert (a.unit, a.baud, a.parity, a.stopbits, a.timeout, a.rs485) == (7, 9600, "N", 2, 0.3, True)
    assert parse_address(str(a)) == a


@pytest.mark.parametrize("url, words", [
    ("http://x/1", "unknown scheme http://"),
    ("192.168.1.5:502", "unknown scheme"),
    ("tcp://host:502", "no unit id"),
    ("tcp://host:99999/1", "port must be a number"),
    ("tcp://:502/1", "no host"),
    ("tcp://host:502/abc", "unit must be a whole number"),
    ("rtu+tcp://host:502/0", "unit must be 1..247"),
    ("rtu://dev/ttyUSB0", "three slashes"),
    ("rtu:///dev/ttyUSB0?unit=300", "unit must be 1..247"),
    ("rtu:///dev/ttyUSB0?parity=X", "parity must be N, E or O"),
    ("rtu:///dev/ttyUSB0?baud=fast", "baud must be a whole number"),
    ("rtu:///dev/ttyUSB0?speed=9600", "unknown setting 'speed'"),
    ("rtu:///dev/ttyUSB0?timeout=0", "timeout must be 0.01..60"),
    ("tcp://h:502/1?baud=9600", "takes only timeout"),
])
def test_bad_urls_show_a_correct_example(url, words):
    with pytest.raises(AddressError) as err:
        parse_address(url)
    assert words in str(err.value)
    assert "tcp://192.168.1.50:502/1" in str(err.value) and "rtu:///dev/ttyUSB0?unit=1" in str(err.value)
