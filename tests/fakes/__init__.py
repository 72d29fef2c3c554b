"""Local fake platform servers that answer like the documented APIs (one module per platform)."""
