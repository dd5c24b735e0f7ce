"""``n_jobs=2`` against ``n_jobs=1`` for every shipped solver, as a training loop calls it.

For each solver of ``bench_solvers.py`` at its size, two perturbed objects (``n_jobs=1``
and ``n_jobs=2``, same seed) are called alternately on the same batch, call after call,
as a training loop would: a batch of ``B`` instances and ``M`` samples sized so that one
call is about 10 ms of solving. After ``--warmup`` calls each (workers started, the
engine's measurements settled), the next ``--calls`` calls of each are timed; the ratio
is the total of ``n_jobs=2`` over the total of ``n_jobs=1``, the mode is where the
``n_jobs=2`` object's calls ran most. Target: no ratio above 1.05.

Run: python benchmarks/bench_never_slower.py [--calls 40] [--warmup 20]
"""

from __future__ import annotations

import argparse
import collections
import inspect
import math
import time

import numpy as np
from _timing import load, machine
from bench_solvers import cases

import perturbopt
from perturbopt._engine.policy import RecordingPolicy, use_policy

TARGET_SECONDS = 0.01
"""About how much serial solving one call holds."""


def per_solve(name: str, options: dict, theta: np.ndarray) -> float:
    solver = perturbopt.get_solver(name, **options)
    solver.solve(theta)
    start, count = time.perf_counter(), 0
    while time.perf_counter() - start < 0.1:
        solver.solve(theta)
        count += 1
    return (time.perf_counter() - start) / count


def compare(
    name: str, options: dict, theta: np.ndarray, calls: int, warmup: int
) -> tuple[float, float, int, str]:
    """Seconds of ``calls`` calls at n_jobs=1 and 2, the rows per call, and the mode
    most of the n_jobs=2 calls ran in."""
    rows = int(min(512, max(16, math.ceil(TARGET_SECONDS / per_solve(name, options, theta)))))
    batch = 8 if rows >= 64 else 1
    batch_theta = np.stack([theta] * batch) + np.random.default_rng(1).normal(
        0.0, 0.01, (batch,) + theta.shape
    )
    objects = {
        n: perturbopt.perturbed(
            name,
            solver_options=options,
            epsilon=0.3,
            num_samples=max(2, rows // batch),
            seed=0,
            n_jobs=n,
        )
        for n in (1, 2)
    }
    seconds = {1: 0.0, 2: 0.0}
    modes: collections.Counter[str] = collections.Counter()
    with use_policy(RecordingPolicy()) as policy:
        for call in range(warmup + calls):
            for n in (1, 2):
                start = time.perf_counter()
                objects[n].solve(batch_theta)
                if call >= warmup:
                    seconds[n] += time.perf_counter() - start
    for spec, mode in policy.picks:  # type: ignore[attr-defined]
        if spec is objects[2]._spec:
            modes[mode] += 1
    return seconds[1], seconds[2], rows, modes.most_common(1)[0][0] if modes else "inline"


def run(calls: int = 40, warmup: int = 20) -> list[str]:
    rng = np.random.default_rng(0)
    lines = [
        f"{calls} timed calls each after {warmup} warm-up calls, on {machine()}",
        "",
        (
            "| solver | instance | rows per call | n_jobs=1 (s) | n_jobs=2 (s) | "
            "n_jobs=2 / n_jobs=1 (target <= 1.05) | where n_jobs=2 ran |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for label, name, options, theta in cases(rng):
        factory = perturbopt.Registry.default().solver_entry(name).factory
        if "negative_costs" in inspect.signature(factory).parameters:
            options = {**options, "negative_costs": "clip"}  # additive noise on costs
        one, two, rows, mode = compare(name, options, theta, calls, warmup)
        ratio = two / one
        lines.append(
            f"| `{name}` | {label} | {rows} | {one:.3f} | {two:.3f} | {ratio:.2f} "
            f"({'met' if ratio <= 1.05 else 'NOT met'}) | {mode} |"
        )
    perturbopt.shutdown_pools()
    return lines + ["", f"Machine load after the run: {load()}."]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    print("\n".join(run(args.calls, args.warmup)))


if __name__ == "__main__":
    main()
