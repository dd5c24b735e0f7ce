"""The field's standard decision-focused-learning problems, as synthetic data sets.

Each generator draws ``num_data`` instances ``(x_i, c_i)``: features
``x_i ~ N(0, I_p)`` and the costs of a decision problem, a polynomial of degree
``degree`` in the features times multiplicative noise ``U(1 - w, 1 + w)`` (Elmachtoub
and Grigas, "Smart Predict, then Optimize", 2022; PyEPO's ``pyepo.data``). The arguments,
distributions and random draws are PyEPO's: for one seed, the instances equal PyEPO's.

* `shortest_path`: a ``h x w`` grid, one cost per arc (``scipy.grid_shortest_path_edges``);
* `knapsack`: a multi-dimensional 0/1 knapsack, one value per item
  (``ortools.knapsack``, ``scipy.knapsack``);
* `tsp`: a symmetric TSP, one cost per edge of the complete graph (``ortools.tsp``).

PyEPO's fourth problem, the portfolio, has a quadratic risk constraint
``y^T Sigma y <= gamma``; no shipped solver takes a quadratic constraint (SciPy's
``milp``/``linprog`` and OR-Tools' CP-SAT and GLOP are linear), so it is not here.

Example:
    >>> import perturbopt
    >>> from perturbopt import problems
    >>> data = problems.knapsack(100, 5, num_items=8, dim=1, degree=2, noise_width=0.5, seed=0)
    >>> train, test = data.split(80)
    >>> layer = perturbopt.perturbed(data.solver, solver_options=data.solver_options,
    ...                              epsilon=1.0, num_samples=8, seed=0)
    >>> layer(test.c[0]).shape
    (8,)
"""

from __future__ import annotations

from ._data import ProblemData
from ._knapsack import check_knapsack, knapsack
from ._shortest_path import grid_num_arcs, shortest_path
from ._tsp import tsp, tsp_edges

__all__ = [
    "ProblemData",
    "check_knapsack",
    "grid_num_arcs",
    "knapsack",
    "shortest_path",
    "tsp",
    "tsp_edges",
]
