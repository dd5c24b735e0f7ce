"""Validation of the options shared by the model solvers (CP-SAT, MathOpt, ModelBuilder)."""

from __future__ import annotations

from typing import Any

import numpy as np

from perturbopt.plugin import check_int, check_number, message

__all__ = ["as_object_array", "check_threads", "check_time_limit"]


def as_object_array(solver: str, variables: Any) -> np.ndarray:
    """``variables`` (a list, nested list or array of variables or expressions) as an
    object array whose shape is the shape of theta."""
    if isinstance(variables, np.ndarray):
        array = variables.astype(object)
    elif isinstance(variables, (list, tuple)):
        array = np.empty(_nested_shape(variables), dtype=object)
        array[...] = variables if array.ndim > 1 else _one_dimensional(variables)
    else:
        raise TypeError(
            message(
                solver,
                "variables must be a list (or nested list, or array) "
                "of the model's variables or linear expressions, got "
                f"{type(variables).__name__}",
            )
        )
    if array.ndim == 0 or array.size == 0:
        raise ValueError(
            message(
                solver,
                "variables is empty; pass the variables whose objective coefficients theta sets",
            )
        )
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


def check_time_limit(solver: str, time_limit: Any) -> float | None:
    """``None`` or a positive number of seconds."""
    return (
        None
        if time_limit is None
        else check_number(solver, "time_limit", time_limit, positive=True)
    )


def check_threads(solver: str, option: str, threads: Any) -> int | None:
    """``None`` or an integer >= 1."""
    return None if threads is None else check_int(solver, option, threads, minimum=1)
