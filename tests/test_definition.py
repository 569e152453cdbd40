"""Meter definitions as data: the shipped RX380 map, and every validation message."""

from pathlib import Path

import pytest

from wattlog.errors import DefinitionError
from wattlog.meters.definition import get_model, load_models, parse_model
from wattlog.quantities import QUANTITIES

RX380_MAP = {  # the RX380 manual's register map, every row: address, type, scale
    "total_real_energy": (4002, "u32", 1), "total_apparent_energy": (4006, "u32", 1),
    "total_reactive_energy": (4010, "u32", 1), "total_real_power": (4012, "s32", 1),
    "total_apparent_power": (4014, "u32", 1), "total_reactive_power": (4016, "s32", 1),
    "total_power_factor": (4018, "s16", 0.001), "frequency": (4019, "u16", 0.01),
    "current_l1": (4020, "u32", 0.001), "current_l2": (4022, "u32", 0.001),
    "current_l3": (4024, "u32", 0.001), "current_ln": (4026, "u32", 0.001),
    "voltage_l12": (4028, "u32", 0.1), "voltage_l23": (4030, "u32", 0.1), "voltage_l31": (4032, "u32", 0.1),
    "voltage_l1": (4034, "u32", 0.1), "voltage_l2": (4036, "u32", 0.1), "voltage_l3": (4038, "u32", 0.1),
}


def test_rx380_has_every_row_of_the_register_map():
    m = get_model("rx380")
    assert {r.name: (r.address, r.type, r.factor) for r in m.registers} == RX380_MAP
    assert all(r.function == 4 and r.word_order == "high_first" for r in m.registers)
    assert m.by_name["total_real_energy"].kind == "counter"
    assert set(m.by_name) == set(QUANTITIES)


def test_scaled_value_has_no_binary_noise():
    reg = get_model("rx380").by_name["voltage_l1"]
    assert reg.value([0, 2314]) == 231.4


def _model(**reg):
    base = {"name": "voltage_l1", "address": 10, "type": "u16", "unit": "V"}
    base.update(reg)
    return {"model": "x1", "registers": [base]}


@pytest.mark.parametrize("data, key, words", [
    ({"model": "x1", "registers": [], "colour": 1}, "colour", "unknown key"),
    (_model(scal=0.1), "registers[0] (voltage_l1).scal", "did you mean 'scale'"),
    (_model(type="int32"), "registers[0] (voltage_l1).type", "u16, s16, u32, s32, u64"),
    (_model(function=6), "registers[0] (voltage_l1).function", "use 3 (holding registers) or 4"),
    (_model(word_order="middle"), "registers[0] (voltage_l1).word_order", "high_first"),
    (_model(unit="kWh"), "registers[0] (voltage_l1).unit", "measured in 'V'"),
    (_model(address=70000), "registers[0] (voltage_l1).address", "0..65535"),
    (_model(name="Voltage L1"), "registers[0] (Voltage L1).name", "lower case"),
    (_model(kind="counter"), "registers[0] (voltage_l1).kind", 'kind = "instantaneous"'),
    (_model(name="humidity", kind="gauge"), "registers[0] (humidity).kind", "counter"),
    (_model(valid=[5, 1]), "registers[0] (voltage_l1).valid", "min must be below max"),
    (_model(type="float32", sentinel=0), "registers[0] (voltage_l1).sentinel", "NaN"),
    (_model(scale=0), "registers[0] (voltage_l1).scale", "multiplier"),
    ({"registers": [{"name": "frequency", "address": 1, "type": "u16", "unit": "Hz"}]}, "model", 'model = "rx380"'),
    ({"model": "x1", "registers": [{"name": "frequency", "address": 1, "type": "u16"}]},
     "registers[0] (frequency).unit", "add unit"),
    ({"model": "x1", "max_read": 200, "registers": [{"name": "frequency", "address": 1, "type": "u16", "unit": "Hz"}]},
     "max_read", "1..125"),
])
def test_invalid_definitions_name_the_entry_and_the_fix(data, key, words):
    with pytest.raises(DefinitionError) as err:
        parse_model(data, "meters/x1.toml")
    assert err.value.file == "meters/x1.toml"
    assert err.value.key == key
    assert words in str(err.value)
    assert "(fix: " in str(err.value)


def test_overlapping_and_duplicate_registers_are_rejected():
    regs = [{"name": "voltage_l1", "address": 10, "type": "u32", "unit": "V"},
            {"name": "voltage_l2", "address": 11, "type": "u16", "unit": "V"}]
    with pytest.raises(DefinitionError, match="overlap at address 11"):
        parse_model({"model": "x1", "registers": regs}, "x1.toml")
    regs[1] = {"name": "voltage_l1", "address": 20, "type": "u16", "unit": "V"}
    with pytest.raises(DefinitionError, match="duplicate quantity"):
        parse_model({"model": "x1", "registers": regs}, "x1.toml")


def test_unit_conversion_and_own_quantities():
    m = parse_model({"model": "x2", "registers": [
        {"name": "total_real_power", "address": 0, "type": "float32", "unit": "kW"},
        {"name": "total_real_energy", "address": 2, "type": "u32", "unit": "Wh", "scale": 10},
        {"name": "thd_voltage_l1", "address": 4, "type": "u16", "unit": "%", "scale": 0.1,
         "kind": "instantaneous"},
    ]}, "x2.toml")
    assert m.by_name["total_real_power"].value([0x3FC0, 0]) == 1500.0  # 1.5 kW
    assert m.by_name["total_real_energy"].value([0, 1234]) == 12.34  # 12340 Wh
    assert m.by_name["thd_voltage_l1"].unit == "%"


def test_sentinel_and_nan_mean_not_available():
    m = parse_model({"model": "x3", "registers": [
        {"name": "frequency", "address": 0, "type": "u16", "unit": "Hz", "sentinel": 65535, "scale": 0.01},
        {"name": "voltage_l1", "address": 1, "type": "float32", "unit": "V"}]}, "x3.toml")
    assert m.by_name["frequency"].value([65535]) is None
    assert m.by_name["voltage_l1"].value([0x7FC0, 0]) is None


def test_a_user_adds_a_model_by_dropping_a_file(tmp_path: Path):
    (tmp_path / "acme.toml").write_text(
        'model = "acme100"\nfunction = 3\nword_order = "low_first"\n'
        'registers = [ { name = "voltage_l1", address = 0, type = "float32", unit = "V" } ]\n')
    models = load_models([tmp_path])
    assert {"rx380", "acme100"} <= set(models)
    reg = get_model("acme100", [tmp_path]).registers[0]
    assert (reg.function, reg.word_order) == (3, "low_first")


def test_broken_files_name_the_file(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text('model = "x"\nregisters = [ { name = "voltage_l1" ')
    with pytest.raises(DefinitionError) as err:
        load_models([tmp_path])
    assert str(bad) in str(err.value) and "not valid TOML" in str(err.value)
    with pytest.raises(DefinitionError, match="folder not found"):
        load_models([tmp_path / "nope"])
    with pytest.raises(DefinitionError, match="unknown meter model 'rx999'.*rx380"):
        get_model("rx999")
