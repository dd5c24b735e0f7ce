"""The main loop of an engine worker process (started by `perturbopt._engine.processes`).

Messages come from the parent as cloudpickled tuples on one pipe, answers go back as
pickles on another:

* ``("spec", digest, payload)``: a solver recipe, built into an instance right away and
  answered with ``("built", digest)`` (a failure is reported by the first task instead);
* ``("task", task_id, digest, call, inputs, start, stop, per_row)``: answered with
  ``("result", task_id, TaskOutput or RowFailure)``; ``inputs`` is the pickled
  ``(source, hints)`` of call ``call``, sent with the first task of each call only;
* ``("stop",)``, or the pipe closing: exit.

Before each solve the worker writes ``(task_id, row, start time)`` into a small block of
memory it shares with its parent, which is how the parent knows which row a stuck or
crashed worker was solving. The worker ignores SIGINT (the parent handles interrupts and
kills workers that must stop), and exits when its parent dies: at once on Linux (the
kernel's parent-death signal), within half a second elsewhere (a watchdog thread).
"""

from __future__ import annotations

import ctypes
import functools
import math
import mmap
import os
import pickle
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

STATUS_SLOTS = 3
"""``(task_id, row, start time)`` in float64; start time NaN while idle."""

_PR_SET_PDEATHSIG = 1


def _exit_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # pragma: no cover - no prctl
            pass
    if os.getppid() != parent:
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="perturbopt-watchdog", daemon=True).start()


def main(task_fd: int, result_fd: int, status_fd: int, parent: int) -> None:
    """Serve tasks until told to stop or the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(parent)
    from .instances import acquire_instance, release_instance
    from .tasks import serve_task

    tasks = Connection(task_fd, writable=False)
    results = Connection(result_fd, readable=False)
    status = np.frombuffer(mmap.mmap(status_fd, STATUS_SLOTS * 8), dtype=np.float64)
    status[2] = math.nan
    payloads: dict[str, bytes] = {}
    call_inputs: tuple[int, Any] = (-1, None)
    results.send_bytes(pickle.dumps(("ready", os.getpid())))
    while True:
        try:
            message: Any = pickle.loads(tasks.recv_bytes())
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        if message[0] == "spec":
            _, digest, payload = message
            payloads[digest] = payload
            try:
                release_instance(digest, acquire_instance(digest, payload))
            except Exception:  # noqa: BLE001, S110 - reported by the first task instead
                pass
            results.send_bytes(pickle.dumps(("built", digest)))
            continue
        _, task_id, digest, call, inputs, start, stop, per_row = message
        if inputs is not None:
            call_inputs = (call, pickle.loads(inputs))
        source, hints = call_inputs[1]
        status[0] = task_id

        work = _task_work(source, start, stop, hints, per_row, status)
        output = serve_task(digest, payloads[digest], start, work)
        status[2] = math.nan
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a solver may have reset it
        results.send_bytes(
            pickle.dumps(("result", task_id, output), protocol=pickle.HIGHEST_PROTOCOL)
        )


def _task_work(
    source: Any, start: int, stop: int, hints: Any, per_row: bool, status: np.ndarray
) -> Any:
    """`run_task` bound to a task's rows, writing the row being solved and its start
    time into the memory shared with the parent before each solve."""
    from .tasks import run_task

    def on_row(row: int) -> None:
        status[2] = time.monotonic()
        status[1] = row

    return functools.partial(
        run_task, source=source, start=start, stop=stop, hints=hints, per_row=per_row, on_row=on_row
    )
