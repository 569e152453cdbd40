"""A one-shot read of one meter: what `wattlog read` does."""

from __future__ import annotations

from ..errors import LinkError, ReadFailed
from ..reading import Reading
from .bus import BusPoller, MeterSpec


async def read_once(spec: MeterSpec, retries: int = 1) -> Reading:
    """One snapshot of one meter; raises LinkError or ReadFailed (with a hint) if nothing was read."""
    poller = BusPoller([spec], retries=retries)
    try:
        readings = await poller.poll_cycle()
    finally:
        poller.close()
    if readings:
        return readings[0]
    if poller.link_state == "down":
        raise LinkError(poller.link_error)
    st = poller.meters[0]
    why = st.last_error or "the meter answered, but refused every register of this model"
    hint = st.hint or "check the model (--model) against the meter's manual"
    if spec.address.scheme == "tcp" and "wiring" in hint:  # a Modbus TCP meter has no RS485 wiring or baud
        hint = "check the meter's IP address, port and unit id, and that it is on this network"
    raise ReadFailed(f"unit {spec.address.unit} on {poller.bus}: {why}", hint)
