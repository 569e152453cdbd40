"""The reports over the rollups: one module per report, their result types, and the registry by name."""
