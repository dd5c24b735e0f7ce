"""What the engine reports when rows fail: one `RowFailure` per failed row, and
the `EngineFailure` that a call raises with them. The engine speaks of rows; the
front end (`perturbopt._errors.raise_failure`) words them as samples and batch
items and raises the documented exceptions."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Literal

__all__ = ["EngineFailure", "FailureKind", "RowFailure", "portable"]

FailureKind = Literal["raised", "contract", "overflow", "timeout", "crashed"]


@dataclass
class RowFailure:
    """What went wrong on one row.

    Attributes:
        row: the row, relative to the stack until the engine makes it absolute.
        kind: ``"raised"`` (the solver raised), ``"contract"`` (a bad output),
            ``"overflow"`` (a perturbed input out of range), ``"timeout"`` or
            ``"crashed"`` (a worker process died).
        message: what happened, without the solver's name or the row's coordinates.
        error: the solver's exception, when it survives pickling.
    """

    row: int
    kind: FailureKind
    message: str
    error: BaseException | None = None


class EngineFailure(Exception):
    """Rows that failed, lowest first (rows are absolute in the row source)."""

    def __init__(self, failures: list[RowFailure]) -> None:
        super().__init__(failures[0].message)
        self.failures = sorted(failures, key=lambda f: f.row)


def portable(error: BaseException) -> BaseException:
    """``error`` if it survives pickling, else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001 - any unpicklable error is replaced
        return RuntimeError(f"{type(error).__name__}: {error}")
