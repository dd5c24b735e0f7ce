"""``networkx.shortest_path``: shortest source-target path by Dijkstra's algorithm."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import networkx as nx
import numpy as np

from ._graph import EdgeIndexedGraph

__all__ = ["ShortestPathSolver"]


class ShortestPathSolver:
    """The edges of a shortest ``source``-``target`` path of a fixed graph.

    ``y*(theta) = argmin_{y in Y} <y, theta>``  (``sense="min"``), where ``Y`` are the
    edge indicators of the simple paths from ``source`` to ``target``. On a directed
    graph the perturbed mean is a unit flow: at every node, outflow minus inflow is 1 at
    ``source``, -1 at ``target`` and 0 elsewhere.

    Layout: ``theta`` has one length per edge, shape ``(len(G.edges),)``, in the order of
    ``list(G.edges)`` (the ``edges`` attribute); ``y`` is the ``int8`` 0/1 indicator of the
    path's edges in the same order. On an undirected graph the edge ``(u, v)`` is
    travelled in either direction.

    Solved by :func:`networkx.dijkstra_path`, which needs non-negative lengths: perturb
    positive lengths multiplicatively
    (``perturbopt.perturbed(..., perturbation="multiplicative")``); a negative length
    raises ``ValueError`` naming the edge.

    Args:
        graph: a ``networkx.Graph`` or ``networkx.DiGraph``.
        source: the start node.
        target: the end node, reachable from ``source`` and different from it.

    Example:
        >>> import networkx as nx, numpy as np, perturbopt
        >>> solver = perturbopt.get_solver("networkx.shortest_path", graph=nx.cycle_graph(4),
        ...                                source=0, target=2)
        >>> solver.edges
        [(0, 1), (0, 3), (1, 2), (2, 3)]
        >>> solver.solve(np.array([1.0, 1.0, 5.0, 1.0]))  # 0 - 3 - 2
        array([0, 1, 0, 1], dtype=int8)
    """

    name = "networkx.shortest_path"
    sense = "min"
    ndim = 1

    def __init__(self, *, graph: Any, source: Hashable, target: Hashable) -> None:
        self._graph = EdgeIndexedGraph(self.name, graph)
        self._graph.check_node("source", source)
        self._graph.check_node("target", target)
        if source == target:
            raise ValueError(f"{self.name}: source and target are the same node "
                             f"({source!r}); the path would have no edges")
        if not nx.has_path(self._graph.graph, source, target):
            raise ValueError(f"{self.name}: there is no path from source={source!r} to "
                             f"target={target!r}; they are disconnected in the graph")
        self.source, self.target = source, target
        self.edges = self._graph.edges
        self.shape = (self._graph.num_edges,)

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """Return the 0/1 edge indicator of a shortest path (``hint`` is ignored)."""
        lengths = self._graph.check_theta(theta)
        self._graph.check_nonnegative(
            lengths, "edge lengths",
            "Dijkstra needs non-negative lengths; perturb positive lengths with "
            "perturbation='multiplicative'")
        self._graph.set_attribute("weight", lengths)
        path = nx.dijkstra_path(self._graph.graph, self.source, self.target, weight="weight")
        return self._graph.indicator(zip(path[:-1], path[1:]))

    def __repr__(self) -> str:
        return (f"ShortestPathSolver(edges={len(self.edges)}, source={self.source!r}, "
                f"target={self.target!r})")
