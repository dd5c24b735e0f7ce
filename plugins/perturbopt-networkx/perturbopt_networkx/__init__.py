"""NetworkX solvers for perturbopt.

Each solver works on a fixed graph given at construction (option ``graph=``); ``theta``
has one entry per edge, in the order of ``list(graph.edges)`` (the solver's ``edges``
attribute), and the solution ``y`` is the 0/1 indicator of the chosen edges. Installing
this distribution registers, through the ``perturbopt`` entry point:

* ``networkx.spanning_tree``: minimum or maximum spanning tree (:class:`SpanningTreeSolver`);
* ``networkx.min_cut``: minimum s-t cut by maximum flow (:class:`MinCutSolver`);
* ``networkx.shortest_path``: shortest path by Dijkstra (:class:`ShortestPathSolver`);
* ``networkx.matching``: maximum weight matching (:class:`MatchingSolver`).

Example:
    >>> import networkx as nx, numpy as np, perturbopt
    >>> graph = nx.complete_graph(4)
    >>> po = perturbopt.perturbed("networkx.spanning_tree", solver_options={"graph": graph},
    ...                           epsilon=1.0, num_samples=50, seed=0)
    >>> float(po(np.ones(6)).sum())  # every spanning tree of K4 has 3 edges
    3.0
"""


import importlib
from typing import TYPE_CHECKING, Any

from ._plugin import register_solvers

if TYPE_CHECKING:
    from ._matching import MatchingSolver
    from ._min_cut import MinCutSolver
    from ._shortest_path import ShortestPathSolver
    from ._spanning_tree import SpanningTreeSolver

# Solver classes import their solver library: load them on first access only, so
# that perturbopt's registry can list this plugin's solvers without importing it.
_LAZY = {
    "MatchingSolver": "._matching",
    "MinCutSolver": "._min_cut",
    "ShortestPathSolver": "._shortest_path",
    "SpanningTreeSolver": "._spanning_tree",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "MatchingSolver",
    "MinCutSolver",
    "ShortestPathSolver",
    "SpanningTreeSolver",
    "__version__",
    "register_solvers",
]
