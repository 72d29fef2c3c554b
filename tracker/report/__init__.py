"""Reports: SQL aggregates -> per-platform rows with a verdict -> table, JSON or CSV."""
