"""``networkx.shortest_path``: shortest source-target path by Dijkstra's algorithm."""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from typing import Any

import networkx as nx
import numpy as np

from perturbopt.plugin import (
    DEFAULT_NEGATIVE_COSTS,
    NegativeCosts,
    check_negative_costs,
    message,
)

from ._graph import EdgeIndexedGraph

__all__ = ["ShortestPathSolver"]


class ShortestPathSolver:
    """The edges of a shortest ``source``-``target`` path of a fixed graph.

    ``y*(theta) = argmin_{y in Y} <y, theta>``  (``sense="min"``), where ``Y`` are the
    edge indicators of the simple paths from ``source`` to ``target``. On a directed
    graph the perturbed mean is a unit flow: at every node, outflow minus inflow is 1 at
    ``source``, -1 at ``target`` and 0 elsewhere.

    Layout: ``theta`` has one length per edge, shape ``(len(edges),)``: ``theta[k]``
    belongs to ``edges[k]``; ``y`` is the ``int8`` 0/1 indicator of the path's edges in
    the same order. With ``directed=False`` the edge ``(u, v)`` is travelled in either
    direction.

    Solved by `networkx.dijkstra_path`, which needs non-negative lengths. With
    ``negative_costs="clip"`` (default) the solver solves ``y*(max(theta, 0))``, lengths
    below zero counting as zero; with ``"error"`` a negative length raises
    ``ValueError`` naming the edge. Clipping is the way to learn positive lengths with
    additive noise ``theta + eps Z`` (see
    [check_nonnegative][perturbopt.plugin.check_nonnegative] for the maths):
    multiplicative noise keeps lengths positive too, but makes the Fenchel-Young loss
    1-homogeneous, so that training can shrink ``theta`` to 0.

    Args:
        edges: ``(u, v)`` pairs of hashable nodes, each listed once.
        source: the start node.
        target: the end node, reachable from ``source`` and different from it.
        num_nodes: if given, the nodes are ``0 .. num_nodes - 1``.
        directed: whether edge ``(u, v)`` runs from ``u`` to ``v`` only (default ``True``).
        negative_costs: ``"clip"`` (default) or ``"error"`` (``"allow"`` is refused:
            Dijkstra needs non-negative lengths).

    Example:
        >>> import numpy as np, perturbopt
        >>> solver = perturbopt.get_solver("networkx.shortest_path",
        ...                                edges=[(0, 1), (0, 3), (1, 2), (2, 3)],
        ...                                directed=False, source=0, target=2)
        >>> solver.solve(np.array([1.0, 1.0, 5.0, 1.0]))  # 0 - 3 - 2
        array([0, 1, 0, 1], dtype=int8)
        >>> strict = perturbopt.get_solver("networkx.shortest_path",
        ...                                edges=[(0, 1), (0, 3), (1, 2), (2, 3)],
        ...                                directed=False, source=0, target=2,
        ...                                negative_costs="error")
        >>> strict.solve(np.array([1.0, -1.0, 5.0, 1.0]))
        Traceback (most recent call last):
        ...
        ValueError: solver 'networkx.shortest_path': edge lengths must be non-negative, but theta[1] = -1 (edge (0, 3)); pass negative_costs='clip' (the default) to count negative costs as 0 (the way to use additive noise on positive costs)
    """

    name = "networkx.shortest_path"
    sense = "min"
    ndim = 1

    def __init__(
        self,
        *,
        edges: Any,
        source: Hashable,
        target: Hashable,
        num_nodes: int | None = None,
        directed: bool = True,
        negative_costs: NegativeCosts = DEFAULT_NEGATIVE_COSTS,
    ) -> None:
        self._graph = EdgeIndexedGraph.from_options(
            self.name, edges=edges, num_nodes=num_nodes, directed=directed
        )
        self.source = self._graph.check_node("source", source)
        self.target = self._graph.check_node("target", target)
        if source == target:
            raise ValueError(
                message(
                    self.name,
                    f"source and target are the same node "
                    f"({source!r}); the path would have no edges",
                )
            )
        if not nx.has_path(self._graph.graph, source, target):
            raise ValueError(
                message(
                    self.name,
                    f"there is no path from source={source!r} to "
                    f"target={target!r}; they are disconnected in "
                    "the graph",
                )
            )
        self.negative_costs = check_negative_costs(self.name, negative_costs)
        self.directed = self._graph.directed
        self.edges = self._graph.edges
        self.shape = (self._graph.num_edges,)

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """Return the 0/1 edge indicator of a shortest path (``hint`` is ignored)."""
        lengths = self._graph.nonnegative(
            self._graph.check_theta(theta), self.negative_costs, "edge lengths"
        )
        self._graph.set_attribute("weight", lengths)
        path = nx.dijkstra_path(self._graph.graph, self.source, self.target, weight="weight")
        return self._graph.indicator(itertools.pairwise(path))

    def __repr__(self) -> str:
        return (
            f"ShortestPathSolver(edges={len(self.edges)}, source={self.source!r}, "
            f"target={self.target!r}, directed={self.directed}, "
            f"negative_costs={self.negative_costs!r})"
        )
