"""NetworkX solvers for perturbopt.

Each solver works on a fixed graph given at construction by its edges (option
``edges=``, ``(u, v)`` pairs of hashable nodes); ``theta[k]`` belongs to ``edges[k]``
(the solver's ``edges`` attribute) and the solution ``y`` is the 0/1 indicator of the
chosen edges. Installing this distribution registers, through the ``perturbopt`` entry
point:

* ``networkx.spanning_tree``: minimum or maximum spanning tree ([`SpanningTreeSolver`][perturbopt_networkx.SpanningTreeSolver]);
* ``networkx.min_cut``: minimum source-target cut by maximum flow ([`MinCutSolver`][perturbopt_networkx.MinCutSolver]);
* ``networkx.shortest_path``: shortest path by Dijkstra ([`ShortestPathSolver`][perturbopt_networkx.ShortestPathSolver]);
* ``networkx.matching``: maximum weight matching ([`MatchingSolver`][perturbopt_networkx.MatchingSolver]).

Example:
    >>> import itertools, numpy as np, perturbopt
    >>> edges = list(itertools.combinations(range(4), 2))  # the complete graph K4
    >>> po = perturbopt.perturbed("networkx.spanning_tree", solver_options={"edges": edges},
    ...                           epsilon=1.0, num_samples=50, seed=0)
    >>> float(po(np.ones(6)).sum())  # every spanning tree of K4 has 3 edges
    3.0
"""

import importlib.metadata
from typing import TYPE_CHECKING

from perturbopt.plugin import lazy_attributes

from ._plugin import register_solvers

if TYPE_CHECKING:
    from ._matching import MatchingSolver
    from ._min_cut import MinCutSolver
    from ._shortest_path import ShortestPathSolver
    from ._spanning_tree import SpanningTreeSolver

# Solver classes import their solver library: load them on first access only, so
# that perturbopt's registry can list this plugin's solvers without importing it.
__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "MatchingSolver": "._matching",
        "MinCutSolver": "._min_cut",
        "ShortestPathSolver": "._shortest_path",
        "SpanningTreeSolver": "._spanning_tree",
    },
)

__version__ = importlib.metadata.version("perturbopt-networkx")

__all__ = [
    "MatchingSolver",
    "MinCutSolver",
    "ShortestPathSolver",
    "SpanningTreeSolver",
    "__version__",
    "register_solvers",
]
