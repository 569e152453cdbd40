"""A meter model's whole PLC project: the data types, the decode FB, the energy/demand FB and the example."""

from __future__ import annotations

from ..meters.definition import MeterModel, Register
from ..polling.plan import plan_reads
from .bodies import decode_fb, energy_fb, example_program
from .model import (
    QUALITY_IMPLAUSIBLE,
    QUALITY_MISSING,
    QUALITY_OK,
    PlcProject,
    Struct,
    Var,
    camel,
    check_names,
)


def project(model: MeterModel) -> PlcProject:
    """The data types, the decode FB, the energy/demand FB and the example program of `model`."""
    check_names(model)
    blocks = plan_reads(model.registers, model.max_read, model.max_gap)  # the poller's own plan
    p = PlcProject(model, blocks)
    name = camel(model.model)
    manual = f"{model.name} ({model.manufacturer})" if model.manufacturer else model.name
    p.structs.append(Struct(f"ST_{name}", f"{manual}: one value per quantity, canonical units (wattlog vocabulary)",
                            [Var(r.name, "LREAL", comment=_field_comment(r)) for r in model.registers]))
    p.structs.append(Struct(f"ST_{name}Quality", f"{manual}: quality per quantity: "
                            f"{QUALITY_OK} ok, {QUALITY_MISSING} missing, {QUALITY_IMPLAUSIBLE} implausible",
                            [Var(r.name, "USINT", comment=f"quality of {r.name}") for r in model.registers]))
    p.pous.append(decode_fb(model, blocks, name))
    with_energy = "total_real_power" in model.by_name  # the energy block integrates it
    if with_energy:
        p.pous.append(energy_fb())
    p.pous.append(example_program(model, blocks, name, with_energy))
    return p


def _field_comment(reg: Register) -> str:
    unit = reg.unit or "no unit"
    note = reg.note or reg.name
    bounds = f", plausible {reg.valid[0]:g}..{reg.valid[1]:g}" if reg.valid else ""
    return f"{note} [{unit}] (fc {reg.function}, address {reg.address}, {reg.type} {reg.word_order}{bounds})"
