"""The engine's decisions for one call, in one replaceable object: how many rows the
calling thread solves first to measure a solver, which mode runs the rest, and how
the rest is cut into tasks. The default decides from measurements
(`Tuner`); tests install another with
`use_policy` instead of patching the engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .instances import SolverSpec
from .modes import MODES, Mode
from .placement import Placement
from .sources import PerturbedRows, RowSource

__all__ = [
    "EveryCallParallel",
    "MeasuredPolicy",
    "Policy",
    "RecordingPolicy",
    "current_policy",
    "use_policy",
]

SHIPPED_BYTES_PER_NUMBER = 9
"""Bytes a worker process gets and sends back per number of a row (input and solution)."""


class Policy:
    """How a call is run. Subclass and install with `use_policy`."""

    def probe_rows(self, spec: SolverSpec, source: RowSource) -> int:
        """Rows the calling thread solves first, to measure a solver not yet measured."""
        raise NotImplementedError

    def pick(
        self, spec: SolverSpec, placement: Placement, rows: int, row_size: int, isolated: bool
    ) -> str:
        """The name of the mode that solves the ``rows`` rows left (of ``row_size``
        numbers each)."""
        raise NotImplementedError

    def task_rows(self, mode: Mode, workers: int, spec: SolverSpec) -> Callable[[int], int]:
        """Rows of the next task, given the rows left."""
        raise NotImplementedError


class MeasuredPolicy(Policy):
    """The default: probe with one noise block (or one row for solvers without
    ``solve_batch``); among the calling thread and the parallel modes that could pay
    for the rows left, the one measured fastest; tasks by guided self-scheduling."""

    def probe_rows(self, spec: SolverSpec, source: RowSource) -> int:
        if getattr(spec.solver, "solve_batch", None) is None:
            return 1
        if isinstance(source, PerturbedRows):
            return min(source.num_rows, source.plan.block_rows)
        return min(source.num_rows, 64)

    def pick(
        self, spec: SolverSpec, placement: Placement, rows: int, row_size: int, isolated: bool
    ) -> str:
        if isolated:
            return "processes"
        seconds = (spec.tuner.seconds_per_solve or 0.0) * rows
        shipped = rows * row_size * SHIPPED_BYTES_PER_NUMBER
        paying = [
            name
            for name in placement.modes
            if MODES[name].worth_it(placement.workers, seconds, shipped)
        ]
        return spec.tuner.pick([*paying, "inline"]) if paying else "inline"

    def task_rows(self, mode: Mode, workers: int, spec: SolverSpec) -> Callable[[int], int]:
        return mode.task_rows(workers, spec.tuner.seconds_per_solve or 1e-3)


class EveryCallParallel(Policy):
    """For tests: every call goes to the placement's preferred parallel mode after a
    one-row probe, in tasks of ``task_rows`` rows.

    Attributes:
        picks: ``(solver spec, mode name)`` of every pick.
        dispatched: the parallel modes picked, in order.
    """

    def __init__(self, task_rows: int = 3) -> None:
        self.rows = task_rows
        self.picks: list[tuple[SolverSpec, str]] = []
        self.dispatched: list[str] = []

    def probe_rows(self, spec: SolverSpec, source: RowSource) -> int:
        return 1

    def pick(
        self, spec: SolverSpec, placement: Placement, rows: int, row_size: int, isolated: bool
    ) -> str:
        name = "processes" if isolated else placement.modes[0] if placement.modes else "inline"
        self._note(spec, name)
        return name

    def _note(self, spec: SolverSpec, name: str) -> None:
        self.picks.append((spec, name))
        if name != "inline":
            self.dispatched.append(name)

    def task_rows(self, mode: Mode, workers: int, spec: SolverSpec) -> Callable[[int], int]:
        return lambda left: self.rows


class RecordingPolicy(MeasuredPolicy):
    """For tests and benchmarks: the default decisions, recorded.

    Attributes:
        picks: ``(solver spec, mode name)`` of every pick.
        dispatched: the parallel modes picked, in order.
    """

    def __init__(self) -> None:
        self.picks: list[tuple[SolverSpec, str]] = []
        self.dispatched: list[str] = []

    def pick(
        self, spec: SolverSpec, placement: Placement, rows: int, row_size: int, isolated: bool
    ) -> str:
        name = super().pick(spec, placement, rows, row_size, isolated)
        self.picks.append((spec, name))
        if name != "inline":
            self.dispatched.append(name)
        return name


_policy: Policy = MeasuredPolicy()


def current_policy() -> Policy:
    """The policy in force."""
    return _policy


@contextmanager
def use_policy(policy: Policy) -> Iterator[Policy]:
    """Run the engine with ``policy`` within the block (process-wide)."""
    global _policy
    previous, _policy = _policy, policy
    try:
        yield policy
    finally:
        _policy = previous
