"""Checks on user input, run before anything is drawn or solved."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .plugin import format_index

__all__ = [
    "as_float_array",
    "check_memory",
    "check_nonzero",
    "format_bytes",
    "format_index",
    "split_batch",
]


def format_bytes(count: float) -> str:
    """``3.2e9`` -> ``"3.0 GiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def as_float_array(value: Any, name: str = "theta") -> np.ndarray:
    """``value`` as a new, read-only, finite float64 array, or a clear error naming the
    bad entry. The copy means nothing done to the caller's array later (or by a solver
    now) can change what perturbopt computed from it."""
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(
            f"{name} is a masked array; perturbopt would ignore its mask. Fill the "
            f"masked entries first, e.g. {name}.filled(0.0), or drop them"
        )
    try:
        array = np.asarray(value)
    except Exception as error:
        raise TypeError(f"{name} must be a numeric array; could not convert it: {error}") from error
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must be a real numeric array, got dtype {array.dtype} "
            f"(from {type(value).__name__}); pass floats, e.g. np.asarray({name}, dtype=float)"
        )
    array = np.array(array, dtype=np.float64, copy=True)
    if array.size and not np.isfinite(array).all():
        bad = tuple(np.argwhere(~np.isfinite(array))[0])
        what = "NaN" if np.isnan(array[bad]) else "inf"
        raise ValueError(
            f"{name} contains {what} at {name}{format_index(bad)}; all entries must be finite"
        )
    array.flags.writeable = False
    return array


def _axes(count: int) -> str:
    return f"{count} axis" if count == 1 else f"{count} axes"


def split_batch(
    theta: np.ndarray, ndim: int, shape: tuple[int, ...] | None, solver: str
) -> tuple[np.ndarray, tuple[int, ...]]:
    """View ``theta`` ``(*b, *s)`` as a batch ``(B, *s)`` and return its batch axes ``b``.

    ``ndim`` is the number of axes of one instance; leading axes beyond it are batch
    axes. ``shape``, when the solver gives it, is the exact instance shape.
    """
    if theta.ndim < ndim:
        raise ValueError(
            f"theta has shape {theta.shape}, but solver {solver!r} takes instances with "
            f"{_axes(ndim)}: pass one instance of {_axes(ndim)}, or a batch with the batch "
            "axes first"
        )
    batch_shape = tuple(theta.shape[: theta.ndim - ndim])
    instance = tuple(theta.shape[theta.ndim - ndim :])
    if 0 in batch_shape:
        raise ValueError(f"theta has shape {theta.shape}: the batch is empty")
    if shape is not None and instance != tuple(shape):
        expected = tuple(shape)
        raise ValueError(
            f"theta has shape {theta.shape}, but solver {solver!r} takes instances of shape "
            f"{expected} (or a batch (B, {', '.join(map(str, expected))}), batch axes first)"
        )
    if 0 in instance:
        raise ValueError(f"theta has shape {theta.shape}: an instance cannot be empty")
    batch = theta.reshape((math.prod(batch_shape),) + instance)
    batch.flags.writeable = False
    return batch, batch_shape


def check_nonzero(theta: np.ndarray, batch_shape: tuple[int, ...]) -> None:
    """Multiplicative noise cannot move a zero entry: refuse them."""
    zeros = theta == 0
    if zeros.any():
        flat_item, *rest = (int(i) for i in np.argwhere(zeros)[0])
        index = tuple(np.unravel_index(flat_item, batch_shape)) if batch_shape else ()
        raise ValueError(
            f"theta{format_index(tuple(index) + tuple(rest))} is 0, and multiplicative noise "
            "theta * exp(eps Z - log E[exp(eps Z)]) cannot move a zero entry (the Jacobian "
            "divides by theta); shift theta away from 0 or use perturbation='additive'"
        )


def check_memory(parts: dict[str, int], limit: int | None, advice: str) -> None:
    """Refuse, before anything is allocated, a call that would hold more than ``limit``
    bytes in all (``None``: no limit); ``parts`` names what it would hold."""
    from ._errors import MemoryLimitError

    needed = sum(parts.values())
    if limit is None or needed <= limit:
        return
    detail = ", ".join(f"{name} {format_bytes(size)}" for name, size in parts.items() if size)
    raise MemoryLimitError(
        f"this call would hold {format_bytes(needed)} ({detail}), over the memory limit of "
        f"{format_bytes(limit)}; {advice}, or raise the limit with memory_limit= or the "
        "PERTURBOPT_MEMORY_LIMIT environment variable (0 for no limit)",
        needed=needed,
        limit=limit,
    )
