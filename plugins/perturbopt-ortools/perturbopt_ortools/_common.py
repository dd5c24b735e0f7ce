"""Checks shared by the solvers: sense, and theta's shape at solve time."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

__all__ = ["Sense", "check_sense", "check_theta"]

Sense = Literal["max", "min"]


def check_sense(sense: Any, solver: str) -> Sense:
    """``sense`` if it is ``"max"`` or ``"min"``, else a ``ValueError`` naming ``solver``."""
    if sense not in ("max", "min"):
        raise ValueError(f"solver {solver!r}: sense must be 'max' or 'min', got {sense!r}")
    return sense  # type: ignore[no-any-return]


def check_theta(theta: Any, shape: tuple[int, ...], solver: str, what: str) -> np.ndarray:
    """``theta`` as a float64 array of ``shape``, else a ``ValueError`` saying why.

    Args:
        theta: one instance.
        shape: the shape it must have.
        solver: named in the error.
        what: what one entry of theta is, for the error (``"one cost per edge"``).
    """
    array = np.asarray(theta, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"solver {solver!r} takes theta of shape {shape} ({what}), "
                         f"got shape {array.shape}")
    return array
