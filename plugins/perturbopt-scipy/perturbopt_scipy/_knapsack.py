"""``scipy.knapsack``: the multi-dimensional 0/1 knapsack, by HiGHS through
``scipy.optimize.milp``."""

from __future__ import annotations

from typing import Any

from perturbopt.plugin import check_number, message
from perturbopt.problems import check_knapsack

from ._milp import MilpSolver

__all__ = ["KnapsackSolver"]


class KnapsackSolver(MilpSolver):
    r"""The multi-dimensional 0/1 knapsack: the items of greatest total value that fit.

    .. math::

        y^*(\theta) = \operatorname*{argmax}_{y \in \{0, 1\}^m,\; W y \le b}
        \langle \theta, y \rangle

    ``theta[j]`` is the value of item ``j`` (any sign); ``sense`` is ``"max"``; ``W`` has
    one row per resource, any number of them, with real entries. The 0/1 programme goes
    to HiGHS's branch and bound ([`perturbopt_scipy.MilpSolver`][perturbopt_scipy.MilpSolver] with ``A_ub=W``,
    ``b_ub=b``, bounds ``[0, 1]``); ``y`` is int8.

    Args:
        weights: ``(dim, m)`` non-negative weights (``(m,)`` for one dimension).
        capacities: ``(dim,)`` non-negative capacities, or one number for all.
        time_limit: seconds per solve (default: none). A solve that it stops raises
            [`perturbopt_scipy.HighsStatusError`][perturbopt_scipy.HighsStatusError] with status ``LIMIT``, never
            returns a suboptimal answer.

    Example:
        >>> import numpy as np, perturbopt
        >>> solver = perturbopt.get_solver("scipy.knapsack", weights=[[3.5, 2, 2]],
        ...                                capacities=[4])
        >>> solver.solve(np.array([4.0, 3.0, 3.0]))
        array([0, 1, 1], dtype=int8)
    """

    name = "scipy.knapsack"

    def __init__(self, *, weights: Any, capacities: Any, time_limit: float | None = None) -> None:
        self.weights, self.capacities = check_knapsack(
            weights, capacities, prefix=message(self.name, "")
        )
        options = (
            None
            if time_limit is None
            else {"time_limit": check_number(self.name, "time_limit", time_limit, positive=True)}
        )
        super().__init__(
            A_ub=self.weights,
            b_ub=self.capacities,
            bounds=(0, 1),
            integrality=1,
            sense="max",
            options=options,
        )

    def __repr__(self) -> str:
        dim, items = self.weights.shape
        return f"KnapsackSolver({items} items, dim={dim})"
