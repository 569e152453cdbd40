"""The unattended service, wiring only: the runner, the terminal summary, logging."""
