"""The PLC program of one meter model, independent of the output format.

A `Pou` (program organisation unit) or `Struct` holds declarations and Structured Text bodies;
`st.py` and `plcopen.py` only render them, so both formats carry the same code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import DefinitionError
from ..meters.definition import MeterModel
from ..polling.plan import ReadBlock

# IEC 61131-3 keywords and standard type names a quantity name must not be (case-insensitive).
RESERVED = frozenset("""
action and any any_bit any_date any_derived any_elementary any_int any_magnitude any_num any_real
any_string array at bool by byte case configuration constant date date_and_time dint do dt dword
else elsif en end_action end_case end_configuration end_for end_function end_function_block end_if
end_program end_repeat end_resource end_step end_struct end_transition end_type end_var end_while
eno exit false f_edge for from function function_block if initial_step int interval lint lreal
lword ltime mod not of on or program r_edge read_only read_write real repeat resource retain return
sint step string struct task then time time_of_day to tod transition true type udint uint ulint until
usint var var_access var_config var_external var_global var_in_out var_input var_output var_temp
while with word wstring xor abs sqrt ln log exp sin cos tan asin acos atan expt sel max min limit mux
shl shr rol ror trunc len left right mid concat insert delete replace find method property interface
extends implements this super pointer reference union char wchar ltod ldt ldate ldate_and_time
""".split())
IDENTIFIER = re.compile(r"^[A-Za-z](?:_?[A-Za-z0-9])*$")  # IEC: no double or trailing underscore

QUALITY_OK, QUALITY_MISSING, QUALITY_IMPLAUSIBLE = 0, 1, 2


@dataclass(frozen=True)
class Var:
    """One declared variable or struct field. `type` is IEC text: LREAL, ARRAY[0..37] OF WORD, ST_X."""

    name: str
    type: str
    init: str = ""
    comment: str = ""


@dataclass
class Struct:
    name: str
    comment: str
    fields: list[Var]


@dataclass
class Pou:
    """A FUNCTION_BLOCK or PROGRAM: its variable sections (in ST keyword order) and ST body."""

    kind: str  # "functionBlock" or "program"
    name: str
    comment: str
    sections: dict[str, list[Var]]  # "VAR_INPUT", "VAR_OUTPUT", "VAR" -> variables
    body: str


@dataclass
class PlcProject:
    """Everything generated for one meter model."""

    model: MeterModel
    blocks: list[ReadBlock]
    structs: list[Struct] = field(default_factory=list)
    pous: list[Pou] = field(default_factory=list)


def camel(model_id: str) -> str:
    """rx380 -> Rx380, my_meter_2 -> MyMeter2: the model's part of every POU name."""
    return "".join(p[:1].upper() + p[1:] for p in model_id.split("_") if p)


def check_names(model: MeterModel) -> None:
    """Fail with one line when a quantity name cannot be an IEC 61131-3 identifier."""
    for i, reg in enumerate(model.registers):
        where = f"registers[{i}] ({reg.name}).name"
        if reg.name.lower() in RESERVED:
            raise DefinitionError(f"{reg.name!r} is a reserved word in IEC 61131-3 and cannot be a PLC struct field",
                                  file=model.path or model.model, key=where,
                                  fix=f"rename the quantity, e.g. {reg.name}_value")
        if not IDENTIFIER.match(reg.name):
            raise DefinitionError(f"{reg.name!r} is not an IEC 61131-3 identifier (double or trailing underscore)",
                                  file=model.path or model.model, key=where,
                                  fix="use single underscores between letters and digits, e.g. voltage_l1")


def block_var(i: int) -> str:
    return f"awBlock{i + 1}"


def block_ok(i: int) -> str:
    return f"xBlock{i + 1}Ok"
