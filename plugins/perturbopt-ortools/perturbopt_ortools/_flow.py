"""``ortools.shortest_path`` and ``ortools.min_cost_flow``: network flows with OR-Tools'
``SimpleMinCostFlow``, one cost per edge of a fixed graph."""

from __future__ import annotations

from typing import Any

import numpy as np
from ortools.graph.python import min_cost_flow

from ._common import Sense, check_sense, check_theta
from ._errors import StatusError
from ._graph import Graph, as_graph, as_integer_vector
from ._scaling import DEFAULT_RESOLUTION, check_resolution, integer_costs

__all__ = ["MinCostFlowSolver", "ShortestPathSolver"]

_STATUS_DETAILS = {
    "INFEASIBLE": "the supplies cannot be routed through the edges within their capacities",
    "UNBALANCED": "the supplies do not sum to zero",
    "BAD_COST_RANGE": ("the integer costs theta / resolution are too large for the solver's "
                       "cost scaling; pass a larger resolution or rescale theta"),
    "BAD_CAPACITY_RANGE": "the capacities are too large for the solver; use smaller capacities",
}


def _route(graph: Graph, capacities: np.ndarray, nodes: np.ndarray, supplies: np.ndarray,
           costs: np.ndarray) -> tuple[str, np.ndarray]:
    """Solve one min cost flow; return OR-Tools' status name and the flow per edge."""
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(graph.tails, graph.heads, capacities, costs)
    flow.set_nodes_supplies(nodes, supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        return status.name, np.empty(0, dtype=np.int64)
    return status.name, np.asarray(flow.flows(np.asarray(arcs, dtype=np.int32)), dtype=np.int64)


class ShortestPathSolver:
    r"""Shortest path from ``source`` to ``target`` as the 0/1 indicator of its edges.

    .. math::

        y^*(\theta) = \operatorname*{argmin}_{y \in \mathcal{P}} \langle y, \theta \rangle,

    where :math:`\mathcal{P}` is the set of ``source``-``target`` paths of the graph,
    solved as a min cost flow of one unit from ``source`` to ``target`` with capacity
    one per edge. ``theta[e]`` is the cost of edge ``edges[e]``. The perturbed solution
    lies in the unit-flow polytope: flow conservation at every node, one unit out of
    ``source`` and into ``target``. Edges are directed: list both directions for an
    undirected graph.

    Costs are rounded to ``round(theta / resolution)``. A cycle of negative total cost
    makes the shortest path undefined: that raises :class:`StatusError`. For positive
    costs, ``perturbation="multiplicative"`` keeps the perturbed costs positive.

    Args:
        edges: ``(tail, head)`` pairs or an ``(E, 2)`` integer array.
        source: the start node.
        target: the end node.
        num_nodes: the number of nodes (default ``max(edges) + 1``).
        resolution: the real cost of one integer unit (default ``1e-6``).

    Example:
        >>> import numpy as np, perturbopt
        >>> solver = perturbopt.get_solver("ortools.shortest_path",
        ...                                edges=[(0, 1), (1, 2), (0, 2)], source=0, target=2)
        >>> solver.solve(np.array([1.0, 1.0, 3.0]))
        array([1, 1, 0])
    """

    name = "ortools.shortest_path"
    sense: Sense = "min"

    def __init__(self, *, edges: Any, source: int, target: int, num_nodes: int | None = None,
                 resolution: float = DEFAULT_RESOLUTION) -> None:
        self.graph = as_graph(edges, num_nodes, self.name)
        self.source = self.graph.check_node(source, "source", self.name)
        self.target = self.graph.check_node(target, "target", self.name)
        if self.source == self.target:
            raise ValueError(f"solver {self.name!r}: source and target are both node "
                             f"{self.source}; a path needs two distinct nodes")
        self.resolution = check_resolution(resolution, self.name)
        self.shape = (self.graph.num_edges,)
        self._capacities = np.ones(self.graph.num_edges, dtype=np.int64)
        self._nodes = np.array([self.source, self.target], dtype=np.int32)
        self._supplies = np.array([1, -1], dtype=np.int64)

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """The edges of a shortest path as a 0/1 int64 vector (``hint`` is not used)."""
        theta = check_theta(theta, self.shape, self.name, "one cost per edge")
        costs = integer_costs(theta, self.resolution, self.name)
        status, flows = _route(self.graph, self._capacities, self._nodes, self._supplies, costs)
        if status == "INFEASIBLE":
            raise StatusError(self.name, status, f"there is no path from source {self.source} "
                              f"to target {self.target}: they are not connected")
        if status != "OPTIMAL":
            raise StatusError(self.name, status, _STATUS_DETAILS.get(status, "no solution"))
        if not self._is_path(flows):
            raise StatusError(
                self.name, "NEGATIVE_CYCLE",
                "the edge costs have a cycle of negative total cost, so no shortest path "
                "exists (the min cost flow sends flow around the cycle). Keep every cycle's "
                "cost non-negative; for positive costs perturbed with noise, use "
                "perturbation='multiplicative'")
        return flows

    def _is_path(self, flows: np.ndarray) -> bool:
        """Whether the unit flow is one simple path (and no cycle beside it)."""
        used = np.flatnonzero(flows)
        tails = self.graph.tails[used]
        if np.unique(tails).size != used.size:
            return False
        successor = dict(zip(tails.tolist(), self.graph.heads[used].tolist()))
        node, steps = self.source, 0
        while node != self.target and steps < used.size:
            node = successor[node]
            steps += 1
        return node == self.target and steps == used.size

    def __repr__(self) -> str:
        return (f"ShortestPathSolver({self.graph.num_edges} edges, {self.graph.num_nodes} nodes, "
                f"source={self.source}, target={self.target})")


class MinCostFlowSolver:
    r"""Minimum cost flow on a fixed graph, one unit cost per edge.

    .. math::

        y^*(\theta) = \operatorname*{argmin}_{y} \langle y, \theta \rangle
        \quad \text{s.t.} \quad 0 \le y \le u, \quad
        \textstyle\sum_{e \in \mathrm{out}(v)} y_e - \sum_{e \in \mathrm{in}(v)} y_e = b_v,

    with capacities ``u`` and supplies ``b`` (``argmax`` with ``sense="max"``).
    ``theta[e]`` is the unit cost of edge ``edges[e]`` and ``y[e]`` its integer flow.
    The perturbed solution satisfies the same conservation and capacity constraints.

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

    def __init__(self, *, edges: Any, capacities: Any, supplies: Any = None,
                 num_nodes: int | None = None, sense: Sense = "min",
                 resolution: float = DEFAULT_RESOLUTION) -> None:
        if num_nodes is None and supplies is not None:
            num_nodes = int(np.shape(supplies)[0]) if np.ndim(supplies) == 1 else None
        self.graph = as_graph(edges, num_nodes, self.name)
        self.sense: Sense = check_sense(sense, self.name)
        self.resolution = check_resolution(resolution, self.name)
        self.shape = (self.graph.num_edges,)
        self.capacities = as_integer_vector(capacities, self.graph.num_edges, "capacities",
                                            self.name)
        if self.capacities.min() < 0:
            edge = int(np.argmin(self.capacities))
            raise ValueError(f"solver {self.name!r}: capacities[{edge}] = "
                             f"{self.capacities[edge]} is negative")
        self.supplies = (np.zeros(self.graph.num_nodes, dtype=np.int64) if supplies is None else
                         as_integer_vector(supplies, self.graph.num_nodes, "supplies", self.name))
        if self.supplies.sum() != 0:
            raise ValueError(f"solver {self.name!r}: the supplies sum to {self.supplies.sum()}; "
                             "they must sum to zero (what sources send, sinks receive)")
        self._nodes = np.arange(self.graph.num_nodes, dtype=np.int32)

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """The optimal flow per edge as int64 (``hint`` is not used)."""
        theta = check_theta(theta, self.shape, self.name, "one unit cost per edge")
        costs = integer_costs(theta, self.resolution, self.name)
        if self.sense == "max":
            np.negative(costs, out=costs)
        status, flows = _route(self.graph, self.capacities, self._nodes, self.supplies, costs)
        if status != "OPTIMAL":
            raise StatusError(self.name, status, _STATUS_DETAILS.get(status, "no solution"))
        return flows

    def __repr__(self) -> str:
        return (f"MinCostFlowSolver({self.graph.num_edges} edges, {self.graph.num_nodes} nodes, "
                f"sense={self.sense!r})")
