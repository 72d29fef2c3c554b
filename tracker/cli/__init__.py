"""The command line: one module per command group, joined in main.py."""
