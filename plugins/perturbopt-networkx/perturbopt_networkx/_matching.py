"""``networkx.matching``: maximum weight matching by Edmonds' blossom algorithm."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from perturbopt.plugin import check_bool

from ._graph import EdgeIndexedGraph

__all__ = ["MatchingSolver"]


class MatchingSolver:
    """A maximum weight matching of a fixed undirected graph.

    ``y*(theta) = argmax_{y in Y} <y, theta>``  (``sense="max"``), where ``Y`` are the
    edge indicators of the matchings of ``G`` (edge sets in which no two edges share a
    node), or only its maximum-cardinality matchings with ``maxcardinality=True``. Every
    node is covered at most once, so the perturbed mean has, at every node, incident
    entries summing to at most 1 (the matching polytope's degree constraints).

    Layout: ``theta`` has one weight per edge, shape ``(len(edges),)``: ``theta[k]``
    belongs to ``edges[k]``; ``y`` is the ``int8`` 0/1 indicator of the matched edges in
    the same order. Weights of any sign are fine (additive noise works): without
    ``maxcardinality`` negative edges are simply left out.

    Solved by `networkx.max_weight_matching` on a private graph whose ``weight``
    attributes are set from ``theta`` on every solve.

    Args:
        edges: the undirected edges, ``(u, v)`` pairs of hashable nodes, each listed once.
        num_nodes: if given, the nodes are ``0 .. num_nodes - 1``.
        maxcardinality: only consider matchings of maximum cardinality (default
            ``False``).

    Example:
        >>> import numpy as np, perturbopt
        >>> solver = perturbopt.get_solver("networkx.matching", edges=[(0, 1), (1, 2), (2, 3)])
        >>> solver.solve(np.array([2.0, 3.0, 2.0]))  # both ends beat the middle
        array([1, 0, 1], dtype=int8)
    """

    name = "networkx.matching"
    sense = "max"
    ndim = 1

    def __init__(
        self,
        *,
        edges: Any,
        num_nodes: int | None = None,
        maxcardinality: bool = False,
    ) -> None:
        self.maxcardinality = check_bool(self.name, "maxcardinality", maxcardinality)
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
        """Return the 0/1 edge indicator of a maximum weight matching (``hint`` is ignored)."""
        weights = self._graph.check_theta(theta)
        self._graph.set_attribute("weight", weights)
        matching = nx.max_weight_matching(
            self._graph.graph, maxcardinality=self.maxcardinality, weight="weight"
        )
        return self._graph.indicator(matching)

    def __repr__(self) -> str:
        return f"MatchingSolver(edges={len(self.edges)}, maxcardinality={self.maxcardinality})"
