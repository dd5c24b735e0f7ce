"""SciPy solvers for perturbopt.

Installing this distribution registers, through the ``perturbopt`` entry point:

* ``scipy.linprog``: a vertex of an LP, HiGHS ([`LinprogSolver`][perturbopt_scipy.LinprogSolver]);
* ``scipy.milp``: a mixed-integer LP, HiGHS ([`MilpSolver`][perturbopt_scipy.MilpSolver]);
* ``scipy.knapsack``: the multi-dimensional 0/1 knapsack, HiGHS ([`KnapsackSolver`][perturbopt_scipy.KnapsackSolver]);
* ``scipy.assignment``: linear assignment ([`AssignmentSolver`][perturbopt_scipy.AssignmentSolver]);
* ``scipy.grid_shortest_path``: 8-neighbour vertex-weighted grid path, as in the
  Warcraft experiment ([`GridShortestPathSolver`][perturbopt_scipy.GridShortestPathSolver]);
* ``scipy.grid_shortest_path_edges``: PyEPO's right/down arc-weighted grid path
  ([`GridArcShortestPathSolver`][perturbopt_scipy.GridArcShortestPathSolver]).

Example:
    >>> import numpy as np, perturbopt
    >>> po = perturbopt.perturbed("scipy.assignment", solver_options={"sense": "max"},
    ...                           epsilon=0.5, num_samples=100, seed=0)
    >>> po(np.eye(3)).sum(axis=0)  # doubly stochastic
    array([1., 1., 1.])
"""

import importlib.metadata
from typing import TYPE_CHECKING

from perturbopt.plugin import lazy_attributes

from ._plugin import register_solvers

if TYPE_CHECKING:
    from ._assignment import AssignmentSolver
    from ._grid_arcs import GridArcShortestPathSolver, grid_arcs
    from ._grid_vertices import GridShortestPathSolver
    from ._knapsack import KnapsackSolver
    from ._linprog import LinprogSolver
    from ._lp import HighsStatusError
    from ._milp import MilpSolver

# Solver classes import their solver library: load them on first access only, so
# that perturbopt's registry can list this plugin's solvers without importing it.
__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "AssignmentSolver": "._assignment",
        "GridArcShortestPathSolver": "._grid_arcs",
        "GridShortestPathSolver": "._grid_vertices",
        "HighsStatusError": "._lp",
        "KnapsackSolver": "._knapsack",
        "LinprogSolver": "._linprog",
        "MilpSolver": "._milp",
        "grid_arcs": "._grid_arcs",
    },
)

__version__ = importlib.metadata.version("perturbopt-scipy")

__all__ = [
    "AssignmentSolver",
    "GridArcShortestPathSolver",
    "GridShortestPathSolver",
    "HighsStatusError",
    "KnapsackSolver",
    "LinprogSolver",
    "MilpSolver",
    "__version__",
    "grid_arcs",
    "register_solvers",
]
