"""Running a call's tasks through another joblib backend (Dask, Ray, ...), as the user
chose with ``joblib.parallel_config``.

The ``joblib.Parallel`` of each backend is entered once and kept, so that backends that
start worker processes per call (Ray's pool) keep them, and the solvers those built,
across calls.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any

import joblib
from joblib.parallel import get_active_backend

from .._forks import on_fork_in_child
from .failures import RowFailure
from .tasks import TaskOutput, run_task, serve_task

__all__ = ["release_joblib_pools", "run_on_joblib"]

_parallels: dict[tuple[Any, ...], joblib.Parallel] = {}
_parallels_lock = threading.Lock()


def _forget_parallels() -> None:
    """In a forked child: the kept pools (and their lock) stay the parent's."""
    global _parallels_lock
    _parallels.clear()
    _parallels_lock = threading.Lock()


on_fork_in_child(_forget_parallels)


def _managed_parallel(workers: int) -> joblib.Parallel:
    """A ``joblib.Parallel`` entered once and kept, so that backends which start worker
    processes per call (Ray's pool) keep them, and the solvers they built, across calls.
    It yields results one by one where the backend can (so a failure is tied to its
    task), else returns them all at once (Ray)."""
    backend, _ = get_active_backend()
    key = (type(backend).__name__, workers, id(getattr(backend, "client", None)))
    with _parallels_lock:
        parallel = _parallels.get(key)
        if parallel is None:
            ordered = getattr(backend, "supports_return_generator", False)
            parallel = joblib.Parallel(n_jobs=workers, return_as="generator" if ordered else "list")
            parallel.__enter__()
            _parallels[key] = parallel
        return parallel


def run_on_joblib(
    digest: str,
    payload: bytes,
    source: Any,
    tasks: Sequence[tuple[int, int]],
    hints: Any,
    *,
    workers: int,
    consume: Callable[[int, TaskOutput | RowFailure], bool | None],
) -> None:
    """Solve ``tasks`` through the active joblib backend; ``consume`` in task order.

    A task's solver failures come back as its `RowFailure`; anything the backend
    itself raises (a Ray actor or a Dask worker that died, a result that did not come
    back) is reported as a crash of the first task not yet consumed, so that the user
    gets a `perturbopt.SolverCrashError` naming its sample (a backend that returns
    all results at once, as Ray's does, cannot tell which task failed: the message says
    so).
    """
    parallel = _managed_parallel(workers)
    index = 0
    outputs = None
    try:
        outputs = parallel(
            joblib.delayed(serve_task)(
                digest,
                payload,
                start,
                functools.partial(run_task, source=source, start=start, stop=stop, hints=hints),
            )
            for start, stop in tasks
        )
        for index, output in enumerate(outputs):
            if consume(index, output) is False:
                return
    except Exception as error:  # noqa: BLE001 - the backend's own failure
        backend = type(get_active_backend()[0]).__name__
        which = "solving it" if parallel.return_generator else "solving this call's tasks"
        consume(
            index,
            RowFailure(
                tasks[index][0],
                "crashed",
                f"a {backend} worker {which} failed ({type(error).__name__}: {_first_line(error)})",
            ),
        )
    finally:
        close = getattr(outputs, "close", None)
        if close is not None:
            close()  # tasks not yet run are cancelled


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "no message"


def release_joblib_pools() -> None:
    """Leave every kept ``joblib.Parallel`` (a cluster that went away is no error)."""
    with _parallels_lock:
        parallels = list(_parallels.values())
        _parallels.clear()
    for parallel in parallels:
        try:
            parallel.__exit__(None, None, None)
        except Exception:  # noqa: BLE001, S110 - a cluster that went away is no error here
            pass
