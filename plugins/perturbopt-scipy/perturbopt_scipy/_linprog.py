"""``scipy.linprog``: a linear programme solved by HiGHS."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linprog

from perturbopt.plugin import Sense, check_instance, check_sense, message

from ._lp import HighsStatusError, parse_linear_constraints

__all__ = ["LinprogSolver"]


class LinprogSolver:
    """A vertex of a polyhedron, optimal for the objective ``theta``.

    ``y*(theta) = argmin_{x in X} <x, theta>`` (``sense="min"``, the default) or
    ``argmax_{x in X} <x, theta>`` (``sense="max"``, solved as ``min <x, -theta>``), over

    ``X = {x in R^n : A_ub x <= b_ub, A_eq x = b_eq, lower <= x <= upper}``.

    Layout: ``theta`` is the objective vector ``c``, shape ``(n,)``; ``y`` is the
    optimal ``x``, float64 of shape ``(n,)``. HiGHS (``scipy.optimize.linprog(method=
    "highs")``) returns a basic solution, a vertex of ``X``, so the perturbed mean
    ``E[y*(theta + eps Z)]`` lies in ``X`` (its convex hull of vertices) and is smooth in
    ``theta``. ``n`` is the number of columns of ``A_ub``/``A_eq`` or of per-variable
    ``bounds``; with one ``(lower, upper)`` pair and no matrices it is ``len(theta)``.

    Args:
        A_ub: inequality matrix ``(p, n)``, dense or ``scipy.sparse``.
        b_ub: inequality right-hand side ``(p,)``.
        A_eq: equality matrix ``(q, n)``, dense or ``scipy.sparse``.
        b_eq: equality right-hand side ``(q,)``.
        bounds: one ``(lower, upper)`` pair for every variable or a sequence of ``n``
            pairs, ``None`` for no bound; default ``(0, None)`` as in
            `scipy.optimize.linprog`.
        sense: ``"min"`` (``theta`` are costs) or ``"max"`` (``theta`` are rewards).
        options: passed to HiGHS through ``linprog(options=...)`` (e.g.
            ``{"time_limit": 1.0}``).

    Raises:
        TypeError: at construction, for options of the wrong type.
        ValueError: at construction, for malformed options.
        HighsStatusError: at solve time, when the LP is infeasible or unbounded or
            HiGHS stops early (a [`perturbopt.plugin.StatusError`][perturbopt.plugin.StatusError], and a
            ``ValueError``).

    Example:
        >>> import numpy as np, perturbopt
        >>> lp = perturbopt.get_solver("scipy.linprog", A_ub=[[1.0, 1.0]], b_ub=[1.0],
        ...                            sense="max")
        >>> lp.solve(np.array([1.0, 2.0]))
        array([0., 1.])
    """

    name = "scipy.linprog"
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
        sense: Sense = "min",
        options: dict[str, Any] | None = None,
    ) -> None:
        self.sense: Sense = check_sense(self.name, sense)
        self.constraints = parse_linear_constraints(
            self.name, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds
        )
        n = self.constraints.num_variables
        self.shape: tuple[int, ...] | None = None if n is None else (n,)
        if options is not None and not isinstance(options, dict):
            raise TypeError(
                message(
                    self.name,
                    f"options must be a dict of HiGHS options, got {type(options).__name__}",
                )
            )
        self.options = dict(options or {})

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """Return the optimal vertex ``x`` for objective ``theta`` (``hint`` is ignored)."""
        c = check_instance(self.name, theta, shape=self.shape, ndim=self.ndim)
        lower, upper = self.constraints.bounds(c.shape[0])
        lp = self.constraints
        result = linprog(
            c if self.sense == "min" else -c,
            A_ub=lp.A_ub,
            b_ub=lp.b_ub,
            A_eq=lp.A_eq,
            b_eq=lp.b_eq,
            bounds=np.column_stack([lower, upper]),
            method="highs",
            options=self.options or None,
        )
        if result.status != 0:
            raise HighsStatusError.from_result(self.name, result.status, result.message)
        return np.asarray(result.x, dtype=np.float64)

    def __repr__(self) -> str:
        n = "?" if self.shape is None else self.shape[0]
        return f"LinprogSolver(n={n}, sense={self.sense!r})"
