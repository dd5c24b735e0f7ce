"""Checks on user input, run before any solver is called."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = [
    "as_float_array",
    "check_epsilon",
    "check_nonzero",
    "check_num_samples",
    "format_index",
    "split_batch",
]


def format_index(index: tuple[int, ...] | np.ndarray) -> str:
    """``(3, 1)`` -> ``"[3, 1]"``."""
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def as_float_array(value: Any, name: str = "theta") -> np.ndarray:
    """``value`` as a finite float64 array, or a clear error naming the bad entry."""
    try:
        array = np.asarray(value)
    except Exception as error:
        raise TypeError(f"{name} must be a numeric array; could not convert it: {error}") from error
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must be a real numeric array, got dtype {array.dtype} "
            f"(from {type(value).__name__}); pass floats, e.g. np.asarray({name}, dtype=float)"
        )
    array = np.asarray(array, dtype=np.float64)
    if array.size and not np.isfinite(array).all():
        bad = tuple(np.argwhere(~np.isfinite(array))[0])
        what = "NaN" if np.isnan(array[bad]) else "inf"
        raise ValueError(f"{name} contains {what} at {name}{format_index(bad)}; "
                         f"all entries must be finite")
    return array


def _axes(count: int) -> str:
    return f"{count} axis" if count == 1 else f"{count} axes"


def split_batch(theta: np.ndarray, ndim: int, shape: tuple[int, ...] | None,
                solver: str) -> tuple[np.ndarray, bool]:
    """View ``theta`` as a batch ``(B, *s)`` and say whether the input was batched.

    ``ndim`` is the number of axes of one instance; ``shape``, when the solver gives
    it, the exact instance shape.
    """
    if theta.ndim == ndim:
        batched, batch = False, theta[None]
    elif theta.ndim == ndim + 1:
        batched, batch = True, theta
    else:
        raise ValueError(
            f"theta has shape {theta.shape}, but solver {solver!r} takes instances with "
            f"{_axes(ndim)}: pass one instance of {_axes(ndim)} or a batch of "
            f"{_axes(ndim + 1)} (batch first)"
        )
    if batch.shape[0] == 0:
        raise ValueError(f"theta has shape {theta.shape}: the batch is empty")
    if shape is not None and tuple(batch.shape[1:]) != tuple(shape):
        raise ValueError(
            f"theta has shape {theta.shape}, but solver {solver!r} takes instances of shape "
            f"{tuple(shape)}{' (or a batch (B, ' + ', '.join(map(str, shape)) + '))' if shape else ''}"
        )
    if 0 in batch.shape[1:]:
        raise ValueError(f"theta has shape {theta.shape}: an instance cannot be empty")
    return np.ascontiguousarray(batch), batched


def check_epsilon(epsilon: Any) -> float:
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real):
        raise TypeError(f"epsilon must be a positive number, got {epsilon!r}")
    if not (math.isfinite(float(epsilon)) and float(epsilon) > 0):
        raise ValueError(f"epsilon must be a finite number > 0, got {epsilon!r}; "
                         "it is the scale of the noise")
    return float(epsilon)


def check_num_samples(num_samples: Any) -> int:
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral):
        raise TypeError(f"num_samples must be an integer >= 1, got {num_samples!r}")
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    return int(num_samples)


def check_nonzero(theta: np.ndarray, batched: bool) -> None:
    """Multiplicative noise cannot move a zero entry: refuse them."""
    zeros = theta == 0
    if zeros.any():
        index = tuple(np.argwhere(zeros)[0])
        if not batched:
            index = index[1:]
        raise ValueError(
            f"theta{format_index(index)} is 0, and multiplicative noise "
            "theta * exp(eps Z - eps^2/2) cannot move a zero entry (the Jacobian divides by "
            "theta); shift theta away from 0 or use perturbation='additive'"
        )
