"""``networkx.min_cut``: minimum source-target cut by maximum flow."""

from __future__ import annotations

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

__all__ = ["MinCutSolver"]


class MinCutSolver:
    """The edges of a minimum ``source``-``target`` cut of a fixed graph, with capacities
    ``theta``.

    A cut is a node set ``S`` with ``source in S`` and ``target not in S``; its edges are
    those going from ``S`` to its complement ``T`` (for an undirected graph, those with
    one end on each side). With ``Y`` the edge indicators of such cuts,

    ``y*(theta) = argmin_{y in Y} <y, theta>``  (``sense="min"``),

    the capacity of a minimum cut, found from a maximum flow
    (`networkx.minimum_cut`; by max-flow/min-cut duality both have the same value).
    ``S`` is the set of nodes reachable from ``source`` in the residual network.

    Layout: ``theta`` has one capacity per edge, shape ``(len(edges),)``: ``theta[k]``
    belongs to ``edges[k]``; ``y`` is the ``int8`` 0/1 indicator of the cut edges in the
    same order.

    Capacities must be non-negative. With ``negative_costs="clip"`` (default) the solver
    solves ``y*(max(theta, 0))``, capacities below zero counting as zero; with
    ``"error"`` a negative one raises ``ValueError`` naming the edge. Clipping is the
    way to learn positive capacities with additive noise ``theta + eps Z`` (see
    [check_nonnegative][perturbopt.plugin.check_nonnegative] for the maths):
    multiplicative noise keeps capacities positive too, but makes the Fenchel-Young
    loss 1-homogeneous, so that training can shrink ``theta`` to 0.

    Args:
        edges: ``(u, v)`` pairs of hashable nodes, each listed once.
        source: the source node.
        target: the sink node, different from ``source``.
        num_nodes: if given, the nodes are ``0 .. num_nodes - 1``.
        directed: whether edge ``(u, v)`` carries flow from ``u`` to ``v`` only (default
            ``True``).
        negative_costs: ``"clip"`` (default) or ``"error"`` (``"allow"`` is refused:
            max flow needs non-negative capacities).

    Example:
        >>> import numpy as np, perturbopt
        >>> solver = perturbopt.get_solver("networkx.min_cut", edges=[(0, 1), (1, 2), (2, 3)],
        ...                                source=0, target=3)
        >>> solver.solve(np.array([3.0, 1.0, 2.0]))  # the weakest link
        array([0, 1, 0], dtype=int8)
    """

    name = "networkx.min_cut"
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
                    f"({source!r}); a cut separates two different "
                    "nodes",
                )
            )
        self.negative_costs = check_negative_costs(self.name, negative_costs)
        self.directed = self._graph.directed
        self.edges = self._graph.edges
        self.shape = (self._graph.num_edges,)

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """Return the 0/1 indicator of the edges of a minimum cut (``hint`` is ignored)."""
        capacities = self._graph.nonnegative(
            self._graph.check_theta(theta), self.negative_costs, "capacities"
        )
        self._graph.set_attribute("capacity", capacities)
        _, (source_side, _) = nx.minimum_cut(
            self._graph.graph, self.source, self.target, capacity="capacity"
        )
        if self._graph.directed:
            cut = [(u, v) for u, v in self.edges if u in source_side and v not in source_side]
        else:
            cut = [(u, v) for u, v in self.edges if (u in source_side) != (v in source_side)]
        return self._graph.indicator(cut)

    def __repr__(self) -> str:
        return (
            f"MinCutSolver(edges={len(self.edges)}, source={self.source!r}, "
            f"target={self.target!r}, directed={self.directed}, "
            f"negative_costs={self.negative_costs!r})"
        )
