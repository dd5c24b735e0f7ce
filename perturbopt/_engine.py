"""The perturbation engine: solve every row of a row source, in the calling thread or
in parallel, with results that do not depend on how the work was split.

* Work is a list of tasks, each a range of consecutive rows lined up with the noise
  blocks (:mod:`perturbopt._plan`), so a task draws its own noise where it runs.
* Where it runs is chosen by :func:`perturbopt._backends.choose_placement`; whether it
  is worth running in parallel at all, and the size of the tasks, come from the
  measured time per solve (a first task solved in the calling thread measures it).
* Results are consumed in task order; the first failing row (lowest row) is reported,
  so errors read the same for every ``n_jobs``. Failures are reported by row as
  :class:`EngineFailure`; the front end words them.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._backends import Placement, choose_placement, run_on_joblib
from ._instances import SolverSpec
from ._plan import PerturbedRows, RowSource
from ._processes import process_workers
from ._rows import RowFailure
from ._tasks import TaskOutput, chunk_rows, run_task, serve_task
from ._threads import restore_interrupt_handler, thread_workers

__all__ = ["EngineFailure", "RunOptions", "Solved", "solve"]

THREAD_CALL_SECONDS = 1e-4
"""About what handing tasks to helper threads costs a call (wake-ups, locks)."""

PROCESS_CALL_SECONDS = 1.5e-3
"""About what a round trip to a worker process costs (pickling, pipes, wake-ups)."""

JOBLIB_CALL_SECONDS = 0.025
"""About what one ``joblib.Parallel`` call costs on a cluster backend."""

TRANSFER_SECONDS_PER_BYTE = 4e-9
"""What shipping one byte to or from a worker process costs the caller."""

TASKS_PER_WORKER = {"threads": 3, "processes": 4, "joblib": 2}
"""A task takes ``1 / (workers x this)`` of the work left (guided self-scheduling)."""

TASK_SECONDS = {"threads": (1e-4, 0.02), "processes": (2e-3, 0.05), "joblib": (0.05, 5.0)}
"""Bounds on a task's duration: long enough to hide its overhead, short enough to
balance the load."""


@dataclass(frozen=True)
class RunOptions:
    """How to run a call: ``n_jobs`` in joblib's meaning, a per-solve ``timeout``
    (seconds or ``None``), and whether every solve must run out of process."""

    n_jobs: int | None = None
    timeout: float | None = None
    isolated: bool = False


class EngineFailure(Exception):
    """Rows that failed, lowest first (rows are absolute in the row source)."""

    def __init__(self, failures: list[RowFailure]) -> None:
        super().__init__(failures[0].message)
        self.failures = sorted(failures, key=lambda f: f.row)


@dataclass
class Solved:
    """The solutions ``(N, *s)`` of every row (compact type), their values
    ``<y_r, input_r>`` ``(N,)``, and the noise of the drawn rows when it was kept."""

    solutions: np.ndarray
    values: np.ndarray
    noise: np.ndarray | None


@dataclass
class _Collector:
    """Gathers task outputs into the call's arrays; stops at the first failure. The
    noise of the drawn rows is kept only if every task brought its rows' noise."""

    rows: int
    instance_shape: tuple[int, ...]
    noise_rows: int  # rows whose noise is kept (0: none)
    noise_dtype: type[np.floating] = np.float64
    solutions: np.ndarray | None = None
    values: np.ndarray = field(init=False)
    noise: np.ndarray | None = None
    noise_stored: int = 0
    failure: RowFailure | None = None
    seconds: float = 0.0
    solved_rows: int = 0

    def __post_init__(self) -> None:
        self.values = np.empty(self.rows, dtype=np.float64)

    def consume(self, index: int, output: TaskOutput | RowFailure) -> bool:
        if isinstance(output, RowFailure):
            self.failure = output
            return False
        self._store(output)
        return True

    def _store(self, output: TaskOutput) -> None:
        start, stop = output.start, output.stop
        dtype = output.solutions.dtype
        if self.solutions is None:
            self.solutions = np.empty((self.rows,) + output.solutions.shape[1:], dtype=dtype)
        elif np.promote_types(self.solutions.dtype, dtype) != self.solutions.dtype:
            self.solutions = self.solutions.astype(np.promote_types(self.solutions.dtype, dtype))
        self.solutions[start:stop] = output.solutions
        self.values[start:stop] = output.values
        end = min(stop, self.noise_rows)
        if output.noise is not None and start < end:
            if self.noise is None:
                self.noise = np.empty((self.noise_rows,) + self.instance_shape, self.noise_dtype)
            self.noise[start:end] = output.noise[: end - start]
            self.noise_stored += end - start
        self.seconds += output.seconds
        self.solved_rows += stop - start

    def kept_noise(self) -> np.ndarray | None:
        """The noise of the drawn rows, if every one of them was kept."""
        return self.noise if self.noise_stored == self.noise_rows else None


def _task_rows(placement: Placement, seconds_per_row: float) -> Callable[[int], int]:
    """Rows of the next task, given the rows left: guided self-scheduling. Each task
    takes a ``1 / (workers x TASKS_PER_WORKER)`` share of the work left, within the
    mode's bounds on a task's duration, so tasks shrink towards the end of a call and
    no worker is left with a long one while the others idle."""
    low, high = TASK_SECONDS[placement.mode]
    share = placement.workers * TASKS_PER_WORKER[placement.mode]
    per_row = max(seconds_per_row, 1e-9)

    def rows(left: int) -> int:
        return max(1, math.ceil(min(high, max(low, left * per_row / share)) / per_row))

    return rows


def _split(
    source: RowSource, start: int, stop: int, size: Callable[[int], int]
) -> list[tuple[int, int]]:
    """Rows ``[start, stop)`` as tasks of ``size(rows left)`` rows, lined up with the
    noise blocks: whole blocks grouped when a task is at least a block, else pieces of
    one block (so a task draws at most the blocks it uses)."""
    if not isinstance(source, PerturbedRows):
        tasks, position = [], start
        while position < stop:
            tasks.append((position, min(stop, position + size(stop - position))))
            position = tasks[-1][1]
        return tasks
    plan = source.plan
    tasks = []
    pending: tuple[int, int] | None = None
    for block in range(plan.block_of(start), plan.block_of(stop - 1) + 1):
        low, high = plan.block_bounds(block)
        low, high = max(low, start), min(high, stop)
        wanted = size(stop - (pending[0] if pending else low))
        if wanted >= plan.block_rows:
            pending = (low, high) if pending is None else (pending[0], high)
            if pending[1] - pending[0] >= wanted:
                tasks.append(pending)
                pending = None
            continue
        if pending is not None:
            tasks.append(pending)
            pending = None
        position = low
        while position < high:
            tasks.append((position, min(high, position + size(stop - position))))
            position = tasks[-1][1]
    if pending is not None:
        tasks.append(pending)
    return tasks


def _worth_it(mode: str, workers: int, seconds: float, shipped_bytes: int) -> bool:
    """Whether running ``seconds`` of solves in parallel in ``mode`` could save more
    than it costs."""
    saved = seconds * (1.0 - 1.0 / workers)
    if mode == "threads":
        return saved > 4 * THREAD_CALL_SECONDS
    if mode == "processes":
        return saved > 2 * PROCESS_CALL_SECONDS + shipped_bytes * TRANSFER_SECONDS_PER_BYTE
    return saved > 2 * JOBLIB_CALL_SECONDS


def solve(
    spec: SolverSpec,
    source: RowSource,
    hints: np.ndarray | None,
    run: RunOptions,
    *,
    keep_noise: bool = False,
) -> Solved:
    """Solve every row of ``source`` with ``spec``'s solver.

    Args:
        spec: the solver.
        source: the rows (perturbed or plain inputs).
        hints: warm starts ``(B, *s)`` for the rows' batch items, or ``None``.
        run: where and how to run.
        keep_noise: return the noise of the drawn rows too (when every row was solved in
            this process; otherwise ``Solved.noise`` is ``None``).

    Raises:
        EngineFailure: some rows failed; the lowest one first.
    """
    try:
        return _solve(spec, source, hints, run, keep_noise)
    finally:
        if not spec.builtin:  # a native solver may have reset Ctrl-C to "kill"
            restore_interrupt_handler()


def _solve(
    spec: SolverSpec,
    source: RowSource,
    hints: np.ndarray | None,
    run: RunOptions,
    keep_noise: bool,
) -> Solved:
    total = source.num_rows
    placement = choose_placement(run.n_jobs, releases_gil=spec.releases_gil, isolated=run.isolated)
    shape = tuple(source.theta.shape[1:])
    plan = source.plan if isinstance(source, PerturbedRows) else None
    collector = _Collector(
        total,
        shape,
        plan.drawn_rows if keep_noise and plan else 0,
        plan.np_dtype if plan else np.float64,
    )
    lost: list[RowFailure] = []
    done = 0
    if not run.isolated and (not placement.modes or spec.seconds_per_row is None):
        probe = _probe_rows(spec, source) if placement.modes else total
        done = _solve_here(spec, source, hints, 0, probe, collector, keep_noise)
        if collector.solved_rows:
            spec.record(collector.seconds, collector.solved_rows)
            spec.modes.note_probe(collector.seconds, collector.solved_rows)
            collector.seconds, collector.solved_rows = 0.0, 0
    remaining = total - done
    if remaining and collector.failure is None:
        mode = _pick_mode(spec, placement, remaining, shape, run)
        started = time.perf_counter()
        if mode == "inline":
            _solve_here(spec, source, hints, done, total, collector, keep_noise)
        else:
            chosen = Placement((mode,), placement.workers)  # type: ignore[arg-type]
            tasks = _split(source, done, total, _task_rows(chosen, spec.seconds_per_row or 1e-3))
            with_noise = keep_noise and mode == "threads"
            lost, helped = _dispatch(spec, source, hints, tasks, chosen, run, collector, with_noise)
        if not lost and collector.failure is None and (mode == "inline" or helped):
            spec.modes.record(mode, time.perf_counter() - started, remaining)
    failures = lost + ([collector.failure] if collector.failure is not None else [])
    if failures:
        raise EngineFailure(failures)
    if collector.solved_rows:
        spec.record(collector.seconds, collector.solved_rows)
    assert collector.solutions is not None
    return Solved(collector.solutions, collector.values, collector.kept_noise())


def _pick_mode(
    spec: SolverSpec, placement: Placement, rows: int, shape: tuple[int, ...], run: RunOptions
) -> str:
    """Where the rest of a call runs: isolated calls on processes; otherwise, among the
    calling thread and the parallel modes that could pay for ``rows`` solves, the one
    measured fastest for this solver (:class:`perturbopt._tuning.ModeTimes`)."""
    if run.isolated:
        return "processes"
    seconds = (spec.seconds_per_row or 0.0) * rows
    shipped = rows * math.prod(shape) * 9
    modes: list[str] = [
        mode for mode in placement.modes if _worth_it(mode, placement.workers, seconds, shipped)
    ]
    return spec.modes.pick([*modes, "inline"]) if modes else "inline"


def _probe_rows(spec: SolverSpec, source: RowSource) -> int:
    """Rows of the first task, solved here to measure the time per solve."""
    if getattr(spec.solver, "solve_batch", None) is None:
        return 1
    if isinstance(source, PerturbedRows):
        return min(source.num_rows, source.plan.block_rows)
    return min(source.num_rows, 64)


def _solve_here(
    spec: SolverSpec,
    source: RowSource,
    hints: np.ndarray | None,
    start: int,
    stop: int,
    collector: _Collector,
    with_noise: bool,
) -> int:
    """Solve rows ``[start, stop)`` in the calling thread, a few blocks at a time; return
    ``stop``."""
    size = chunk_rows(source.plan) if isinstance(source, PerturbedRows) else stop - start
    for index, (low, high) in enumerate(_split(source, start, stop, lambda _: size)):
        output = run_task(spec.solver, source, low, high, hints, with_noise=with_noise)
        if not collector.consume(index, output):
            break
    return stop


def _dispatch(
    spec: SolverSpec,
    source: RowSource,
    hints: np.ndarray | None,
    tasks: list[tuple[int, int]],
    placement: Placement,
    run: RunOptions,
    collector: _Collector,
    with_noise: bool,
) -> tuple[list[RowFailure], bool]:
    """Run ``tasks`` where ``placement`` says; return the failures that no task
    reported, and whether any worker (not the calling thread) solved a task."""
    digest, payload = spec.payload()

    def here(start: int, stop: int) -> TaskOutput | RowFailure:
        return run_task(spec.solver, source, start, stop, hints, with_noise=with_noise)

    if placement.mode == "threads":
        caller_thread = threading.get_ident()
        helped = []

        def task(index: int) -> TaskOutput | RowFailure:
            start, stop = tasks[index]
            if threading.get_ident() == caller_thread:  # the caller keeps its own instance
                return here(start, stop)
            helped.append(index)
            return serve_task(digest, payload, source, start, stop, hints, with_noise=with_noise)

        thread_workers().run_ordered(
            len(tasks), task, collector.consume, helpers=placement.workers - 1
        )
        return [], bool(helped)
    if placement.mode == "processes":
        caller: Callable[[int, int], TaskOutput | RowFailure] | None = (
            None if run.isolated else here
        )
        workers = placement.workers if run.isolated else placement.workers - 1
        lost, solved = process_workers().run(
            digest,
            payload,
            source,
            tasks,
            hints,
            workers=workers,
            consume=collector.consume,
            caller=caller,
            timeout=run.timeout,
        )
        return lost, solved > 0
    run_on_joblib(
        digest, payload, source, tasks, hints, workers=placement.workers, consume=collector.consume
    )
    return [], True
