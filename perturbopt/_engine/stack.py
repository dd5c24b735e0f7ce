"""Solving a stack of inputs with one solver instance, and checking what comes back.

The engine's workers, threads and the calling thread all go through
`solve_stack`: inputs are handed over read-only (a solver cannot corrupt the
noise, the caller's ``theta`` or the values computed after it), every output is checked
against the solver contract, and solutions are stored in the smallest integer type that
holds them exactly (0/1 and ranks as ``int8``; integers beyond ``int32`` as ``int64``, so
that none above ``2**53`` is rounded), else float64.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._solver import declares_output_shape, expected_output_shape, has_features, objective_terms
from .failures import RowFailure, portable

__all__ = ["compact", "row_values", "solve_stack"]

_INTEGER_TYPES = (np.int8, np.int16, np.int32)


def _raised(row: int, error: BaseException) -> RowFailure:
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, ValueError) and "read-only" in str(error):
        text += (
            " (perturbopt hands solvers read-only inputs so that they cannot corrupt "
            "the noise or the caller's data: copy theta before changing it)"
        )
    return RowFailure(row, "raised", text, portable(error))


def compact(y: np.ndarray) -> np.ndarray:
    """``y`` in the smallest of int8/int16/int32 that holds it exactly; integer arrays
    beyond int32 in int64 (float64 would round integers above ``2**53``); else float64
    (float solutions, and unsigned ones above ``2**63 - 1``, which no int64 holds)."""
    if y.dtype == np.bool_:
        return y.astype(np.int8)
    if y.size == 0:
        return y.astype(np.int8)
    if y.dtype.kind == "f" and not np.array_equal(y, np.rint(y)):
        return np.asarray(y, dtype=np.float64)
    low, high = y.min(), y.max()
    for dtype in _INTEGER_TYPES:
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return y.astype(dtype, copy=y.dtype != dtype)
    if y.dtype.kind in "iu" and high <= np.iinfo(np.int64).max:
        return y.astype(np.int64, copy=y.dtype != np.int64)
    return np.asarray(y, dtype=np.float64)


def _check_output(
    y: Any, expected: tuple[int, ...] | None, rows: int | None, solver: Any
) -> np.ndarray | RowFailure:
    """``y`` as an array if it is a valid solution (stack) of shape ``expected``, else a
    failure whose row is the first offending row of a stack. ``expected=None``: any
    shape, with ``rows`` leading rows for a stack. The message says whether the shape
    was ``theta``'s (the solver contract's default) or ``solver``'s own."""
    try:
        y = np.asarray(y)
    except Exception as error:  # noqa: BLE001
        return RowFailure(0, "contract", f"returned something that is not an array ({error})")
    if y.dtype.kind not in "biuf":
        return RowFailure(
            0, "contract", f"returned an array of dtype {y.dtype}; solutions must be real numbers"
        )
    if expected is None and rows is not None and (y.ndim == 0 or y.shape[0] != rows):
        return RowFailure(
            0,
            "contract",
            f"returned shape {y.shape}; expected one output per problem, ({rows}, ...)",
        )
    if expected is not None and y.shape != expected:
        if not declares_output_shape(solver):
            described = (
                ", the shape of theta (a function whose output has another shape: use "
                "perturbopt.perturbed_function, or give the solver output_shape)"
            )
        else:
            described = ", the solver's output_shape"
        return RowFailure(
            0, "contract", f"returned shape {y.shape}; expected {expected}{described}"
        )
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(y))[0])
        return RowFailure(
            bad[0] if bad else 0,
            "contract",
            f"returned a non-finite value ({y[bad]}) at index {list(bad)}",
        )
    return y


def solve_stack(
    solver: Any,
    inputs: np.ndarray,
    hints: np.ndarray | None,
    *,
    per_row: bool = False,
    on_row: Callable[[int], None] | None = None,
) -> np.ndarray | RowFailure:
    """Solve a stack of problems with one solver instance, checking every output.

    Args:
        solver: the instance.
        inputs: ``(n, *s)``; made read-only here.
        hints: ``(n, *s)`` warm starts, or ``None``.
        per_row: call ``solve`` row by row even if the solver has ``solve_batch`` (so
            that ``on_row`` knows which row runs).
        on_row: called with each row's index before it is solved (with ``solve_batch``,
            once, with 0).

    Returns:
        The compact solutions ``(n, *out)`` (``out`` is ``s`` unless the solver says
        otherwise), or the first failure.
    """
    inputs.flags.writeable = False
    if hints is not None:
        hints.flags.writeable = False
    batch_solve = getattr(solver, "solve_batch", None)
    if batch_solve is None or (per_row and callable(getattr(solver, "solve", None))):
        return _solve_one_by_one(solver, inputs, hints, on_row)
    instance = tuple(inputs.shape[1:])
    out = expected_output_shape(solver, instance)
    if on_row is not None:
        on_row(0)
    try:
        ys = batch_solve(inputs, hints=hints) if hints is not None else batch_solve(inputs)
    except Exception:  # noqa: BLE001 - locate the row that fails
        if callable(getattr(solver, "solve", None)):
            return _solve_one_by_one(solver, inputs, hints, on_row)
        return _bisect_failure(batch_solve, inputs, hints, out, solver)
    expected = None if out is None else (inputs.shape[0],) + out
    checked = _check_output(ys, expected, inputs.shape[0], solver)
    if isinstance(checked, RowFailure):
        if np.shape(ys) != expected:
            checked.message = (
                f"solve_batch {checked.message} (a stack of {inputs.shape[0]} problems)"
            )
        else:
            checked.message = checked.message.replace(f"index [{checked.row}, ", "index [", 1)
        return checked
    return compact(checked)


def _solve_one_by_one(
    solver: Any, inputs: np.ndarray, hints: np.ndarray | None, on_row: Callable[[int], None] | None
) -> np.ndarray | RowFailure:
    solutions = []
    instance = tuple(inputs.shape[1:])
    out = expected_output_shape(solver, instance)
    for row in range(inputs.shape[0]):
        if on_row is not None:
            on_row(row)
        try:
            if hints is None:
                y = solver.solve(inputs[row])
            else:
                y = solver.solve(inputs[row], hint=hints[row])
        except Exception as error:  # noqa: BLE001
            return _raised(row, error)
        checked = _check_output(y, out, None, solver)
        if isinstance(checked, RowFailure):
            checked.row = row
            return checked
        if out is None:  # "auto": the first output fixes the shape of the others
            out = checked.shape
        solutions.append(checked)
    return compact(np.stack(solutions))


def _bisect_failure(
    batch_solve: Any,
    inputs: np.ndarray,
    hints: np.ndarray | None,
    out: tuple[int, ...] | None,
    solver: Any,
) -> RowFailure:
    """Locate the failing row of a solver that only has ``solve_batch``, by bisection."""
    low, high = 0, inputs.shape[0]
    while high - low > 1:
        middle = (low + high) // 2
        if isinstance(
            _batch_only(batch_solve, inputs[low:middle], _part(hints, low, middle), out, solver),
            RowFailure,
        ):
            high = middle
        else:
            low = middle
    failure = _batch_only(batch_solve, inputs[low:high], _part(hints, low, high), out, solver)
    if isinstance(failure, RowFailure):
        failure.row += low
        return failure
    return RowFailure(low, "contract", "solve_batch failed on the stack but not on any row alone")


def _part(hints: np.ndarray | None, start: int, stop: int) -> np.ndarray | None:
    return None if hints is None else hints[start:stop]


def _batch_only(
    batch_solve: Any,
    inputs: np.ndarray,
    hints: np.ndarray | None,
    out: tuple[int, ...] | None,
    solver: Any,
) -> np.ndarray | RowFailure:
    try:
        ys = batch_solve(inputs, hints=hints) if hints is not None else batch_solve(inputs)
    except Exception as error:  # noqa: BLE001
        return _raised(0, error)
    expected = None if out is None else (inputs.shape[0],) + out
    checked = _check_output(ys, expected, inputs.shape[0], solver)
    return checked if isinstance(checked, RowFailure) else compact(checked)


def row_values(inputs: np.ndarray, solutions: np.ndarray, solver: Any = None) -> np.ndarray:
    """The objective of each row of a stack, in float64, computed row by row (so a
    row's value does not depend on the rows around it): ``<y_r, theta_r>``, or
    ``<theta_r, g(y_r)> + h(y_r)`` for a generalized maximizer (``solver.features``);
    NaN when a solution is not in ``theta``'s space and there are no features. The
    inputs are floats, so a value is a float64 sum of products, each rounded like any
    float product, whatever the solutions' type (the solutions themselves are kept
    exact by `compact`)."""
    count = inputs.shape[0]
    flat_inputs = inputs.reshape(count, -1)
    if solver is not None and has_features(solver):
        features, offsets = objective_terms(solver, solutions, tuple(inputs.shape[1:]))
        inner = np.einsum("ij,ij->i", flat_inputs, features.reshape(count, -1), dtype=np.float64)
        return inner + offsets
    if solutions.shape[1:] != inputs.shape[1:]:
        return np.full(count, np.nan)
    flat_solutions = solutions.reshape(count, -1)
    return np.einsum("ij,ij->i", flat_inputs, flat_solutions, dtype=np.float64)
