"""``networkx.spanning_tree``: minimum or maximum spanning tree by Kruskal's algorithm."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from ._graph import EdgeIndexedGraph

__all__ = ["SpanningTreeSolver"]


class SpanningTreeSolver:
    """A minimum (or maximum) spanning tree of a fixed undirected graph.

    ``y*(theta) = argmin_{y in Y} <y, theta>`` (``minimum=True``, ``sense="min"``) or
    ``argmax_{y in Y} <y, theta>`` (``minimum=False``, ``sense="max"``), where ``Y`` are
    the edge indicators of the spanning trees of ``G`` (spanning forests, one tree per
    connected component, if ``G`` is disconnected). Every ``y`` has ``n - c`` ones
    (``n`` nodes, ``c`` components), so the perturbed mean lies in the spanning-tree
    polytope: entries in ``[0, 1]`` summing to ``n - c``.

    Layout: ``theta`` has one weight per edge, shape ``(len(G.edges),)``, in the order of
    ``list(G.edges)`` (the ``edges`` attribute); ``y`` is the ``int8`` 0/1 edge indicator
    in the same order. Weights of any sign are fine (additive noise works).

    Solved with :func:`networkx.minimum_spanning_edges` /
    :func:`networkx.maximum_spanning_edges` (Kruskal) on a private copy of ``G`` whose
    ``weight`` attributes are set from ``theta`` on every solve.

    Args:
        graph: an undirected ``networkx.Graph``.
        minimum: ``True`` for a minimum spanning tree (``theta`` are costs), ``False`` for
            a maximum one (``theta`` are scores).

    Example:
        >>> import networkx as nx, numpy as np, perturbopt
        >>> solver = perturbopt.get_solver("networkx.spanning_tree", graph=nx.cycle_graph(3))
        >>> solver.edges
        [(0, 1), (0, 2), (1, 2)]
        >>> solver.solve(np.array([1.0, 3.0, 2.0]))
        array([1, 0, 1], dtype=int8)
    """

    name = "networkx.spanning_tree"
    ndim = 1

    def __init__(self, *, graph: Any, minimum: bool = True) -> None:
        if not isinstance(minimum, (bool, np.bool_)):
            raise ValueError(f"{self.name}: minimum must be True or False, got {minimum!r}")
        self._graph = EdgeIndexedGraph(self.name, graph, directed=False)
        self.minimum = bool(minimum)
        self.sense = "min" if self.minimum else "max"
        self.edges = self._graph.edges
        self.shape = (self._graph.num_edges,)

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """Return the 0/1 edge indicator of the optimal spanning tree (``hint`` is ignored)."""
        weights = self._graph.check_theta(theta)
        self._graph.set_attribute("weight", weights)
        spanning_edges = nx.minimum_spanning_edges if self.minimum else nx.maximum_spanning_edges
        tree = spanning_edges(self._graph.graph, algorithm="kruskal", weight="weight", data=False)
        return self._graph.indicator(tree)

    def __repr__(self) -> str:
        return f"SpanningTreeSolver(edges={len(self.edges)}, minimum={self.minimum})"
