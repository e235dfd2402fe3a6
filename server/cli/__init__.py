"""The `localrate` command line: one module per command group (imported when it runs)."""
