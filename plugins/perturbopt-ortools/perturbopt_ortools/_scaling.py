"""Real costs to the integer costs that OR-Tools' graph solvers and CP-SAT take.

With resolution ``r`` the integer cost of ``theta_i`` is ``k_i = round(theta_i / r)``.
For any 0/1 (or integer) solution ``y``,
``|<y, theta> - r <y, k>| <= (r / 2) * ||y||_1``, so a solution that is optimal for
the integer costs ``k`` is optimal for ``theta`` up to ``r * ||y||_1``: exactly optimal
whenever the alternatives' real costs differ by more than that.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["DEFAULT_RESOLUTION", "MAX_INTEGER_COST", "check_resolution", "integer_costs"]

DEFAULT_RESOLUTION = 1e-6
"""Default resolution: costs are rounded to multiples of 1e-6."""

MAX_INTEGER_COST = float(2**53)
"""Largest ``|theta / resolution|`` accepted: every integer up to it is a float64."""


def check_resolution(resolution: Any, solver: str) -> float:
    """``resolution`` as a positive finite float, or a ``ValueError`` naming ``solver``."""
    if isinstance(resolution, bool) or not isinstance(resolution, (int, float, np.floating)):
        raise TypeError(f"solver {solver!r}: resolution must be a positive number, "
                        f"got {resolution!r}")
    value = float(resolution)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"solver {solver!r}: resolution must be a finite number > 0, "
                         f"got {resolution!r}; costs are rounded to multiples of it")
    return value


def integer_costs(theta: np.ndarray, resolution: float, solver: str) -> np.ndarray:
    """``round(theta / resolution)`` as int64.

    Args:
        theta: real costs, any shape.
        resolution: the cost of one integer unit.
        solver: named in the error.

    Raises:
        OverflowError: ``|theta / resolution|`` exceeds :data:`MAX_INTEGER_COST`.
    """
    scaled = np.divide(theta, resolution)
    np.rint(scaled, out=scaled)
    peak = float(np.max(np.abs(scaled))) if scaled.size else 0.0
    if not peak <= MAX_INTEGER_COST:
        largest = float(np.max(np.abs(theta)))
        raise OverflowError(
            f"solver {solver!r}: theta / resolution reaches {peak:.3g} (|theta| up to "
            f"{largest:.3g} at resolution={resolution:g}), beyond the {MAX_INTEGER_COST:.3g} "
            f"that integer costs hold exactly; pass a larger resolution (at least "
            f"{largest / 1e12:.3g} keeps 12 significant digits) or rescale theta"
        )
    return scaled.astype(np.int64)
