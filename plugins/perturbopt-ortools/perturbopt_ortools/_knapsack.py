"""``ortools.knapsack``: the multi-dimensional 0/1 knapsack, by CP-SAT."""

from __future__ import annotations

from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from perturbopt.plugin import check_bool, message
from perturbopt.problems import check_knapsack

from ._options import check_threads, check_time_limit
from ._owned_model import OwnedCpSatModel
from ._scaling import DEFAULT_RESOLUTION, check_resolution

__all__ = ["KnapsackSolver"]

NAME = "ortools.knapsack"
MAX_DECIMALS = 6
"""Weights with more decimals than this are refused: CP-SAT's constraints are integer."""


class KnapsackSolver(OwnedCpSatModel):
    r"""The multi-dimensional 0/1 knapsack: the items of greatest total value that fit.

    .. math::

        y^*(\theta) = \operatorname*{argmax}_{y \in \{0, 1\}^m,\; W y \le b}
        \langle \theta, y \rangle

    ``theta[j]`` is the value (profit) of item ``j``; ``sense`` is ``"max"``. Values of
    any sign are accepted (an item of negative value is never taken), so additive noise
    works. ``W`` has one row per resource (``dim`` rows): any number of dimensions.

    CP-SAT is an integer solver. Weights are scaled by the smallest power of ten
    ``10^k`` (``k <= 6``) that makes them integers, and capacities rounded down after the
    same scaling, which keeps the feasible set exact for weights with at most 6
    decimals (PyEPO's have 2). Values are rounded to multiples of ``resolution``, so the
    answer is optimal for the real ``theta`` up to ``resolution * m``.

    Args:
        weights: ``(dim, m)`` non-negative weights (``(m,)`` for one dimension).
        capacities: ``(dim,)`` non-negative capacities, or one number for all.
        resolution: the real value of one unit of the integer objective (``1e-6``).
        time_limit: seconds per solve (default: none).
        num_workers: CP-SAT search threads per solve (default 1: the engine parallelises
            over samples; ``None``: all cores).
        allow_feasible: when the time limit stops the search before proof of optimality,
            return the best solution found with a ``RuntimeWarning`` instead of raising
            [`perturbopt.plugin.StatusError`][perturbopt.plugin.StatusError].

    Example:
        >>> import numpy as np, perturbopt
        >>> solver = perturbopt.get_solver("ortools.knapsack", weights=[[3.5, 2, 2]],
        ...                                capacities=[4])
        >>> solver.solve(np.array([4.0, 3.0, 3.0]))
        array([0, 1, 1], dtype=int8)
    """

    name = NAME

    def __init__(
        self,
        *,
        weights: Any,
        capacities: Any,
        resolution: float = DEFAULT_RESOLUTION,
        time_limit: float | None = None,
        num_workers: int | None = 1,
        allow_feasible: bool = False,
    ) -> None:
        prefix = message(NAME, "")
        self.weights, self.capacities = check_knapsack(weights, capacities, prefix=prefix)
        scale = _decimal_scale(self.weights)
        integer_weights = np.rint(self.weights * scale).astype(np.int64)
        # W y <= b  <=>  (scale W) y <= floor(scale b), as (scale W) y is an integer; the
        # relative 1e-9 absorbs float error such as 0.29 * 100 = 28.999999999999996
        scaled = self.capacities * scale
        integer_capacities = np.floor(scaled + 1e-9 * np.maximum(scaled, 1.0)).astype(np.int64)
        model = cp_model.CpModel()
        items = [model.new_bool_var(f"item{j}") for j in range(self.weights.shape[1])]
        for row, capacity in zip(integer_weights, integer_capacities, strict=True):
            model.add(cp_model.LinearExpr.weighted_sum(items, row.tolist()) <= int(capacity))
        self._setup(
            model,
            items,
            sense="max",
            resolution=check_resolution(NAME, resolution),
            time_limit=check_time_limit(NAME, time_limit),
            num_workers=check_threads(NAME, "num_workers", num_workers),
            allow_feasible=check_bool(NAME, "allow_feasible", allow_feasible),
            options={
                "weights": self.weights,
                "capacities": self.capacities,
                "resolution": resolution,
                "time_limit": time_limit,
                "num_workers": num_workers,
                "allow_feasible": allow_feasible,
            },
            what="one value per item",
        )

    def __repr__(self) -> str:
        dim, items = self.weights.shape
        return f"KnapsackSolver({items} items, dim={dim})"


def _decimal_scale(weights: np.ndarray) -> int:
    for decimals in range(MAX_DECIMALS + 1):
        scale = 10**decimals
        scaled = weights * scale
        if np.all(np.abs(scaled - np.rint(scaled)) <= 1e-6) and scaled.max() < 2**53:
            return scale
    raise ValueError(
        message(
            NAME,
            f"weights must have at most {MAX_DECIMALS} decimals (CP-SAT's constraints are "
            "integer); round them, or use 'scipy.knapsack', which takes real weights",
        )
    )
