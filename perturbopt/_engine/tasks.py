"""One task of the engine: solve rows ``[start, stop)`` of a row source with one solver
instance, and the one place where rows are cut into tasks and chunks.

The same function runs in the calling thread, in helper threads and in worker
processes, so every row gets the same input, solution and value wherever it runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .failures import RowFailure, portable
from .instances import acquire_instance, release_instance
from .noise_plan import BLOCK_ELEMENTS, OverflowFailure
from .sources import PerturbedRows, RowSource
from .stack import row_values, solve_stack

__all__ = ["CHUNK_ELEMENTS", "TaskOutput", "chunk_rows", "cut", "run_task", "serve_task"]

CHUNK_ELEMENTS = 8 * BLOCK_ELEMENTS
"""Numbers a task draws, perturbs and solves at once (whole noise blocks, at least one):
few enough to stay in the cache, enough that the fixed cost of each numpy call (and, on
threads, of handing the GIL back and forth between them) is spread over many rows."""


@dataclass
class TaskOutput:
    """What a task returns: solutions ``(n, *s)`` (compact), values ``(n,)`` float64,
    the seconds the task took (drawing, perturbing and solving: what a row costs
    wherever it runs), and whether it left its rows' noise in the call's buffer."""

    start: int
    stop: int
    solutions: np.ndarray
    values: np.ndarray
    seconds: float
    noise_kept: bool = False


def chunk_rows(source: RowSource) -> int:
    """Rows of a chunk: the most whole noise blocks within ``CHUNK_ELEMENTS`` numbers (one
    block at least); for plain rows, the rows within ``CHUNK_ELEMENTS`` numbers."""
    row_size = max(1, int(np.prod(source.theta.shape[1:])))
    if isinstance(source, PerturbedRows):
        block = source.plan.block_rows
        return block * max(1, CHUNK_ELEMENTS // (block * row_size))
    return max(1, CHUNK_ELEMENTS // row_size)


def cut(
    source: RowSource, start: int, stop: int, size: Callable[[int], int]
) -> list[tuple[int, int]]:
    """Rows ``[start, stop)`` as consecutive pieces of ``size(rows left)`` rows, lined up
    with the noise blocks: whole blocks grouped while a piece is at least a block, else
    pieces of one block (so a piece draws at most the blocks it uses)."""
    pieces: list[tuple[int, int]] = []
    if not isinstance(source, PerturbedRows):
        position = start
        while position < stop:
            pieces.append((position, min(stop, position + size(stop - position))))
            position = pieces[-1][1]
        return pieces
    plan = source.plan
    pending: tuple[int, int] | None = None
    for block in range(plan.block_of(start), plan.block_of(stop - 1) + 1):
        low, high = plan.block_bounds(block)
        low, high = max(low, start), min(high, stop)
        wanted = size(stop - (pending[0] if pending else low))
        if wanted >= plan.block_rows:
            pending = (low, high) if pending is None else (pending[0], high)
            if pending[1] - pending[0] >= wanted:
                pieces.append(pending)
                pending = None
            continue
        if pending is not None:
            pieces.append(pending)
            pending = None
        position = low
        while position < high:
            pieces.append((position, min(high, position + size(stop - position))))
            position = pieces[-1][1]
    if pending is not None:
        pieces.append(pending)
    return pieces


def _hints_for(
    hints: np.ndarray | None, source: RowSource, start: int, stop: int
) -> np.ndarray | None:
    """The warm starts of rows ``[start, stop)``: the hint of each row's batch item."""
    if hints is None:
        return None
    if isinstance(source, PerturbedRows):
        return hints[np.arange(start, stop) % source.plan.batch_size]
    return hints[start:stop].copy()


def run_task(
    solver: Any,
    source: RowSource,
    start: int,
    stop: int,
    hints: np.ndarray | None,
    *,
    kept_noise: np.ndarray | None = None,
    per_row: bool = False,
    on_row: Callable[[int], None] | None = None,
) -> TaskOutput | RowFailure:
    """Solve rows ``[start, stop)`` of ``source`` with ``solver``, a chunk at a time.

    Args:
        kept_noise: the call's buffer for the noise of its drawn rows
            (``(drawn rows, *s)``): each drawn row's noise is drawn straight into it.
        per_row: solve row by row, calling ``on_row(row)`` before each (timeouts).

    Returns:
        The `TaskOutput`, or the first `RowFailure` with an absolute row.
    """
    solutions, values = [], []
    began = time.perf_counter()
    size = chunk_rows(source)
    drawn = source.plan.drawn_rows if isinstance(source, PerturbedRows) else 0
    for low, high in _split_at(cut(source, start, stop, lambda _: size), drawn):
        noise_out = kept_noise[low:high] if kept_noise is not None and high <= drawn else None
        try:
            inputs = source.inputs(low, high, noise_out)
        except OverflowFailure as overflow:
            return RowFailure(overflow.row, "overflow", "the perturbed input is out of range")
        report = None if on_row is None else (lambda row, low=low: on_row(low + row))
        solved = solve_stack(
            solver, inputs, _hints_for(hints, source, low, high), per_row=per_row, on_row=report
        )
        if isinstance(solved, RowFailure):
            solved.row += low
            return solved
        value = _values(solver, inputs, solved, low)
        if isinstance(value, RowFailure):
            return value
        values.append(value)
        solutions.append(solved)
    return TaskOutput(
        start,
        stop,
        _joined(solutions),
        _joined(values),
        time.perf_counter() - began,
        noise_kept=kept_noise is not None,
    )


def _values(
    solver: Any, inputs: np.ndarray, solutions: np.ndarray, first_row: int
) -> np.ndarray | RowFailure:
    """The rows' objective values, or the failure of a generalized maximizer's
    ``features(y)`` or ``offset(y)``."""
    try:
        return row_values(inputs, solutions, solver)
    except Exception as error:  # noqa: BLE001 - features(y) or offset(y) failed
        return RowFailure(
            first_row,
            "raised",
            f"features/offset failed: {type(error).__name__}: {error}",
            portable(error),
        )


def _split_at(pieces: list[tuple[int, int]], row: int) -> list[tuple[int, int]]:
    """``pieces`` with the one that holds both ``row - 1`` and ``row`` cut in two (the
    drawn rows of antithetic pairs end at ``row``; their mirror images follow)."""
    return [
        part
        for low, high in pieces
        for part in ([(low, row), (row, high)] if low < row < high else [(low, high)])
    ]


def _joined(pieces: list[np.ndarray]) -> np.ndarray:
    if len(pieces) == 1:
        return pieces[0]
    dtype = np.result_type(*pieces)
    return np.concatenate(pieces).astype(dtype, copy=False)


def serve_task(
    digest: str, payload: bytes, first_row: int, work: Callable[[Any], TaskOutput | RowFailure]
) -> TaskOutput | RowFailure:
    """``work(solver)`` (a `run_task` with its rows bound) on this process's (or
    thread's) own instance of the solver ``digest``, built from ``payload`` on first use
    and kept for later tasks, unless it raised (an instance that raised may be broken:
    the next task builds a new one). A solver that cannot be built fails the task's
    ``first_row``."""
    try:
        solver = acquire_instance(digest, payload)
    except Exception as error:  # noqa: BLE001 - reported as the task's failure
        return RowFailure(
            first_row,
            "raised",
            f"the solver could not be built here: {type(error).__name__}: {error}",
            portable(error),
        )
    output = work(solver)
    if not (isinstance(output, RowFailure) and output.kind == "raised"):
        release_instance(digest, solver)
    return output
