"""Which placements a call may use: the calling thread alone, the engine's threads,
its worker processes, or another joblib backend (Dask, Ray, ...).

The user picks with ``joblib.parallel_config``, as in scikit-learn, and the explicit
choice always wins: ``"threading"`` runs on threads, ``"loky"`` and
``"multiprocessing"`` on processes (the engine's own, see `perturbopt._engine.processes`),
``"sequential"`` in the calling thread, anything else through ``joblib.Parallel``. With
no explicit backend, solvers that declare ``releases_gil = True`` may run on threads
(one instance per thread, nothing pickled or shipped) or on processes, whichever is
measured faster (`perturbopt._engine.tuning`), and the others on processes;
``parallel_config(prefer="threads" | "processes")`` is honoured too.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from dataclasses import dataclass
from typing import Any

import joblib
from joblib.parallel import _backend, default_parallel_config

__all__ = ["Placement", "choose_placement"]

_LOCAL_PROCESSES = ("LokyBackend", "MultiprocessingBackend")


@dataclass(frozen=True)
class Placement:
    """Where a call may run: the names of the parallel modes allowed, in order of
    preference (none: the calling thread only), and how many workers (the calling
    thread included for threads and non-isolated processes)."""

    modes: tuple[str, ...]
    workers: int


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
