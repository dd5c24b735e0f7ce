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
        description="LP vertex by HiGHS; options A_ub, b_ub, A_eq, b_eq, bounds, sense",
    )
    register(
        "scipy.milp",
        "perturbopt_scipy._milp:MilpSolver",
        description="MILP by HiGHS; options as scipy.linprog plus integrality",
    )
    register(
        "scipy.assignment",
        "perturbopt_scipy._assignment:AssignmentSolver",
        description="linear assignment (n x m, 0/1), linear_sum_assignment; options shape, sense",
    )
    register(
        "scipy.grid_shortest_path",
        "perturbopt_scipy._grid_vertices:GridShortestPathSolver",
        description="8-neighbour vertex-weighted H x W grid path, Dijkstra; option shape",
    )
    register(
        "scipy.grid_shortest_path_edges",
        "perturbopt_scipy._grid_arcs:GridArcShortestPathSolver",
        description="PyEPO right/down arc-weighted grid path, vectorised DP; option grid",
    )
    register(
        "scipy.knapsack",
        "perturbopt_scipy._knapsack:KnapsackSolver",
        description="multi-dimensional 0/1 knapsack (max value), HiGHS milp; options "
        "weights, capacities, time_limit",
    )
