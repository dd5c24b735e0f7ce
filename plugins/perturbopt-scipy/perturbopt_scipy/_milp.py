"""``scipy.milp``: a mixed-integer linear programme solved by HiGHS."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from perturbopt.plugin import Sense, check_instance, check_sense, message

from ._lp import HighsStatusError, parse_linear_constraints

__all__ = ["MilpSolver"]


class MilpSolver:
    """An optimal point of a mixed-integer linear programme with objective ``theta``.

    ``y*(theta) = argmin_{x in X} <x, theta>`` (``sense="min"``, the default) or
    ``argmax_{x in X} <x, theta>`` (``sense="max"``), over

    ``X = {x in R^n : A_ub x <= b_ub, A_eq x = b_eq, lower <= x <= upper,
    x_i integer where integrality[i] = 1}``.

    The perturbed mean lies in the convex hull of ``X`` (the integer hull), not in the
    LP relaxation's polytope.

    Layout: ``theta`` is the objective vector ``c``, shape ``(n,)``; ``y`` is the optimal
    ``x`` of shape ``(n,)``, with its integer variables rounded to the nearest integer
    (HiGHS returns them within its feasibility tolerance): int8 for a 0/1 programme
    (every variable integer with bounds inside ``[0, 1]``), float64 otherwise.

    Args:
        A_ub, b_ub, A_eq, b_eq, bounds: as for ``scipy.linprog``
            ([`perturbopt_scipy.LinprogSolver`][perturbopt_scipy.LinprogSolver]); default bounds ``(0, None)``.
        integrality: one code per variable as in `scipy.optimize.milp`
            (0 continuous, 1 integer, 2 semi-continuous, 3 semi-integer), or one code for
            all; default 1 (a pure integer programme).
        sense: ``"min"`` or ``"max"``.
        options: passed to `scipy.optimize.milp` (``time_limit``, ``mip_rel_gap``, ...).

    Raises:
        TypeError: options of the wrong type, at construction.
        ValueError: malformed options, at construction.
        HighsStatusError: an infeasible or unbounded problem, or a limit reached, at
            solve time.

    Example:
        >>> import numpy as np, perturbopt
        >>> knapsack = perturbopt.get_solver("scipy.milp", A_ub=[[3.0, 2.0, 2.0]],
        ...                                  b_ub=[4.0], bounds=(0, 1), sense="max")
        >>> knapsack.solve(np.array([4.0, 3.0, 3.0]))
        array([0, 1, 1], dtype=int8)
    """

    name = "scipy.milp"
    releases_gil = True  # measured by benchmarks/bench_threads.py
    ndim = 1

    def __init__(
        self,
        *,
        A_ub: Any = None,
        b_ub: Any = None,
        A_eq: Any = None,
        b_eq: Any = None,
        bounds: Any = (0.0, None),
        integrality: Any = 1,
        sense: Sense = "min",
        options: dict[str, Any] | None = None,
    ) -> None:
        self.sense: Sense = check_sense(self.name, sense)
        codes = np.asarray(integrality)
        described = (
            "integrality must be one code or a vector of codes in {0, 1, 2, 3} "
            f"(0 continuous, 1 integer), got {integrality!r}"
        )
        if codes.dtype.kind not in "biuf":
            raise TypeError(message(self.name, described))
        if codes.ndim > 1 or not np.isin(codes, (0, 1, 2, 3)).all():
            raise ValueError(message(self.name, described))
        self.constraints = parse_linear_constraints(
            self.name,
            A_ub=A_ub,
            b_ub=b_ub,
            A_eq=A_eq,
            b_eq=b_eq,
            bounds=bounds,
            sizes={"integrality": codes.shape[0]} if codes.ndim == 1 else None,
        )
        n = self.constraints.num_variables
        self.shape: tuple[int, ...] | None = None if n is None else (n,)
        self.integrality = codes.astype(np.int64)
        if options is not None and not isinstance(options, dict):
            raise TypeError(
                message(
                    self.name,
                    f"options must be a dict of milp options, got {type(options).__name__}",
                )
            )
        self.options = dict(options or {})
        lp = self.constraints
        self._binary = bool(
            np.isin(codes, (1, 3)).all() and np.all(lp.lower >= 0) and np.all(lp.upper <= 1)
        )
        self._rows = []
        if lp.A_ub is not None:
            self._rows.append(LinearConstraint(lp.A_ub, -np.inf, lp.b_ub))
        if lp.A_eq is not None:
            self._rows.append(LinearConstraint(lp.A_eq, lp.b_eq, lp.b_eq))

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """Return the optimal ``x`` for objective ``theta`` (``hint`` is ignored)."""
        c = check_instance(self.name, theta, shape=self.shape, ndim=self.ndim)
        n = c.shape[0]
        lower, upper = self.constraints.bounds(n)
        integrality = np.broadcast_to(self.integrality, (n,))
        result = milp(
            c if self.sense == "min" else -c,
            integrality=integrality,
            bounds=Bounds(lower, upper),
            constraints=self._rows,
            options=self.options or None,
        )
        if result.status != 0 or result.x is None:
            raise HighsStatusError.from_result(self.name, result.status, result.message, "MILP")
        x = np.array(result.x, dtype=np.float64)
        integer = (integrality == 1) | (integrality == 3)
        x[integer] = np.round(x[integer])
        return x.astype(np.int8) if self._binary else x

    def __repr__(self) -> str:
        n = "?" if self.shape is None else self.shape[0]
        return f"MilpSolver(n={n}, sense={self.sense!r})"
