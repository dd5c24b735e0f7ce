"""Milliseconds per solve of the solvers of perturbopt.problems' instances.

Costs: PyEPO's instances (degree 4, noise width 0.5, seed 0) plus N(0, 1) noise, as a
perturbed layer or a model in training sends them; one thread, one instance at a time.
Knapsack: ``ortools.knapsack`` against ``scipy.knapsack`` (PyEPO's 32 items in 2
dimensions; Mandi et al.'s 48 items at capacity 60, 120, 180). TSP: ``ortools.tsp``
on 10 and 20 nodes, cold and with the true costs' tour as the hint, and with CP-SAT's
default ``linearization_level=1`` against the shipped 2 on the same instances.

Run: python benchmarks/bench_problems.py
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from perturbopt import problems


def per_solve(solver: Any, costs: np.ndarray, hints: np.ndarray | None = None) -> float:
    """Mean milliseconds of ``solver.solve`` over the rows of ``costs``."""
    start = time.perf_counter()
    for i, c in enumerate(costs):
        solver.solve(c, hint=None if hints is None else hints[i])
    return (time.perf_counter() - start) / len(costs) * 1e3


def noisy(data: problems.ProblemData) -> np.ndarray:
    return data.c + np.random.default_rng(0).normal(size=data.c.shape)


def main() -> None:
    for items, dim, capacity in ((32, 2, None), (48, 1, 60), (48, 1, 120), (48, 1, 180)):
        data = problems.knapsack(
            200, 5, items, dim, degree=4, noise_width=0.5, seed=0, capacity=capacity
        )
        times = {name: per_solve(data.get_solver(name), noisy(data)) for name in data.solvers}
        shown = ", ".join(f"{name} {ms:.1f} ms" for name, ms in times.items())
        print(f"knapsack {items} items, capacities {data.solver_options['capacities']}: {shown}")
    for nodes in (10, 20):
        data = problems.tsp(50, 5, nodes, degree=4, noise_width=0.5, seed=0)
        solver, default = data.get_solver(), data.get_solver()
        default._solver.parameters.linearization_level = 1
        costs = noisy(data)
        tours, _ = data.optimal(solver=solver)
        print(
            f"tsp {nodes} nodes: {per_solve(solver, costs):.1f} ms cold, "
            f"{per_solve(solver, costs, tours):.1f} ms hinted, "
            f"{per_solve(default, costs):.1f} ms with linearization_level=1"
        )


if __name__ == "__main__":
    main()
