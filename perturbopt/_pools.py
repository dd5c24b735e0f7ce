"""Where the engine's chunks run.

joblib picks the backend (``joblib.parallel_config``). For its two local backends,
loky processes and threads, the engine keeps its own persistent pool and submits
chunks to it directly: a ``joblib.Parallel`` call costs about 10 ms however small the
work (its result loop polls), which is the whole budget of a training step with a
batch of fast solves, while a submit-and-wait round trip costs about 1 ms. Every other
backend (Dask, Ray, ...) goes through ``joblib.Parallel``. The pools persist across
calls, so the solver instances that their workers cache persist too.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import joblib
from joblib.externals import loky
from joblib.parallel import get_active_backend

__all__ = ["WorkerDiedError", "call_overhead_seconds", "run_tasks", "shutdown_pools"]

POOL_CALL_SECONDS = 0.005
"""About what one call on the engine's own pools costs (submits, pickling, wake-ups)."""

JOBLIB_CALL_SECONDS = 0.025
"""About what one ``joblib.Parallel`` call costs on a local machine."""

_pools: dict[tuple[str, int], Executor] = {}
_pools_lock = threading.Lock()


class WorkerDiedError(RuntimeError):
    """A worker process ended abruptly (a crash in a solver's native code, say)."""


def _pool(kind: str, workers: int) -> Executor:
    """The pool of ``kind`` with ``workers`` workers; at most one process pool lives at a
    time, so a new ``n_jobs`` replaces the old processes instead of adding to them."""
    retired = []
    with _pools_lock:
        pool = _pools.get((kind, workers))
        if pool is None:
            if kind == "loky":
                retired = [_pools.pop(key) for key in list(_pools) if key[0] == "loky"]
                pool = loky.ProcessPoolExecutor(max_workers=workers)
            else:
                pool = ThreadPoolExecutor(max_workers=workers,
                                          thread_name_prefix="perturbopt-worker")
            _pools[(kind, workers)] = pool
    for old in retired:
        old.shutdown(wait=False)
    return pool


def _discard(kind: str, workers: int) -> None:
    with _pools_lock:
        pool = _pools.pop((kind, workers), None)
    if pool is not None:
        pool.shutdown(wait=False)


def shutdown_pools() -> None:
    """Stop the engine's worker pools (they restart on the next parallel call)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=True)


atexit.register(shutdown_pools)


def _local_kind() -> str | None:
    backend, _ = get_active_backend()
    return {"LokyBackend": "loky", "ThreadingBackend": "threading"}.get(type(backend).__name__)


def call_overhead_seconds() -> float:
    """The fixed cost of one parallel call on the active joblib backend."""
    return POOL_CALL_SECONDS if _local_kind() is not None else JOBLIB_CALL_SECONDS


def run_tasks(function: Callable[..., Any], arguments: Sequence[tuple[Any, ...]],
              n_jobs: int | None) -> list[Any]:
    """``[function(*a) for a in arguments]``, on the active joblib backend's workers.

    Raises:
        WorkerDiedError: a worker process died; the pool is replaced for the next call.
    """
    kind = _local_kind()
    if kind is None:
        return joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(function)(*a) for a in arguments)
    workers = joblib.effective_n_jobs(n_jobs)
    pool = _pool(kind, workers)
    futures = [pool.submit(function, *a) for a in arguments]
    try:
        return [future.result() for future in futures]
    except loky.process_executor.TerminatedWorkerError as error:
        _discard(kind, workers)
        raise WorkerDiedError(str(error)) from error
    except BaseException:
        for future in futures:
            future.cancel()
        raise
