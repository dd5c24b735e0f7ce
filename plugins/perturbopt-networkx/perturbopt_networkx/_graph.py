"""The edge layout shared by the NetworkX solvers: ``theta[k]`` belongs to ``edges[k]``."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import networkx as nx
import numpy as np

from perturbopt.plugin import (
    NegativeCosts,
    check_bool,
    check_edges,
    check_instance,
    check_nonnegative,
    message,
)

__all__ = ["EdgeIndexedGraph"]

Edge = tuple[Hashable, Hashable]


class EdgeIndexedGraph:
    """A private graph whose edges are numbered in the order the user listed them.

    Solvers write ``theta`` into one edge attribute per solve with `set_attribute`
    and turn the edges of a solution back into a 0/1 vector with `indicator`. An
    instance is not thread-safe (the perturbopt engine builds one solver per worker).

    Build it with `from_options`, from a solver's ``edges``, ``num_nodes`` and
    ``directed`` options.

    Args:
        solver: the registry name, for messages.
        edges: ``(u, v)`` pairs of hashable nodes, at least one, none repeated.
        nodes: nodes to add besides the ends of the edges.
        directed: whether edge ``(u, v)`` goes from ``u`` to ``v`` only. For an
            undirected graph ``(u, v)`` also matches ``(v, u)``.

    Attributes:
        edges: the edges as tuples; ``theta[k]`` belongs to ``edges[k]``.
        graph: the private ``networkx.Graph`` or ``DiGraph``.
        directed: as given.
    """

    def __init__(
        self, solver: str, edges: list[Edge], nodes: Iterable[Hashable], directed: bool
    ) -> None:
        self.solver = solver
        self.directed = directed
        self.edges = edges
        self.graph: nx.Graph = nx.DiGraph() if directed else nx.Graph()
        self.graph.add_nodes_from(nodes)
        self.graph.add_edges_from(edges)
        self._index: dict[Edge, int] = {}
        for k, (u, v) in enumerate(edges):
            for key in ((u, v),) if directed else ((u, v), (v, u)):
                if key in self._index:
                    raise ValueError(
                        message(
                            solver,
                            f"edges[{self._index[key]}] and "
                            f"edges[{k}] are the same edge {(u, v)!r}"
                            f"{'' if directed else ' (undirected)'}; "
                            "list each edge once",
                        )
                    )
                self._index[key] = k
        self._attributes = [self.graph.edges[edge] for edge in edges]

    @classmethod
    def from_options(
        cls,
        solver: str,
        *,
        edges: Any,
        num_nodes: Any,
        directed: Any,
        undirected_only: bool = False,
    ) -> EdgeIndexedGraph:
        """The graph a solver's options describe.

        Args:
            solver: the registry name, for messages.
            edges: ``(u, v)`` pairs; with ``num_nodes``, integer nodes ``0 .. num_nodes - 1``,
                else any hashable nodes.
            num_nodes: the number of integer nodes, or ``None``.
            directed: ``True`` or ``False`` (ignored with ``undirected_only``).
            undirected_only: the solver takes undirected graphs only (and no ``directed``
                option).
        """
        if num_nodes is not None:
            array, count = check_edges(solver, edges, num_nodes)
            pairs: list[Edge] = [(int(u), int(v)) for u, v in array.tolist()]
            nodes: Iterable[Hashable] = range(count)
        else:
            pairs, nodes = _pairs(solver, edges), ()
        is_directed = False if undirected_only else check_bool(solver, "directed", directed)
        return cls(solver, pairs, nodes, is_directed)

    @property
    def num_edges(self) -> int:
        """The number of edges, the length of ``theta``."""
        return len(self.edges)

    def check_node(self, option: str, node: Any) -> Hashable:
        """``node`` (the value of ``option``) if it is a node of the graph."""
        if node is None:
            raise TypeError(message(self.solver, f"{option} is required: a node of the graph"))
        try:
            hash(node)
        except TypeError:
            raise TypeError(
                message(
                    self.solver,
                    f"{option} must be a node of the graph, got the unhashable {node!r}",
                )
            ) from None
        if node not in self.graph:
            raise ValueError(message(self.solver, f"{option}={node!r} is not a node of the graph"))
        return node  # type: ignore[no-any-return]

    def check_theta(self, theta: Any) -> np.ndarray:
        """``theta`` as float64 of shape ``(num_edges,)``."""
        return check_instance(
            self.solver,
            theta,
            shape=(self.num_edges,),
            what="one entry per edge, in the order of edges",
        )

    def nonnegative(
        self, theta: np.ndarray, negative_costs: NegativeCosts, what: str
    ) -> np.ndarray:
        """``theta``, or ``max(theta, 0)`` with ``"clip"``; a negative entry raises with
        ``"error"``, naming its edge (see [`perturbopt.plugin.check_nonnegative`][perturbopt.plugin.check_nonnegative])."""
        return check_nonnegative(
            self.solver,
            theta,
            negative_costs=negative_costs,
            what=what,
            where=lambda index: f"edge {self.edges[index[0]]!r}",
        )

    def set_attribute(self, key: str, theta: np.ndarray) -> None:
        """Write ``theta[k]`` into attribute ``key`` of edge ``edges[k]``."""
        for attributes, value in zip(self._attributes, theta.tolist(), strict=True):
            attributes[key] = value

    def indicator(self, chosen: Iterable[Edge]) -> np.ndarray:
        """The ``int8`` 0/1 vector with a 1 at the index of each edge in ``chosen``."""
        y = np.zeros(self.num_edges, dtype=np.int8)
        y[[self._index[edge] for edge in chosen]] = 1
        return y


def _pairs(solver: str, edges: Any) -> list[Edge]:
    """``edges`` as a list of ``(u, v)`` tuples of hashable nodes."""
    form = "edges must be a sequence of (u, v) pairs of hashable nodes"
    if isinstance(edges, np.ndarray):
        edges = edges.tolist()
    try:
        pairs = [tuple(edge) for edge in edges]
    except TypeError:
        raise TypeError(message(solver, f"{form}, got {edges!r}")) from None
    for k, pair in enumerate(pairs):
        if len(pair) != 2:
            raise ValueError(
                message(solver, f"{form}; edges[{k}] = {pair!r} has {len(pair)} entries")
            )
        try:
            hash(pair)
        except TypeError:
            raise TypeError(
                message(solver, f"{form}; edges[{k}] = {pair!r} has an unhashable node")
            ) from None
    if not pairs:
        raise ValueError(message(solver, "the graph has no edges, so theta would be empty"))
    return pairs  # type: ignore[return-value]
