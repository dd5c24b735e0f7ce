"""Solver specs, and the instances each process or thread builds from them.

A :class:`SolverSpec` is the solver as the engine sees it: the caller's own instance,
and a picklable recipe from which any thread or worker process builds its own copy,
once, and keeps it across calls in a small cache keyed by the recipe's digest.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

try:  # joblib >= 1.6 depends on cloudpickle; older releases vendor it
    import cloudpickle
except ImportError:  # pragma: no cover
    from joblib.externals import cloudpickle  # type: ignore[no-redef]

from ._solver import solver_name
from ._tuning import ModeTimes

__all__ = ["SolverSpec", "acquire_instance", "release_instance"]

CACHE_LIMIT = 16
"""Distinct solvers whose instances a process keeps."""


@dataclass(eq=False)
class SolverSpec:
    """A solver: the caller's instance and how other threads and processes rebuild it.

    Args:
        solver: the instance used in the calling thread.
        recipe: ``(factory, options)`` that builds an equivalent instance, or ``None`` to
            send a pickled copy of ``solver`` (a solver holding unpicklable state, such as
            a compiled model, can define ``__reduce__`` to rebuild itself).

    Attributes:
        seconds_per_row: the measured time of one solve, ``None`` until measured.
        modes: the measured wall time per row of its calls, per place they ran.
    """

    solver: Any
    recipe: tuple[Callable[..., Any], dict[str, Any]] | None = None
    seconds_per_row: float | None = None
    modes: ModeTimes = field(default_factory=ModeTimes, repr=False)
    _payload: tuple[str, bytes] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def name(self) -> str:
        return solver_name(self.solver)

    @property
    def releases_gil(self) -> bool:
        """Whether the solver declares that one instance per thread runs in parallel."""
        return getattr(self.solver, "releases_gil", False) is True

    @property
    def builtin(self) -> bool:
        """Whether the solver is one of the core's vectorised built-ins (numpy only: they
        never touch process state such as signal handlers)."""
        return type(self.solver).__module__ == "perturbopt._builtins"

    def payload(self) -> tuple[str, bytes]:
        """``(digest, pickled recipe)``, computed once.

        Raises:
            TypeError: neither the recipe nor the instance pickles.
        """
        with self._lock:
            if self._payload is None:
                self._payload = _pickle_spec(self)
            return self._payload

    def record(self, seconds: float, rows: int) -> None:
        """Fold a measured time into the estimate of seconds per solve."""
        if rows <= 0:
            return
        measured = seconds / rows
        previous = self.seconds_per_row
        self.seconds_per_row = measured if previous is None else 0.5 * (previous + measured)


def _pickle_spec(spec: SolverSpec) -> tuple[str, bytes]:
    candidates: list[tuple[str, Any]] = [("instance", spec.solver)]
    if spec.recipe is not None:
        candidates.insert(0, ("factory", spec.recipe))
    errors = []
    for candidate in candidates:
        try:
            payload = cloudpickle.dumps(candidate)
        except Exception as error:  # noqa: BLE001 - try the next way
            errors.append(error)
            continue
        return hashlib.blake2b(payload, digest_size=16).hexdigest(), payload
    last = errors[-1]
    raise TypeError(
        f"solver {spec.name!r} cannot be sent to parallel workers: it does not pickle "
        f"({type(last).__name__}: {last}). Give it __reduce__ (rebuild it from its options), "
        "or use n_jobs=1"
    ) from last


def build_instance(payload: bytes) -> Any:
    """A new solver instance from a pickled recipe."""
    kind, spec = pickle.loads(payload)
    if kind == "factory":
        factory, options = spec
        return factory(**options)
    return spec


_cache: OrderedDict[str, list[Any]] = OrderedDict()
_cache_lock = threading.Lock()


def acquire_instance(digest: str, payload: bytes) -> Any:
    """A free instance of the solver ``digest`` in this process, built if there is none.

    Each thread holds the instance it acquired until :func:`release_instance`, so no
    instance ever runs in two threads at once.
    """
    with _cache_lock:
        free = _cache.get(digest)
        if free:
            _cache.move_to_end(digest)
            return free.pop()
    return build_instance(payload)


def release_instance(digest: str, instance: Any) -> None:
    """Give an instance back for later calls (forget the oldest solvers beyond the limit)."""
    with _cache_lock:
        _cache.setdefault(digest, []).append(instance)
        _cache.move_to_end(digest)
        while len(_cache) > CACHE_LIMIT:
            _cache.popitem(last=False)
