"""The engine's worker processes, and the loop that shares a call's tasks between them
and, unless solves are isolated, the calling process itself.

Why not loky or multiprocessing: the engine must know which row a worker is solving
(to name the sample of a timeout or a crash), kill one stuck worker and carry on, stay
responsive to ``KeyboardInterrupt`` while workers are stuck in native code, and never
leave a process behind. Each worker is a plain ``python -c`` subprocess with two pipes
and a 24-byte block of shared memory where it writes the row it is solving; it exits
with its parent. Workers start in the background: a call uses those that are ready and
the calling process solves the rest, so a first call never waits for a worker to start
(isolated calls excepted, which must wait).
"""

from __future__ import annotations

import atexit
import itertools
import math
import mmap
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

import numpy as np

try:  # joblib >= 1.6 depends on cloudpickle; older releases vendor it
    import cloudpickle
except ImportError:  # pragma: no cover
    from joblib.externals import cloudpickle  # type: ignore[no-redef]

from .._forks import on_fork_in_child
from .failures import RowFailure
from .ordered import InOrder
from .tasks import TaskOutput
from .threads import engine_thread
from .worker import STATUS_SLOTS

__all__ = ["ProcessWorkers", "Shipment", "process_workers", "shutdown_processes"]

IN_FLIGHT = 2
"""Tasks queued on a worker at once, so it never waits for the parent between tasks."""

STARTUP_SECONDS = 60.0
"""How long an isolated call waits for a worker process to start before failing."""


def _shared_status() -> tuple[int, mmap.mmap]:
    """A file descriptor of a small zeroed memory block, and its mapping here."""
    size = STATUS_SLOTS * 8
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("perturbopt-status", 0)
    else:  # pragma: no cover - macOS and other POSIX systems
        with tempfile.TemporaryFile() as handle:
            fd = os.dup(handle.fileno())
    os.ftruncate(fd, size)
    return fd, mmap.mmap(fd, size)


class _Launcher:
    """Starts worker processes from one long-lived thread, so that the kernel's
    parent-death signal (which follows the thread that forked) fires when the process
    dies, not when the thread that happened to start the worker ends."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[tuple[Callable[[], Any], queue.SimpleQueue[Any]]] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def call(self, function: Callable[[], Any], undo: Callable[[Any], None]) -> Any:
        """``function()``'s value, computed on the launcher thread; if the caller is
        interrupted while it waits, ``undo`` is applied to the value once it comes (so
        that an interrupt never leaves an untracked worker behind)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = engine_thread(self._loop, "perturbopt-launcher")
        reply: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._requests.put((function, reply))
        try:
            outcome, value = reply.get()
        except BaseException:
            engine_thread(lambda: _undo_when_done(reply, undo), "perturbopt-undo")
            raise
        if outcome == "error":
            raise value
        return value

    def _loop(self) -> None:
        while True:
            function, reply = self._requests.get()
            try:
                reply.put(("ok", function()))
            except BaseException as error:  # noqa: BLE001 - handed to the caller
                reply.put(("error", error))


_launcher = _Launcher()


def _undo_when_done(reply: queue.SimpleQueue[Any], undo: Callable[[Any], None]) -> None:
    outcome, value = reply.get()
    if outcome == "ok":
        undo(value)


def _kill_process(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait()


@dataclass(eq=False)
class _Worker:
    """One worker process as the parent sees it."""

    process: subprocess.Popen[bytes]
    to_worker: Connection
    from_worker: Connection
    status: np.ndarray
    mapping: mmap.mmap
    ready: bool = False
    specs: set[str] = field(default_factory=set)  # sent
    built: set[str] = field(default_factory=set)  # built: the worker answered
    call: int = -1  # the call whose inputs this worker holds
    in_flight: deque[int] = field(default_factory=deque)
    outbox: queue.SimpleQueue[bytes | None] = field(default_factory=queue.SimpleQueue)

    def __post_init__(self) -> None:
        # Sends go through a thread of their own: a blocking send to a worker that is
        # itself blocked sending a large result would otherwise deadlock the two.
        engine_thread(self._send_loop, "perturbopt-sender")

    def _send_loop(self) -> None:
        try:
            while (message := self.outbox.get()) is not None:
                self.to_worker.send_bytes(message)
        except (OSError, ValueError):  # the worker died: its results pipe says so
            pass
        finally:
            self.to_worker.close()

    @classmethod
    def start(cls, threads_per_worker: int) -> _Worker:
        task_read, task_write = os.pipe()
        result_read, result_write = os.pipe()
        status_fd, mapping = _shared_status()
        code = (
            f"import sys; sys.path[:0] = {sys.path!r}; from perturbopt._engine.worker import main; "
            f"main({task_read}, {result_write}, {status_fd}, {os.getpid()})"
        )
        env = dict(os.environ)
        for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(variable, str(threads_per_worker))
        try:
            process = _launcher.call(
                lambda: subprocess.Popen(
                    [sys.executable, "-c", code],
                    pass_fds=(task_read, result_write, status_fd),
                    env=env,
                    stdin=subprocess.DEVNULL,
                ),
                undo=_kill_process,
            )
        finally:
            for fd in (task_read, result_write, status_fd):
                os.close(fd)
        return cls(
            process,
            Connection(task_write, readable=False),
            Connection(result_read, writable=False),
            np.frombuffer(mapping, dtype=np.float64),
            mapping,
        )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, message: tuple[Any, ...]) -> None:
        self.outbox.put(cloudpickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    def running(self) -> tuple[int, int, float] | None:
        """``(task_id, row, seconds since that row started)``, or ``None`` if idle."""
        task_id, row, began = (float(v) for v in self.status)
        if math.isnan(began) or not self.in_flight or int(task_id) != self.in_flight[0]:
            return None
        return int(task_id), int(row), time.monotonic() - began

    def kill(self) -> None:
        """Kill the process and release its pipes (never blocks for long)."""
        try:
            self.process.kill()
            self.process.wait(timeout=2.0)
        except (OSError, subprocess.TimeoutExpired):  # pragma: no cover - already reaped
            pass
        self.close()

    def stop(self) -> None:
        """Ask the process to exit, and kill it if it has not within a second."""
        self.send(("stop",))
        try:
            self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self.kill()
        self.close()

    def close(self) -> None:
        self.outbox.put(None)
        try:
            self.from_worker.close()
        except OSError:  # pragma: no cover
            pass

    def disown(self) -> None:
        """In a forked child: close the inherited ends of the parent's pipes and shared
        memory, and leave the process (the parent's child, not ours) alone."""
        for connection in (self.to_worker, self.from_worker):
            try:
                connection.close()
            except OSError:  # pragma: no cover
                pass
        self.status = np.empty(0)
        try:
            self.mapping.close()
        except (BufferError, ValueError):  # pragma: no cover - a view still exported
            pass


_calls = itertools.count()


@dataclass(frozen=True)
class Shipment:
    """What the worker processes need of a call: the solver's recipe (sent to a worker
    once), the call's pickled ``(source, hints)`` (sent once per worker and call), and
    whether to solve row by row, saying which row runs (for timeouts)."""

    digest: str
    payload: bytes
    inputs: bytes
    per_row: bool


@dataclass
class _Call:
    """The bookkeeping of one call shared between the workers and the caller."""

    shipment: Shipment
    tasks: Sequence[tuple[int, int]]
    results: InOrder[TaskOutput | RowFailure]
    number: int = field(default_factory=lambda: next(_calls))
    next_task: int = 0
    assigned: dict[int, _Worker] = field(default_factory=dict)
    lost: list[RowFailure] = field(default_factory=list)
    solved_by_workers: int = 0

    def take(self) -> int | None:
        if self.results.stopped or self.next_task >= len(self.tasks):
            return None
        self.next_task += 1
        return self.next_task - 1

    def fail(self, failure: RowFailure) -> None:
        """A failure outside any task's result (a timeout or a crash): stop the call."""
        self.lost.append(failure)
        self.results.stop()

    @property
    def busy(self) -> bool:
        return bool(self.assigned)


class ProcessWorkers:
    """The worker processes of this process, kept across calls."""

    def __init__(self) -> None:
        self._workers: list[_Worker] = []
        self._lock = threading.RLock()

    def _ensure(self, count: int) -> list[_Worker]:
        self._workers = [w for w in self._workers if w.alive or w.in_flight]
        if len(self._workers) > count:
            for worker in self._workers[count:]:
                worker.stop()
            self._workers = self._workers[:count]
        threads = max(1, (os.cpu_count() or 1) // max(count, 1))
        while len(self._workers) < count:
            self._workers.append(_Worker.start(threads))
        return self._workers

    @staticmethod
    def _read(worker: _Worker) -> tuple[Any, ...] | None:
        """The next message from a worker, or ``None`` if it died."""
        try:
            return pickle.loads(worker.from_worker.recv_bytes())  # type: ignore[no-any-return]
        except (EOFError, OSError):
            return None

    @staticmethod
    def _note(worker: _Worker, message: tuple[Any, ...]) -> bool:
        """Take in a start-up message (``ready``, ``built``); ``False`` for others."""
        if message[0] == "ready":
            worker.ready = True
        elif message[0] == "built":
            worker.built.add(message[1])
        else:
            return False
        return True

    def _collect_ready(self, workers: list[_Worker], timeout: float) -> None:
        """Read the start-up messages of workers that became ready."""
        starting = [w for w in workers if not w.ready]
        if not starting:
            return
        for connection in wait([w.from_worker for w in starting], timeout=timeout):
            worker = next(w for w in starting if w.from_worker is connection)
            message = self._read(worker)
            if message is None:
                worker.kill()
            else:
                self._note(worker, message)

    def run(
        self,
        shipment: Shipment,
        tasks: Sequence[tuple[int, int]],
        consume: Callable[[int, TaskOutput | RowFailure], bool | None],
        *,
        workers: int,
        caller: Callable[[int, int], TaskOutput | RowFailure] | None,
        timeout: float | None,
    ) -> tuple[list[RowFailure], int]:
        """Solve ``tasks`` (row ranges of the shipped source) on ``workers`` processes,
        and on the calling thread too when ``caller`` is given; ``consume(i, result)``
        in task order.

        Returns:
            Failures that belong to no task's result (timeouts and crashes; the workers
            concerned were killed), and how many tasks the workers solved (none when
            they were still starting: the caller then did everything).
        """
        with self._lock:
            call = _Call(shipment, tasks, InOrder(consume))
            try:
                pool = self._ensure(workers)
                self._collect_ready(pool, 0.0)
                if caller is None:
                    pool = self._wait_for_one(workers)
                self._loop(workers, call, caller, timeout)
            except BaseException:
                for worker in self._workers:
                    if worker.in_flight:
                        worker.kill()
                        worker.in_flight.clear()
                raise
            return call.lost, call.solved_by_workers

    def _wait_for_one(self, workers: int) -> list[_Worker]:
        """The pool, after waiting for at least one of its workers to be ready (dead ones
        are replaced first)."""
        pool = self._ensure(workers)
        deadline = time.monotonic() + STARTUP_SECONDS
        while not any(w.ready and w.alive for w in pool):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"no perturbopt worker process started within {STARTUP_SECONDS:.0f} s"
                )
            self._collect_ready(pool, 0.5)
            for worker in pool:
                if not worker.alive and not worker.ready:
                    raise RuntimeError(
                        f"a perturbopt worker process exited at start with "
                        f"code {worker.process.returncode}; run "
                        "`python -c 'import perturbopt._engine.worker'` to see why"
                    )
        return pool

    @staticmethod
    def _dispatch(pool: list[_Worker], call: _Call, caller_helps: bool) -> None:
        """Queue tasks on every ready worker, up to ``IN_FLIGHT`` each (the solver's
        recipe first, where the worker has not had it)."""
        shipment = call.shipment
        for worker in pool:
            if not (worker.ready and worker.alive):
                continue
            if shipment.digest not in worker.specs:
                worker.send(("spec", shipment.digest, shipment.payload))
                worker.specs.add(shipment.digest)
            if caller_helps and worker.specs - worker.built:
                continue  # the caller works on while the worker builds a solver
            while len(worker.in_flight) < IN_FLIGHT:
                index = call.take()
                if index is None:
                    return
                start, stop = call.tasks[index]
                inputs = shipment.inputs if worker.call != call.number else None
                worker.send(
                    ("task", index, shipment.digest, call.number, inputs, start, stop)
                    + (shipment.per_row,)
                )
                worker.call = call.number
                worker.in_flight.append(index)
                call.assigned[index] = worker

    def _loop(
        self,
        workers: int,
        call: _Call,
        caller: Callable[[int, int], TaskOutput | RowFailure] | None,
        timeout: float | None,
    ) -> None:
        """Hand out tasks and take in results until the call is done: the caller, if it
        helps, solves a task whenever none of its results is waiting."""
        while True:
            pool = self._workers
            self._collect_ready(pool, 0.0)
            self._dispatch(pool, call, caller is not None)
            if caller is not None:
                index = call.take()
                if index is not None:
                    call.results.put(index, caller(*call.tasks[index]))
                    self._receive(pool, call, 0.0)
                    continue
            if not call.busy:
                if caller is None and call.next_task < len(call.tasks) and not call.results.stopped:
                    self._wait_for_one(workers)  # no worker is usable: replace them
                    continue
                return
            self._receive(pool, call, self._tick(pool, timeout))
            if timeout is not None:
                self._enforce(pool, call, timeout)

    @staticmethod
    def _tick(pool: list[_Worker], timeout: float | None) -> float | None:
        if timeout is None:
            return None
        left = [timeout - r[2] for w in pool if (r := w.running()) is not None]
        return max(0.005, min([0.25] + left))

    def _receive(self, pool: list[_Worker], call: _Call, timeout: float | None) -> None:
        busy = [w for w in pool if w.in_flight]
        starting = [
            w for w in pool if w.alive and not w.in_flight and (not w.ready or w.specs - w.built)
        ]
        watched = {w.from_worker: w for w in busy + starting}
        if not watched:
            return
        for connection in wait(list(watched), timeout=timeout):
            worker = watched[connection]  # type: ignore[index]
            message = self._read(worker)
            if message is None:
                self._worker_died(worker, call)
                continue
            if self._note(worker, message):
                continue
            _, index, output = message
            worker.in_flight.remove(index)
            call.assigned.pop(index, None)
            call.solved_by_workers += 1
            call.results.put(index, output)

    def _enforce(self, pool: list[_Worker], call: _Call, timeout: float) -> None:
        for worker in pool:
            running = worker.running()
            if running is None or running[2] <= timeout:
                continue
            _, row, seconds = running
            worker.kill()
            self._abandon(worker, call)
            call.fail(
                RowFailure(
                    row,
                    "timeout",
                    f"the solve ran past the timeout of "
                    f"{timeout:g} s (stopped after {seconds:.3g} s); its worker "
                    "process was killed",
                )
            )

    def _worker_died(self, worker: _Worker, call: _Call) -> None:
        running = worker.running()
        worker.kill()
        code = worker.process.returncode
        if running is not None:
            call.fail(
                RowFailure(
                    running[1],
                    "crashed",
                    f"the worker process died while "
                    f"solving it (exit code {code}: a crash in the solver's "
                    "native code?)",
                )
            )
        elif worker.in_flight:
            start = call.tasks[worker.in_flight[0]][0]
            call.fail(
                RowFailure(
                    start,
                    "crashed",
                    f"the worker process died (exit code {code}) before or after solving it",
                )
            )
        self._abandon(worker, call)

    @staticmethod
    def _abandon(worker: _Worker, call: _Call) -> None:
        for index in worker.in_flight:
            call.assigned.pop(index, None)
        worker.in_flight.clear()

    def shutdown(self) -> None:
        """Stop every worker (never hangs: stuck ones are killed)."""
        locked = self._lock.acquire(timeout=1.0)
        try:
            workers, self._workers = self._workers, []
        finally:
            if locked:
                self._lock.release()
        for worker in workers:
            if worker.in_flight or not worker.alive:
                worker.kill()
            else:
                worker.stop()


_processes = ProcessWorkers()
_disowned: list[_Worker] = []


def _forget_processes() -> None:
    """In a forked child: the worker processes, the launcher thread and the lock (which
    another thread of the parent may have held) stay the parent's; start with none."""
    global _processes, _launcher
    for worker in _processes._workers:
        worker.disown()
    _disowned.extend(_processes._workers)  # never collected: their Popen is not ours
    _processes = ProcessWorkers()
    _launcher = _Launcher()


on_fork_in_child(_forget_processes)


def process_workers() -> ProcessWorkers:
    """The process's worker processes."""
    return _processes


def shutdown_processes() -> None:
    """Stop this process's worker processes."""
    _processes.shutdown()


atexit.register(shutdown_processes)
