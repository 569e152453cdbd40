"""The unattended service: spool, runner, terminal summary."""
