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

import multiprocessing
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import joblib
from joblib.parallel import _backend, default_parallel_config, get_active_backend

from ._forks import on_fork_in_child
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
    if kind is None and not isolated and _in_daemon_process():
        return _daemon_placement(n_jobs)
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


def _in_daemon_process() -> bool:
    """Whether this is a daemon process (a ``DataLoader`` or ``multiprocessing.Pool``
    worker), whose parent already runs processes like it in parallel."""
    return bool(multiprocessing.current_process().daemon)


_daemon_warned = False


def _daemon_placement(n_jobs: int | None) -> Placement:
    """In a daemon process, with no backend chosen: solve in the calling thread. Its
    siblings already use the cores, so more workers here would only compete with them.
    Asking for more than one job says so, once per process, in our words (instead of
    the warning about loky that joblib would give)."""
    global _daemon_warned
    config = getattr(_backend, "config", default_parallel_config)
    asked = n_jobs if n_jobs is not None else config.get("n_jobs")
    if isinstance(asked, int) and asked != 1 and not _daemon_warned:
        _daemon_warned = True
        warnings.warn(
            f"perturbopt: this is a daemon process (pid {os.getpid()}, e.g. a DataLoader "
            f"or multiprocessing worker), so its solves run in this process alone and "
            f"n_jobs={asked} is not used: the processes beside it already share the "
            "cores. Pass n_jobs=1 in code that runs in such workers to silence this, or "
            "choose a backend with joblib.parallel_config to override it",
            RuntimeWarning,
            stacklevel=4,
        )
    return Placement((), 1)


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

    A task's solver failures come back as its :class:`RowFailure`; anything the backend
    itself raises (a Ray actor or a Dask worker that died, a result that did not come
    back) is reported as a crash of the first task not yet consumed, so that the user
    gets a :class:`perturbopt.SolverCrashError` naming its sample (a backend that returns
    all results at once, as Ray's does, cannot tell which task failed: the message says
    so).
    """
    parallel = _managed_parallel(workers)
    index = 0
    outputs = None
    try:
        outputs = parallel(
            joblib.delayed(serve_task)(digest, payload, source, start, stop, hints)
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


def shutdown_pools() -> None:
    """Stop the engine's worker processes and release kept joblib pools.

    They start again on the next parallel call; call this to free their memory (a
    forked child needs no such call: it never uses its parent's pools). Never blocks
    for long: stuck workers are killed.
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
