"""SciPy solvers for perturbopt.

Installing this distribution registers, through the ``perturbopt`` entry point:

* ``scipy.linprog``: a vertex of an LP, HiGHS (:class:`LinprogSolver`);
* ``scipy.milp``: a mixed-integer LP, HiGHS (:class:`MilpSolver`);
* ``scipy.assignment``: linear assignment (:class:`AssignmentSolver`);
* ``scipy.grid_shortest_path``: 8-neighbour vertex-weighted grid path, as in the
  Warcraft experiment (:class:`GridShortestPathSolver`);
* ``scipy.grid_shortest_path_edges``: PyEPO's right/down arc-weighted grid path
  (:class:`GridArcShortestPathSolver`).

Example:
    >>> import numpy as np, perturbopt
    >>> po = perturbopt.perturbed("scipy.assignment", solver_options={"sense": "max"},
    ...                           epsilon=0.5, num_samples=100, seed=0)
    >>> po(np.eye(3)).sum(axis=0)  # doubly stochastic
    array([1., 1., 1.])
"""

from ._assignment import AssignmentSolver
from ._grid_arcs import GridArcShortestPathSolver, grid_arcs
from ._grid_vertices import GridShortestPathSolver
from ._linprog import LinprogSolver
from ._milp import MilpSolver
from ._plugin import register_solvers

__version__ = "0.1.0"

__all__ = [
    "AssignmentSolver",
    "GridArcShortestPathSolver",
    "GridShortestPathSolver",
    "LinprogSolver",
    "MilpSolver",
    "__version__",
    "grid_arcs",
    "register_solvers",
]
