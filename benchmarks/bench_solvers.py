"""Per-solve time of every plugin solver on a representative instance.

Each solver is timed on one fixed instance: the median of repeated ``solve`` calls after
a warm-up, in milliseconds (and per row for a vectorised ``solve_batch``).

Run: python benchmarks/bench_solvers.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import networkx as nx
import numpy as np
from _timing import machine
from ortools.linear_solver.python import model_builder
from ortools.math_opt.python import mathopt
from ortools.sat.python import cp_model

import perturbopt

Case = tuple[str, str, dict[str, Any], np.ndarray]


def _grid_edges(side: int) -> list[tuple[int, int]]:
    right = [(r * side + c, r * side + c + 1) for r in range(side) for c in range(side - 1)]
    down = [(r * side + c, (r + 1) * side + c) for r in range(side - 1) for c in range(side)]
    return right + down + [(b, a) for a, b in right + down]


def _knapsack_model(rng: np.random.Generator, items: int) -> tuple[cp_model.CpModel, list]:
    weights = rng.integers(1, 20, items)
    model = cp_model.CpModel()
    chosen = [model.new_bool_var(f"x{i}") for i in range(items)]
    model.add(
        sum(int(w) * x for w, x in zip(weights, chosen, strict=True)) <= int(weights.sum() // 3)
    )
    return model, chosen


def _assignment_lp(size: int) -> tuple[mathopt.Model, list]:
    model = mathopt.Model()
    x = [[model.add_variable(lb=0, ub=1) for _ in range(size)] for _ in range(size)]
    for i in range(size):
        model.add_linear_constraint(sum(x[i]) == 1)
        model.add_linear_constraint(sum(x[j][i] for j in range(size)) == 1)
    return model, x


def _assignment_lp_model_builder(size: int) -> tuple[model_builder.Model, list]:
    model = model_builder.Model()
    x = [[model.new_num_var(0.0, 1.0, "") for _ in range(size)] for _ in range(size)]
    for i in range(size):
        model.add(model_builder.LinearExpr.sum(x[i]) == 1)
        model.add(model_builder.LinearExpr.sum([x[j][i] for j in range(size)]) == 1)
    return model, x


def cases(rng: np.random.Generator) -> list[Case]:
    """(label, solver name, options, theta) for every solver the plugins ship."""
    graph = nx.gnm_random_graph(50, 200, seed=0)
    edges = _grid_edges(20)
    supplies = np.zeros(400, dtype=int)
    supplies[:5], supplies[-5:] = 2, -2
    knapsack, chosen = _knapsack_model(rng, 30)
    lp, lp_vars = _assignment_lp(15)
    builder, builder_vars = _assignment_lp_model_builder(15)
    lp_ub = rng.uniform(0, 1, (20, 50))
    graph_edges = list(graph.edges)
    return [
        ("50x50", "scipy.assignment", {}, rng.normal(size=(50, 50))),
        (
            "LP n=50, 20 rows",
            "scipy.linprog",
            {"A_ub": lp_ub, "b_ub": np.ones(20), "bounds": (0, 1), "sense": "max"},
            rng.normal(size=50),
        ),
        (
            "0/1 knapsack n=30",
            "scipy.milp",
            {
                "A_ub": rng.uniform(1, 3, (1, 30)),
                "b_ub": [15.0],
                "bounds": (0, 1),
                "integrality": np.ones(30),
                "sense": "max",
            },
            rng.uniform(1, 5, 30),
        ),
        (
            "12x12 vertex grid",
            "scipy.grid_shortest_path",
            {"grid": (12, 12)},
            rng.uniform(0.1, 9, (12, 12)),
        ),
        (
            "5x5 arc grid (40 arcs)",
            "scipy.grid_shortest_path_edges",
            {"grid": (5, 5)},
            rng.uniform(0, 1, 40),
        ),
        ("50x50", "ortools.assignment", {}, rng.normal(size=(50, 50))),
        (
            "20x20 grid, 1520 arcs",
            "ortools.shortest_path",
            {"edges": edges, "source": 0, "target": 399},
            rng.uniform(1, 2, len(edges)),
        ),
        (
            "20x20 grid, 1520 arcs",
            "ortools.min_cost_flow",
            {"edges": edges, "capacities": np.full(len(edges), 3), "supplies": supplies},
            rng.normal(size=len(edges)),
        ),
        (
            "knapsack, 30 items",
            "ortools.cp_sat",
            {"model": knapsack, "variables": chosen},
            rng.normal(size=30),
        ),
        (
            "15x15 assignment LP, GLOP",
            "ortools.mathopt",
            {"model": lp, "variables": lp_vars},
            rng.normal(size=(15, 15)),
        ),
        (
            "15x15 assignment LP, GLOP",
            "ortools.model_builder",
            {"model": builder, "variables": builder_vars},
            rng.normal(size=(15, 15)),
        ),
        (
            "50 nodes, 200 edges",
            "networkx.spanning_tree",
            {"edges": graph_edges},
            rng.normal(size=200),
        ),
        (
            "50 nodes, 200 edges",
            "networkx.min_cut",
            {"edges": graph_edges, "directed": False, "source": 0, "target": 49},
            rng.uniform(0.5, 2, 200),
        ),
        (
            "50 nodes, 200 edges",
            "networkx.shortest_path",
            {"edges": graph_edges, "directed": False, "source": 0, "target": 49},
            rng.uniform(0.5, 2, 200),
        ),
        ("50 nodes, 200 edges", "networkx.matching", {"edges": graph_edges}, rng.normal(size=200)),
    ]


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(repeats: int) -> list[str]:
    rng = np.random.default_rng(0)
    lines = [
        f"Median of {repeats} solves after a warm-up, on {machine()}",
        "",
        "| solver | instance | ms per solve |",
        "|---|---|---|",
    ]
    for label, name, options, theta in cases(rng):
        solver = perturbopt.get_solver(name, **options)
        seconds = median_seconds(partial(solver.solve, theta), repeats)
        lines.append(f"| `{name}` | {label} | {seconds * 1e3:.3f} |")
    arcs = perturbopt.get_solver("scipy.grid_shortest_path_edges", grid=(5, 5))
    stack = rng.uniform(0, 1, (1000, 40))
    seconds = median_seconds(lambda: arcs.solve_batch(stack), max(3, repeats // 5)) / 1000
    lines.append(
        f"| `scipy.grid_shortest_path_edges` | 5x5, `solve_batch` of 1000, per row | "
        f"{seconds * 1e3:.4f} |"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    print("\n".join(run(parser.parse_args().repeats)))


if __name__ == "__main__":
    main()
