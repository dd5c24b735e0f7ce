"""The engine on two workers against one, for a CPU-bound solver of about 5 ms a solve.

The solver holds the GIL (a Hungarian assignment in SciPy), so the speed-up comes
from joblib's loky worker processes. Ideal on 2 cores: 2.0.

Run: python benchmarks/bench_parallel.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.optimize import linear_sum_assignment

import perturbopt
from _timing import interleaved, machine


class HungarianAssignment:
    """Min-cost assignment on an n x n cost matrix (SciPy), y the 0/1 matrix."""

    sense = "min"
    ndim = 2
    name = "bench.hungarian"

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        rows, cols = linear_sum_assignment(theta)
        y = np.zeros(theta.shape, dtype=np.int8)
        y[rows, cols] = 1
        return y


def size_for(target_seconds: float) -> int:
    """The matrix size whose solve takes about ``target_seconds`` here."""
    rng = np.random.default_rng(0)
    n = 50
    while True:
        cost = rng.random((n, n))
        start = time.perf_counter()
        for _ in range(5):
            HungarianAssignment().solve(cost)
        per_solve = (time.perf_counter() - start) / 5
        if per_solve >= target_seconds or n > 4000:
            return n
        n = int(n * 1.2)


def run(rounds: int, per_solve: float = 0.005, batch: int = 4, samples: int = 100) -> list[str]:
    n = size_for(per_solve)
    theta = np.random.default_rng(1).random((batch, n, n))
    serial = perturbopt.perturbed(HungarianAssignment(), epsilon=0.1, num_samples=samples,
                                  seed=0, n_jobs=1)
    parallel = perturbopt.perturbed(HungarianAssignment(), epsilon=0.1, num_samples=samples,
                                    seed=0, n_jobs=2)
    times = interleaved({"n_jobs=1": lambda: serial.solve(theta),
                         "n_jobs=2": lambda: parallel.solve(theta)}, rounds=rounds)
    solves = batch * samples
    per = times["n_jobs=1"] / solves * 1e3
    return [f"{solves} solves of a {n}x{n} assignment (~{per:.1f} ms each) on {machine()}", "",
            "| n_jobs=1 (s) | n_jobs=2 (s) | speed-up |", "|---|---|---|",
            f"| {times['n_jobs=1']:.2f} | {times['n_jobs=2']:.2f} | "
            f"{times['n_jobs=1'] / times['n_jobs=2']:.2f} |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("\n".join(run(args.rounds)))


if __name__ == "__main__":
    main()
