"""Warm starts: CP-SAT with and without the hint ``y*(theta)``, across epsilon.

The model is a generalised assignment problem (``ortools.cp_sat``, one search thread):
``T`` tasks each go to one of ``A`` agents, agent ``a`` holds tasks of total weight at
most its capacity; ``theta[a, t]`` is the cost of giving task ``t`` to agent ``a``
(``sense="min"``). ``warm_start=True`` solves ``y*(theta)`` once per instance and passes
it as CP-SAT's solution hint to every perturbed solve. The hint is close to the
perturbed optimum for small epsilon and far from it for large epsilon.

Measured per epsilon: median wall time of ``po.solve(theta)`` with ``warm_start=False``
and ``True`` (the latter includes its unperturbed solves), in-process (``n_jobs=1``),
interleaved; speed-up = cold / warm.

Run: python benchmarks/bench_warm_start.py [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import interleaved, machine
from ortools.sat.python import cp_model

import perturbopt

AGENTS, TASKS = 6, 30
EPSILONS = (0.01, 0.03, 0.1, 0.3, 1.0)


def assignment_model(seed: int = 0) -> tuple[cp_model.CpModel, list[list[cp_model.IntVar]]]:
    """A generalised assignment problem whose capacities bind (about 80 % load)."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(5, 25, size=(AGENTS, TASKS))
    capacity = int(1.25 * weights.mean() * TASKS / AGENTS)
    model = cp_model.CpModel()
    x = [[model.new_bool_var(f"x{a}_{t}") for t in range(TASKS)] for a in range(AGENTS)]
    for t in range(TASKS):
        model.add_exactly_one(x[a][t] for a in range(AGENTS))
    for a in range(AGENTS):
        model.add(sum(int(weights[a, t]) * x[a][t] for t in range(TASKS)) <= capacity)
    return model, x


def run(quick: bool = False) -> list[str]:
    """Markdown table: one row per epsilon."""
    batch, samples, rounds = (2, 4, 1) if quick else (4, 10, 3)
    epsilons = EPSILONS[::2] if quick else EPSILONS
    model, x = assignment_model()
    theta = np.random.default_rng(1).random((batch, AGENTS, TASKS))
    lines = [
        (
            f"CP-SAT generalised assignment, {AGENTS} agents x {TASKS} tasks, B={batch}, "
            f"M={samples}, costs U[0, 1], n_jobs=1, on {machine()}"
        ),
        "",
        "| epsilon | cold (s) | warm (s) | speed-up |",
        "|---|---|---|---|",
    ]
    for epsilon in epsilons:
        po = {
            warm: perturbopt.perturbed(
                "ortools.cp_sat",
                epsilon=epsilon,
                num_samples=samples,
                seed=0,
                n_jobs=1,
                warm_start=warm,
                solver_options={"model": model, "variables": x, "sense": "min"},
            )
            for warm in (False, True)
        }
        times = interleaved(
            {
                "cold": lambda po=po: po[False].solve(theta, seed=2),
                "warm": lambda po=po: po[True].solve(theta, seed=2),
            },
            rounds=rounds,
            warmup=0,
        )
        lines.append(
            f"| {epsilon} | {times['cold']:.3f} | {times['warm']:.3f} | "
            f"{times['cold'] / times['warm']:.2f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and epsilons")
    args = parser.parse_args()
    print("\n".join(run(args.quick)))


if __name__ == "__main__":
    main()
