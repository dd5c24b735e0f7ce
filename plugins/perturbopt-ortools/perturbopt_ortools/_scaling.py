"""Real costs to the integer costs that OR-Tools' graph solvers and CP-SAT take.

With resolution ``r`` the integer cost of ``theta_i`` is ``k_i = round(theta_i / r)``.
For any 0/1 (or integer) solution ``y``,
``|<y, theta> - r <y, k>| <= (r / 2) * ||y||_1``, so a solution that is optimal for
the integer costs ``k`` is optimal for ``theta`` up to ``r * ||y||_1``: exactly optimal
whenever the alternatives' real costs differ by more than that.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from perturbopt.plugin import check_number, message

__all__ = ["DEFAULT_RESOLUTION", "MAX_INTEGER_COST", "check_resolution", "integer_costs"]

DEFAULT_RESOLUTION = 1e-6
"""Default resolution: costs are rounded to multiples of 1e-6."""

MAX_INTEGER_COST = float(2**53)
"""Largest ``|theta / resolution|`` accepted: every integer up to it is a float64."""


def check_resolution(solver: str, resolution: Any) -> float:
    """``resolution`` as a positive finite float."""
    return check_number(solver, "resolution", resolution, positive=True)


def integer_costs(solver: str, theta: np.ndarray, resolution: float) -> np.ndarray:
    """``round(theta / resolution)`` as int64.

    Args:
        solver: named in the error.
        theta: real costs, any shape (not written to).
        resolution: the cost of one integer unit.

    Raises:
        OverflowError: ``|theta / resolution|`` exceeds `MAX_INTEGER_COST`.
    """
    scaled = np.divide(theta, resolution)
    np.rint(scaled, out=scaled)
    peak = float(np.max(np.abs(scaled))) if scaled.size else 0.0
    if not peak <= MAX_INTEGER_COST:
        largest = float(np.max(np.abs(theta)))
        raise OverflowError(
            message(
                solver,
                f"theta / resolution reaches {peak:.3g} (|theta| up to "
                f"{largest:.3g} at resolution={resolution:g}), beyond the {MAX_INTEGER_COST:.3g} "
                f"that integer costs hold exactly; pass a larger resolution (at least "
                f"{largest / 1e12:.3g} keeps 12 significant digits) or rescale theta",
            )
        )
    return scaled.astype(np.int64)
