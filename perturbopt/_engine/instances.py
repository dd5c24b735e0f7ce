"""Solver specs, and the instances each process or thread builds from them.

A `SolverSpec` is the solver as the engine sees it: the caller's own instance,
and a picklable recipe from which any thread or worker process builds its own copy,
once, and keeps it across calls in a small cache keyed by the recipe's digest.

Two rules keep every solve of a call on one solver state:

* The solver is frozen when `perturbopt.perturbed` is called: a copy is taken
  then (built from the recipe), and every thread and process solves with that copy or
  with copies of the same recipe, the calling thread included. Changing the object
  afterwards (``po.solver.k = 3``) changes nothing; build a new ``perturbed()``.
  Two exceptions: a plain function is called as it is in the calling thread (a
  function has no state of its own to freeze), and a solver that cannot be pickled is
  used as it is (no copy of it exists anywhere, so nothing can disagree with it).
* One instance never runs in two threads at once. The calling thread's copy is lent to
  one calling thread at a time (`SolverSpec.instance_here`); a second thread that
  calls the same object meanwhile takes a copy from the process's cache, built from
  the recipe, as the engine's helper threads do (a solver that cannot be copied is
  waited for instead).
"""

from __future__ import annotations

import hashlib
import pickle
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

try:  # joblib >= 1.6 depends on cloudpickle; older releases vendor it
    import cloudpickle
except ImportError:  # pragma: no cover
    from joblib.externals import cloudpickle  # type: ignore[no-redef]

from .._forks import ForkSafeLock, on_fork_in_child
from .._solver import FunctionSolver, solver_name
from .tuning import Tuner

__all__ = ["SolverSpec", "acquire_instance", "release_instance"]

CACHE_LIMIT = 16
"""Distinct solvers whose instances a process keeps."""


@dataclass(eq=False)
class SolverSpec:
    """A solver: the caller's instance and how other threads and processes rebuild it.

    Args:
        solver: the solver as given (or as built from its name): its attributes
            (``name``, ``sense``, ``shape``, ...) describe the solver; solves run on a
            copy of it taken now (see the module's docstring).
        recipe: ``(factory, options)`` that builds an equivalent instance, or ``None`` to
            send a pickled copy of ``solver`` (a solver holding unpicklable state, such as
            a compiled model, can define ``__reduce__`` to rebuild itself).

    Attributes:
        tuner: what has been measured of this solver's solves and calls.
    """

    solver: Any
    recipe: tuple[Callable[..., Any], dict[str, Any]] | None = None
    tuner: Tuner = field(default_factory=Tuner, repr=False)
    _payload: tuple[str, bytes] | TypeError | None = field(default=None, repr=False)
    _home_instance: Any = field(default=None, repr=False)
    _lock: ForkSafeLock = field(default_factory=ForkSafeLock, repr=False)
    _home: ForkSafeLock = field(default_factory=ForkSafeLock, repr=False)

    def __post_init__(self) -> None:
        self._home_instance = self.solver
        if isinstance(self.solver, FunctionSolver):
            return  # a plain function is called as it is
        try:
            _, payload = self.payload()
        except TypeError:
            return  # no copy can exist: the instance itself is used
        self._home_instance = build_instance(payload)

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
                try:
                    self._payload = _pickle_spec(self)
                except TypeError as error:
                    self._payload = error
            if isinstance(self._payload, TypeError):
                raise self._payload
            return self._payload

    @contextmanager
    def instance_here(self) -> Iterator[Any]:
        """An instance for the calling thread, for the length of one call: the frozen
        copy if no other thread is using it, else a copy from this process's cache (a
        solver that cannot be copied is waited for instead)."""
        if self._home.acquire(blocking=False):
            try:
                yield self._home_instance
            finally:
                self._home.release()
            return
        try:
            digest, payload = self.payload()
        except TypeError:
            with self._home:
                yield self._home_instance
            return
        instance = acquire_instance(digest, payload)
        yield instance
        release_instance(digest, instance)


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
_cache_lock = ForkSafeLock()


def _forget_instances() -> None:
    """In a forked child: start with no cached instance (native solvers may hold
    threads or handles that stayed in the parent)."""
    _cache.clear()


on_fork_in_child(_forget_instances)


def acquire_instance(digest: str, payload: bytes) -> Any:
    """A free instance of the solver ``digest`` in this process, built if there is none.

    Each thread holds the instance it acquired until `release_instance`, so no
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
