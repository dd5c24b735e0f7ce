"""``scipy.grid_shortest_path``: shortest path on a vertex-weighted grid (Warcraft maps)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import dijkstra

from ._checks import check_grid, check_instance, check_nonnegative

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
    runs :func:`scipy.sparse.csgraph.dijkstra` from the top-left cell (the path's cost
    is its arc weights plus the constant ``theta[0, 0]``). Dijkstra needs non-negative
    costs, so perturb positive costs multiplicatively
    (``perturbed(..., perturbation="multiplicative")``), as in the paper.

    Args:
        shape: the grid's size ``(H, W)``.

    Raises:
        ValueError: a malformed ``shape``; a negative cell cost at solve time (the
            message names the first one).

    Example:
        >>> import numpy as np, perturbopt
        >>> solver = perturbopt.get_solver("scipy.grid_shortest_path", shape=(3, 3))
        >>> solver.solve(np.array([[1.0, 9.0, 9.0], [9.0, 1.0, 9.0], [9.0, 9.0, 1.0]]))
        array([[1, 0, 0],
               [0, 1, 0],
               [0, 0, 1]], dtype=int8)
    """

    name = "scipy.grid_shortest_path"
    sense = "min"
    ndim = 2

    def __init__(self, *, shape: Any) -> None:
        self.shape: tuple[int, int] = check_grid(self.name, "shape", shape)
        rows, cols = self.shape
        cell = np.arange(rows * cols).reshape(rows, cols)
        heads: list[np.ndarray] = []
        tails: list[np.ndarray] = []
        for di, dj in _NEIGHBOURS:
            # arcs from (i, j) to (i + di, j + dj) where both lie inside the grid
            tail = cell[max(0, -di):rows - max(0, di), max(0, -dj):cols - max(0, dj)]
            heads.append((tail + di * cols + dj).ravel())
            tails.append(tail.ravel())
        tail_all, head_all = np.concatenate(tails), np.concatenate(heads)
        order = np.lexsort((head_all, tail_all))
        self._heads = head_all[order]
        self._indptr = np.searchsorted(tail_all[order], np.arange(rows * cols + 1))

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """Return the ``H x W`` 0/1 indicator of the cheapest path (``hint`` is ignored)."""
        costs = check_instance(self.name, theta, self.shape, self.ndim)
        check_nonnegative(self.name, costs, "cell costs",
                          "Dijkstra needs non-negative costs; perturb positive costs with "
                          "perturbation='multiplicative' instead of additive noise")
        size = costs.size
        graph = scipy.sparse.csr_array((costs.ravel()[self._heads], self._heads, self._indptr),
                                       shape=(size, size))
        _, predecessors = dijkstra(graph, directed=True, indices=0, return_predecessors=True)
        y = np.zeros(size, dtype=np.int8)
        node = size - 1
        while node >= 0:  # the source's predecessor is -9999
            y[node] = 1
            node = predecessors[node]
        return y.reshape(self.shape)

    def __repr__(self) -> str:
        return f"GridShortestPathSolver(shape={self.shape})"
