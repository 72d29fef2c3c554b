"""Where every sample, run and plugin state is kept (SQLite by default)."""
