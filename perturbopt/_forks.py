"""Surviving ``os.fork()``: what a child process must not inherit from its parent.

A forked child has one thread, the one that forked. The engine's helper threads, its
worker processes (children of the parent, not of the child), the locks that another
thread held at the moment of the fork and the calls in flight in other threads all stay
behind in the parent. The child must therefore start with an empty engine, rebuilt on
demand, and never touch what it inherited: waiting on a helper thread that does not
exist, or on a lock that nobody will release, hangs for ever; stopping the parent's
workers would break the parent.

Each module that keeps such process-wide state registers a reset with
`on_fork_in_child`; objects that keep a lock of their own use `ForkSafeLock`,
which is replaced by a fresh, released lock the first time it is used in a new child.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from types import TracebackType

__all__ = ["ForkSafeLock", "on_fork_in_child"]

_generation = 0
_resets: list[Callable[[], None]] = []


def on_fork_in_child(reset: Callable[[], None]) -> None:
    """Run ``reset()`` in every child process forked from this one, before it runs
    anything else (in registration order)."""
    _resets.append(reset)


def _after_fork_in_child() -> None:
    global _generation
    _generation += 1
    for reset in _resets:
        reset()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


class ForkSafeLock:
    """A lock that a forked child finds released, whoever held it in the parent.

    It behaves as ``threading.Lock`` (or ``threading.RLock`` with ``reentrant=True``);
    the first use in a child process made by ``os.fork()`` replaces it with a new one.
    Copies (``copy.deepcopy``, pickling) get a new lock too.
    """

    __slots__ = ("_generation", "_lock", "_reentrant")

    def __init__(self, *, reentrant: bool = False) -> None:
        self._reentrant = reentrant
        self._generation = _generation
        self._lock: threading.Lock | threading.RLock = self._new()

    def _new(self) -> threading.Lock | threading.RLock:
        return threading.RLock() if self._reentrant else threading.Lock()

    def _current(self) -> threading.Lock | threading.RLock:
        if self._generation != _generation:
            self._lock = self._new()
            self._generation = _generation
        return self._lock

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """As ``threading.Lock.acquire``."""
        return self._current().acquire(blocking, timeout)

    def release(self) -> None:
        """As ``threading.Lock.release``."""
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    def __reduce__(self) -> tuple[type[ForkSafeLock], tuple[()], dict[str, bool]]:
        return (ForkSafeLock, (), {"_reentrant": self._reentrant})

    def __setstate__(self, state: dict[str, bool]) -> None:
        self._reentrant = state["_reentrant"]
        self._generation = _generation
        self._lock = self._new()

    def __deepcopy__(self, memo: dict[int, object]) -> ForkSafeLock:
        return ForkSafeLock(reentrant=self._reentrant)
