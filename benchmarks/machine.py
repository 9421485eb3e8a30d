"""The machine a benchmark ran on, for its JSON: the CPU's model name.

``platform.processor()`` is empty or just ``x86_64`` on most Linux systems, which makes timings from different
machines look alike; /proc/cpuinfo names the model (e.g. ``AMD EPYC 7B13``).
"""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo, else whatever ``platform`` knows (``processor()``, ``machine()``)."""
    cpuinfo = Path("/proc/cpuinfo")
    for line in cpuinfo.read_text(encoding="utf-8").splitlines() if cpuinfo.exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()
