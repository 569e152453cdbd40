"""The energy engine over the rollups: the frame of meter-days, 15-minute intervals, series, calendar, settings."""
