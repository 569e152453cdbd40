"""Decoding of every type, sign and word order: tables of words -> value."""

import math

import pytest

from wattlog.meters.decode import decode, encode

CASES = [
    # words, type, word order, value
    ([0x0000], "u16", "high_first", 0),
    ([0xFFFF], "u16", "high_first", 65535),
    ([0x7FFF], "s16", "high_first", 32767),
    ([0x8000], "s16", "high_first", -32768),
    ([0xFFFF], "s16", "high_first", -1),
    ([0xFC4A], "s16", "high_first", -950),
    ([0x0001, 0xE240], "u32", "high_first", 123456),
    ([0xE240, 0x0001], "u32", "low_first", 123456),
    ([0xFFFF, 0xFFFF], "u32", "high_first", 4294967295),
    ([0xFFFF, 0xFA24], "s32", "high_first", -1500),
    ([0xFA24, 0xFFFF], "s32", "low_first", -1500),
    ([0x8000, 0x0000], "s32", "high_first", -2147483648),
    ([0x7FFF, 0xFFFF], "s32", "high_first", 2147483647),
    ([0x0000, 0x0001, 0x0000, 0x0000], "u64", "high_first", 1 << 32),
    ([0x0000, 0x0000, 0x0001, 0x0000], "u64", "low_first", 1 << 32),
    ([0x0123, 0x4567, 0x89AB, 0xCDEF], "u64", "high_first", 0x0123456789ABCDEF),
    ([0xCDEF, 0x89AB, 0x4567, 0x0123], "u64", "low_first", 0x0123456789ABCDEF),
    ([0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE], "s64", "high_first", -2),
    ([0x4367, 0x6666], "float32", "high_first", 231.39999389648438),
    ([0x6666, 0x4367], "float32", "low_first", 231.39999389648438),
    ([0xC2C8, 0x0000], "float32", "high_first", -100.0),
    ([0x0000, 0x0000], "float32", "high_first", 0.0),
]


@pytest.mark.parametrize("words, type_, order, value", CASES)
def test_decode_table(words, type_, order, value):
    assert decode(words, type_, order) == value


@pytest.mark.parametrize("words, type_, order, value", CASES)
def test_encode_is_the_inverse(words, type_, order, value):
    assert encode(value, type_, order) == words


def test_float_nan_decodes_as_nan():
    assert math.isnan(decode([0x7FC0, 0x0000], "float32"))
    assert math.isnan(decode([0x0000, 0x7FC0], "float32", "low_first"))


def test_wrong_word_count_is_an_error():
    with pytest.raises(ValueError, match="u32 needs 2 words"):
        decode([1], "u32")


def test_encode_refuses_values_that_do_not_fit():
    with pytest.raises(OverflowError):
        encode(-1, "u16")
    with pytest.raises(OverflowError):
        encode(40000, "s16")
