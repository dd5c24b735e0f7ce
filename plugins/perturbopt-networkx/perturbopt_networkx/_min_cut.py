"""``networkx.min_cut``: minimum s-t cut by maximum flow."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import networkx as nx
import numpy as np

from ._graph import EdgeIndexedGraph

__all__ = ["MinCutSolver"]


class MinCutSolver:
    """The edges of a minimum ``s``-``t`` cut of a fixed graph, with capacities ``theta``.

    A cut is a node set ``S`` with ``s in S`` and ``t not in S``; its edges are those
    going from ``S`` to its complement ``T`` (for an undirected graph, those with one end
    on each side). With ``Y`` the edge indicators of such cuts,

    ``y*(theta) = argmin_{y in Y} <y, theta>``  (``sense="min"``),

    the capacity of a minimum cut, found from a maximum flow
    (:func:`networkx.minimum_cut`; by max-flow/min-cut duality both have the same value).
    ``S`` is the set of nodes reachable from ``s`` in the residual network.

    Layout: ``theta`` has one capacity per edge, shape ``(len(G.edges),)``, in the order
    of ``list(G.edges)`` (the ``edges`` attribute); ``y`` is the ``int8`` 0/1 indicator of
    the cut edges in the same order.

    Capacities must be non-negative, so perturb positive capacities multiplicatively:
    ``perturbopt.perturbed("networkx.min_cut", perturbation="multiplicative", ...)``
    (``theta * exp(eps Z - eps^2 / 2)`` stays positive); additive noise would produce
    negative capacities, which raise ``ValueError``.

    Args:
        graph: a ``networkx.Graph`` or ``networkx.DiGraph``.
        s: the source node.
        t: the sink node, different from ``s``.

    Example:
        >>> import networkx as nx, numpy as np, perturbopt
        >>> solver = perturbopt.get_solver("networkx.min_cut", graph=nx.path_graph(4),
        ...                                s=0, t=3)
        >>> solver.solve(np.array([3.0, 1.0, 2.0]))  # the weakest link
        array([0, 1, 0], dtype=int8)
    """

    name = "networkx.min_cut"
    sense = "min"
    ndim = 1

    def __init__(self, *, graph: Any, s: Hashable, t: Hashable) -> None:
        self._graph = EdgeIndexedGraph(self.name, graph)
        self._graph.check_node("s", s)
        self._graph.check_node("t", t)
        if s == t:
            raise ValueError(f"{self.name}: s and t are the same node ({s!r}); a cut "
                             "separates two different nodes")
        self.s, self.t = s, t
        self.edges = self._graph.edges
        self.shape = (self._graph.num_edges,)

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """Return the 0/1 indicator of the edges of a minimum cut (``hint`` is ignored)."""
        capacities = self._graph.check_theta(theta)
        self._graph.check_nonnegative(
            capacities, "capacities",
            "perturb positive capacities with perturbation='multiplicative'")
        self._graph.set_attribute("capacity", capacities)
        _, (source_side, _) = nx.minimum_cut(self._graph.graph, self.s, self.t,
                                             capacity="capacity")
        if self._graph.directed:
            cut = [(u, v) for u, v in self.edges if u in source_side and v not in source_side]
        else:
            cut = [(u, v) for u, v in self.edges if (u in source_side) != (v in source_side)]
        return self._graph.indicator(cut)

    def __repr__(self) -> str:
        return f"MinCutSolver(edges={len(self.edges)}, s={self.s!r}, t={self.t!r})"
