"""IEC 61131-3 code for a PLC, generated from the meter definitions (issue 15).

`model` turns a meter definition into declarations and Structured Text bodies, `st` writes them as
.st files, `plcopen` as one PLCopen TC6 XML 2.01 file; `command` is `wattlog plc export`.
"""
