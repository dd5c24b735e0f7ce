"""The edge layout shared by the NetworkX solvers: ``theta`` has one entry per edge,
in the order of ``list(graph.edges)``."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import networkx as nx
import numpy as np

__all__ = ["EdgeIndexedGraph"]

Edge = tuple[Hashable, Hashable]


class EdgeIndexedGraph:
    """A private copy of a simple graph whose edges are numbered like ``list(graph.edges)``.

    The copy has the user's nodes and edges but none of their attributes; solvers write
    ``theta`` into one edge attribute per solve with :meth:`set_attribute` and turn the
    edges of a solution back into a 0/1 vector with :meth:`indicator`. An instance is
    not thread-safe (the perturbopt engine builds one solver per worker).

    Args:
        solver: the registry name, for messages.
        graph: a ``networkx.Graph`` or ``networkx.DiGraph`` with at least one edge.
        directed: ``True`` or ``False`` to accept only directed or only undirected
            graphs; ``None`` for both.

    Attributes:
        edges: ``list(graph.edges)``; ``theta[k]`` belongs to ``edges[k]``.
        graph: the private copy.
        directed: whether the graph is directed. For an undirected graph an edge
            ``(u, v)`` also matches ``(v, u)``.
    """

    def __init__(self, solver: str, graph: Any, *, directed: bool | None = None) -> None:
        if not isinstance(graph, nx.Graph):
            raise ValueError(f"{solver}: option graph must be a networkx Graph or DiGraph, "
                             f"got {type(graph).__name__}")
        if graph.is_multigraph():
            raise ValueError(f"{solver}: multigraphs are not supported; convert the graph "
                             "with nx.Graph(G) or nx.DiGraph(G) (parallel edges merge)")
        if directed is not None and graph.is_directed() != directed:
            kind, fix = (("a directed", "nx.DiGraph(G)") if directed
                         else ("an undirected", "G.to_undirected()"))
            raise ValueError(f"{solver}: needs {kind} graph, got a {type(graph).__name__}; "
                             f"convert it with {fix}")
        if graph.number_of_edges() == 0:
            raise ValueError(f"{solver}: the graph has no edges, so theta would be empty")
        self.solver = solver
        self.directed: bool = graph.is_directed()
        self.edges: list[Edge] = [(u, v) for u, v in graph.edges]
        self.graph: nx.Graph = nx.DiGraph() if self.directed else nx.Graph()
        self.graph.add_nodes_from(graph.nodes)
        self.graph.add_edges_from(self.edges)
        self._index: dict[Edge, int] = {}
        for k, (u, v) in enumerate(self.edges):
            self._index[(u, v)] = k
            if not self.directed:
                self._index[(v, u)] = k
        self._attributes = [self.graph.edges[edge] for edge in self.edges]

    @property
    def num_edges(self) -> int:
        """The number of edges, the length of ``theta``."""
        return len(self.edges)

    def check_node(self, option: str, node: Any) -> None:
        """Raise ``ValueError`` if ``node`` (the value of ``option``) is not in the graph."""
        try:
            present = node in self.graph
        except TypeError:  # unhashable
            present = False
        if not present:
            raise ValueError(f"{self.solver}: {option}={node!r} is not a node of the graph")

    def check_theta(self, theta: Any) -> np.ndarray:
        """``theta`` as float64 of shape ``(num_edges,)``, or a ``ValueError``."""
        array = np.asarray(theta, dtype=np.float64)
        if array.shape != (self.num_edges,):
            raise ValueError(f"{self.solver}: theta has shape {array.shape}, but the graph has "
                             f"{self.num_edges} edges: theta needs shape ({self.num_edges},), "
                             "one entry per edge in the order of list(graph.edges)")
        return array

    def check_nonnegative(self, theta: np.ndarray, what: str, remedy: str) -> None:
        """Raise ``ValueError`` naming the first negative entry of ``theta`` and its edge."""
        negative = np.flatnonzero(theta < 0)
        if negative.size:
            k = int(negative[0])
            raise ValueError(f"{self.solver}: {what} must be non-negative, but theta[{k}] = "
                             f"{theta[k]:.6g} (edge {self.edges[k]!r}); {remedy}")

    def set_attribute(self, key: str, theta: np.ndarray) -> None:
        """Write ``theta[k]`` into attribute ``key`` of edge ``edges[k]`` of the copy."""
        for attributes, value in zip(self._attributes, theta.tolist()):
            attributes[key] = value

    def indicator(self, chosen: Iterable[Edge]) -> np.ndarray:
        """The ``int8`` 0/1 vector with a 1 at the index of each edge in ``chosen``."""
        y = np.zeros(self.num_edges, dtype=np.int8)
        y[[self._index[edge] for edge in chosen]] = 1
        return y
