"""Experiments on patched copies of the engine: the evidence behind our proposals.

Each experiment patches ``perturbopt._engine`` or a built-in solver in this process
only (``unittest.mock.patch``), measures the library as it is against the patched copy
interleaved, and restores it. Nothing here changes the library.

1. ``cold``: workers time their task from before the solver is built, so the first
   dispatched call (worker start, plugin imports, solver build) inflates the estimated
   time per solve many times over, and the estimate only halves per call: chunks are
   far too small for several calls. Patch: start the clock after ``_acquire``.
2. ``parent``: the calling process draws all the noise, builds every perturbed input
   twice (to send, then for the values) and computes the values, while two workers
   solve on the same two cores. Patches: (a) values computed by the workers, inputs
   built once; (b) noise drawn by the workers from per-block generators
   ``default_rng([seed, block])`` with a fixed block size, so the samples are still
   the same whatever ``n_jobs`` (a different stream than today's, so a contract change);
   (c) the caller draws the noise chunk by chunk as workers ask for work, so drawing
   overlaps solving: the same numbers as today (numpy fills arrays in stream order).
3. ``sorts``: ``topk`` and ``ranking`` spend their time in a stable argsort. Patch:
   ``topk`` by a k-th value partition, ``ranking`` by the SIMD quicksort with a
   stable re-sort of the rows that have ties; outputs are bit-identical.

Run: python benchmarks/engine_experiments.py [--quick] [--only cold|parent|sorts]
"""

from __future__ import annotations

import argparse
import time
from typing import Any
from unittest import mock

import joblib
import numpy as np
from _timing import interleaved, load, machine
from bench_efficiency import glop_case
from joblib.externals.loky import get_reusable_executor

import perturbopt
from perturbopt import _builtins, _engine

NOISE_BLOCK = 16
"""Rows per noise block in experiment 2b: fixed, so samples do not depend on n_jobs."""


# -- 1. the estimate of the time per solve after a cold start ---------------------

def task_timing_solves_only(key: str, payload: bytes, thetas: np.ndarray,
                            hints: np.ndarray | None) -> tuple[Any, float]:
    """``_engine._worker_task`` with the clock started after the solver is built."""
    try:
        solver = _engine._acquire(key, payload)
    except Exception as error:  # noqa: BLE001 - as the engine does
        return _engine._Failure(0, f"the worker could not build the solver: {error}",
                                _engine._portable(error), False), 0.0
    start = time.perf_counter()
    result = _engine._solve_rows(solver, thetas, hints)
    if not (isinstance(result, _engine._Failure) and not result.contract):
        _engine._release(key, solver)
    return result, time.perf_counter() - start


def cold_calls(name: str, options: dict[str, Any], theta: np.ndarray, samples: int,
               calls: int) -> list[str]:
    """Times and chunk sizes of the first ``calls`` calls on freshly started workers."""
    get_reusable_executor().shutdown(wait=True)
    po = perturbopt.perturbed(name, solver_options=options, epsilon=0.1,
                              num_samples=samples, seed=0, n_jobs=2)
    cells = []
    for _ in range(calls):
        start = time.perf_counter()
        po.solve(theta)
        rows = po._handle.seconds_per_row or 0.0
        chunk = _engine._chunk_rows(rows, samples * theta.shape[0], 2)
        cells.append(f"{time.perf_counter() - start:.2f} s / {chunk}")
    return cells


def experiment_cold(quick: bool) -> list[str]:
    """Experiment 1: the first calls on fresh workers, as is and with the clock patch."""
    case = glop_case(5)
    samples, calls = (60, 4) if quick else (150, 6)
    header = " | ".join(f"call {i + 1}" for i in range(calls))
    lines = [f"{case.label}, {samples * 4} solves a call, n_jobs=2, fresh workers; "
             "each cell: call time / rows per chunk chosen for the next call", "",
             f"| engine | {header} |", "|---" * (calls + 1) + "|"]
    for label, patch in (("as is", None), ("clock after build", task_timing_solves_only)):
        with mock.patch.object(_engine, "_worker_task", patch or _engine._worker_task):
            cells = cold_calls(case.name, case.options, case.theta, samples, calls)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


# -- 2. work in the calling process ------------------------------------------------

def task_with_values(key: str, payload: bytes, thetas: np.ndarray, hints: np.ndarray | None
                     ) -> tuple[Any, float, np.ndarray | None]:
    """``_worker_task`` that also returns the values ``<y_r, theta_r>`` of its rows."""
    result, seconds = _engine._worker_task(key, payload, thetas, hints)
    values = None if isinstance(result, _engine._Failure) else _engine.row_values(thetas, result)
    return result, seconds, values


def solve_on_workers_values_there(handle: Any, plan: Any, hints: Any, start: int, stop: int,
                                  workers: int, n_jobs: Any, batched: bool) -> tuple[list, list]:
    """``_engine._solve_on_workers`` that builds each input once and takes the values
    from the workers."""
    key, payload = handle.payload()
    size = _engine._chunk_rows(handle.seconds_per_row, stop - start, workers)
    bounds = [(i, min(stop, i + size)) for i in range(start, stop, size)]
    outputs = joblib.Parallel(n_jobs=n_jobs)(
        joblib.delayed(task_with_values)(key, payload, plan.rows(i, j),
                                         _engine._hints_for(hints, plan, i, j))
        for i, j in bounds)
    pieces, values, busy = [], [], 0.0
    for (i, _), (result, seconds, row_values) in zip(bounds, outputs):
        if isinstance(result, _engine._Failure):
            _engine._raise_failure(handle, plan, batched, result, i)
        pieces.append(result)
        values.append(row_values)
        busy += seconds
    handle.record(busy, stop - start)
    return pieces, values


def task_drawing_noise(key: str, payload: bytes, theta: np.ndarray, epsilon: float, seed: int,
                       blocks: range) -> tuple[np.ndarray, np.ndarray]:
    """Draw, build, solve and value noise blocks ``blocks`` (``NOISE_BLOCK`` rows each,
    of the flattened ``(M x B)`` rows) in the worker."""
    batch = theta.shape[0]
    solver = _engine._acquire(key, payload)
    pieces, values = [], []
    try:
        for block in blocks:
            noise = np.random.default_rng([seed, block]).standard_normal(
                (NOISE_BLOCK,) + theta.shape[1:])
            rows = np.arange(block * NOISE_BLOCK, (block + 1) * NOISE_BLOCK)
            thetas = theta[rows % batch] + epsilon * noise
            solutions = _engine._solve_rows(solver, thetas, None)
            pieces.append(solutions)
            values.append(_engine.row_values(thetas, solutions))
    finally:
        _engine._release(key, solver)
    return np.concatenate(pieces), np.concatenate(values)


def mean_noise_in_workers(handle: Any, theta: np.ndarray, epsilon: float, samples: int,
                          seed: int, tasks: int) -> np.ndarray:
    """Prototype of 2b: the perturbed mean with the noise drawn by the workers."""
    key, payload = handle.payload()
    blocks = samples * theta.shape[0] // NOISE_BLOCK
    per_task = -(-blocks // tasks)
    outputs = joblib.Parallel(n_jobs=2)(
        joblib.delayed(task_drawing_noise)(key, payload, theta, epsilon, seed,
                                           range(b, min(blocks, b + per_task)))
        for b in range(0, blocks, per_task))
    solutions = np.concatenate([y for y, _ in outputs])
    return solutions.reshape((samples,) + theta.shape).mean(axis=0)


def task_values(key: str, payload: bytes, thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve and value one chunk with the worker's pooled solver (2c)."""
    solver = _engine._acquire(key, payload)
    try:
        solutions = _engine._solve_rows(solver, thetas, None)
    finally:
        _engine._release(key, solver)
    return solutions, _engine.row_values(thetas, solutions)


def mean_noise_pipelined(handle: Any, theta: np.ndarray, epsilon: float, samples: int,
                         seed: int, tasks: int) -> tuple[np.ndarray, np.ndarray]:
    """Prototype of 2c: the caller draws the noise chunk by chunk from one generator, as
    joblib asks for the next task, so drawing overlaps with solving; the noise is the
    same numbers as one draw of ``(M, B, *s)`` (numpy fills arrays in stream order)."""
    key, payload = handle.payload()
    rng = np.random.default_rng(seed)
    total = samples * theta.shape[0]
    size = -(-total // tasks)
    pieces = []

    def chunks() -> Any:
        for start in range(0, total, size):
            noise = rng.standard_normal((min(total, start + size) - start,) + theta.shape[1:])
            pieces.append(noise)
            rows = theta[np.arange(start, start + noise.shape[0]) % theta.shape[0]]
            yield joblib.delayed(task_values)(key, payload, rows + epsilon * noise)

    outputs = joblib.Parallel(n_jobs=2)(chunks())
    solutions = np.concatenate([y for y, _ in outputs])
    noise = np.concatenate(pieces)  # kept for the backward pass, as today
    return solutions.reshape((samples,) + theta.shape).mean(axis=0), noise


def experiment_parent(quick: bool) -> list[str]:
    """Experiment 2: large instances, where the caller's own work rivals the solving."""
    lines = ["scipy.assignment, B=4, eps=0.1, n_jobs=2, steady state (workers up, estimate "
             "settled); efficiency = serial loop / candidate, medians of interleaved rounds",
             "", "| n x n | ms/solve | solves | as is | 2a values in workers | "
             "2b noise drawn in workers | 2c noise drawn by the caller, pipelined |",
             "|---|---|---|---|---|---|---|"]
    for n in ((100,) if quick else (100, 200, 363)):
        lines.append(parent_row(n, quick))
    return lines


def parent_row(n: int, quick: bool) -> str:
    """One row of experiment 2: efficiencies of the engine, 2a and 2b at size ``n``."""
    theta = np.random.default_rng(n).random((4, n, n))
    solver = perturbopt.get_solver("scipy.assignment")
    start, count = time.perf_counter(), 0
    while time.perf_counter() - start < 0.2:
        solver.solve(theta[0])
        count += 1
    per_solve = (time.perf_counter() - start) / count
    seconds = 0.3 if quick else 1.5
    samples = max(NOISE_BLOCK, round(seconds / per_solve / 4 / NOISE_BLOCK) * NOISE_BLOCK)
    po = perturbopt.perturbed("scipy.assignment", epsilon=0.1, num_samples=samples, seed=0,
                              n_jobs=2)
    thetas = po.solve(theta).plan.rows(0, samples * 4)
    for _ in range(4):  # settle the estimate of the time per solve
        po.solve(theta)

    def values_there() -> None:
        with mock.patch.object(_engine, "_solve_on_workers", solve_on_workers_values_there):
            po.solve(theta)

    times = interleaved({
        "serial": lambda: [solver.solve(t) for t in thetas],
        "as is": lambda: po.solve(theta),
        "2a": values_there,
        "2b": lambda: mean_noise_in_workers(po._handle, theta, 0.1, samples, 0, tasks=8),
        "2c": lambda: mean_noise_pipelined(po._handle, theta, 0.1, samples, 0, tasks=8),
    }, rounds=1 if quick else 3)
    return (f"| {n} | {per_solve * 1e3:.2f} | {samples * 4} | "
            + " | ".join(f"{times['serial'] / times[k]:.2f}" for k in ("as is", "2a", "2b", "2c"))
            + " |")


# -- 3. the sorts of topk and ranking ----------------------------------------------

def stable_order(thetas: np.ndarray) -> np.ndarray:
    """``argsort`` along the last axis with ties in index order: the fast default sort,
    then a stable sort of just the rows that hold ties."""
    order = np.argsort(thetas, axis=-1)
    ordered = np.sort(thetas, axis=-1)
    tied = (ordered[..., 1:] == ordered[..., :-1]).any(axis=-1)
    if tied.any():
        order[tied] = np.argsort(thetas[tied], axis=-1, kind="stable")
    return order


def ranking_fast(self: Any, thetas: np.ndarray, *, hints: Any = None) -> np.ndarray:
    """``Ranking.solve_batch`` on :func:`stable_order`."""
    thetas = np.asarray(thetas)
    d = thetas.shape[-1]
    dtype = np.int8 if d <= np.iinfo(np.int8).max else np.int32
    ranks = np.empty(thetas.shape, dtype=dtype)
    values = np.broadcast_to(np.arange(1, d + 1, dtype=dtype), thetas.shape)
    np.put_along_axis(ranks, stable_order(thetas), values, axis=-1)
    return ranks


def topk_fast(self: Any, thetas: np.ndarray, *, hints: Any = None) -> np.ndarray:
    """``TopK.solve_batch`` by the k-th largest value: everything above it, then the
    first of the entries equal to it (ties to the lower index, as now)."""
    thetas = np.asarray(thetas)
    k = self.k
    if k >= thetas.shape[-1]:
        return _builtins.TopK.solve_batch(self, thetas)
    kth = -np.partition(-thetas, k - 1, axis=-1)[..., k - 1:k]
    above = thetas > kth
    equal = thetas == kth
    room = k - above.sum(axis=-1, keepdims=True)
    return (above | (equal & (np.cumsum(equal, axis=-1) <= room))).view(np.int8)


def experiment_sorts(quick: bool) -> list[str]:
    """Experiment 3: perturbed topk and ranking against the noise floor, as is and patched."""
    batch, dim, samples = (64, 100, 200) if quick else (256, 100, 1000)
    theta = np.random.default_rng(0).normal(size=(batch, dim))
    rng = np.random.default_rng(1)
    lines = [f"Gaussian noise, B={batch}, d={dim}, M={samples}; ratio = perturbed solve / "
             "drawing the noise, medians of interleaved rounds", "",
             "| solver | as is | patched | samples bit-identical |", "|---|---|---|---|"]
    for name, options, method, patch in (("topk", {"k": 10}, "TopK", topk_fast),
                                         ("ranking", {}, "Ranking", ranking_fast)):
        po = perturbopt.perturbed(name, solver_options=options, epsilon=0.5,
                                  num_samples=samples, seed=0)

        def patched() -> Any:
            with mock.patch.object(getattr(_builtins, method), "solve_batch", patch):
                return po.solve(theta, seed=3)

        times = interleaved({"noise": lambda: rng.standard_normal((samples, batch, dim)),
                             "as is": lambda: po.solve(theta, seed=3), "patched": patched},
                            rounds=1 if quick else 3)
        same = np.array_equal(po.solve(theta, seed=3).samples, patched().samples)
        lines.append(f"| {name} | {times['as is'] / times['noise']:.2f} | "
                     f"{times['patched'] / times['noise']:.2f} | {same} |")
    return lines


EXPERIMENTS = {"cold": experiment_cold, "parent": experiment_parent, "sorts": experiment_sorts}


def run(quick: bool = False, only: str | None = None) -> list[str]:
    """Markdown: one table per experiment."""
    lines = [f"On {machine()}."]
    for name, experiment in EXPERIMENTS.items():
        if only in (None, name):
            lines += ["", f"**{experiment.__doc__.splitlines()[0]}**", ""] + experiment(quick)
    lines += ["", f"Machine load after the run: {load()}."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    parser.add_argument("--only", choices=sorted(EXPERIMENTS))
    args = parser.parse_args()
    print("\n".join(run(args.quick, args.only)))


if __name__ == "__main__":
    main()
