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
        "sense min by default; options: sense='min', resolution=1e-06, shape=None",
    )
    register(
        "ortools.shortest_path",
        "perturbopt_ortools._flow:ShortestPathSolver",
        description="source-target path as 0/1 per edge, SimpleMinCostFlow; sense min; "
        "options: edges (required), source (required), target (required), num_nodes=None, "
        "resolution=1e-06, negative_costs='clip'",
    )
    register(
        "ortools.min_cost_flow",
        "perturbopt_ortools._flow:MinCostFlowSolver",
        description="flow per edge, SimpleMinCostFlow; sense min by default; options: "
        "edges (required), capacities (required), supplies=None, num_nodes=None, "
        "sense='min', resolution=1e-06",
    )
    register(
        "ortools.cp_sat",
        "perturbopt_ortools._cp_sat:CpSatSolver",
        description="your own CP-SAT model, theta = objective coefficients of variables; "
        "sense max by default; options: model (required), variables (required), "
        "sense='max', resolution=1e-06, time_limit=None, num_workers=1, allow_feasible=False",
    )
    register(
        "ortools.mathopt",
        "perturbopt_ortools._mathopt:MathOptSolver",
        description="your own MathOpt LP/MIP model, theta = objective coefficients of "
        "variables; sense max by default; options: model (required), variables (required), "
        "sense='max', solver_type='GLOP', time_limit=None, threads=None, "
        "allow_feasible=False",
    )
    register(
        "ortools.model_builder",
        "perturbopt_ortools._model_builder:ModelBuilderSolver",
        description="your own ModelBuilder LP/MIP model (fastest GLOP for small LPs), "
        "theta = objective coefficients of variables; sense max by default; options: "
        "model (required), variables (required), sense='max', solver_type='glop', "
        "time_limit=None, allow_feasible=False",
    )
    register(
        "ortools.knapsack",
        "perturbopt_ortools._knapsack:KnapsackSolver",
        description="multi-dimensional 0/1 knapsack, theta = item values, CP-SAT; sense max; "
        "options: weights (required), capacities (required), resolution=1e-06, "
        "time_limit=None, num_workers=1, allow_feasible=False",
    )
    register(
        "ortools.tsp",
        "perturbopt_ortools._tsp:TspSolver",
        description="symmetric TSP tour as 0/1 per edge of the complete graph (PyEPO's "
        "order), CP-SAT circuit; sense min; options: num_nodes (required), "
        "resolution=1e-06, time_limit=60.0, num_workers=1, allow_feasible=False",
    )
