"""A hung, crashing or scribbling solver, a bad argument or a huge request never costs
the user a session or a wrong number. One test per defect, each failing on the engine
that preceded these fixes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import cloudpickle
import joblib
import numpy as np
import pytest

import perturbopt

cloudpickle.register_pickle_by_value(sys.modules[__name__])


class Scribbler:
    """argmax that writes into its input before solving."""

    sense = "max"
    name = "scribbler"

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        theta[:] = -99.0
        if hint is not None:
            hint[:] = 0.0
        return np.eye(theta.shape[0])[0]


class Sleeper:
    """argmax that sleeps for ever when the first entry exceeds a threshold."""

    sense = "max"
    name = "sleeper"

    def __init__(self, threshold: float = 2.5) -> None:
        self.threshold = threshold

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        if theta[0] > self.threshold:
            time.sleep(1000)
        return np.eye(theta.shape[0])[np.argmax(theta)]


class Crasher:
    """argmax that kills its process (as a segfault would) on a negative first entry."""

    sense = "max"
    name = "crasher"

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        if theta[0] < 0:
            os._exit(11)
        return np.eye(theta.shape[0])[np.argmax(theta)]


# -- 1. solvers cannot corrupt results or the caller's data ----------------------------


@pytest.mark.parametrize("warm_start", [False, True])
def test_a_solver_that_writes_into_its_input_corrupts_nothing(warm_start: bool) -> None:
    theta = np.array([0.5, 0.2, 0.1])
    before = theta.copy()
    po = perturbopt.perturbed(Scribbler(), num_samples=4, seed=0, warm_start=warm_start)
    with pytest.raises(perturbopt.SolverError, match="read-only.*copy theta before changing"):
        po.solve(theta)
    np.testing.assert_array_equal(theta, before)


def test_results_never_alias_the_callers_array() -> None:
    theta = np.array([[1.0, 2.0, 3.0]])
    po = perturbopt.perturbed("argmax", num_samples=50, seed=0, perturbation="multiplicative")
    result = po.solve(theta)
    g = np.array([[1.0, -1.0, 0.5]])
    expected = result.vjp(g).copy()
    theta *= 10.0  # the caller changes its array between forward and backward
    np.testing.assert_array_equal(result.vjp(g), expected)
    assert not np.shares_memory(result.theta, theta)
    with pytest.raises(ValueError, match="read-only"):
        result.theta[0, 0] = 1.0


def test_torch_results_never_alias_the_callers_tensor() -> None:
    torch = pytest.importorskip("torch")
    from perturbopt.torch import PerturbedOptimizer

    layer = PerturbedOptimizer("argmax", num_samples=50, seed=0, perturbation="multiplicative")
    g = torch.tensor([[1.0, -1.0, 0.5]], dtype=torch.float64)
    grads = []
    for scale_in_between in (False, True):
        theta = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64, requires_grad=True)
        out = layer(theta, seed=1)
        if scale_in_between:
            with torch.no_grad():
                theta.mul_(10.0)
        out.backward(g)
        grads.append(theta.grad.clone())
    assert torch.equal(grads[0], grads[1])


# -- 2. timeouts, interrupts, orphans --------------------------------------------------


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_hung_solve_times_out_naming_the_sample_and_the_worker_is_replaced(n_jobs: int) -> None:
    theta = np.array([[0.0, 1.0], [1.0, 0.0]])
    po = perturbopt.perturbed(Sleeper(), num_samples=40, seed=0, timeout=0.5, n_jobs=n_jobs)
    started = time.monotonic()
    with pytest.raises(
        perturbopt.SolverTimeoutError,
        match=r"solver 'sleeper' timed out on sample \d+ of batch item 1",
    ) as caught:
        po.solve(theta)
    assert time.monotonic() - started < 10.0
    error = caught.value
    assert error.batch_item == 1 and error.solver == "sleeper"
    replay = perturbopt.perturbed("argmax", num_samples=40, seed=0).solve(theta)
    assert theta[1, 0] + replay.noise[error.sample, 1, 0] > 2.5  # the sample that hangs
    fine = np.array([[-9.0, 1.0]])
    np.testing.assert_array_equal(po(fine), [[0.0, 1.0]])


class ClusterBackend(joblib.parallel.ThreadingBackend):
    """Stands for a cluster backend (Dask, Ray): anything but joblib's local ones."""


def test_timeouts_refuse_a_cluster_backend() -> None:
    joblib.register_parallel_backend("fake-cluster", ClusterBackend)
    po = perturbopt.perturbed("argmax", num_samples=4, timeout=1.0)
    with (
        joblib.parallel_config(backend="fake-cluster"),
        pytest.raises(ValueError, match=r"timeout= and isolate=True .*\(ClusterBackend\)"),
    ):
        po.solve(np.zeros(3))


INTERRUPTED = """
    import os, signal, sys, threading, time
    import joblib, numpy as np, perturbopt
    sys.path.insert(0, {path!r})
    import cloudpickle, test_reliability as tr
    cloudpickle.register_pickle_by_value(tr)
    po = perturbopt.perturbed(tr.Sleeper(), num_samples=400, seed=0, n_jobs=2)
    po._spec.tuner.seconds_per_solve = 0.01  # dispatch at once
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
    threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    with joblib.parallel_config(backend={backend!r}):
        started = time.monotonic()
        try:
            po.solve(np.array([[0.0, 1.0], [1.0, 0.0]]))
        except KeyboardInterrupt:
            print("interrupted", round(time.monotonic() - started - 1.0, 2), flush=True)
        print("next", po(np.array([[-9.0, 1.0]])).tolist(), flush=True)
    perturbopt.shutdown_pools()
    print("shut down", flush=True)
"""


@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_keyboard_interrupt_returns_at_once_and_nothing_hangs_after(backend: str) -> None:
    code = textwrap.dedent(INTERRUPTED.format(path=str(Path(__file__).parent), backend=backend))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    assert lines[0].startswith("interrupted") and float(lines[0].split()[1]) < 1.0
    assert lines[1:] == ["next [[0.0, 1.0]]", "shut down"]


def test_an_interrupt_while_a_worker_starts_leaves_no_process_behind() -> None:
    from perturbopt._engine import processes as _processes

    started: list[subprocess.Popen[bytes]] = []

    def slow_start() -> subprocess.Popen[bytes]:
        time.sleep(0.5)
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        started.append(process)
        return process

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.1, lambda: os.kill(os.getpid(), signal.SIGINT))
    try:
        timer.start()
        began = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            _processes._Launcher().call(slow_start, undo=_processes._kill_process)
        assert time.monotonic() - began < 0.5  # control came back before the start ended
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 10.0
    while not (started and started[0].poll() is not None) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started and started[0].poll() is not None  # the process it started was killed


CLOBBERED_CTRL_C = """
    import ctypes, os, signal, sys, time
    import numpy as np, perturbopt
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it

    class Clobbering:
        # argmax that, like some native solvers, resets SIGINT to the C default
        sense = "max"
        name = "clobbering"

        def solve(self, theta, *, hint=None):
            ctypes.CDLL(None).signal(signal.SIGINT, 0)
            y = np.zeros(theta.shape)
            y[int(np.argmax(theta))] = 1.0
            return y

    perturbopt.perturbed(Clobbering(), num_samples=4, seed=0, n_jobs={n_jobs}).solve(np.ones(3))
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1.0)
    except KeyboardInterrupt:
        print("KeyboardInterrupt")
"""


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_solver_that_resets_ctrl_c_does_not_make_it_kill_the_caller(n_jobs: int) -> None:
    code = textwrap.dedent(CLOBBERED_CTRL_C.format(n_jobs=n_jobs))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, "KeyboardInterrupt"), done.stderr


ORPHANED = """
    import sys, numpy as np, perturbopt
    sys.path.insert(0, {path!r})
    import cloudpickle, test_reliability as tr
    cloudpickle.register_pickle_by_value(tr)
    po = perturbopt.perturbed(tr.Sleeper(), num_samples=40, seed=0, isolate=True, n_jobs=2)
    po.solve(np.array([[9.0, 1.0]]))
"""


def test_workers_exit_with_their_caller_even_when_stuck() -> None:
    code = textwrap.dedent(ORPHANED.format(path=str(Path(__file__).parent)))
    caller = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 30
        while len(_workers_of(caller.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = _workers_of(caller.pid)
        assert len(workers) == 2
    finally:
        caller.kill()
        caller.wait()
    deadline = time.monotonic() + 5.0
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def _workers_of(parent: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-ww", "-o", "pid=,ppid=,args=", "-e"], capture_output=True, text=True, check=False
    ).stdout
    return [
        int(line.split()[0])
        for line in out.splitlines()
        if int(line.split()[1]) == parent and "perturbopt._engine.worker" in line
    ]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = subprocess.run(
        ["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True, check=False
    ).stdout.strip()
    return bool(state) and not state.startswith("Z")


# -- 3. crashes -------------------------------------------------------------------------


def test_isolate_survives_a_native_crash_and_names_the_samples() -> None:
    theta = np.array([[0.0, 1.0]])
    po = perturbopt.perturbed(Crasher(), num_samples=40, seed=3, isolate=True)
    with pytest.raises(
        perturbopt.SolverCrashError,
        match="solver 'crasher' crashed on "
        r"sample \d+ of batch item 0",
    ) as caught:
        po.solve(theta)
    replay = perturbopt.perturbed("argmax", num_samples=40, seed=3).solve(theta)
    crashing = np.flatnonzero(replay.noise[:, 0, 0] < 0)
    assert caught.value.sample == crashing[0]  # one worker: the first crashing sample
    np.testing.assert_array_equal(po(np.array([[9.0, 1.0]])), [[1.0, 0.0]])


# -- 5. size guard ------------------------------------------------------------------------


def test_a_huge_request_is_refused_before_any_allocation() -> None:
    po = perturbopt.perturbed("argmax", num_samples=10**9)
    started = time.monotonic()
    with pytest.raises(
        perturbopt.MemoryLimitError,
        match=r"would hold .* GiB .*keep_noise=False.*num_samples.*"
        r"memory_limit=.*PERTURBOPT_MEMORY_LIMIT",
    ) as caught:
        po.solve(np.zeros(3))
    assert time.monotonic() - started < 1.0
    assert caught.value.needed > caught.value.limit


def test_the_memory_limit_can_be_set_and_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    theta = np.zeros((4, 10))
    with pytest.raises(perturbopt.MemoryLimitError):
        perturbopt.perturbed("argmax", num_samples=100, memory_limit="10KiB").solve(theta)
    perturbopt.perturbed("argmax", num_samples=100, memory_limit="1MiB").solve(theta)
    monkeypatch.setenv("PERTURBOPT_MEMORY_LIMIT", "10KiB")
    with pytest.raises(perturbopt.MemoryLimitError):
        perturbopt.perturbed("argmax", num_samples=100).solve(theta)


@pytest.mark.parametrize("zero", ["0", "0B", " 0GiB ", "0.0"])
def test_a_memory_limit_of_0_in_the_environment_means_no_limit(
    zero: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "0" used to become a limit of 1 byte ("over the memory limit of 1 B").
    monkeypatch.setenv("PERTURBOPT_MEMORY_LIMIT", zero)
    result = perturbopt.perturbed("argmax", num_samples=100, seed=0).solve(np.zeros((4, 10)))
    assert result.mean.shape == (4, 10)
    assert result.jacobian().shape == (4, 10, 10)


@pytest.mark.parametrize("zero", [0, 0.0, "0", "0MiB"])
def test_memory_limit_0_means_no_limit_and_overrides_the_environment(
    zero: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERTURBOPT_MEMORY_LIMIT", "10KiB")
    po = perturbopt.perturbed("argmax", num_samples=100, memory_limit=zero)
    assert po.memory_limit == 0
    assert po.solve(np.zeros((4, 10))).mean.shape == (4, 10)


def test_a_tiny_memory_limit_is_one_byte_not_none() -> None:
    po = perturbopt.perturbed("argmax", num_samples=4, memory_limit="0.5")
    with pytest.raises(perturbopt.MemoryLimitError, match="over the memory limit of 1 B"):
        po.solve(np.zeros(3))


def test_released_noise_is_never_held_after_a_vjp() -> None:
    result = perturbopt.perturbed("argmax", num_samples=30, seed=0, keep_noise=False).solve(
        np.zeros((2, 4))
    )
    result.vjp(np.ones((2, 4)))
    result.jacobian()
    assert result.noise_cache is None


# -- 6. arguments are checked at construction, naming the argument ---------------------


@pytest.mark.parametrize(
    "options,error,match",
    [
        ({"n_jobs": "2"}, TypeError, "n_jobs must be an integer"),
        ({"n_jobs": 2.5}, TypeError, "n_jobs must be an integer"),
        ({"n_jobs": True}, TypeError, "n_jobs must be an integer"),
        ({"n_jobs": 0}, ValueError, "n_jobs=0 names no worker"),
        ({"n_jobs": -100}, ValueError, "n_jobs=-100 asks for all but 99"),
        ({"warm_start": "no"}, TypeError, "warm_start must be True or False"),
        ({"keep_noise": 1}, TypeError, "keep_noise must be True or False"),
        ({"ndim": 0}, ValueError, "ndim=0 contradicts solver 'argmax'"),
        ({"timeout": 0}, ValueError, "timeout must be a finite number > 0"),
        ({"dtype": "float16"}, ValueError, "dtype must be 'float64' or 'float32'"),
        ({"memory_limit": "lots"}, ValueError, "memory_limit must be a number of bytes"),
        ({"memory_limit": -1}, ValueError, r"memory_limit must be a number of bytes >= 0 \(0 "),
        ({"seed": "abc"}, TypeError, "seed must be None, a non-negative int"),
        ({"epsilonn": 1.0}, TypeError, "unknown option 'epsilonn'; did you mean 'epsilon'"),
    ],
)
def test_bad_options_are_refused_at_construction(options: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        perturbopt.perturbed("argmax", **options)


def test_masked_arrays_are_refused_rather_than_unmasked() -> None:
    theta = np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False])
    with pytest.raises(TypeError, match=r"masked array.*\.filled"):
        perturbopt.perturbed("argmax", num_samples=4)(theta)


def test_a_perturbed_input_that_overflows_is_an_error_not_inf() -> None:
    po = perturbopt.perturbed("argmax", num_samples=4, epsilon=1e308, seed=0)
    with pytest.raises(ValueError, match=r"theta perturbed at sample \d+ is not finite"):
        po.solve(np.array([1e308, 0.0]))


def test_multiplicative_noise_that_underflows_is_an_error_not_a_biased_mean() -> None:
    # exp(40 Z - 800) is 0 or subnormal for almost every Z: the mean used to be biased to
    # index 0 with a value of 1e-299 and a zero VJP, without a word.
    theta = np.random.default_rng(0).uniform(1, 2, 5)
    po = perturbopt.perturbed("argmax", epsilon=40, perturbation="multiplicative", seed=0)
    with pytest.raises(ValueError, match=r"theta perturbed at sample \d+ underflows") as info:
        po.solve(theta)
    message = str(info.value)
    assert "[-708.4, 709.8] for float64" in message
    assert "smaller epsilon" in message and "perturbation='additive'" in message


def test_an_underflowing_batch_item_is_named() -> None:
    # Item 0 is safe; item 1 sits at the smallest normal number, so any factor below 1
    # makes it subnormal.
    theta = np.array([[1.0, 2.0, 3.0], [3e-308, 3e-308, 3e-308]])
    po = perturbopt.perturbed("argmax", epsilon=0.5, perturbation="multiplicative", seed=0)
    with pytest.raises(ValueError, match=r"sample \d+ of batch item 1 underflows: theta\[\d\]"):
        po.solve(theta)


def test_the_float32_range_of_multiplicative_noise_is_its_own() -> None:
    # eps^2/2 = 112.5 is inside float64's exponent range, outside float32's.
    theta = np.array([1.0, 2.0, 3.0])
    options = {"epsilon": 15.0, "perturbation": "multiplicative", "seed": 0, "num_samples": 8}
    assert np.isfinite(perturbopt.perturbed("argmax", **options).solve(theta).value)
    po = perturbopt.perturbed("argmax", dtype="float32", **options)
    with pytest.raises(ValueError, match=r"underflows.*\[-87\.3, 88\.7\] for float32"):
        po.solve(theta)


# -- 7. shapes and messages -----------------------------------------------------------------


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_integer_solutions_above_2_53_stay_exact(n_jobs: int | None) -> None:
    # They used to be stored as float64: 2**53 + 1 came back as 2**53.
    big = 2**53 + 1

    def huge_sign(theta: np.ndarray) -> np.ndarray:
        return np.where(theta > 0, big, -big).astype(np.int64)

    theta = np.array([[1.0, -1.0, 2.0], [-3.0, 4.0, -5.0]])
    po = perturbopt.perturbed(huge_sign, num_samples=6, epsilon=0.01, seed=0, n_jobs=n_jobs)
    result = po.solve(theta)
    assert result.samples.dtype == np.int64
    expected = np.where(theta > 0, big, -big)
    for sample in result.samples:
        assert sample.tolist() == expected.tolist()  # exact Python ints
    np.testing.assert_array_equal(result.mean, expected.astype(np.float64))
    perturbed_inputs = theta + 0.01 * result.noise[0]
    exact = (expected.astype(object) * perturbed_inputs.astype(object)).sum(axis=1)
    np.testing.assert_allclose(result.sample_values[0], exact.astype(np.float64), rtol=1e-12)


def test_unbatched_samples_have_no_batch_axis() -> None:
    result = perturbopt.perturbed("argmax", num_samples=5, seed=0).solve(np.zeros(3))
    assert result.samples.shape == (5, 3) and result.sample_values.shape == (5,)
    assert result.noise.shape == (5, 3) and result.mean.shape == (3,)


def test_zero_theta_message_is_right_for_gumbel_noise() -> None:
    po = perturbopt.perturbed("argmax", noise="gumbel", epsilon=0.5, perturbation="multiplicative")
    with pytest.raises(ValueError, match=r"theta\[1\] is 0.*exp\(eps Z - log E\[exp\(eps Z\)\]\)"):
        po(np.array([1.0, 0.0]))


# -- 8. torch: a per-call seed for gradcheck, a clear error for double backward ----------


def test_gradcheck_passes_on_the_perturbed_optimum_with_a_fixed_seed() -> None:
    torch = pytest.importorskip("torch")
    from perturbopt.torch import FenchelYoungLoss, PerturbedOptimum

    theta = torch.tensor(
        [[0.3, -0.2, 0.9], [0.1, 0.4, -0.5]], dtype=torch.float64, requires_grad=True
    )
    optimum = PerturbedOptimum("argmax", epsilon=0.5, num_samples=50)
    assert torch.autograd.gradcheck(lambda t: optimum(t, seed=3), (theta,))
    loss = FenchelYoungLoss("argmax", epsilon=0.5, num_samples=50, reduction="sum")
    y = torch.eye(3, dtype=torch.float64)[[2, 1]]
    assert torch.autograd.gradcheck(lambda t: loss(t, y, seed=4), (theta,))


def test_gradcheck_passes_on_the_perturbed_optimizer_at_monte_carlo_tolerance() -> None:
    torch = pytest.importorskip("torch")
    from perturbopt.torch import PerturbedOptimizer

    layer = PerturbedOptimizer("argmax", epsilon=1.0, num_samples=200_000, noise="gumbel")
    theta = torch.tensor([0.2, -0.3, 0.5], dtype=torch.float64, requires_grad=True)
    # With common random numbers the finite differences of the Monte-Carlo mean and the
    # score-function VJP estimate the same softmax Jacobian (entries ~0.2) within ~0.01.
    assert torch.autograd.gradcheck(
        lambda t: layer(t, seed=5), (theta,), eps=0.05, atol=0.03, rtol=0.0
    )


def test_double_backward_needs_the_noise_in_torch_and_says_so() -> None:
    torch = pytest.importorskip("torch")
    from perturbopt._noise import Gaussian
    from perturbopt.torch import PerturbedOptimizer

    class Plain(Gaussian):  # a plugin's noise: a score in numpy, no torch_nu
        name = "plain"

    theta = torch.tensor([0.2, -0.3, 0.5], dtype=torch.float64, requires_grad=True)
    out = PerturbedOptimizer("argmax", num_samples=20, seed=0)(theta)
    (grad,) = torch.autograd.grad(out[0], theta, create_graph=True)
    assert grad.requires_grad  # second derivatives work with the built-in noises

    out = PerturbedOptimizer("argmax", num_samples=20, seed=0, noise=Plain())(theta)
    torch.autograd.grad(out[0], theta)  # first derivatives need no torch_nu
    out = PerturbedOptimizer("argmax", num_samples=20, seed=0, noise=Plain())(theta)
    with pytest.raises(TypeError, match="noise 'plain' has none: give its class a method torch_nu"):
        torch.autograd.grad(out[0], theta, create_graph=True)


def test_signal_handlers_are_left_as_they_were() -> None:
    before = signal.getsignal(signal.SIGINT)
    perturbopt.perturbed(Sleeper(9.0), num_samples=8, seed=0, isolate=True)(np.zeros(2))
    assert signal.getsignal(signal.SIGINT) is before
