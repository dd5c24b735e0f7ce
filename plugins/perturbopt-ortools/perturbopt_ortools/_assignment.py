"""``ortools.assignment``: linear sum assignment with OR-Tools' cost-scaling solver."""

from __future__ import annotations

from typing import Any

import numpy as np
from ortools.graph.python import linear_sum_assignment

from perturbopt.plugin import (
    Sense,
    StatusError,
    check_instance,
    check_sense,
    check_shape,
    message,
)

from ._scaling import DEFAULT_RESOLUTION, check_resolution, integer_costs

__all__ = ["AssignmentSolver"]

NAME = "ortools.assignment"


class AssignmentSolver:
    r"""Perfect matching of ``n`` rows to ``n`` columns, as a permutation matrix.

    .. math::

        y^*(\theta) = \operatorname*{argmin}_{Y \in \mathcal{P}_n} \langle Y, \theta \rangle,
        \qquad \mathcal{P}_n = \{Y \in \{0, 1\}^{n \times n}: Y 1 = 1, Y^\top 1 = 1\}

    (``argmax`` with ``sense="max"``). ``theta[i, j]`` is the cost of assigning row
    ``i`` to column ``j``; the perturbed solution lies in the Birkhoff polytope of
    doubly stochastic matrices.

    OR-Tools' ``SimpleLinearSumAssignment`` takes integer costs: ``theta`` is rounded
    to ``round(theta / resolution)``, so the answer is optimal for the real costs
    whenever the alternatives differ by more than ``n * resolution``.

    Args:
        sense: ``"min"`` (costs, default) or ``"max"`` (scores).
        resolution: the real cost of one integer unit (default ``1e-6``).
        shape: the instance shape ``(n, n)``, if fixed: the engine then checks theta's
            shape before any solve. Without it any square ``theta`` is accepted.
        n: deprecated; ``n=k`` means ``shape=(k, k)``.

    Example:
        >>> import numpy as np, perturbopt
        >>> solver = perturbopt.get_solver("ortools.assignment")
        >>> solver.solve(np.array([[4.0, 1.0], [2.0, 3.0]]))
        array([[0, 1],
               [1, 0]], dtype=int8)
    """

    name = NAME
    ndim = 2

    def __init__(
        self,
        *,
        sense: Sense = "min",
        resolution: float = DEFAULT_RESOLUTION,
        shape: Any = None,
    ) -> None:
        self.sense: Sense = check_sense(NAME, sense)
        self.resolution = check_resolution(NAME, resolution)
        self.shape: tuple[int, int] | None = None
        if shape is not None:
            rows, cols = check_shape(NAME, "shape", shape, ndim=2)
            if rows != cols:
                raise ValueError(
                    message(
                        NAME,
                        f"shape must be square (n, n): every row gets "
                        f"one column and vice versa, got {shape!r}",
                    )
                )
            self.shape = (rows, cols)
        self._arcs: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _arcs_for(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        arcs = self._arcs.get(n)
        if arcs is None:
            rows = np.arange(n, dtype=np.int32)
            arcs = (np.repeat(rows, n), np.tile(rows, n))
            self._arcs[n] = arcs
        return arcs

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """The permutation matrix ``y*(theta)`` as int8 (``hint`` is not used)."""
        theta = check_instance(NAME, theta, shape=self.shape, ndim=2, what="a square cost matrix")
        n = theta.shape[0]
        if theta.shape[1] != n:
            raise ValueError(
                message(
                    NAME,
                    f"theta must be a square cost matrix of shape (n, n), got shape {theta.shape}",
                )
            )
        costs = integer_costs(NAME, theta.ravel(), self.resolution)
        if self.sense == "max":
            np.negative(costs, out=costs)
        left, right = self._arcs_for(n)
        assignment = linear_sum_assignment.SimpleLinearSumAssignment()
        assignment.add_arcs_with_cost(left, right, costs)
        status = assignment.solve()
        if status != assignment.OPTIMAL:
            raise StatusError(NAME, status.name, _explain(status.name, self.resolution))
        y = np.zeros((n, n), dtype=np.int8)
        y[np.arange(n), [assignment.right_mate(i) for i in range(n)]] = 1
        return y

    def __repr__(self) -> str:
        return (
            f"AssignmentSolver(sense={self.sense!r}, resolution={self.resolution:g}"
            f"{'' if self.shape is None else f', shape={self.shape}'})"
        )


def _explain(status: str, resolution: float) -> str:
    if status == "POSSIBLE_OVERFLOW":
        return (
            f"the integer costs theta / resolution (resolution={resolution:g}) are too "
            "large for the solver's cost scaling; pass a larger resolution or rescale theta"
        )
    return "no perfect assignment exists"
