"""Picking, by measurement, where a solver's calls run fastest.

A static rule (does the parallel work save more than it costs?) decides which modes are
worth trying; which of them is fastest depends on things no rule sees: how much of a
solve holds the GIL, what else competes for the cores (torch's OpenMP threads spin for
milliseconds after each op of a training step), how fast worker processes answer. So
each solver keeps the measured wall time per row of its calls in each mode, and a call
runs in the fastest one, the calling thread alone included: ``n_jobs=2`` is then never
slower than ``n_jobs=1`` for long. A mode's first call is not measured (threads or
processes starting up), and every ``EXPLORE_EVERY``-th call re-measures a slower mode,
so a change of conditions is noticed. A parallel call in which the workers solved
nothing (they were still starting) is not measured either.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

__all__ = ["EXPLORE_EVERY", "ModeTimes"]

EXPLORE_EVERY = 16
"""Every this many calls, one of the slower modes runs once (each in turn), to keep
their times fresh."""

SMOOTHING = 0.5
"""Weight of the newest measurement in a mode's running time per row."""


@dataclass
class ModeTimes:
    """The measured wall seconds per row of one solver's calls, per mode."""

    seconds_per_row: dict[str, float] = field(default_factory=dict)
    uses: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def pick(self, modes: list[str]) -> str:
        """The mode for the next call among ``modes`` (in order of preference): one not
        yet measured, else the fastest, or now and then each of the others in turn."""
        with self._lock:
            self.calls += 1
            for mode in modes:
                if mode not in self.seconds_per_row:
                    return mode
            ranked = sorted(modes, key=lambda mode: self.seconds_per_row[mode])
            if len(ranked) > 1 and self.calls % EXPLORE_EVERY == 0:
                rounds = self.calls // EXPLORE_EVERY
                return ranked[1 + rounds % (len(ranked) - 1)]
            return ranked[0]

    def record(self, mode: str, seconds: float, rows: int) -> None:
        """Fold a call's wall time into its mode's running time (the first call of a
        mode that starts workers is left out)."""
        with self._lock:
            uses = self.uses.get(mode, 0) + 1
            self.uses[mode] = uses
            if (uses == 1 and mode != "inline") or rows <= 0:
                return
            measured = seconds / rows
            previous = self.seconds_per_row.get(mode)
            self.seconds_per_row[mode] = (measured if previous is None else
                                          SMOOTHING * measured + (1 - SMOOTHING) * previous)
