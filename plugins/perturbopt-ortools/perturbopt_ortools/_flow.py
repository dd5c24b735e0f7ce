"""``ortools.shortest_path`` and ``ortools.min_cost_flow``: network flows with OR-Tools'
``SimpleMinCostFlow``, one cost per edge of a fixed graph."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.sparse
from ortools.graph.python import min_cost_flow
from scipy.sparse.csgraph import breadth_first_order

from perturbopt.plugin import (
    DEFAULT_NEGATIVE_COSTS,
    NegativeCosts,
    Sense,
    StatusError,
    check_instance,
    check_negative_costs,
    check_node,
    check_nonnegative,
    check_sense,
    message,
)

from ._graph import Graph, as_graph, as_integer_vector
from ._scaling import DEFAULT_RESOLUTION, check_resolution, integer_costs

__all__ = ["MinCostFlowSolver", "ShortestPathSolver"]

_STATUS_DETAILS = {
    "INFEASIBLE": "the supplies cannot be routed through the edges within their capacities",
    "UNBALANCED": "the supplies do not sum to zero",
    "BAD_COST_RANGE": (
        "the integer costs theta / resolution are too large for the solver's "
        "cost scaling; pass a larger resolution or rescale theta"
    ),
    "BAD_CAPACITY_RANGE": "the capacities are too large for the solver; use smaller capacities",
}


def _route(
    graph: Graph, capacities: np.ndarray, nodes: np.ndarray, supplies: np.ndarray, costs: np.ndarray
) -> tuple[str, np.ndarray]:
    """Solve one min cost flow; return OR-Tools' status name and the flow per edge."""
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(graph.tails, graph.heads, capacities, costs)
    flow.set_nodes_supplies(nodes, supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        return status.name, np.empty(0, dtype=np.int64)
    return status.name, np.asarray(flow.flows(np.asarray(arcs, dtype=np.int32)), dtype=np.int64)


def _reachable(graph: Graph, start: int, *, reverse: bool = False) -> np.ndarray:
    """Boolean mask of the nodes reachable from ``start`` (that reach it, if ``reverse``)."""
    tails, heads = (graph.heads, graph.tails) if reverse else (graph.tails, graph.heads)
    adjacency = scipy.sparse.csr_array(
        (np.ones(graph.num_edges), (tails, heads)), shape=(graph.num_nodes, graph.num_nodes)
    )
    mask = np.zeros(graph.num_nodes, dtype=bool)
    mask[breadth_first_order(adjacency, start, directed=True, return_predecessors=False)] = True
    return mask


def _has_cycle(graph: Graph) -> bool:
    """Whether the directed graph has a cycle (Kahn's topological sort leaves nodes over)."""
    indegree = np.bincount(graph.heads, minlength=graph.num_nodes)
    successors: list[list[int]] = [[] for _ in range(graph.num_nodes)]
    for tail, head in zip(graph.tails.tolist(), graph.heads.tolist(), strict=True):
        successors[tail].append(head)
    ready = [v for v in range(graph.num_nodes) if indegree[v] == 0]
    removed = 0
    while ready:
        node = ready.pop()
        removed += 1
        for head in successors[node]:
            indegree[head] -= 1
            if indegree[head] == 0:
                ready.append(head)
    return removed < graph.num_nodes


def _split_cycles(start: int, walk: list[int], graph: Graph) -> tuple[list[int], list[list[int]]]:
    """Split a walk (edge indices, from ``start``) into a simple path and simple cycles.

    Returns the edges of the simple path from ``start`` to the walk's end, and the
    cycles cut out of the walk on the way (each a list of edges).
    """
    heads = graph.heads
    stack: list[int] = []
    position = {start: 0}  # node -> number of stacked edges when the walk stood there
    cycles: list[list[int]] = []
    for edge in walk:
        stack.append(edge)
        head = int(heads[edge])
        if head in position:
            cycle = stack[position[head] :]
            del stack[position[head] :]
            for inner in cycle[:-1]:
                position.pop(int(heads[inner]), None)
            cycles.append(cycle)
        else:
            position[head] = len(stack)
    return stack, cycles


def _greedy_walk(start: int, stop: int, outgoing: dict[int, list[int]], graph: Graph) -> list[int]:
    """Follow unused edges of a flow from ``start`` until it reaches ``stop``.

    In a flow whose nodes all balance but ``start`` (one unit out) and ``stop`` (one
    unit in), or all nodes when ``start == stop``, the walk can only end at ``stop``.
    """
    walk: list[int] = []
    node = start
    while outgoing.get(node):
        edge = outgoing[node].pop()
        walk.append(edge)
        node = int(graph.heads[edge])
        if node == stop:
            break
    return walk


def _outgoing(graph: Graph, edges: np.ndarray) -> dict[int, list[int]]:
    outgoing: dict[int, list[int]] = {}
    for edge, tail in zip(edges.tolist(), graph.tails[edges].tolist(), strict=True):
        outgoing.setdefault(tail, []).append(edge)
    return outgoing


def _circulation_cycles(graph: Graph, used: np.ndarray) -> Iterator[list[int]]:
    """The simple cycles of a circulation given by its used edges."""
    outgoing = _outgoing(graph, used)
    for start in list(outgoing):
        while outgoing[start]:
            walk = _greedy_walk(start, start, outgoing, graph)
            _, cycles = _split_cycles(start, walk, graph)
            yield from cycles  # the walk is closed: no path is left over


class ShortestPathSolver:
    r"""Shortest path from ``source`` to ``target`` as the 0/1 indicator of its edges.

    .. math::

        y^*(\theta) = \operatorname*{argmin}_{y \in \mathcal{P}} \langle y, \theta \rangle,

    where :math:`\mathcal{P}` is the set of simple ``source``-``target`` paths of the
    graph. ``theta[e]`` is the cost of edge ``edges[e]``. The perturbed solution lies in
    the unit-flow polytope: flow conservation at every node, one unit out of ``source``
    and into ``target``. Edges are directed: list both directions for an undirected
    graph.

    Solved as a min cost flow of one unit from ``source`` to ``target``, capacity one
    per edge, on the edges that lie on some ``source``-``target`` walk (the others can
    never be on the path); the path is read off the flow, leaving out any cycle of zero
    cost the flow may also carry.

    With ``negative_costs="clip"`` (default) the solver solves ``y*(max(theta, 0))``:
    costs below zero count as zero, so there is never a negative cycle. That is the way
    to learn positive costs with additive noise ``theta + eps Z`` (see
    [check_nonnegative][perturbopt.plugin.check_nonnegative] for the maths). With
    ``"error"`` a negative cost raises ``ValueError``. With ``"allow"`` costs of any sign
    go to the min cost flow, but a cycle of negative total cost on a
    ``source``-``target`` walk leaves the shortest path undefined (a walk could go round
    it forever): that raises [StatusError][perturbopt.plugin.StatusError] with status
    ``NEGATIVE_CYCLE``, naming the cycle. A negative cycle elsewhere in the graph is
    harmless.

    Costs are rounded to ``round(theta / resolution)``: cycles are negative when their
    rounded cost is.

    Args:
        edges: ``(tail, head)`` pairs or an ``(E, 2)`` integer array.
        source: the start node.
        target: the end node.
        num_nodes: the number of nodes (default ``max(edges) + 1``).
        resolution: the real cost of one integer unit (default ``1e-6``).
        negative_costs: ``"clip"`` (default: negative costs count as zero), ``"error"``
            (a negative cost raises) or ``"allow"`` (costs of any sign, negative cycles
            raise).

    Example:
        >>> import numpy as np, perturbopt
        >>> solver = perturbopt.get_solver("ortools.shortest_path",
        ...                                edges=[(0, 1), (1, 2), (0, 2)], source=0, target=2)
        >>> solver.solve(np.array([1.0, 1.0, 3.0]))
        array([1, 1, 0], dtype=int8)
    """

    name = "ortools.shortest_path"
    sense: Sense = "min"

    def __init__(
        self,
        *,
        edges: Any,
        source: int,
        target: int,
        num_nodes: int | None = None,
        resolution: float = DEFAULT_RESOLUTION,
        negative_costs: NegativeCosts = DEFAULT_NEGATIVE_COSTS,
    ) -> None:
        self.graph = as_graph(self.name, edges, num_nodes)
        self.source = check_node(self.name, "source", source, self.graph.num_nodes)
        self.target = check_node(self.name, "target", target, self.graph.num_nodes)
        if self.source == self.target:
            raise ValueError(
                message(
                    self.name,
                    f"source and target are both node "
                    f"{self.source}; a path needs two distinct nodes",
                )
            )
        self.resolution = check_resolution(self.name, resolution)
        self.negative_costs = check_negative_costs(self.name, negative_costs, takes_negative=True)
        self.shape = (self.graph.num_edges,)
        on_walk = (
            _reachable(self.graph, self.source)[self.graph.tails]
            & _reachable(self.graph, self.target, reverse=True)[self.graph.heads]
        )
        self._walk_edges = np.flatnonzero(on_walk)
        self._walk = Graph(
            self.graph.tails[on_walk], self.graph.heads[on_walk], self.graph.num_nodes
        )
        self._cyclic = _has_cycle(self._walk)
        self._capacities = np.ones(self._walk_edges.size, dtype=np.int64)
        self._ends = np.array([self.source, self.target], dtype=np.int32)
        self._supplies = np.array([1, -1], dtype=np.int64)

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """The edges of a shortest path as a 0/1 int8 vector (``hint`` is not used)."""
        theta = check_instance(self.name, theta, shape=self.shape, what="one cost per edge")
        theta = check_nonnegative(
            self.name, theta, negative_costs=self.negative_costs, what="edge costs"
        )
        if self._walk_edges.size == 0:
            raise StatusError(
                self.name,
                "INFEASIBLE",
                f"there is no path from source "
                f"{self.source} to target {self.target}: they are not connected",
            )
        real = theta[self._walk_edges]
        costs = integer_costs(self.name, real, self.resolution)
        if self._cyclic and costs.min() < 0:
            self._check_no_negative_cycle(real, costs)
        status, flows = _route(self._walk, self._capacities, self._ends, self._supplies, costs)
        if status != "OPTIMAL":
            raise StatusError(self.name, status, _STATUS_DETAILS.get(status, "no solution"))
        outgoing = _outgoing(self._walk, np.flatnonzero(flows))
        walk = _greedy_walk(self.source, self.target, outgoing, self._walk)
        path, _ = _split_cycles(self.source, walk, self._walk)
        y = np.zeros(self.shape, dtype=np.int8)
        y[self._walk_edges[path]] = 1
        return y

    def _check_no_negative_cycle(self, real: np.ndarray, costs: np.ndarray) -> None:
        """Raise ``NEGATIVE_CYCLE`` if some cycle of the walk edges has a negative cost.

        A min cost circulation with capacity one per edge is a set of edge-disjoint
        cycles, and any single negative cycle is itself a circulation: the minimum is
        negative exactly when a negative cycle exists.
        """
        status, flows = _route(
            self._walk,
            self._capacities,
            np.empty(0, dtype=np.int32),
            np.empty(0, dtype=np.int64),
            costs,
        )
        if status != "OPTIMAL" or flows @ costs >= 0:
            return
        cycle = next(
            c for c in _circulation_cycles(self._walk, np.flatnonzero(flows)) if costs[c].sum() < 0
        )
        nodes = [int(self._walk.tails[e]) for e in cycle] + [int(self._walk.tails[cycle[0]])]
        edges = ", ".join(str(int(self._walk_edges[e])) for e in cycle)
        raise StatusError(
            self.name,
            "NEGATIVE_CYCLE",
            f"the cycle {' -> '.join(map(str, nodes))} (edges {edges}) has total cost "
            f"{real[cycle].sum():.6g} and lies on a walk from source {self.source} to target "
            f"{self.target}, so no shortest path exists. Keep every such cycle's cost "
            "non-negative; for positive costs perturbed with additive noise, pass "
            "negative_costs='clip'",
        )

    def __repr__(self) -> str:
        return (
            f"ShortestPathSolver({self.graph.num_edges} edges, {self.graph.num_nodes} nodes, "
            f"source={self.source}, target={self.target}, "
            f"negative_costs={self.negative_costs!r})"
        )


class MinCostFlowSolver:
    r"""Minimum cost flow on a fixed graph, one unit cost per edge.

    .. math::

        y^*(\theta) = \operatorname*{argmin}_{y} \langle y, \theta \rangle
        \quad \text{s.t.} \quad 0 \le y \le u, \quad
        \textstyle\sum_{e \in \mathrm{out}(v)} y_e - \sum_{e \in \mathrm{in}(v)} y_e = b_v,

    with capacities ``u`` and supplies ``b`` (``argmax`` with ``sense="max"``).
    ``theta[e]`` is the unit cost of edge ``edges[e]`` and ``y[e]`` its integer flow
    (int64). Costs of any sign are allowed: the capacities bound the flow. The
    perturbed solution satisfies the same conservation and capacity constraints.

    Costs are rounded to ``round(theta / resolution)``.

    Args:
        edges: ``(tail, head)`` pairs or an ``(E, 2)`` integer array.
        capacities: ``E`` non-negative integers.
        supplies: one integer per node, summing to zero: positive at sources, negative
            at sinks (default all zero: a min cost circulation).
        num_nodes: the number of nodes (default ``len(supplies)``, else ``max(edges) + 1``).
        sense: ``"min"`` (costs, default) or ``"max"``.
        resolution: the real cost of one integer unit (default ``1e-6``).

    Example:
        >>> import numpy as np, perturbopt
        >>> solver = perturbopt.get_solver("ortools.min_cost_flow", edges=[(0, 1), (0, 2), (1, 2)],
        ...                                capacities=[1, 1, 2], supplies=[2, 0, -2])
        >>> solver.solve(np.array([1.0, 5.0, 1.0]))
        array([1, 1, 1])
    """

    name = "ortools.min_cost_flow"

    def __init__(
        self,
        *,
        edges: Any,
        capacities: Any,
        supplies: Any = None,
        num_nodes: int | None = None,
        sense: Sense = "min",
        resolution: float = DEFAULT_RESOLUTION,
    ) -> None:
        if num_nodes is None and supplies is not None:
            num_nodes = int(np.shape(supplies)[0]) if np.ndim(supplies) == 1 else None
        self.graph = as_graph(self.name, edges, num_nodes)
        self.sense: Sense = check_sense(self.name, sense)
        self.resolution = check_resolution(self.name, resolution)
        self.shape = (self.graph.num_edges,)
        self.capacities = as_integer_vector(
            self.name, "capacities", capacities, self.graph.num_edges
        )
        if self.capacities.min() < 0:
            edge = int(np.argmin(self.capacities))
            raise ValueError(
                message(self.name, f"capacities[{edge}] = {self.capacities[edge]} is negative")
            )
        self.supplies = (
            np.zeros(self.graph.num_nodes, dtype=np.int64)
            if supplies is None
            else as_integer_vector(self.name, "supplies", supplies, self.graph.num_nodes)
        )
        if self.supplies.sum() != 0:
            raise ValueError(
                message(
                    self.name,
                    f"the supplies sum to {self.supplies.sum()}; "
                    "they must sum to zero (what sources send, "
                    "sinks receive)",
                )
            )
        self._nodes = np.arange(self.graph.num_nodes, dtype=np.int32)

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """The optimal flow per edge as int64 (``hint`` is not used)."""
        theta = check_instance(self.name, theta, shape=self.shape, what="one unit cost per edge")
        costs = integer_costs(self.name, theta, self.resolution)
        if self.sense == "max":
            np.negative(costs, out=costs)
        status, flows = _route(self.graph, self.capacities, self._nodes, self.supplies, costs)
        if status != "OPTIMAL":
            raise StatusError(self.name, status, _STATUS_DETAILS.get(status, "no solution"))
        return flows

    def __repr__(self) -> str:
        return (
            f"MinCostFlowSolver({self.graph.num_edges} edges, {self.graph.num_nodes} nodes, "
            f"sense={self.sense!r})"
        )
