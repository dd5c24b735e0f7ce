"""Wording the engine's failures: rows become samples and batch items, kinds become
the documented exceptions."""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

import numpy as np

from ._engine import EngineFailure, RowFailure
from ._errors import (
    SolverContractError,
    SolverCrashError,
    SolverError,
    SolverTimeoutError,
)

__all__ = ["raise_failure"]


def _item(flat: int, batch_shape: tuple[int, ...]) -> int | tuple[int, ...] | None:
    if not batch_shape:
        return None
    if len(batch_shape) == 1:
        return flat
    return tuple(int(i) for i in np.unravel_index(flat, batch_shape))


def _locate(
    failure: RowFailure, batch_shape: tuple[int, ...], perturbed: bool
) -> tuple[int | None, int | tuple[int, ...] | None, str]:
    """``(sample, batch_item, words)`` of a failed row."""
    batch = int(np.prod(batch_shape)) if batch_shape else 1
    sample, flat = divmod(failure.row, batch) if perturbed else (None, failure.row)
    item = _item(flat, batch_shape)
    where = f"sample {sample}" if perturbed else "the unperturbed theta"
    if item is not None:
        where += f" of batch item {item}"
    return sample, item, where


def raise_failure(
    failure: EngineFailure,
    solver: str,
    batch_shape: tuple[int, ...],
    *,
    perturbed: bool,
    describe: Callable[[int], str] | None = None,
) -> NoReturn:
    """Raise the documented exception for the engine's lowest failing row.

    Args:
        failure: the engine's failure.
        solver: the solver's name.
        batch_shape: the batch axes of ``theta``.
        perturbed: whether the rows were perturbed (rows are samples of batch items).
        describe: says what went wrong with an out-of-range perturbed input of a row
            (`NoisePlan.describe_row`); without it the engine's words are used.

    Raises:
        SolverError: the solver raised (its exception is the ``__cause__``).
        SolverContractError: it returned a wrong shape, type or a non-finite value.
        SolverTimeoutError: a solve ran past the timeout.
        SolverCrashError: a worker process died; every sample being solved is named.
        ValueError: a perturbed input overflowed to inf or NaN, or underflowed with
            multiplicative noise.
    """
    first = failure.failures[0]
    sample, item, where = _locate(first, batch_shape, perturbed)
    if first.kind == "overflow":
        if describe is not None:
            raise ValueError(f"theta perturbed at {where} {describe(first.row)}")
        raise ValueError(
            f"theta perturbed at {where} is not finite: {first.message}; rescale "
            "theta or use a smaller epsilon"
        )
    if first.kind == "crashed":
        crashes = [f for f in failure.failures if f.kind == "crashed"]
        places = [_locate(f, batch_shape, perturbed) for f in crashes]
        names = " and ".join(p[2] for p in places)
        error = SolverCrashError(
            f"solver {solver!r} crashed on {names}: {first.message}. The "
            "worker was replaced; look for the crash on these samples "
            "alone",
            sample=sample,
            batch_item=item,
            solver=solver,
        )
        error.samples = tuple((p[0], p[1]) for p in places)
        raise error
    if first.kind == "timeout":
        raise SolverTimeoutError(
            f"solver {solver!r} timed out on {where}: {first.message}",
            sample=sample,
            batch_item=item,
            solver=solver,
        )
    if first.kind == "contract":
        raise SolverContractError(
            f"solver {solver!r} broke the solver contract on {where}: {first.message}",
            sample=sample,
            batch_item=item,
            solver=solver,
        )
    raise SolverError(
        f"solver {solver!r} failed on {where}: {first.message}",
        sample=sample,
        batch_item=item,
        solver=solver,
    ) from first.error
