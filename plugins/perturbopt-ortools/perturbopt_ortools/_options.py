"""Validation of the options shared by the model solvers (CP-SAT and MathOpt)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["as_object_array", "check_threads", "check_time_limit"]


def as_object_array(variables: Any, solver: str) -> np.ndarray:
    """``variables`` (a list, nested list or array of variables or expressions) as an
    object array whose shape is the shape of theta."""
    if isinstance(variables, np.ndarray):
        array = variables.astype(object)
    elif isinstance(variables, (list, tuple)):
        array = np.empty(_nested_shape(variables), dtype=object)
        array[...] = variables if array.ndim > 1 else _one_dimensional(variables)
    else:
        raise TypeError(f"solver {solver!r}: variables must be a list (or nested list, or "
                        f"array) of the model's variables or linear expressions, got "
                        f"{type(variables).__name__}")
    if array.ndim == 0 or array.size == 0:
        raise ValueError(f"solver {solver!r}: variables is empty; pass the variables whose "
                         "objective coefficients theta sets")
    return array


def _nested_shape(items: list[Any] | tuple[Any, ...]) -> tuple[int, ...]:
    shape = [len(items)]
    inner = items[0] if items else None
    while isinstance(inner, (list, tuple)):
        shape.append(len(inner))
        inner = inner[0] if inner else None
    return tuple(shape)


def _one_dimensional(items: list[Any] | tuple[Any, ...]) -> np.ndarray:
    array = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        array[i] = item
    return array


def check_time_limit(time_limit: Any, solver: str) -> float | None:
    """``None`` or a positive number of seconds."""
    if time_limit is None:
        return None
    if isinstance(time_limit, bool) or not isinstance(time_limit, (int, float, np.number)):
        raise TypeError(f"solver {solver!r}: time_limit must be a number of seconds or None, "
                        f"got {time_limit!r}")
    if not (math.isfinite(float(time_limit)) and time_limit > 0):
        raise ValueError(f"solver {solver!r}: time_limit must be > 0 seconds, got {time_limit!r}")
    return float(time_limit)


def check_threads(threads: Any, what: str, solver: str) -> int | None:
    """``None`` or an integer >= 1."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"solver {solver!r}: {what} must be an integer >= 1 or None, "
                         f"got {threads!r}")
    return int(threads)
