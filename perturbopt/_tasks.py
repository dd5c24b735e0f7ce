"""One task of the engine: solve rows ``[start, stop)`` of a row source with one solver
instance. The same function runs in the calling thread, in helper threads and in worker
processes, so every row gets the same input, solution and value wherever it runs."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._instances import acquire_instance, release_instance
from ._plan import BLOCK_ELEMENTS, NoisePlan, OverflowFailure, PerturbedRows, RowSource
from ._rows import RowFailure, portable, row_values, solve_stack

__all__ = ["TaskOutput", "chunk_rows", "hints_for", "run_task", "serve_task"]

CHUNK_ELEMENTS = 8 * BLOCK_ELEMENTS
"""Numbers a task draws, perturbs and solves at once (whole noise blocks, at least one):
few enough to stay in the cache, enough that the fixed cost of each numpy call (and, on
threads, of handing the GIL back and forth between them) is spread over many rows."""


def chunk_rows(plan: NoisePlan) -> int:
    """Rows of a chunk: the most whole blocks within ``CHUNK_ELEMENTS`` numbers (one at
    least)."""
    block_elements = plan.block_rows * max(1, plan.row_size)
    return plan.block_rows * max(1, CHUNK_ELEMENTS // block_elements)


@dataclass
class TaskOutput:
    """What a task returns: solutions ``(n, *s)`` (compact), values ``(n,)`` float64,
    the noise of its rows when asked for, and the seconds the task took (drawing,
    perturbing and solving: what a row costs wherever it runs)."""

    start: int
    stop: int
    solutions: np.ndarray
    values: np.ndarray
    noise: np.ndarray | None
    seconds: float


def hints_for(
    hints: np.ndarray | None, source: RowSource, start: int, stop: int
) -> np.ndarray | None:
    """The warm starts of rows ``[start, stop)``: the hint of each row's batch item."""
    if hints is None:
        return None
    if isinstance(source, PerturbedRows):
        return hints[np.arange(start, stop) % source.plan.batch_size]
    return hints[start:stop].copy()


def _pieces(source: RowSource, start: int, stop: int) -> list[tuple[int, int]]:
    """Rows ``[start, stop)`` cut into chunks of whole noise blocks (or every
    ``BLOCK_ELEMENTS`` numbers for plain rows), so that a task of any size holds a few
    blocks at a time."""
    if isinstance(source, PerturbedRows):
        plan = source.plan
        chunk = chunk_rows(plan) // plan.block_rows
        first, last = plan.block_of(start), plan.block_of(stop - 1)
        cuts = [start]
        for block in range(first, last + 1):
            if (block - first) % chunk == chunk - 1 or block == last:
                cuts.append(min(stop, plan.block_bounds(block)[1]))
        return list(itertools.pairwise(cuts))
    rows = max(1, BLOCK_ELEMENTS // max(1, math.prod(source.theta.shape[1:])))
    return [(i, min(stop, i + rows)) for i in range(start, stop, rows)]


def run_task(
    solver: Any,
    source: RowSource,
    start: int,
    stop: int,
    hints: np.ndarray | None,
    *,
    with_noise: bool = False,
    per_row: bool = False,
    on_row: Callable[[int], None] | None = None,
) -> TaskOutput | RowFailure:
    """Solve rows ``[start, stop)`` of ``source`` with ``solver``, a chunk of blocks at a time.

    Returns:
        The :class:`TaskOutput`, or the first :class:`RowFailure` with an absolute row.
    """
    solutions, values, noises = [], [], []
    began = time.perf_counter()
    for low, high in _pieces(source, start, stop):
        try:
            inputs, noise = source.inputs(low, high, with_noise=with_noise)
        except OverflowFailure as overflow:
            return RowFailure(
                overflow.row,
                "overflow",
                "the perturbed input is not finite "
                "(inf or NaN): theta is too large for this epsilon and noise",
            )
        report = None if on_row is None else (lambda row, low=low: on_row(low + row))
        solved = solve_stack(
            solver, inputs, hints_for(hints, source, low, high), per_row=per_row, on_row=report
        )
        if isinstance(solved, RowFailure):
            solved.row += low
            return solved
        try:
            values.append(row_values(inputs, solved, solver))
        except Exception as error:  # noqa: BLE001 - features(y) or offset(y) failed
            return RowFailure(
                low,
                "raised",
                f"features/offset failed: {type(error).__name__}: {error}",
                portable(error),
            )
        solutions.append(solved)
        if noise is not None:
            noises.append(noise)
    return TaskOutput(
        start,
        stop,
        _joined(solutions),
        _joined(values),
        _joined(noises) if noises else None,
        time.perf_counter() - began,
    )


def _joined(pieces: list[np.ndarray]) -> np.ndarray:
    if len(pieces) == 1:
        return pieces[0]
    dtype = np.result_type(*pieces)
    return np.concatenate(pieces).astype(dtype, copy=False)


def serve_task(
    digest: str,
    payload: bytes,
    source: RowSource,
    start: int,
    stop: int,
    hints: np.ndarray | None,
    *,
    with_noise: bool = False,
    per_row: bool = False,
    on_row: Callable[[int], None] | None = None,
) -> TaskOutput | RowFailure:
    """:func:`run_task` with this process's (or thread's) own instance of the solver
    ``digest``, built from ``payload`` on first use and kept for later tasks, unless it
    raised (an instance that raised may be broken: the next task builds a new one)."""
    try:
        solver = acquire_instance(digest, payload)
    except Exception as error:  # noqa: BLE001
        return RowFailure(
            start,
            "raised",
            f"the solver could not be built here: {type(error).__name__}: {error}",
            portable(error),
        )
    output = run_task(
        solver, source, start, stop, hints, with_noise=with_noise, per_row=per_row, on_row=on_row
    )
    if not (isinstance(output, RowFailure) and output.kind == "raised"):
        release_instance(digest, solver)
    return output
