"""Forks, threads sharing one object, and solvers changed after use.

* A child made by ``os.fork()`` (or ``multiprocessing`` with the fork start method)
  after parallel calls, or while another thread is inside one, solves as the parent
  would: it never waits for the parent's threads, processes or locks.
* One ``perturbed(...)`` object used from many threads at once gives, call for call,
  what a serial run with the same per-call seeds gives, even for a solver that keeps
  scratch state in the instance.
* The solver is frozen when ``perturbed()`` is called: changing it afterwards changes
  no sample of any call, wherever the samples are solved.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import cloudpickle
import joblib
import numpy as np
import pytest

import perturbopt

cloudpickle.register_pickle_by_value(sys.modules[__name__])

fork_only = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
CHILD_SECONDS = 60.0


class ScratchArgmax:
    """argmax through scratch state kept on the instance, as many adapters do (they
    write the costs into their model, then solve it): two threads in one instance
    at once mix their inputs."""

    sense = "max"
    name = "scratch-argmax"

    def __init__(self) -> None:
        self.costs: np.ndarray | None = None

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        self.costs = theta.copy()
        time.sleep(0)  # let another thread in, as native solvers do
        y = np.zeros_like(theta)
        y[int(np.argmax(self.costs))] = 1.0
        return y


class SlowArgmax:
    """argmax that takes a few milliseconds a solve (a call lasts long enough for
    another thread to fork during it)."""

    sense = "max"
    name = "slow-argmax"

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        time.sleep(0.005)
        y = np.zeros_like(theta)
        y[int(np.argmax(theta))] = 1.0
        return y


def _in_child(work: object) -> object:
    """``work()`` run in a forked child; its result, or a failure if the child hangs
    for ``CHILD_SECONDS`` or dies."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            payload = pickle.dumps(("ok", work()))  # type: ignore[operator]
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            payload, code = pickle.dumps(("error", repr(error))), 1
        with os.fdopen(write, "wb") as pipe:
            pipe.write(payload)
        os._exit(code)
    os.close(write)
    deadline = time.monotonic() + CHILD_SECONDS
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.02)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(read)
        pytest.fail(f"the forked child hung for {CHILD_SECONDS:.0f} s")
    with os.fdopen(read, "rb") as pipe:
        outcome, value = pickle.loads(pipe.read())
    assert outcome == "ok", value
    return value


@fork_only
@pytest.mark.parametrize("backend", ["threading", "loky"])
@pytest.mark.parametrize("shutdown_first", [False, True])
def test_a_child_forked_after_parallel_calls_solves_as_the_parent(
    force_dispatch: list[str], backend: str, shutdown_first: bool
) -> None:
    theta = np.random.default_rng(0).normal(size=(4, 12))
    with joblib.parallel_config(backend=backend):
        po = perturbopt.perturbed("ranking", num_samples=30, n_jobs=2, seed=1)
        for _ in range(3):
            po.solve(theta)
        expected = po.solve(theta, seed=7).mean
        if shutdown_first:
            perturbopt.shutdown_pools()
        in_child = _in_child(lambda: [po.solve(theta, seed=7).mean for _ in range(2)])
        again = po.solve(theta, seed=7).mean  # the parent's pool still works
    assert force_dispatch  # the calls were parallel
    for mean in in_child:  # type: ignore[attr-defined]
        np.testing.assert_array_equal(mean, expected)
    np.testing.assert_array_equal(again, expected)


@fork_only
@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_a_fork_while_another_thread_is_inside_a_call_is_safe(
    force_dispatch: list[str], backend: str
) -> None:
    theta = np.random.default_rng(1).normal(size=(3, 6))
    with joblib.parallel_config(backend=backend):
        po = perturbopt.perturbed(SlowArgmax(), num_samples=40, n_jobs=2, seed=3)
        expected = po.solve(theta, seed=5).mean
        started = threading.Event()

        def busy() -> None:
            started.set()
            for _ in range(3):
                po.solve(theta, seed=5)

        thread = threading.Thread(target=busy)
        thread.start()
        started.wait()
        time.sleep(0.05)  # inside a parallel call, holding its locks
        in_child = _in_child(lambda: po.solve(theta, seed=5).mean)
        thread.join()
    np.testing.assert_array_equal(in_child, expected)


def _solve_in_daemon(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    theta = np.arange(6.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        po = perturbopt.perturbed("ranking", num_samples=20, n_jobs=2, seed=0)
        mean = po.solve(theta).mean
    queue.put((mean, [str(w.message) for w in caught]))


@fork_only
def test_a_daemon_process_solves_alone_and_says_so_in_our_words() -> None:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=_solve_in_daemon, args=(queue,), daemon=True)
    process.start()
    mean, messages = queue.get(timeout=CHILD_SECONDS)
    process.join(timeout=CHILD_SECONDS)
    expected = perturbopt.perturbed("ranking", num_samples=20, n_jobs=1, seed=0).solve(
        np.arange(6.0)
    )
    np.testing.assert_array_equal(mean, expected.mean)
    assert len(messages) == 1, messages
    assert "daemon process" in messages[0] and "n_jobs=2 is not used" in messages[0]
    assert "loky" not in messages[0].lower()


def _run_threads(po: perturbopt.Perturbed, thetas: list[np.ndarray]) -> list[np.ndarray]:
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(po.solve, theta, seed=i) for i, theta in enumerate(thetas)]
        return [future.result().samples for future in futures]


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_threads_sharing_one_object_get_the_serial_results(n_jobs: int) -> None:
    rng = np.random.default_rng(2)
    thetas = [rng.normal(size=(2, 8)) for _ in range(40)]
    serial = perturbopt.perturbed(ScratchArgmax(), num_samples=25, n_jobs=1, seed=0)
    expected = [serial.solve(theta, seed=i).samples for i, theta in enumerate(thetas)]
    shared = perturbopt.perturbed(ScratchArgmax(), num_samples=25, n_jobs=n_jobs, seed=0)
    for got, want in zip(_run_threads(shared, thetas), expected, strict=True):
        np.testing.assert_array_equal(got, want)


SHIPPED_STATEFUL = [
    ("networkx.shortest_path", {"edges": [(0, 1), (1, 2), (0, 2), (2, 3), (1, 3)],
                                "source": 0, "target": 3}, (5,), 2.0),
    ("ortools.shortest_path", {"edges": [(0, 1), (1, 2), (0, 2), (2, 3), (1, 3)],
                               "source": 0, "target": 3}, (5,), 2.0),
    ("scipy.assignment", {"shape": (4, 4)}, (4, 4), 0.0),
]  # fmt: skip


@pytest.mark.parametrize(("name", "options", "shape", "offset"), SHIPPED_STATEFUL)
def test_threads_sharing_a_shipped_solver_get_the_serial_results(
    name: str, options: dict, shape: tuple[int, ...], offset: float
) -> None:
    if name not in {entry.name for entry in perturbopt.list_solvers()}:
        pytest.skip(f"{name} is not installed")
    rng = np.random.default_rng(3)
    thetas = [rng.uniform(0.5, 1.5, size=(2, *shape)) + offset for _ in range(24)]
    kwargs = {"solver_options": options, "epsilon": 0.3, "num_samples": 12}
    serial = perturbopt.perturbed(name, n_jobs=1, seed=0, **kwargs)
    expected = [serial.solve(theta, seed=i).samples for i, theta in enumerate(thetas)]
    shared = perturbopt.perturbed(name, n_jobs=1, seed=0, **kwargs)
    for got, want in zip(_run_threads(shared, thetas), expected, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("isolate", [False, True])
def test_a_solver_changed_after_use_changes_no_sample(
    force_dispatch: list[str], isolate: bool
) -> None:
    theta = np.random.default_rng(4).normal(size=(4, 10))
    po = perturbopt.perturbed(
        "topk", solver_options={"k": 1}, num_samples=100, n_jobs=2, seed=0, isolate=isolate
    )
    po.solve(theta)
    po.solver.k = 3  # too late: the solver was frozen by perturbed()
    samples = po.solve(theta).samples
    assert force_dispatch
    np.testing.assert_array_equal(samples.sum(axis=-1), np.ones(samples.shape[:-1]))
