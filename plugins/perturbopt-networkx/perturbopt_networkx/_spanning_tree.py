"""``networkx.spanning_tree``: minimum or maximum spanning tree by Kruskal's algorithm."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from perturbopt.plugin import Sense, check_sense

from ._graph import EdgeIndexedGraph

__all__ = ["SpanningTreeSolver"]


class SpanningTreeSolver:
    """A minimum (or maximum) spanning tree of a fixed undirected graph.

    ``y*(theta) = argmin_{y in Y} <y, theta>`` (``sense="min"``, default) or
    ``argmax_{y in Y} <y, theta>`` (``sense="max"``), where ``Y`` are the edge
    indicators of the spanning trees of ``G`` (spanning forests, one tree per connected
    component, if ``G`` is disconnected). Every ``y`` has ``n - c`` ones (``n`` nodes,
    ``c`` components), so the perturbed mean lies in the spanning-tree polytope:
    entries in ``[0, 1]`` summing to ``n - c``.

    Layout: ``theta`` has one weight per edge, shape ``(len(edges),)``: ``theta[k]``
    belongs to ``edges[k]``; ``y`` is the ``int8`` 0/1 edge indicator in the same
    order. Weights of any sign are fine (additive noise works).

    Solved with `networkx.minimum_spanning_edges` /
    `networkx.maximum_spanning_edges` (Kruskal) on a private graph whose
    ``weight`` attributes are set from ``theta`` on every solve.

    Args:
        edges: the undirected edges, ``(u, v)`` pairs of hashable nodes, each listed once.
        num_nodes: if given, the nodes are ``0 .. num_nodes - 1`` (isolated ones count
            as components of their own).
        sense: ``"min"`` (default: ``theta`` are costs) or ``"max"`` (scores).

    Example:
        >>> import numpy as np, perturbopt
        >>> solver = perturbopt.get_solver("networkx.spanning_tree",
        ...                                edges=[(0, 1), (0, 2), (1, 2)])
        >>> solver.solve(np.array([1.0, 3.0, 2.0]))
        array([1, 0, 1], dtype=int8)
    """

    name = "networkx.spanning_tree"
    ndim = 1

    def __init__(self, *, edges: Any, num_nodes: int | None = None, sense: Sense = "min") -> None:
        self.sense: Sense = check_sense(self.name, sense)
        self._graph = EdgeIndexedGraph.from_options(
            self.name,
            edges=edges,
            num_nodes=num_nodes,
            directed=False,
            undirected_only=True,
        )
        self.edges = self._graph.edges
        self.shape = (self._graph.num_edges,)

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """Return the 0/1 edge indicator of the optimal spanning tree (``hint`` is ignored)."""
        weights = self._graph.check_theta(theta)
        self._graph.set_attribute("weight", weights)
        spanning_edges = (
            nx.minimum_spanning_edges if self.sense == "min" else nx.maximum_spanning_edges
        )
        tree = spanning_edges(self._graph.graph, algorithm="kruskal", weight="weight", data=False)
        return self._graph.indicator(tree)

    def __repr__(self) -> str:
        return f"SpanningTreeSolver(edges={len(self.edges)}, sense={self.sense!r})"
