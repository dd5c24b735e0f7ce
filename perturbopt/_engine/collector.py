"""Gathering a call's task outputs into its arrays."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .failures import RowFailure
from .tasks import TaskOutput

__all__ = ["Collector"]


@dataclass
class Collector:
    """The call's solutions ``(N, *out)`` (the shape and compact type of the first output,
    the type promoted if a later one needs more), values ``(N,)`` and, when the noise is kept, the buffer
    ``(drawn rows, *s)`` that in-process tasks draw it into. Stops at the first
    failure; adds up the time the tasks spent on their rows.

    Attributes:
        failure: the first failure consumed, if any.
        seconds, solved_rows: the tasks' own time and rows since the last reset.
    """

    rows: int
    noise: np.ndarray | None = None
    solutions: np.ndarray | None = None
    values: np.ndarray = field(init=False)
    failure: RowFailure | None = None
    seconds: float = 0.0
    solved_rows: int = 0
    _noise_rows: int = 0

    def __post_init__(self) -> None:
        self.values = np.empty(self.rows, dtype=np.float64)

    def consume(self, index: int, output: TaskOutput | RowFailure) -> bool:
        """Store a task's output; ``False`` (stop the call) on a failure."""
        if isinstance(output, RowFailure):
            self.failure = output
            return False
        start, stop = output.start, output.stop
        dtype = output.solutions.dtype
        if self.solutions is None:
            self.solutions = np.empty((self.rows,) + output.solutions.shape[1:], dtype=dtype)
        elif np.promote_types(self.solutions.dtype, dtype) != self.solutions.dtype:
            self.solutions = self.solutions.astype(np.promote_types(self.solutions.dtype, dtype))
        self.solutions[start:stop] = output.solutions
        self.values[start:stop] = output.values
        if output.noise_kept and self.noise is not None:
            self._noise_rows += max(0, min(stop, self.noise.shape[0]) - start)
        self.seconds += output.seconds
        self.solved_rows += stop - start
        return True

    def take_time(self) -> tuple[float, int]:
        """The tasks' seconds and rows since the last call, and reset them."""
        taken = self.seconds, self.solved_rows
        self.seconds, self.solved_rows = 0.0, 0
        return taken

    def kept_noise(self) -> np.ndarray | None:
        """The noise of the drawn rows, if every one of them was drawn into the buffer."""
        if self.noise is None or self._noise_rows != self.noise.shape[0]:
            return None
        return self.noise
