"""A faithful Mikro RX380 simulator: unit ids with daily load profiles over TCP, RTU over TCP, a pty."""

from .model import PROFILES, Site, sim_clock
from .server import FAULTS, SimOptions, SimStats, SimThread, Simulator, run_sim

__all__ = ["FAULTS", "PROFILES", "SimOptions", "SimStats", "SimThread", "Simulator", "Site",
           "run_sim", "sim_clock"]
