"""PLCopen TC6 XML 2.01: the same data types and POUs as the .st files, for Project -> Import PLCopenXML.

Each POU's interface is XML, its body the same Structured Text as the .st file. The example program
is added a second time as an FBD network (`..Fbd`): the decode block feeding the energy block.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from .model import PlcProject, Pou, Var, block_ok, block_var
from .st import header

NS = "http://www.plcopen.org/xml/tc6_0201"
XHTML = "http://www.w3.org/1999/xhtml"
ELEMENTARY = {"BOOL", "SINT", "INT", "DINT", "LINT", "USINT", "UINT", "UDINT", "ULINT", "REAL", "LREAL",
              "TIME", "BYTE", "WORD", "DWORD", "LWORD", "STRING"}
ARRAY = re.compile(r"^ARRAY\[(-?\d+)\.\.(-?\d+)\] OF (\w+)$")
SECTIONS = {"VAR_INPUT": "inputVars", "VAR_OUTPUT": "outputVars", "VAR_IN_OUT": "inOutVars", "VAR": "localVars"}

ET.register_namespace("", NS)
ET.register_namespace("xhtml", XHTML)


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _sub(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, _q(tag), {k: v for k, v in attrs.items()})


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    """A formattedText element (documentation, ST body): one xhtml:p holding the text."""
    el = _sub(parent, tag)
    p = ET.SubElement(el, f"{{{XHTML}}}p")
    p.text = text
    return el


def type_element(parent: ET.Element, type_: str, tag: str = "type") -> None:
    el = _sub(parent, tag)
    m = ARRAY.match(type_)
    if m:
        arr = _sub(el, "array")
        _sub(arr, "dimension", lower=m.group(1), upper=m.group(2))
        type_element(arr, m.group(3), "baseType")
    elif type_ in ELEMENTARY:
        _sub(el, type_)
    else:
        _sub(el, "derived", name=type_)


def _variable(parent: ET.Element, v: Var) -> None:
    el = _sub(parent, "variable", name=v.name)
    type_element(el, v.type)
    if v.init:
        _sub(_sub(el, "initialValue"), "simpleValue", value=v.init)
    if v.comment:
        _text(el, "documentation", v.comment)


def _interface(pou_el: ET.Element, pou: Pou) -> None:
    iface = _sub(pou_el, "interface")
    for section in SECTIONS:
        if pou.sections.get(section):
            vars_el = _sub(iface, SECTIONS[section])
            for v in pou.sections[section]:
                _variable(vars_el, v)


def _pou(parent: ET.Element, pou: Pou) -> ET.Element:
    el = _sub(parent, "pou", name=pou.name, pouType=pou.kind)
    _interface(el, pou)
    _text(_sub(el, "body"), "ST", pou.body)
    _text(el, "documentation", pou.comment)
    return el


class _Fbd:
    """Builds one FBD network: variables and blocks with numbered local ids and positions."""

    def __init__(self, body: ET.Element) -> None:
        self.fbd = _sub(body, "FBD")
        self.next_id = 1
        self.order = 0

    def _id(self) -> str:
        self.next_id += 1
        return str(self.next_id - 1)

    def source(self, expression: str, x: int, y: int) -> tuple[str, str | None]:
        lid = self._id()
        el = _sub(self.fbd, "inVariable", localId=lid, height="20", width=str(10 + 7 * len(expression)))
        _sub(el, "position", x=str(x), y=str(y))
        _sub(el, "connectionPointOut")
        _sub(el, "expression").text = expression
        return lid, None

    def block(self, type_name: str, instance: str | None, inputs: list[tuple[str, tuple[str, str | None], bool]],
              outputs: list[str], x: int, y: int) -> str:
        lid = self._id()
        self.order += 1
        attrs = {"localId": lid, "typeName": type_name, "executionOrderId": str(self.order),
                 "width": "160", "height": str(20 * (max(len(inputs), len(outputs)) + 2))}
        if instance:
            attrs["instanceName"] = instance
        el = _sub(self.fbd, "block", **attrs)
        _sub(el, "position", x=str(x), y=str(y))
        ins = _sub(el, "inputVariables")
        for name, (ref, param), negated in inputs:
            v = _sub(ins, "variable", formalParameter=name, **({"negated": "true"} if negated else {}))
            cp = _sub(v, "connectionPointIn")
            _sub(cp, "connection", refLocalId=ref, **({"formalParameter": param} if param else {}))
        _sub(el, "inOutVariables")
        outs = _sub(el, "outputVariables")
        for name in outputs:
            _sub(_sub(outs, "variable", formalParameter=name), "connectionPointOut")
        return lid

    def sink(self, expression: str, ref: str, param: str, x: int, y: int) -> None:
        el = _sub(self.fbd, "outVariable", localId=self._id(), height="20", width=str(10 + 7 * len(expression)))
        _sub(el, "position", x=str(x), y=str(y))
        cp = _sub(el, "connectionPointIn")
        _sub(cp, "connection", refLocalId=ref, formalParameter=param)
        _sub(el, "expression").text = expression


def _fbd_program(parent: ET.Element, project: PlcProject, example: Pou) -> None:
    name = example.name + "Fbd"
    el = _sub(parent, "pou", name=name, pouType="program")
    _interface(el, example)
    net = _Fbd(_sub(el, "body"))
    decode = next(p for p in project.pous if p.name.endswith("Decode"))
    inputs = []
    for i in range(len(project.blocks)):
        for j, var in enumerate((block_var(i), block_ok(i))):
            inputs.append((var, net.source(var, 20, 40 + 40 * (2 * i + j)), False))
    dec = net.block(decode.name, "fbDecode", inputs, ["stValues", "stQuality"], 220, 40)
    net.sink("stMeter", dec, "stValues", 440, 40)
    net.sink("stQuality", dec, "stQuality", 440, 80)
    if any(p.name == "FB_WattlogEnergy" for p in project.pous):
        y = 80 + 80 * len(project.blocks)
        ton = net.block("TON", "tonPoll", [("IN", net.source("tonPoll.Q", 20, y), True),
                                           ("PT", net.source("tPoll", 20, y + 40), False)], ["Q", "ET"], 220, y)
        eq = net.block("EQ", None, [("IN1", net.source("stQuality.total_real_power", 20, y + 120), False),
                                    ("IN2", net.source("0", 20, y + 160), False)], ["OUT"], 220, y + 120)
        net.block("FB_WattlogEnergy", "fbEnergy",
                  [("xSample", (ton, "Q"), False), ("liNowUs", net.source("liLocalNowUs", 220, y + 220), False),
                   ("rPowerW", net.source("stMeter.total_real_power", 220, y + 260), False),
                   ("xPowerOk", (eq, "OUT"), False), ("liGapUs", net.source("60000000", 220, y + 300), False),
                   ("iWindowMin", net.source("30", 220, y + 340), False)],
                  ["rQuarterKWh", "rBlockKW", "rProjectedKW"], 480, y)
    _text(el, "documentation", example.comment + " (the same as the ST program, as an FBD network)")


def plcopen_xml(project: PlcProject, created: datetime | None = None) -> bytes:
    """The project as one TC6 XML 2.01 document."""
    created = created or datetime.now(timezone.utc).replace(microsecond=0)
    root = ET.Element(_q("project"))
    _sub(root, "fileHeader", companyName="wattlog", productName="wattlog plc export", productVersion=__version__,
         creationDateTime=created.strftime("%Y-%m-%dT%H:%M:%S"), contentDescription=header(project))
    content = _sub(root, "contentHeader", name=f"wattlog {project.model.model}")
    coords = _sub(content, "coordinateInfo")
    for lang in ("fbd", "ld", "sfc"):
        _sub(_sub(coords, lang), "scaling", x="1", y="1")
    types = _sub(root, "types")
    data_types = _sub(types, "dataTypes")
    for s in project.structs:
        dt = _sub(data_types, "dataType", name=s.name)
        struct = _sub(_sub(dt, "baseType"), "struct")
        for f in s.fields:
            _variable(struct, f)
        _text(dt, "documentation", s.comment)
    pous = _sub(types, "pous")
    for pou in project.pous:
        _pou(pous, pou)
        if pou.kind == "program":
            _fbd_program(pous, project, pou)
    _sub(_sub(root, "instances"), "configurations")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_plcopen(project: PlcProject, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"wattlog_{project.model.model}.xml"
    path.write_bytes(plcopen_xml(project))
    return path
