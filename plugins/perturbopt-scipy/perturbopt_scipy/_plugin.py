"""The pluggy hook that registers the SciPy solvers with perturbopt."""

from __future__ import annotations

from typing import Any

import perturbopt

__all__ = ["register_solvers"]


@perturbopt.hookimpl
def register_solvers(register: Any) -> None:
    """Register the factories of the ``scipy.*`` solvers."""
    register(
        "scipy.linprog",
        "perturbopt_scipy._linprog:LinprogSolver",
        description="LP vertex by HiGHS; sense min by default; options: A_ub=None, "
        "b_ub=None, A_eq=None, b_eq=None, bounds=(0.0, None), sense='min', options=None",
    )
    register(
        "scipy.milp",
        "perturbopt_scipy._milp:MilpSolver",
        description="MILP by HiGHS; sense min by default; options: A_ub=None, b_ub=None, "
        "A_eq=None, b_eq=None, bounds=(0.0, None), integrality=1, sense='min', options=None",
    )
    register(
        "scipy.assignment",
        "perturbopt_scipy._assignment:AssignmentSolver",
        description="linear assignment (n x m, 0/1), linear_sum_assignment; sense min by "
        "default; options: shape=None, sense='min'",
    )
    register(
        "scipy.grid_shortest_path",
        "perturbopt_scipy._grid_vertices:GridShortestPathSolver",
        description="8-neighbour vertex-weighted H x W grid path, Dijkstra; sense min; "
        "options: grid (required), negative_costs='clip'",
    )
    register(
        "scipy.grid_shortest_path_edges",
        "perturbopt_scipy._grid_arcs:GridArcShortestPathSolver",
        description="PyEPO right/down arc-weighted grid path, vectorised DP; sense min; "
        "options: grid (required)",
    )
    register(
        "scipy.knapsack",
        "perturbopt_scipy._knapsack:KnapsackSolver",
        description="multi-dimensional 0/1 knapsack, theta = item values, HiGHS milp; "
        "sense max; options: weights (required), capacities (required), time_limit=None",
    )
