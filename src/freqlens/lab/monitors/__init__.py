"""Monitors: what the lab measures during training (see :mod:`freqlens.lab.monitors.base` for the protocol)."""

from freqlens.lab.monitors.base import Monitor, convergence_step
from freqlens.lab.monitors.frequency import FrequencyMonitor
from freqlens.lab.monitors.kernels import KernelMonitor

__all__ = ["FrequencyMonitor", "KernelMonitor", "Monitor", "convergence_step"]
