"""tracker's built-in plugins, installed as `tracker_plugins`; each module is one plugin."""
