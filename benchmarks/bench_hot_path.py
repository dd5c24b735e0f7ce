"""The hot path of a training loop: one call of many small solves, against the loop a
user would write by hand (draw, perturb, solve, one-hot, mean) over the same solver.

Two cases (issue 16's targets): ``scipy.assignment`` 40x40 with B=32, M=3 (96 solves of
about 60 us), and GLOP LPs of PyEPO's 5x5 shortest-path grid through
``ortools.model_builder`` (B=32, M=3). For each, the ratio of perturbopt's time to the
hand loop's, at ``n_jobs=1`` and ``n_jobs=2`` (engine's own choice of threads, processes
or the calling thread), measured interleaved in one run; and two plain threads each
running half of the hand loop, for what two threads can give at all.

Run::

    python benchmarks/bench_hot_path.py            # about a minute
    python benchmarks/bench_hot_path.py --rounds 40
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from _timing import interleaved_samples, load, machine
from scipy.optimize import linear_sum_assignment

import perturbopt

EPSILON, SAMPLES, BATCH = 0.5, 3, 32


Solve = Callable[[np.ndarray], np.ndarray]


def assignment_case() -> tuple[str, dict, np.ndarray, Callable[[], Solve]]:
    theta = np.random.default_rng(0).normal(size=(BATCH, 40, 40))

    def make() -> Solve:
        def solve(costs: np.ndarray) -> np.ndarray:
            y = np.zeros(costs.shape)
            rows, cols = linear_sum_assignment(costs)
            y[rows, cols] = 1.0
            return y

        return solve

    return "scipy.assignment", {"shape": (40, 40)}, theta, make


def glop_case() -> tuple[str, dict, np.ndarray, Callable[[], Solve]]:
    from ortools.linear_solver.python import model_builder

    grid = 5
    nodes = grid * grid
    arcs = [(i * grid + j, i * grid + j + 1) for i in range(grid) for j in range(grid - 1)]
    arcs += [(i * grid + j, (i + 1) * grid + j) for i in range(grid - 1) for j in range(grid)]
    model = model_builder.Model()
    x = [model.new_num_var(0.0, 1.0, f"x{k}") for k in range(len(arcs))]
    for node in range(nodes):
        out = [x[k] for k, (a, _) in enumerate(arcs) if a == node]
        into = [x[k] for k, (_, b) in enumerate(arcs) if b == node]
        supply = 1 if node == 0 else (-1 if node == nodes - 1 else 0)
        model.add(model_builder.LinearExpr.sum(out) - model_builder.LinearExpr.sum(into) == supply)

    def make() -> Solve:  # one model and solver per thread, as OR-Tools requires
        hand_model = model.clone()
        hand_x = [hand_model.var_from_index(v.index) for v in x]
        solver = model_builder.Solver("glop")

        def solve(costs: np.ndarray) -> np.ndarray:
            hand_model.minimize(model_builder.LinearExpr.weighted_sum(hand_x, costs.tolist()))
            solver.solve(hand_model)
            return np.array([solver.value(v) for v in hand_x])

        return solve

    theta = np.random.default_rng(0).uniform(0.5, 1.5, size=(BATCH, len(arcs)))
    options = {"model": model, "variables": x, "sense": "min"}
    return "ortools.model_builder", options, theta, make


def hand_loop(theta: np.ndarray, solve: Solve, seed: int) -> np.ndarray:
    """What a user writes: draw, perturb, solve each, average."""
    z = np.random.default_rng(seed).standard_normal((SAMPLES,) + theta.shape)
    perturbed = theta + EPSILON * z
    total = np.zeros(theta.shape)
    for sample in perturbed:
        for b, costs in enumerate(sample):
            total[b] += solve(costs)
    return total / SAMPLES


def run(rounds: int = 25) -> list[str]:
    """The table's lines."""
    header = (
        "| case | perturbopt n_jobs=1 / hand loop | n_jobs=2 / hand loop | "
        "two threads of the hand loop / hand loop | hand loop (ms) |"
    )
    lines = [f"# {machine()}; {load()}", header, "|---|---:|---:|---:|---:|"]
    return lines + [measure(case, rounds) for case in (assignment_case, glop_case)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=25)
    print("\n".join(run(parser.parse_args().rounds)))


def measure(
    case: Callable[[], tuple[str, dict, np.ndarray, Callable[[], Solve]]], rounds: int
) -> str:
    """One table row: the case's ratios, measured interleaved."""
    name, options, theta, make_solve = case()
    solve, other = make_solve(), make_solve()
    common = {"solver_options": options, "epsilon": EPSILON, "num_samples": SAMPLES, "seed": 0}
    serial = perturbopt.perturbed(name, n_jobs=1, **common)
    parallel = perturbopt.perturbed(name, n_jobs=2, **common)
    half = BATCH // 2
    with ThreadPoolExecutor(2) as pool:

        def two_threads() -> None:
            first = pool.submit(hand_loop, theta[:half], other, 1)
            hand_loop(theta[half:], solve, 2)
            first.result()

        for _ in range(20):  # let the tuner settle on the fastest mode
            parallel(theta)
        times = interleaved_samples(
            {
                "hand": lambda: hand_loop(theta, solve, 0),
                "n_jobs=1": lambda: serial(theta),
                "n_jobs=2": lambda: parallel(theta),
                "threads": two_threads,
            },
            rounds=rounds,
            warmup=2,
        )
    median = {key: statistics.median(values) for key, values in times.items()}
    hand = median["hand"]
    return (
        f"| {name} | {median['n_jobs=1'] / hand:.2f} | {median['n_jobs=2'] / hand:.2f} | "
        f"{median['threads'] / hand:.2f} | {hand * 1e3:.2f} |"
    )


if __name__ == "__main__":
    main()
