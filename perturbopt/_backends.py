"""Where a call's solves run: in the calling thread, on the engine's threads, on its
worker processes, or on another joblib backend (Dask, Ray, ...).

The user picks with ``joblib.parallel_config``, as in scikit-learn, and the explicit
choice always wins: ``"threading"`` runs on threads, ``"loky"`` and
``"multiprocessing"`` on processes (the engine's own, see :mod:`perturbopt._processes`),
``"sequential"`` in the calling thread, anything else through ``joblib.Parallel``. With
no explicit backend, solvers that declare ``releases_gil = True`` may run on threads
(one instance per thread, nothing pickled or shipped) or on processes, whichever is
measured faster (:mod:`perturbopt._tuning`), and the others on processes;
``parallel_config(prefer="threads" | "processes")`` is honoured too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import joblib
from joblib.parallel import _backend, default_parallel_config, get_active_backend

from ._processes import shutdown_processes
from ._rows import RowFailure
from ._tasks import TaskOutput, serve_task

__all__ = ["Placement", "choose_placement", "run_on_joblib", "shutdown_pools"]

Mode = Literal["inline", "threads", "processes", "joblib"]

_LOCAL_PROCESSES = ("LokyBackend", "MultiprocessingBackend")


@dataclass(frozen=True)
class Placement:
    """Where a call may run: the parallel modes allowed, in order of preference (none:
    the calling thread only), and how many workers (the calling thread included for
    threads and non-isolated processes)."""

    modes: tuple[Mode, ...]
    workers: int

    @property
    def mode(self) -> Mode:
        """The preferred mode (``"inline"`` when no parallel mode is allowed)."""
        return self.modes[0] if self.modes else "inline"


def _explicit_backend() -> Any | None:
    config = getattr(_backend, "config", default_parallel_config)
    backend = config.get("backend")
    return None if backend is default_parallel_config["backend"] else backend


def _preference() -> str | None:
    config = getattr(_backend, "config", default_parallel_config)
    prefer = config.get("prefer")
    return None if prefer is default_parallel_config["prefer"] else prefer


def choose_placement(n_jobs: int | None, *, releases_gil: bool, isolated: bool) -> Placement:
    """Where to run a call, from ``n_jobs``, the active joblib configuration and the solver.

    Raises:
        ValueError: isolation (``timeout`` or ``isolate``) was asked for under a joblib
            backend other than the local ones: it cannot kill or isolate remote solves.
    """
    backend = _explicit_backend()
    kind = None if backend is None else type(backend).__name__
    workers = max(1, joblib.effective_n_jobs(n_jobs))
    if isolated:
        if kind is not None and kind not in _LOCAL_PROCESSES + (
            "ThreadingBackend",
            "SequentialBackend",
        ):
            raise ValueError(
                f"timeout= and isolate=True run solves in perturbopt's own worker "
                f"processes, which the active joblib backend ({kind}) replaces; "
                "drop them, or leave the parallel_config block"
            )
        return Placement(("processes",), workers)
    if workers <= 1 or kind == "SequentialBackend":
        return Placement((), 1)
    if kind in _LOCAL_PROCESSES:
        return Placement(("processes",), workers)
    if kind == "ThreadingBackend":
        return Placement(("threads",), workers)
    if kind is not None:
        return Placement(("joblib",), workers)
    prefer = _preference()
    if prefer == "threads":
        return Placement(("threads",), workers)
    if prefer == "processes" or not releases_gil:
        return Placement(("processes",), workers)
    return Placement(("threads", "processes"), workers)


_parallels: dict[tuple[Any, ...], joblib.Parallel] = {}
_parallels_lock = threading.Lock()


def _managed_parallel(workers: int) -> joblib.Parallel:
    """A ``joblib.Parallel`` entered once and kept, so that backends which start worker
    processes per call (Ray's pool) keep them, and the solvers they built, across calls."""
    backend, _ = get_active_backend()
    key = (type(backend).__name__, workers, id(getattr(backend, "client", None)))
    with _parallels_lock:
        parallel = _parallels.get(key)
        if parallel is None:
            parallel = joblib.Parallel(n_jobs=workers)
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
    """Solve ``tasks`` through the active joblib backend; ``consume`` in task order."""
    parallel = _managed_parallel(workers)
    outputs = parallel(
        joblib.delayed(serve_task)(digest, payload, source, start, stop, hints)
        for start, stop in tasks
    )
    for index, output in enumerate(outputs):
        if consume(index, output) is False:
            return


def shutdown_pools() -> None:
    """Stop the engine's worker processes and release kept joblib pools.

    They start again on the next parallel call; call this to free their memory, or
    before forking. Never blocks for long: stuck workers are killed.
    """
    shutdown_processes()
    with _parallels_lock:
        parallels = list(_parallels.values())
        _parallels.clear()
    for parallel in parallels:
        try:
            parallel.__exit__(None, None, None)
        except Exception:  # noqa: BLE001, S110 - a cluster that went away is no error here
            pass
