"""The engine's threads: persistent daemon threads that work through a list of tasks
beside the calling thread.

Tasks are handed out in index order and their results consumed in index order, under
one lock, as soon as the next one is ready; so a reduction over the results (a sum of
partial Jacobian products, say) is bit-identical whatever the number of threads, and
holds only the few results that finished out of order. The helper threads are daemons
and the caller waits for them interruptibly: a stuck solve can keep a helper busy, but
never blocks the caller's ``KeyboardInterrupt``, a later call or the interpreter's exit
(a busy helper is left behind and a fresh one takes its place).
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .._forks import on_fork_in_child
from .ordered import InOrder

__all__ = ["ThreadWorkers", "engine_thread", "restore_interrupt_handler", "thread_workers"]

T = TypeVar("T")


def restore_interrupt_handler() -> None:
    """Reinstall, in the main thread, the SIGINT handler Python believes is installed.

    Some native solvers install their own Ctrl-C handler for a solve and reset SIGINT to
    the C default when they finish (CP-SAT with ``catch_sigint_signal``); a Ctrl-C would
    then kill the process instead of raising ``KeyboardInterrupt``. Re-setting Python's
    own handler undoes that and changes nothing otherwise.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    handler = signal.getsignal(signal.SIGINT)
    if handler is not None:  # None: a handler installed outside Python, left alone
        signal.signal(signal.SIGINT, handler)


def engine_thread(target: Callable[[], None], name: str) -> threading.Thread:
    """Start a daemon thread that never receives SIGINT: the kernel then delivers a
    Ctrl-C to the main thread, whose ``KeyboardInterrupt`` stops the call, instead of
    to an engine thread that may be stuck in a solve."""

    def run() -> None:
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        target()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


class _Helper:
    """One daemon thread that runs the jobs put on its queue."""

    def __init__(self, owner: ThreadWorkers) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._owner = owner
        self.thread = engine_thread(self._loop, "perturbopt-thread")

    def submit(self, job: Callable[[], None], done: threading.Event) -> None:
        def run() -> None:
            try:
                job()
            finally:
                done.set()
                self._owner._idle(self)

        self._jobs.put(run)

    def _loop(self) -> None:
        while True:
            self._jobs.get()()


class _Run:
    """The shared state of one `ThreadWorkers.run_ordered` call."""

    def __init__(
        self, count: int, task: Callable[[int], Any], consume: Callable[[int, Any], bool | None]
    ) -> None:
        self.count = count
        self.task = task
        self.lock = threading.Lock()
        self.next_task = 0
        self.results: InOrder[Any] = InOrder(consume)
        self.error: BaseException | None = None

    def work(self) -> None:
        """Take tasks until none is left or the run stopped."""
        while True:
            with self.lock:
                if self.results.stopped or self.next_task >= self.count:
                    return
                index = self.next_task
                self.next_task += 1
            try:
                result = self.task(index)
            except KeyboardInterrupt:  # only the calling thread receives SIGINT
                with self.lock:
                    self.results.stop()
                raise
            except BaseException as error:  # noqa: BLE001 - handed to the caller
                with self.lock:
                    if self.error is None:
                        self.error = error
                    self.results.stop()
                return
            with self.lock:
                self.results.put(index, result)


class ThreadWorkers:
    """A set of helper threads, grown on demand and kept across calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free: list[_Helper] = []

    def _idle(self, helper: _Helper) -> None:
        with self._lock:
            self._free.append(helper)

    def _take(self) -> _Helper:
        with self._lock:
            if self._free:
                return self._free.pop()
        return _Helper(self)

    def run_ordered(
        self,
        count: int,
        task: Callable[[int], T],
        consume: Callable[[int, T], bool | None],
        *,
        helpers: int,
    ) -> None:
        """Run ``task(0) .. task(count - 1)`` on the calling thread and up to ``helpers``
        helper threads, and ``consume(i, result)`` in index order.

        ``consume`` runs under the run's lock; returning ``False`` stops the run (tasks
        already started finish, their results are dropped). An exception raised by a
        task stops the run and is raised here.
        """
        run = _Run(count, task, consume)
        waits = []
        for _ in range(max(0, min(helpers, count - 1))):
            done = threading.Event()
            self._take().submit(run.work, done)
            waits.append(done)
        try:
            run.work()
            for done in waits:
                done.wait()
        except BaseException:
            with run.lock:
                run.results.stop()
            raise
        if run.error is not None:
            raise run.error


_workers = ThreadWorkers()


def thread_workers() -> ThreadWorkers:
    """The process's helper threads."""
    return _workers


def _forget_threads() -> None:
    """In a forked child: the parent's helper threads do not exist here (a task handed
    to one would never run), so start with none."""
    global _workers
    _workers = ThreadWorkers()


on_fork_in_child(_forget_threads)
