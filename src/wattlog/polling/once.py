"""A one-shot read of one meter: what `wattlog read` does."""

from __future__ import annotations

from ..errors import LinkError, RequestError
from ..reading import Reading
from .bus import BusPoller, MeterSpec


class ReadFailed(RequestError):
    """Nothing could be read from the meter."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


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
    raise ReadFailed(f"unit {spec.address.unit} on {poller.bus}: {why}",
                     st.hint or "check the model (--model) against the meter's manual")
