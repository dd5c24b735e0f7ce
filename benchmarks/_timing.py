"""Side-by-side timing helpers: candidates are run interleaved, round after round, and
each is summarised by its median, so that load on a shared machine hits all alike."""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Callable


def interleaved(candidates: dict[str, Callable[[], object]], rounds: int = 5,
                warmup: int = 1) -> dict[str, float]:
    """Median wall time in seconds of each candidate, measured in alternating rounds."""
    for _ in range(warmup):
        for run in candidates.values():
            run()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, run in candidates.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def machine() -> str:
    """One line describing this machine."""
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, {platform.system()}")
