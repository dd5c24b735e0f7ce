"""The perturbation engine's entry point: solve every row of a row source, in the
calling thread or in parallel, with results that do not depend on how the work was
split (see the package's docstring for the map)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from .collector import Collector
from .failures import EngineFailure, RowFailure
from .instances import SolverSpec
from .job import Job
from .joblib_backend import release_joblib_pools
from .modes import MODES
from .placement import choose_placement
from .policy import current_policy
from .processes import shutdown_processes
from .sources import PerturbedRows, RowSource
from .tasks import cut
from .threads import restore_interrupt_handler

__all__ = ["RunOptions", "Solved", "shutdown_pools", "solve"]


@dataclass(frozen=True)
class RunOptions:
    """How to run a call: ``n_jobs`` in joblib's meaning, a per-solve ``timeout``
    (seconds or ``None``), and whether every solve must run out of process."""

    n_jobs: int | None = None
    timeout: float | None = None
    isolated: bool = False


@dataclass
class Solved:
    """The solutions ``(N, *s)`` of every row (compact type), their values
    ``<y_r, input_r>`` ``(N,)``, and the noise of the drawn rows when it was kept."""

    solutions: np.ndarray
    values: np.ndarray
    noise: np.ndarray | None


def solve(
    spec: SolverSpec,
    source: RowSource,
    hints: np.ndarray | None,
    run: RunOptions,
    *,
    keep_noise: bool = False,
) -> Solved:
    """Solve every row of ``source`` with ``spec``'s solver.

    The calling thread first solves a probe (a solver's first call) to measure the time
    of a solve; the policy then picks the mode for the rest, which is cut into tasks
    lined up with the noise blocks; results are consumed in task order, and the lowest
    failing row is reported, so that errors read the same for every ``n_jobs``.

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
        with spec.instance_here() as solver:
            return _solve(spec, solver, source, hints, run, keep_noise)
    finally:
        if not spec.builtin:  # a native solver may have reset Ctrl-C to "kill"
            restore_interrupt_handler()


def _solve(
    spec: SolverSpec,
    solver: object,
    source: RowSource,
    hints: np.ndarray | None,
    run: RunOptions,
    keep_noise: bool,
) -> Solved:
    total = source.num_rows
    placement = choose_placement(run.n_jobs, releases_gil=spec.releases_gil, isolated=run.isolated)
    policy, tuner = current_policy(), spec.tuner
    collector = Collector(total, noise=_noise_buffer(source) if keep_noise else None)
    job = Job(spec, source, hints, run.timeout, run.isolated, collector.noise)
    done = 0
    if not run.isolated and (not placement.modes or tuner.seconds_per_solve is None):
        done = policy.probe_rows(spec, source) if placement.modes else total
        MODES["inline"].run(job, [(0, done)], collector.consume, workers=1, solver=solver)
        tuner.record_probe(*collector.take_time())
    lost: list[RowFailure] = []
    if done < total and collector.failure is None:
        mode = MODES[
            policy.pick(
                spec, placement, total - done, math.prod(source.theta.shape[1:]), run.isolated
            )
        ]
        if not mode.in_process:
            job = replace(job, kept_noise=None)
        tasks = [(done, total)]
        if mode.name != "inline":
            tasks = cut(source, done, total, policy.task_rows(mode, placement.workers, spec))
        started = time.perf_counter()
        outcome = mode.run(job, tasks, collector.consume, workers=placement.workers, solver=solver)
        lost = outcome.lost
        if not lost and collector.failure is None and outcome.measured:
            tuner.record_call(mode.name, time.perf_counter() - started, total - done)
    failures = lost + ([collector.failure] if collector.failure is not None else [])
    if failures:
        raise EngineFailure(failures)
    tuner.record_solves(*collector.take_time())
    if collector.solutions is None:  # pragma: no cover - a call has at least one row
        raise RuntimeError("the engine solved no row")
    return Solved(collector.solutions, collector.values, collector.kept_noise())


def _noise_buffer(source: RowSource) -> np.ndarray | None:
    """Room for the noise of a call's drawn rows (``None`` for plain rows)."""
    if not isinstance(source, PerturbedRows):
        return None
    plan = source.plan
    return np.empty((plan.drawn_rows,) + plan.instance_shape, dtype=plan.np_dtype)


def shutdown_pools() -> None:
    """Stop the engine's worker processes and release kept joblib pools.

    They start again on the next parallel call; call this to free their memory (a
    forked child needs no such call: it never uses its parent's pools). Never blocks
    for long: stuck workers are killed.
    """
    shutdown_processes()
    release_joblib_pools()
