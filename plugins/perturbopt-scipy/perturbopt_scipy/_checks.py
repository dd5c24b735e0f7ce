"""The checks ``scipy.grid_shortest_path`` still uses, with their ``"name: ..."``
messages. Every other solver of this plugin checks its inputs with
:mod:`perturbopt.plugin`, whose messages start ``solver 'name': ...``; these go when
the grid shortest path moves to it.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from perturbopt.plugin import format_index

__all__ = ["check_grid", "check_instance", "check_nonnegative"]


def check_grid(solver: str, option: str, value: Any, *, at_least: int = 1) -> tuple[int, int]:
    """``value`` as a pair of positive integers ``(rows, cols)`` with ``rows * cols >= at_least``."""
    try:
        pair = tuple(value)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool) and int(n) >= 1 for n in pair
    ):
        raise ValueError(f"{solver}: {option} must be a pair of positive integers "
                         f"(rows, cols), got {value!r}")
    rows, cols = int(pair[0]), int(pair[1])
    if rows * cols < at_least:
        raise ValueError(f"{solver}: {option}={value!r} has {rows * cols} cell(s); "
                         f"it needs at least {at_least}")
    return rows, cols


def check_instance(solver: str, theta: Any, shape: tuple[int, ...] | None,
                   ndim: int) -> np.ndarray:
    """``theta`` as float64, checked to have ``shape`` (or ``ndim`` axes when ``shape`` is None)."""
    array = np.asarray(theta, dtype=np.float64)
    if shape is not None and array.shape != shape:
        raise ValueError(f"{solver}: theta has shape {array.shape}, but this solver takes "
                         f"instances of shape {shape}")
    if shape is None and array.ndim != ndim:
        raise ValueError(f"{solver}: theta has shape {array.shape}, but this solver takes "
                         f"instances with {ndim} ax{'es' if ndim != 1 else 'is'}")
    return array


def check_nonnegative(solver: str, theta: np.ndarray, what: str, remedy: str) -> None:
    """Raise ``ValueError`` naming the first negative entry of ``theta``."""
    negative = theta < 0
    if negative.any():
        index = tuple(int(i) for i in np.argwhere(negative)[0])
        raise ValueError(f"{solver}: {what} must be non-negative, but "
                         f"theta{format_index(index)} = {theta[index]:.6g}; {remedy}")
