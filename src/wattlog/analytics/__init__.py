"""Analytics over the rollups: energy per interval, demand, reports and costs (no raw-row scans)."""
