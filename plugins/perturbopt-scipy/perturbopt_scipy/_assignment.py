"""``scipy.assignment``: linear assignment by `scipy.optimize.linear_sum_assignment`."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from perturbopt.plugin import (
    Sense,
    check_instance,
    check_sense,
    check_shape,
    check_stack,
)

__all__ = ["AssignmentSolver"]


class AssignmentSolver:
    """An optimal assignment of rows to columns (the vertices of the Birkhoff polytope).

    ``y*(theta) = argmin_{y in Y} <y, theta>`` (``sense="min"``, the default, ``theta``
    are costs) or ``argmax`` (``sense="max"``, ``theta`` are scores) over

    ``Y = {y in {0, 1}^{n x m} : sum_j y_ij <= 1, sum_i y_ij <= 1, sum_ij y_ij = min(n, m)}``,

    the matchings that assign every row (``n <= m``) or every column (``n >= m``).

    Layout: ``theta`` is an ``n x m`` matrix, ``theta[i, j]`` the cost (or score) of giving
    column ``j`` to row ``i``; rectangular matrices are allowed. ``y`` is the ``int8``
    0/1 matrix of the same shape with ``y[i, j] = 1`` where row ``i`` takes column ``j``.
    For square matrices the perturbed mean is doubly stochastic.

    Args:
        shape: the instance shape ``(n, m)``; when given, the engine checks it before any
            solve. By default (``None``) any 2-D ``theta`` is accepted.
        sense: ``"min"`` (default) or ``"max"``.

    Example:
        >>> import numpy as np, perturbopt
        >>> solver = perturbopt.get_solver("scipy.assignment", sense="max")
        >>> solver.solve(np.array([[1.0, 3.0], [2.0, 1.0]]))
        array([[0, 1],
               [1, 0]], dtype=int8)
    """

    name = "scipy.assignment"
    releases_gil = True  # measured by benchmarks/bench_threads.py
    ndim = 2

    def __init__(self, *, shape: Any = None, sense: Sense = "min") -> None:
        self.sense: Sense = check_sense(self.name, sense)
        self.shape: tuple[int, ...] | None = (
            None if shape is None else check_shape(self.name, "shape", shape, ndim=2)
        )

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """Return the 0/1 assignment matrix for ``theta`` (``hint`` is ignored)."""
        return self._solve(check_instance(self.name, theta, shape=self.shape, ndim=self.ndim))

    def solve_batch(self, thetas: np.ndarray, *, hints: np.ndarray | None = None) -> np.ndarray:
        """Solve a stack ``(k, n, m)`` of instances, one after the other."""
        stack = check_stack(self.name, thetas, shape=self.shape, ndim=self.ndim)
        out = np.empty(stack.shape, dtype=np.int8)
        for k in range(stack.shape[0]):
            out[k] = self._solve(stack[k])
        return out

    def _solve(self, theta: np.ndarray) -> np.ndarray:
        rows, cols = linear_sum_assignment(theta, maximize=self.sense == "max")
        y = np.zeros(theta.shape, dtype=np.int8)
        y[rows, cols] = 1
        return y

    def __repr__(self) -> str:
        return f"AssignmentSolver(shape={self.shape}, sense={self.sense!r})"
