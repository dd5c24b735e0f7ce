"""The hook through which perturbopt finds these solvers."""

from __future__ import annotations

from collections.abc import Callable

import perturbopt

__all__ = ["register_solvers"]


@perturbopt.hookimpl
def register_solvers(register: Callable[..., None]) -> None:
    """Register the OR-Tools solvers (factories: each worker builds its own)."""
    register(
        "ortools.assignment",
        "perturbopt_ortools._assignment:AssignmentSolver",
        description="n x n assignment (permutation matrix), SimpleLinearSumAssignment; "
        "options sense, shape, resolution",
    )
    register(
        "ortools.shortest_path",
        "perturbopt_ortools._flow:ShortestPathSolver",
        description="source-target path as 0/1 per edge, SimpleMinCostFlow; options edges, "
        "num_nodes, source, target, negative_costs",
    )
    register(
        "ortools.min_cost_flow",
        "perturbopt_ortools._flow:MinCostFlowSolver",
        description="flow per edge, SimpleMinCostFlow; options edges, num_nodes, "
        "capacities, supplies, sense",
    )
    register(
        "ortools.cp_sat",
        "perturbopt_ortools._cp_sat:CpSatSolver",
        description="your own CP-SAT model; theta = objective coefficients of options "
        "model, variables",
    )
    register(
        "ortools.mathopt",
        "perturbopt_ortools._mathopt:MathOptSolver",
        description="your own MathOpt LP/MIP model; theta = objective coefficients of "
        "options model, variables, solver_type",
    )
    register(
        "ortools.model_builder",
        "perturbopt_ortools._model_builder:ModelBuilderSolver",
        description="your own ModelBuilder LP/MIP model (fastest GLOP for small LPs); "
        "theta = objective coefficients of options model, variables",
    )
    register(
        "ortools.knapsack",
        "perturbopt_ortools._knapsack:KnapsackSolver",
        description="multi-dimensional 0/1 knapsack (max value), CP-SAT; options weights, "
        "capacities, time_limit, allow_feasible",
    )
    register(
        "ortools.tsp",
        "perturbopt_ortools._tsp:TspSolver",
        description="symmetric TSP tour as 0/1 per edge of the complete graph (PyEPO's "
        "order), CP-SAT circuit; options num_nodes, time_limit, allow_feasible",
    )
