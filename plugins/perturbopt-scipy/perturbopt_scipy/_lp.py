"""The feasible set shared by ``scipy.linprog`` and ``scipy.milp``, parsed and checked once.

The set is ``X = {x in R^n : A_ub x <= b_ub, A_eq x = b_eq, lower <= x <= upper}``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse

from perturbopt.plugin import StatusError, format_index, message

__all__ = ["HighsStatusError", "LinearConstraints", "parse_linear_constraints"]

_STATUS = {
    1: ("LIMIT", "the iteration or time limit was reached before optimality"),
    2: ("INFEASIBLE", "the LP is infeasible"),
    3: ("UNBOUNDED", "the LP is unbounded"),
    4: ("NOT_SOLVED", "HiGHS stopped without an optimal solution"),
}


class HighsStatusError(StatusError, ValueError):
    """HiGHS ended a ``scipy.linprog`` or ``scipy.milp`` solve without an optimal answer.

    A [`perturbopt.plugin.StatusError`][perturbopt.plugin.StatusError] whose ``status`` is ``"INFEASIBLE"``,
    ``"UNBOUNDED"``, ``"LIMIT"`` or ``"NOT_SOLVED"``; also a ``ValueError``, as these
    solvers raised before.
    """

    @classmethod
    def from_result(
        cls, solver: str, status: int, text: str, problem: str = "LP"
    ) -> HighsStatusError:
        """The error for scipy's ``result.status`` and ``result.message``."""
        name, what = _STATUS.get(status, ("ERROR", "the solve failed"))
        return cls(solver, name, f"{what.replace('LP', problem)} (HiGHS status {status}: {text})")


Matrix = Any  # a 2-D numpy array or a scipy.sparse CSR array


@dataclass(frozen=True)
class LinearConstraints:
    """A checked polyhedron ``{x : A_ub x <= b_ub, A_eq x = b_eq, lower <= x <= upper}``.

    Attributes:
        A_ub, b_ub: inequality rows, or ``None``.
        A_eq, b_eq: equality rows, or ``None``.
        lower, upper: bounds, float64 arrays of shape ``(n,)`` (``-inf``/``inf`` for none),
            or of shape ``()`` when they apply to every variable and ``n`` is unknown.
        num_variables: ``n`` when the options fix it, else ``None`` (box-only problems
            take ``n`` from ``theta``).
    """

    A_ub: Matrix | None
    b_ub: np.ndarray | None
    A_eq: Matrix | None
    b_eq: np.ndarray | None
    lower: np.ndarray
    upper: np.ndarray
    num_variables: int | None

    def bounds(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(lower, upper)`` broadcast to ``n`` variables."""
        return np.broadcast_to(self.lower, (n,)), np.broadcast_to(self.upper, (n,))


def _matrix(solver: str, name: str, value: Any) -> Matrix:
    if scipy.sparse.issparse(value):
        matrix = scipy.sparse.csr_array(value, dtype=np.float64)
        data = matrix.data
    else:
        try:
            matrix = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(
                message(solver, f"{name} must be a 2-D numeric matrix: {error}")
            ) from error
        data = matrix
    if matrix.ndim != 2:
        raise ValueError(
            message(
                solver,
                f"{name} must be a 2-D matrix (rows are constraints, "
                f"columns variables), got shape {matrix.shape}",
            )
        )
    if not np.isfinite(data).all():
        raise ValueError(
            message(
                solver, f"{name} has a non-finite entry; constraint coefficients must be finite"
            )
        )
    return matrix


def _rows(
    solver: str, A_name: str, A: Any, b_name: str, b: Any
) -> tuple[Matrix | None, np.ndarray | None]:
    if A is None and b is None:
        return None, None
    if A is None or b is None:
        given, missing = (A_name, b_name) if b is None else (b_name, A_name)
        raise ValueError(
            message(solver, f"{given} was given without {missing}; pass both or neither")
        )
    matrix = _matrix(solver, A_name, A)
    try:
        vector = np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(message(solver, f"{b_name} must be a numeric vector: {error}")) from error
    if vector.ndim != 1 or vector.shape[0] != matrix.shape[0]:
        raise ValueError(
            message(
                solver,
                f"{b_name} must be a vector of length "
                f"{matrix.shape[0]} (one entry per row of {A_name}), "
                f"got shape {vector.shape}",
            )
        )
    if np.isnan(vector).any():
        raise ValueError(message(solver, f"{b_name} contains NaN"))
    return matrix, vector


def _bound(value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise TypeError(value)


def _parse_bounds(solver: str, bounds: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(lower, upper)``: scalars for one ``(lo, hi)`` pair, vectors for one pair per variable."""
    if bounds is None:
        bounds = (0.0, None)
    pairs: Any = bounds
    single = (
        isinstance(bounds, (tuple, list))
        and len(bounds) == 2
        and all(
            v is None or (isinstance(v, numbers.Real) and not isinstance(v, bool)) for v in bounds
        )
    )
    if single:
        pairs = [bounds]
    try:
        if any(len(pair) != 2 for pair in pairs):
            raise TypeError(pairs)
        lower = np.array([_bound(pair[0], -np.inf) for pair in pairs], dtype=np.float64)
        upper = np.array([_bound(pair[1], np.inf) for pair in pairs], dtype=np.float64)
    except TypeError as error:
        raise TypeError(
            message(
                solver,
                "bounds must be one (lower, upper) pair for every "
                "variable or a sequence of such pairs (None for no "
                f"bound), got {bounds!r}",
            )
        ) from error
    if np.isnan(lower).any() or np.isnan(upper).any():
        raise ValueError(message(solver, "bounds contain NaN; use None for no bound"))
    crossed = np.flatnonzero(lower > upper)
    if crossed.size:
        i = int(crossed[0])
        where = "bounds" if single else f"bounds{format_index((i,))}"
        raise ValueError(
            message(
                solver,
                f"{where} = ({lower[i]:g}, {upper[i]:g}) has its "
                "lower bound above its upper bound, so the LP is "
                "infeasible",
            )
        )
    if single:
        return np.asarray(lower[0]), np.asarray(upper[0])
    return lower, upper


def parse_linear_constraints(
    solver: str,
    *,
    A_ub: Any,
    b_ub: Any,
    A_eq: Any,
    b_eq: Any,
    bounds: Any,
    sizes: dict[str, int] | None = None,
) -> LinearConstraints:
    """Check the options of an LP and agree on its number of variables ``n``.

    Args:
        solver: the registry name, for messages.
        A_ub, b_ub, A_eq, b_eq, bounds: as in `scipy.optimize.linprog`.
        sizes: other options that also fix ``n`` (e.g. ``{"integrality": 5}``).

    Raises:
        TypeError: an option of the wrong type.
        ValueError: a malformed option, or options that disagree on ``n``.
    """
    A_ub, b_ub = _rows(solver, "A_ub", A_ub, "b_ub", b_ub)
    A_eq, b_eq = _rows(solver, "A_eq", A_eq, "b_eq", b_eq)
    lower, upper = _parse_bounds(solver, bounds)
    claims = dict(sizes or {})
    if A_ub is not None:
        claims["A_ub"] = A_ub.shape[1]
    if A_eq is not None:
        claims["A_eq"] = A_eq.shape[1]
    if lower.ndim == 1:
        claims["bounds"] = lower.shape[0]
    if len(set(claims.values())) > 1:
        said = ", ".join(f"{name} says {n}" for name, n in claims.items())
        raise ValueError(
            message(
                solver,
                f"the options disagree on the number of variables "
                f"({said}); A_ub and A_eq need one column per "
                "variable, bounds one pair each",
            )
        )
    n = next(iter(claims.values())) if claims else None
    if n == 0:
        raise ValueError(message(solver, "the LP has no variables"))
    return LinearConstraints(A_ub, b_ub, A_eq, b_eq, lower, upper, n)
