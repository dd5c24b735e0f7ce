"""Side-by-side timing helpers: candidates are run interleaved, round after round, and
each is summarised by its median, so that load on a shared machine hits all alike."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable


def interleaved(
    candidates: dict[str, Callable[[], object]], rounds: int = 5, warmup: int = 1
) -> dict[str, float]:
    """Median wall time in seconds of each candidate, measured in alternating rounds."""
    times = interleaved_samples(candidates, rounds, warmup)
    return {name: statistics.median(values) for name, values in times.items()}


def interleaved_samples(
    candidates: dict[str, Callable[[], object]], rounds: int = 5, warmup: int = 1
) -> dict[str, list[float]]:
    """Every wall time in seconds of each candidate, measured in alternating rounds."""
    for _ in range(warmup):
        for run in candidates.values():
            run()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, run in candidates.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return times


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """One line describing this machine."""
    return (
        f"{_cpu_model()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()}"
    )


def load() -> str:
    """The 1-minute load average: other processes competing for the cores."""
    return f"load average {os.getloadavg()[0]:.1f}"
