"""``scipy.grid_shortest_path_edges``: PyEPO's arc-weighted grid shortest path, by a
vectorised dynamic programme over anti-diagonals."""

from __future__ import annotations

from typing import Any

import numpy as np

from perturbopt.plugin import check_instance, check_shape, check_stack

__all__ = ["GridArcShortestPathSolver", "grid_arcs"]


def grid_arcs(grid: tuple[int, ...]) -> list[tuple[int, int]]:
    """The arcs of an ``h x w`` right/down grid, in PyEPO's order.

    Nodes are numbered row-major, ``(i, j) -> i * w + j``. For each row ``i`` in turn:
    first its ``w - 1`` right arcs ``(i, j) -> (i, j + 1)`` for ``j = 0..w-2``, then, unless
    ``i`` is the last row, its ``w`` down arcs ``(i, j) -> (i + 1, j)`` for ``j = 0..w-1``.
    So the right arc out of ``(i, j)`` has index ``i (2w - 1) + j`` and the down arc
    ``i (2w - 1) + (w - 1) + j``; there are ``h (w - 1) + (h - 1) w`` arcs.

    Example:
        >>> grid_arcs((2, 3))
        [(0, 1), (1, 2), (0, 3), (1, 4), (2, 5), (3, 4), (4, 5)]
    """
    h, w = grid
    arcs = []
    for i in range(h):
        arcs += [(i * w + j, i * w + j + 1) for j in range(w - 1)]
        if i < h - 1:
            arcs += [(i * w + j, (i + 1) * w + j) for j in range(w)]
    return arcs


class GridArcShortestPathSolver:
    """Shortest path on PyEPO's arc-weighted grid (the ``shortestpath`` benchmark).

    The network is an ``h x w`` grid of nodes with arcs going right and down only; a
    path runs from the top-left node ``0`` to the bottom-right node ``h w - 1`` and uses
    exactly ``h + w - 2`` arcs. With ``Y`` the arc indicators of such paths,

    ``y*(theta) = argmin_{y in Y} <y, theta>``  (``sense="min"``).

    Layout: ``theta`` has one cost per arc, shape ``(h (w - 1) + (h - 1) w,)`` (40 for
    PyEPO's 5 x 5 grid), in PyEPO's arc order ([`grid_arcs`][perturbopt_scipy._grid_arcs.grid_arcs], also the ``arcs``
    attribute): row by row, the row's right arcs left to right, then its down arcs left
    to right. ``y`` is the ``int8`` 0/1 arc indicator in the same order.

    The graph is a DAG, so costs of any sign are fine (additive noise works) and the
    solver is a dynamic programme over the anti-diagonals ``i + j = d``:
    ``D(0, 0) = 0``, ``D(i, j) = min(D(i, j-1) + theta[right(i, j-1)],
    D(i-1, j) + theta[down(i-1, j)])``, vectorised over the whole stack of instances in
    `solve_batch`. Ties go to the arc from the left.

    Args:
        grid: the node grid's size ``(h, w)``, at least two nodes.

    Example:
        >>> import numpy as np, perturbopt
        >>> solver = perturbopt.get_solver("scipy.grid_shortest_path_edges", grid=(2, 2))
        >>> solver.arcs
        [(0, 1), (0, 2), (1, 3), (2, 3)]
        >>> solver.solve(np.array([5.0, 1.0, 5.0, 1.0]))  # down, then right
        array([0, 1, 0, 1], dtype=int8)
    """

    name = "scipy.grid_shortest_path_edges"
    sense = "min"
    ndim = 1

    def __init__(self, *, grid: Any) -> None:
        self.grid: tuple[int, ...] = check_shape(self.name, "grid", grid, ndim=2, at_least=2)
        h, w = self.grid
        self.arcs: list[tuple[int, int]] = grid_arcs(self.grid)
        self.shape: tuple[int] = (len(self.arcs),)
        # the nodes (rows, cols) of each anti-diagonal i + j = d, d = 1 .. h + w - 2
        self._diagonals: list[tuple[np.ndarray, np.ndarray]] = []
        for d in range(1, h + w - 1):
            rows = np.arange(max(0, d - w + 1), min(h - 1, d) + 1)
            self._diagonals.append((rows, d - rows))

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """Return the 0/1 arc indicator of the cheapest path (``hint`` is ignored)."""
        costs = check_instance(self.name, theta, shape=self.shape, what="one cost per arc")
        return self._solve_stack(costs[None])[0]

    def solve_batch(self, thetas: np.ndarray, *, hints: np.ndarray | None = None) -> np.ndarray:
        """Solve a stack ``(n, num_arcs)`` of instances at once (numpy over the stack)."""
        return self._solve_stack(
            check_stack(self.name, thetas, shape=self.shape, what="one cost per arc")
        )

    def _solve_stack(self, costs: np.ndarray) -> np.ndarray:
        n = costs.shape[0]
        h, w = self.grid
        stride = 2 * w - 1
        # rows of the arc vector: (n, h, 2w - 1), the last row padded with its missing downs
        rows = np.concatenate([costs, np.zeros((n, w))], axis=1).reshape(n, h, stride)
        # into_right[:, i, j]: cost of the arc entering (i, j) from the left (inf for j = 0);
        # into_down[:, i, j]: cost of the arc entering (i, j) from above (inf for i = 0)
        into_right = np.full((n, h, w), np.inf)
        into_right[:, :, 1:] = rows[:, :, : w - 1]
        into_down = np.full((n, h, w), np.inf)
        into_down[:, 1:, :] = rows[:, : h - 1, w - 1 :]
        dist = np.full((n, h, w), np.inf)
        dist[:, 0, 0] = 0.0
        from_left = np.zeros((n, h, w), dtype=bool)
        for i, j in self._diagonals:
            # index -1 wraps around, but the matching into_* entry is inf there
            left = dist[:, i, j - 1] + into_right[:, i, j]
            up = dist[:, i - 1, j] + into_down[:, i, j]
            choose_left = left <= up
            from_left[:, i, j] = choose_left
            dist[:, i, j] = np.where(choose_left, left, up)
        y = np.zeros((n, h * stride), dtype=np.int8)
        batch = np.arange(n)
        i = np.full(n, h - 1)
        j = np.full(n, w - 1)
        for _ in range(h + w - 2):
            left = from_left[batch, i, j]
            arc = np.where(left, i * stride + j - 1, (i - 1) * stride + (w - 1) + j)
            y[batch, arc] = 1
            j = j - left
            i = i - (~left)
        return y[:, : self.shape[0]]

    def __repr__(self) -> str:
        return f"GridArcShortestPathSolver(grid={self.grid})"
