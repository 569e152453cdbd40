"""CLI commands that work on a database (export, import-csv, report); cli.py registers them."""
