"""Picking, by measurement, where a solver's calls run fastest.

A static rule (does the parallel work save more than it costs?) decides which modes are
worth trying; which of them is fastest depends on things no rule sees: how much of a
solve holds the GIL, what else competes for the cores (torch's OpenMP threads spin for
milliseconds after each op of a training step), how fast worker processes answer. So
each solver keeps the measured wall time per row of its calls in each mode, and a call
runs in the fastest one, the calling thread alone included: ``n_jobs=2`` is then never
slower than ``n_jobs=1`` for long.

The calling thread's time per row is known from the first call's probe. The preferred
parallel mode runs first; if it is at least ``GOOD_SPEEDUP`` times faster than the
calling thread alone, the others are not tried. Otherwise every mode is measured
``SETTLED`` times, the fastest is kept, and, unless it is that good, every
``EXPLORE_EVERY``-th call re-measures one of the others (each in turn), so a change of
conditions is noticed. A mode's time is the smallest of its last ``WINDOW``
measurements: other work on the machine only ever slows a call down, so one disturbed
call must not condemn a mode. A mode's first call is not measured (threads or processes
starting up), nor is a parallel call in which the workers solved nothing (they were
still starting).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from .._forks import ForkSafeLock

__all__ = ["EXPLORE_EVERY", "GOOD_SPEEDUP", "Tuner"]

EXPLORE_EVERY = 16
"""Every this many calls, one of the slower modes runs once (each in turn), to keep
their times fresh, unless the preferred mode is good enough."""

GOOD_SPEEDUP = 1.5
"""A parallel mode at least this much faster than the calling thread alone is kept
without trying the others."""

WINDOW = 4
"""A mode's time per row is the smallest of its last this many measurements."""

SETTLED = 2
"""Measurements of each mode before the fastest is kept."""

PROBE_ROWS, PROBE_SECONDS = 8, 0.002
"""A probe of at least this many rows and seconds estimates the calling thread's time
per row well enough to stand for a measured call."""


@dataclass
class Tuner:
    """Everything measured about one solver, in one place: the time of one solve
    (which sizes tasks and says whether parallel work can pay), and the wall time per
    row of its calls in each mode (which picks the mode).

    Attributes:
        seconds_per_solve: the measured time of one solve (drawing and perturbing its
            input included), wherever it ran; ``None`` until measured.
    """

    seconds_per_solve: float | None = None
    measured: dict[str, deque[float]] = field(default_factory=dict)
    uses: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    probe: float | None = None  # the calling thread's time per row, from a probe
    _lock: ForkSafeLock = field(default_factory=ForkSafeLock, repr=False)

    def record_solves(self, seconds: float, rows: int) -> None:
        """Fold the time of ``rows`` solves into `seconds_per_solve`."""
        if rows <= 0:
            return
        with self._lock:
            measured = seconds / rows
            previous = self.seconds_per_solve
            self.seconds_per_solve = measured if previous is None else 0.5 * (previous + measured)

    def record_probe(self, seconds: float, rows: int) -> None:
        """A first call's probe, solved in the calling thread: it measures the time of
        one solve, and stands for the calling thread's time per row if it was long
        enough to tell."""
        self.record_solves(seconds, rows)
        if rows >= PROBE_ROWS and seconds >= PROBE_SECONDS:
            self.probe = seconds / rows

    def pick(self, modes: list[str]) -> str:
        """The mode for the next call among ``modes`` (parallel modes in order of
        preference, then ``"inline"``)."""
        with self._lock:
            self.calls += 1
            times = self.wall_seconds_per_row
            counts = {mode: len(self.measured.get(mode, ())) for mode in modes}
            if "inline" not in times and self.probe is not None:
                times["inline"] = self.probe
                counts["inline"] = SETTLED
            preferred = modes[0]
            if preferred not in times:
                return preferred
            inline = times.get("inline")

            def good(mode: str) -> bool:
                return inline is not None and times[mode] * GOOD_SPEEDUP <= inline

            unsettled = [mode for mode in modes if counts[mode] < SETTLED]
            if unsettled and not good(preferred):
                return min(unsettled, key=counts.__getitem__)
            ranked = sorted((mode for mode in modes if mode in times), key=times.__getitem__)
            if len(ranked) > 1 and not good(ranked[0]) and self.calls % EXPLORE_EVERY == 0:
                rounds = self.calls // EXPLORE_EVERY
                return ranked[1 + rounds % (len(ranked) - 1)]
            return ranked[0]

    def record_call(self, mode: str, seconds: float, rows: int) -> None:
        """Add a call's wall time per row to its mode's measurements (the first call of
        a mode that starts workers is left out)."""
        with self._lock:
            uses = self.uses.get(mode, 0) + 1
            self.uses[mode] = uses
            if (uses == 1 and mode != "inline") or rows <= 0:
                return
            self.measured.setdefault(mode, deque(maxlen=WINDOW)).append(seconds / rows)

    @property
    def wall_seconds_per_row(self) -> dict[str, float]:
        """Each measured mode's wall time of a call per row: the smallest of its last
        measurements."""
        return {mode: min(times) for mode, times in self.measured.items()}
