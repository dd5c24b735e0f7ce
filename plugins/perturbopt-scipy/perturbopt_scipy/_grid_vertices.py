"""``scipy.grid_shortest_path``: shortest path on a vertex-weighted grid (Warcraft maps)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import dijkstra

from perturbopt import plugin
from perturbopt.plugin import DEFAULT_NEGATIVE_COSTS, NegativeCosts

__all__ = ["GridShortestPathSolver"]

_NEIGHBOURS = [(di, dj) for di in (-1, 0, 1) for dj in (-1, 0, 1) if (di, dj) != (0, 0)]


class GridShortestPathSolver:
    """The cheapest 8-connected path from the top-left to the bottom-right cell of a grid.

    This is the Warcraft shortest-path task of Berthet et al. (2020), Sec. 5.3: each cell
    ``(i, j)`` of an ``H x W`` map costs ``theta[i, j] >= 0`` to enter, a path moves to
    any of the 8 neighbouring cells, and its cost is the sum of the weights of the cells
    it visits, both ends included. With ``Y`` the indicator matrices of such paths,

    ``y*(theta) = argmin_{y in Y} <y, theta>``  (``sense="min"``).

    Layout: ``theta`` is the ``H x W`` matrix of cell costs; ``y`` the ``int8`` ``H x W``
    0/1 matrix marking the cells on the path (``y[0, 0] = y[H-1, W-1] = 1``).

    The directed graph with an arc ``u -> v`` between 8-neighbours is built once, at
    construction; a solve only fills in the arc weights ``w(u -> v) = theta[v]`` and
    runs `scipy.sparse.csgraph.dijkstra` from the top-left cell (the path's cost
    is its arc weights plus the constant ``theta[0, 0]``). The answer depends on the
    instance alone: ``solve_batch`` runs the same Dijkstra on each row of a stack (one
    graph for the whole stack, the paths read out together), and ties between equally
    cheap paths are broken the same way whatever the stack around a row.

    Negative costs. Dijkstra needs ``theta >= 0``. Additive noise ``theta + eps Z``
    gives negative perturbed costs even when ``theta > 0``; ``negative_costs`` says what
    happens to them:

    * ``"clip"`` (default): a negative cost counts as 0, i.e. the solver returns
      ``y*(max(theta, 0))``. Clipping is then part of the black box
      ``g(theta) = y*(max(theta, 0))``, so the perturbed solution
      ``y_eps(theta) = E[g(theta + eps Z)]`` is smooth in ``theta`` and its Jacobian
      ``E[g(theta + eps Z) grad nu(Z)^T] / eps`` (Prop. 3.1) holds unchanged. The
      Fenchel-Young gradient ``y - y_eps(theta)`` differs from the gradient of
      ``<theta, y> - E[min_y <y, max(theta + eps Z, 0)>]`` only on cells clipped while on
      the path, at most ``P(theta_i + eps Z_i < 0) = Phi(-theta_i / eps)`` per cell: nothing
      once the costs are a few ``eps`` above 0.
    * ``"error"``: a ``ValueError`` naming the first negative cell.

    This is the way to learn positive costs with the Fenchel-Young loss: additive noise
    with ``negative_costs="clip"``. The noise has a fixed scale ``eps``, so the loss is
    not homogeneous in ``theta`` and ``theta = 0`` is no minimiser. Multiplicative noise
    ``theta * exp(eps Z - eps^2 / 2)`` keeps the costs positive without clipping, but
    its Fenchel-Young loss is positively 1-homogeneous in ``theta`` and 0 at
    ``theta = 0``: its gradient steps shrink a cost network's output towards 0 and the
    learned paths collapse. Multiplicative noise is fine for the perturbed solution
    ``y_eps`` on its own (e.g. ``PerturbedOptimizer`` followed by another loss).

    Args:
        grid: the grid's size ``(H, W)``, also the shape of ``theta``.
        negative_costs: ``"clip"`` (default) or ``"error"``, see above (``"allow"`` is
            refused: Dijkstra needs non-negative costs).

    Raises:
        ValueError: a malformed ``grid`` or ``negative_costs``; with
            ``negative_costs="error"``, a negative cell cost at solve time (the message
            names the first one).

    Example:
        >>> import numpy as np, perturbopt
        >>> solver = perturbopt.get_solver("scipy.grid_shortest_path", grid=(3, 3))
        >>> solver.solve(np.array([[1.0, 9.0, 9.0], [9.0, 1.0, 9.0], [9.0, 9.0, 1.0]]))
        array([[1, 0, 0],
               [0, 1, 0],
               [0, 0, 1]], dtype=int8)
        >>> clipped = perturbopt.get_solver("scipy.grid_shortest_path", grid=(2, 3))
        >>> clipped.solve(np.array([[1.0, -5.0, 9.0], [9.0, 9.0, 1.0]]))  # -5 costs 0
        array([[1, 1, 0],
               [0, 0, 1]], dtype=int8)
    """

    name = "scipy.grid_shortest_path"
    sense = "min"
    ndim = 2

    def __init__(
        self, *, grid: Any, negative_costs: NegativeCosts = DEFAULT_NEGATIVE_COSTS
    ) -> None:
        rows, cols = plugin.check_shape(self.name, "grid", grid, ndim=2)
        self.grid: tuple[int, int] = (rows, cols)
        self.shape: tuple[int, int] = (rows, cols)
        self.negative_costs = plugin.check_negative_costs(self.name, negative_costs)
        cell = np.arange(rows * cols).reshape(rows, cols)
        heads: list[np.ndarray] = []
        tails: list[np.ndarray] = []
        for di, dj in _NEIGHBOURS:
            # arcs from (i, j) to (i + di, j + dj) where both lie inside the grid
            tail = cell[max(0, -di) : rows - max(0, di), max(0, -dj) : cols - max(0, dj)]
            heads.append((tail + di * cols + dj).ravel())
            tails.append(tail.ravel())
        tail_all, head_all = np.concatenate(tails), np.concatenate(heads)
        order = np.lexsort((head_all, tail_all))
        self._heads = head_all[order]
        self._indptr = np.searchsorted(tail_all[order], np.arange(rows * cols + 1))

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """Return the ``H x W`` 0/1 indicator of the cheapest path (``hint`` is ignored)."""
        costs = plugin.check_instance(self.name, theta, shape=self.shape)
        return self._solve_stack(self._admissible(costs))[0]

    def solve_batch(self, thetas: np.ndarray, *, hints: np.ndarray | None = None) -> np.ndarray:
        """Solve a stack ``(n, H, W)``: row ``r`` of the answer is ``solve(thetas[r])``."""
        costs = plugin.check_stack(self.name, thetas, shape=self.shape)
        return self._solve_stack(self._admissible(costs))

    def _admissible(self, costs: np.ndarray) -> np.ndarray:
        """The costs Dijkstra runs on, shape ``(n, H, W)``: clipped at 0, or checked."""
        admissible = plugin.check_nonnegative(
            self.name, costs, what="cell costs", negative_costs=self.negative_costs
        )
        return admissible.reshape(-1, *self.shape)

    def _solve_stack(self, costs: np.ndarray) -> np.ndarray:
        count, size = costs.shape[0], costs[0].size
        weights = costs.reshape(count, size)[:, self._heads]
        graph = scipy.sparse.csr_array(
            (weights[0].copy(), self._heads, self._indptr), shape=(size, size)
        )
        predecessors = np.empty((count, size), dtype=np.int64)
        for row in range(count):
            graph.data[:] = weights[row]
            predecessors[row] = dijkstra(graph, directed=True, indices=0, return_predecessors=True)[
                1
            ]
        # Walk every row's path back from the bottom-right cell at once; the source's
        # predecessor is negative (-9999), which ends that row's walk.
        y = np.zeros((count, size), dtype=np.int8)
        rows, node = np.arange(count), np.full(count, size - 1)
        while rows.size:
            y[rows, node] = 1
            node = predecessors[rows, node]
            going = node >= 0
            rows, node = rows[going], node[going]
        return y.reshape(count, *self.shape)

    def __repr__(self) -> str:
        return f"GridShortestPathSolver(grid={self.grid}, negative_costs={self.negative_costs!r})"
