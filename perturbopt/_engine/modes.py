"""Placement modes: the places where a call's tasks can run, each a `Mode` with
one interface, registered by name in `MODES`.

A mode says whether parallel work can pay in it (`Mode.worth_it`), how big its
tasks should be (`Mode.task_rows`) and runs a list of tasks, handing each result
to ``consume`` in task order (`Mode.run`). The engine picks one per call
(`perturbopt._engine.policy`).
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from .failures import RowFailure
from .job import Job
from .joblib_backend import run_on_joblib
from .processes import process_workers
from .tasks import TaskOutput
from .threads import thread_workers

__all__ = ["MODES", "CallingThread", "Consume", "JoblibBackend", "Mode", "Outcome", "Processes",
           "Threads", "register_mode"]  # fmt: skip

Consume = Callable[[int, TaskOutput | RowFailure], bool | None]
"""Takes task ``i``'s result, in task order; ``False`` stops the call."""

TRANSFER_SECONDS_PER_BYTE = 4e-9
"""What shipping one byte to or from a worker process costs the caller."""


@dataclass(frozen=True)
class Outcome:
    """How a mode's run went: failures that no task reported (timeouts and crashes of
    worker processes), and whether its wall time measures the mode (``False`` when the
    workers solved nothing: they were still starting)."""

    lost: list[RowFailure]
    measured: bool


class Mode:
    """A place where tasks run.

    Attributes:
        name: the name the mode is registered under.
        in_process: tasks run in this process (they can keep the noise they draw).
        call_seconds: about what one call in this mode costs, over the solves.
        tasks_per_worker: a task takes ``1 / (workers x this)`` of the work left.
        task_seconds: bounds on a task's duration: long enough to hide its overhead,
            short enough to balance the load.
    """

    name: ClassVar[str]
    in_process: ClassVar[bool] = True
    call_seconds: ClassVar[float] = 0.0
    tasks_per_worker: ClassVar[int] = 1
    task_seconds: ClassVar[tuple[float, float]] = (0.0, math.inf)

    def worth_it(self, workers: int, seconds: float, shipped_bytes: int) -> bool:
        """Whether ``seconds`` of solves, split over ``workers``, could save more than
        the mode costs."""
        return seconds * (1.0 - 1.0 / workers) > 2 * self.call_seconds

    def task_rows(self, workers: int, seconds_per_solve: float) -> Callable[[int], int]:
        """Rows of the next task, given the rows left: guided self-scheduling, each task
        a ``1 / (workers x tasks_per_worker)`` share of the work left within
        `task_seconds`, so tasks shrink towards the end of a call and no worker
        is left with a long one while the others idle."""
        low, high = self.task_seconds
        share = workers * self.tasks_per_worker
        per_row = max(seconds_per_solve, 1e-9)

        def rows(left: int) -> int:
            return max(1, math.ceil(min(high, max(low, left * per_row / share)) / per_row))

        return rows

    def run(
        self,
        job: Job,
        tasks: Sequence[tuple[int, int]],
        consume: Consume,
        *,
        workers: int,
        solver: object,
    ) -> Outcome:
        """Solve ``tasks`` on ``workers`` workers (the calling thread's share with
        ``solver``), handing each result to ``consume`` in task order."""
        raise NotImplementedError


MODES: dict[str, Mode] = {}
"""The registered modes, by name."""


def register_mode(mode: Mode) -> Mode:
    """Register ``mode`` under its name (a test may register a fake one)."""
    MODES[mode.name] = mode
    return mode


class CallingThread(Mode):
    """Every task in the calling thread, one after the other."""

    name = "inline"

    def worth_it(self, workers: int, seconds: float, shipped_bytes: int) -> bool:
        return True

    def run(
        self,
        job: Job,
        tasks: Sequence[tuple[int, int]],
        consume: Consume,
        *,
        workers: int,
        solver: object,
    ) -> Outcome:
        for index, (start, stop) in enumerate(tasks):
            if consume(index, job.solve_here(solver, start, stop)) is False:
                break
        return Outcome([], measured=True)


class Threads(Mode):
    """The calling thread and the engine's helper threads, one solver copy each
    (`perturbopt._engine.threads`)."""

    name = "threads"
    call_seconds = 2e-4  # handing tasks to helper threads: wake-ups, locks
    tasks_per_worker = 3
    task_seconds = (1e-4, 0.02)

    def run(
        self,
        job: Job,
        tasks: Sequence[tuple[int, int]],
        consume: Consume,
        *,
        workers: int,
        solver: object,
    ) -> Outcome:
        caller = threading.get_ident()
        helped: list[int] = []

        def task(index: int) -> TaskOutput | RowFailure:
            start, stop = tasks[index]
            if threading.get_ident() == caller:  # the caller keeps its own instance
                return job.solve_here(solver, start, stop)
            helped.append(index)
            return job.solve_on_copy(start, stop)

        thread_workers().run_ordered(len(tasks), task, consume, helpers=workers - 1)
        return Outcome([], measured=bool(helped))


class Processes(Mode):
    """The engine's worker processes, with the calling thread helping unless solves
    are isolated (`perturbopt._engine.processes`)."""

    name = "processes"
    in_process = False
    call_seconds = 1.5e-3  # a round trip: pickling, pipes, wake-ups
    tasks_per_worker = 4
    task_seconds = (2e-3, 0.05)

    def worth_it(self, workers: int, seconds: float, shipped_bytes: int) -> bool:
        saved = seconds * (1.0 - 1.0 / workers)
        return saved > 2 * self.call_seconds + shipped_bytes * TRANSFER_SECONDS_PER_BYTE

    def run(
        self,
        job: Job,
        tasks: Sequence[tuple[int, int]],
        consume: Consume,
        *,
        workers: int,
        solver: object,
    ) -> Outcome:
        caller = None if job.isolated else functools.partial(job.solve_here, solver)
        lost, solved = process_workers().run(
            job.shipment(),
            tasks,
            consume,
            workers=workers if job.isolated else workers - 1,
            caller=caller,
            timeout=job.timeout,
        )
        return Outcome(lost, measured=solved > 0)


class JoblibBackend(Mode):
    """The joblib backend the user chose (Dask, Ray, ...)
    (`perturbopt._engine.joblib_backend`)."""

    name = "joblib"
    in_process = False
    call_seconds = 0.025
    tasks_per_worker = 2
    task_seconds = (0.05, 5.0)

    def run(
        self,
        job: Job,
        tasks: Sequence[tuple[int, int]],
        consume: Consume,
        *,
        workers: int,
        solver: object,
    ) -> Outcome:
        digest, payload = job.spec.payload()
        run_on_joblib(
            digest, payload, job.source, tasks, job.hints, workers=workers, consume=consume
        )
        return Outcome([], measured=True)


for _mode in (CallingThread(), Threads(), Processes(), JoblibBackend()):
    register_mode(_mode)
