"""``ortools.assignment``: linear sum assignment with OR-Tools' cost-scaling solver."""

from __future__ import annotations

import numpy as np
from ortools.graph.python import linear_sum_assignment

from ._common import Sense, check_sense
from ._errors import StatusError
from ._scaling import DEFAULT_RESOLUTION, check_resolution, integer_costs

__all__ = ["AssignmentSolver"]


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
        n: the number of rows and columns, if fixed: the engine then checks theta's
            shape before any solve. Without it any square ``theta`` is accepted.

    Example:
        >>> import numpy as np, perturbopt
        >>> solver = perturbopt.get_solver("ortools.assignment")
        >>> solver.solve(np.array([[4.0, 1.0], [2.0, 3.0]]))
        array([[0, 1],
               [1, 0]], dtype=int8)
    """

    name = "ortools.assignment"
    ndim = 2

    def __init__(self, *, sense: Sense = "min", resolution: float = DEFAULT_RESOLUTION,
                 n: int | None = None) -> None:
        self.sense: Sense = check_sense(sense, self.name)
        self.resolution = check_resolution(resolution, self.name)
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer))
                              or n < 1):
            raise ValueError(f"solver {self.name!r}: n must be an integer >= 1, got {n!r}")
        self.n = None if n is None else int(n)
        self.shape = None if n is None else (self.n, self.n)
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
        theta = np.asarray(theta, dtype=np.float64)
        if theta.ndim != 2 or theta.shape[0] != theta.shape[1]:
            raise ValueError(f"solver {self.name!r} takes a square cost matrix theta of "
                             f"shape (n, n), got shape {theta.shape}")
        n = theta.shape[0]
        costs = integer_costs(theta.ravel(), self.resolution, self.name)
        if self.sense == "max":
            np.negative(costs, out=costs)
        left, right = self._arcs_for(n)
        assignment = linear_sum_assignment.SimpleLinearSumAssignment()
        assignment.add_arcs_with_cost(left, right, costs)
        status = assignment.solve()
        if status != assignment.OPTIMAL:
            raise StatusError(self.name, status.name, _explain(status.name, self.resolution))
        y = np.zeros((n, n), dtype=np.int8)
        y[np.arange(n), [assignment.right_mate(i) for i in range(n)]] = 1
        return y

    def __repr__(self) -> str:
        return (f"AssignmentSolver(sense={self.sense!r}, resolution={self.resolution:g}"
                f"{'' if self.n is None else f', n={self.n}'})")


def _explain(status: str, resolution: float) -> str:
    if status == "POSSIBLE_OVERFLOW":
        return (f"the integer costs theta / resolution (resolution={resolution:g}) are too "
                "large for the solver's cost scaling; pass a larger resolution or rescale theta")
    return "no perfect assignment exists"
