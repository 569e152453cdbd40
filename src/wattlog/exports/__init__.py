"""Exports people hand to management: Excel workbooks of any report, the monthly site report as HTML and PDF."""
