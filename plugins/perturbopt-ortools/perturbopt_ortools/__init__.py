"""OR-Tools solvers for perturbopt.

Installing this distribution registers, under the entry-point group ``perturbopt``:

* ``ortools.assignment``: ``n x n`` costs -> permutation matrix.
* ``ortools.shortest_path``: one cost per edge -> 0/1 indicator of a shortest path.
* ``ortools.min_cost_flow``: one unit cost per edge -> flow per edge.
* ``ortools.knapsack``: item values -> the 0/1 multi-dimensional knapsack (CP-SAT).
* ``ortools.tsp``: one cost per edge of the complete graph -> 0/1 tour (CP-SAT circuit).
* ``ortools.cp_sat``: your own CP-SAT model; ``theta`` are the objective coefficients
  of the variables you pick.
* ``ortools.mathopt``: the same for a MathOpt (LP or MIP) model.
* ``ortools.model_builder``: the same for a ModelBuilder (LP or MIP) model: the
  fastest way to GLOP for small LPs.

Smooth your own model in a few lines::

    import perturbopt
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{i}") for i in range(5)]
    model.add(sum(w * xi for w, xi in zip([3, 4, 2, 5, 1], x)) <= 8)
    layer = perturbopt.perturbed("ortools.cp_sat", solver_options={"model": model, "variables": x},
                                 epsilon=0.5, num_samples=50, seed=0)
    y_eps = layer(theta)  # E[argmax_x <theta + eps Z, x>], differentiable in theta
"""

import importlib.metadata
from typing import TYPE_CHECKING

from perturbopt.plugin import StatusError, lazy_attributes

from ._plugin import register_solvers

if TYPE_CHECKING:
    from ._assignment import AssignmentSolver
    from ._cp_sat import CpSatSolver
    from ._flow import MinCostFlowSolver, ShortestPathSolver
    from ._knapsack import KnapsackSolver
    from ._mathopt import MathOptSolver
    from ._model_builder import ModelBuilderSolver
    from ._scaling import DEFAULT_RESOLUTION
    from ._tsp import TspSolver

# Solver classes import their solver library: load them on first access only, so
# that perturbopt's registry can list this plugin's solvers without importing it.
__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "AssignmentSolver": "._assignment",
        "CpSatSolver": "._cp_sat",
        "DEFAULT_RESOLUTION": "._scaling",
        "KnapsackSolver": "._knapsack",
        "MathOptSolver": "._mathopt",
        "MinCostFlowSolver": "._flow",
        "ModelBuilderSolver": "._model_builder",
        "ShortestPathSolver": "._flow",
        "TspSolver": "._tsp",
    },
)

__version__ = importlib.metadata.version("perturbopt-ortools")

__all__ = [
    "DEFAULT_RESOLUTION",
    "AssignmentSolver",
    "CpSatSolver",
    "KnapsackSolver",
    "MathOptSolver",
    "MinCostFlowSolver",
    "ModelBuilderSolver",
    "ShortestPathSolver",
    "StatusError",
    "TspSolver",
    "__version__",
    "register_solvers",
]
