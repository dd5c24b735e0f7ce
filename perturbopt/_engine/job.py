"""One call's work, as every placement mode sees it."""

from __future__ import annotations

import functools
import pickle
from dataclasses import dataclass

import numpy as np

try:  # joblib >= 1.6 depends on cloudpickle; older releases vendor it
    import cloudpickle
except ImportError:  # pragma: no cover
    from joblib.externals import cloudpickle  # type: ignore[no-redef]

from .failures import RowFailure
from .instances import SolverSpec
from .processes import Shipment
from .sources import RowSource
from .tasks import TaskOutput, run_task, serve_task

__all__ = ["Job"]


@dataclass(frozen=True)
class Job:
    """The solver and the rows of one call, and how to solve a range of them wherever
    a mode runs it.

    Attributes:
        spec: the solver.
        source: the rows (perturbed or plain inputs).
        hints: warm starts ``(B, *s)`` for the rows' batch items, or ``None``.
        timeout: seconds a solve may take (worker processes only), or ``None``.
        isolated: every solve must run in a worker process.
        kept_noise: the call's buffer ``(drawn rows, *s)`` for the noise of its drawn
            rows, which tasks that run in this process draw straight into; ``None``
            when the noise is not kept.
    """

    spec: SolverSpec
    source: RowSource
    hints: np.ndarray | None
    timeout: float | None = None
    isolated: bool = False
    kept_noise: np.ndarray | None = None

    def solve_here(self, solver: object, start: int, stop: int) -> TaskOutput | RowFailure:
        """Rows ``[start, stop)`` solved in this thread with ``solver``."""
        return run_task(solver, self.source, start, stop, self.hints, kept_noise=self.kept_noise)

    def solve_on_copy(self, start: int, stop: int) -> TaskOutput | RowFailure:
        """Rows ``[start, stop)`` solved in this thread with its own copy of the solver
        (a helper thread's)."""
        digest, payload = self.spec.payload()
        work = functools.partial(
            run_task,
            source=self.source,
            start=start,
            stop=stop,
            hints=self.hints,
            kept_noise=self.kept_noise,
        )
        return serve_task(digest, payload, start, work)

    def shipment(self) -> Shipment:
        """What worker processes need: the solver's recipe and the pickled inputs."""
        digest, payload = self.spec.payload()
        inputs = cloudpickle.dumps((self.source, self.hints), protocol=pickle.HIGHEST_PROTOCOL)
        return Shipment(digest, payload, inputs, per_row=self.timeout is not None)
