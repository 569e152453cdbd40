"""Polling: the read planner, one poller per bus, a one-shot read, and the unit-id scan."""

from .bus import BusPoller, BusStats, MeterSpec, MeterStatus
from .plan import ReadBlock, plan_reads, split_block

__all__ = ["BusPoller", "BusStats", "MeterSpec", "MeterStatus", "ReadBlock", "plan_reads", "split_block"]
