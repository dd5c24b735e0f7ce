"""Bad input gets a clear error, before any solver runs where possible; after a
solver error the same perturbed object and its worker pool still work."""

from __future__ import annotations

import sys

import cloudpickle
import joblib
import numpy as np
import pytest

import perturbopt

cloudpickle.register_pickle_by_value(sys.modules[__name__])


SOLVES: list[int] = []
"""One entry per solve of any copy of :class:`CountingSolver` in this process (the
engine solves with a copy taken at construction, never with the object given)."""


class CountingSolver:
    """argmax that counts its calls, to prove validation happens before solving."""

    sense = "max"
    name = "counting"

    @property
    def calls(self) -> int:
        return len(SOLVES)

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        SOLVES.append(1)
        return np.eye(theta.shape[-1])[np.argmax(theta)]


class FailsOnNegativeFirst:
    """Raises when the first coordinate of its input is negative."""

    sense = "max"
    name = "picky"

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        if theta[0] < 0:
            raise ValueError("INFEASIBLE")
        return np.eye(theta.shape[-1])[np.argmax(theta)]


@pytest.fixture
def counting() -> CountingSolver:
    SOLVES.clear()
    return CountingSolver()


@pytest.mark.parametrize(
    "theta,error,match",
    [
        (np.array([0.0, np.nan, 1.0]), ValueError, r"theta contains NaN at theta\[1\]"),
        (np.array([[0.0, 1.0], [np.inf, 2.0]]), ValueError, r"inf at theta\[1, 0\]"),
        (np.array(["a", "b"]), TypeError, "real numeric array, got dtype <U1"),
        (np.array([1 + 2j, 3j]), TypeError, "real numeric array, got dtype complex"),
        ([[1.0, 2.0], [3.0]], TypeError, "theta must be a numeric array"),
        (np.float64(3.0), ValueError, r"theta has shape \(\)"),
        (np.zeros((0, 3)), ValueError, "the batch is empty"),
    ],
)
def test_bad_theta(counting: CountingSolver, theta: object, error: type, match: str) -> None:
    po = perturbopt.perturbed(counting, num_samples=4, seed=0)
    with pytest.raises(error, match=match):
        po.solve(theta)
    assert counting.calls == 0


@pytest.mark.parametrize(
    "options,error,match",
    [
        ({"epsilon": 0.0}, ValueError, "epsilon must be a finite number > 0, got 0.0"),
        ({"epsilon": -1.0}, ValueError, "epsilon must be a finite number > 0"),
        ({"epsilon": float("nan")}, ValueError, "epsilon must be a finite number > 0"),
        ({"epsilon": "big"}, TypeError, "epsilon must be a positive number"),
        ({"num_samples": 0}, ValueError, "num_samples must be >= 1, got 0"),
        ({"num_samples": 2.5}, TypeError, "num_samples must be an integer"),
        ({"noise": "gausian"}, perturbopt.UnknownNameError, "did you mean 'gaussian'"),
        ({"noise": 3}, TypeError, "noise must be a registered name"),
        ({"perturbation": "multiplicatve"}, ValueError, "perturbation must be 'additive' or"),
        ({"antithetic": True, "noise": "gumbel"}, ValueError, "symmetric noise"),
        ({"antithetic": True, "num_samples": 3}, ValueError, "even num_samples, got 3"),
        (
            {"perturbation": "multiplicative", "noise": "gumbel", "epsilon": 1.5},
            ValueError,
            "epsilon < 1",
        ),
    ],
)
def test_bad_options(options: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        perturbopt.perturbed("argmax", **options)


def test_unknown_solver_name() -> None:
    with pytest.raises(perturbopt.UnknownNameError, match="unknown solver 'argmx'.*'argmax'"):
        perturbopt.perturbed("argmx")


def test_bad_solver_objects_and_options() -> None:
    with pytest.raises(TypeError, match="not a solver"):
        perturbopt.perturbed(object())
    with pytest.raises(TypeError, match="sense='max' or sense='min'"):
        perturbopt.perturbed(type("NoSense", (), {"solve": lambda self, t: t})())
    with pytest.raises(
        TypeError,
        match=r"could not build solver 'topk' with solver_options=\{'kk': 2\}: solver 'topk' "
        r"has no option 'kk'; did you mean 'k'\? Its options: k \(required\)",
    ):
        perturbopt.perturbed("topk", solver_options={"kk": 2})
    with pytest.raises(
        TypeError, match=r"solver 'topk' needs option 'k': get_solver\('topk', k=...\)"
    ):
        perturbopt.perturbed("topk")
    with pytest.raises(
        TypeError, match=r"unknown option 'k'\. Solver options go in solver_options=\{'k': ...\}"
    ):
        perturbopt.perturbed("topk", k=2)
    with pytest.raises(ValueError, match="topk needs an integer k >= 1"):
        perturbopt.perturbed("topk", solver_options={"k": 0})
    with pytest.raises(ValueError, match="sense='min' was asked for"):
        perturbopt.perturbed("argmax", sense="min")


def test_zeros_under_multiplicative_noise(counting: CountingSolver) -> None:
    po = perturbopt.perturbed(counting, perturbation="multiplicative", num_samples=4)
    with pytest.raises(ValueError, match=r"theta\[1, 2\] is 0.*perturbation='additive'"):
        po.solve(np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 0.0]]))
    with pytest.raises(ValueError, match=r"theta\[0\] is 0"):
        po.solve(np.array([0.0, 1.0]))
    assert counting.calls == 0


@pytest.mark.parametrize(
    "function,match",
    [
        (lambda t: np.zeros(t.size + 1), r"returned shape \(4,\); expected \(3,\)"),
        (lambda t: np.full(t.shape, np.nan), r"non-finite value \(nan\) at index \[0\]"),
        (lambda t: np.array(["x"] * t.size), "dtype <U1"),
    ],
)
def test_solver_breaking_the_contract(function: object, match: str) -> None:
    po = perturbopt.perturbed(function, num_samples=3, seed=0)
    with pytest.raises(
        perturbopt.SolverContractError,
        match="solver '<lambda>' broke the solver contract on sample 0: .*" + match,
    ):
        po.solve(np.array([1.0, 2.0, 3.0]))


def test_batch_solver_breaking_the_contract_is_located() -> None:
    def batch(thetas: np.ndarray) -> np.ndarray:
        out = np.zeros(thetas.shape)
        out[5, 1] = np.inf
        return out

    po = perturbopt.perturbed(perturbopt.as_solver(batch, batched=True), num_samples=4, seed=0)
    with pytest.raises(
        perturbopt.SolverContractError,
        match=r"on sample 2 of batch item 1: returned a non-finite value \(inf\) "
        r"at index \[1\]",
    ):
        po.solve(np.zeros((2, 3)))


def test_solver_exception_names_solver_sample_and_item() -> None:
    po = perturbopt.perturbed(FailsOnNegativeFirst(), epsilon=1.0, num_samples=50, seed=0)
    theta = np.array([[5.0, 0.0], [0.2, 0.0], [5.0, 1.0]])
    with pytest.raises(
        perturbopt.SolverError,
        match=r"solver 'picky' failed on sample \d+ of batch item 1: "
        r"ValueError: INFEASIBLE",
    ) as caught:
        po.solve(theta)
    assert isinstance(caught.value.__cause__, ValueError)
    assert caught.value.batch_item == 1
    sample = caught.value.sample
    assert theta[1, 0] + result_noise(po, theta, sample) < 0


def result_noise(po: perturbopt.Perturbed, theta: np.ndarray, sample: int) -> float:
    """The first coordinate of the noise of batch item 1 that the failing call drew: the
    noise is a function of the key and the shape alone, so any solver replays it."""
    replay = perturbopt.perturbed("argmax", num_samples=po.num_samples, seed=0).solve(theta)
    return float(po.epsilon * replay.noise[sample, 1, 0])


@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_failure_in_workers_then_the_same_object_still_works(
    force_dispatch: list[str], backend: str
) -> None:
    serial = perturbopt.perturbed(FailsOnNegativeFirst(), num_samples=40, seed=3)
    with joblib.parallel_config(backend=backend):
        po = perturbopt.perturbed(FailsOnNegativeFirst(), num_samples=40, seed=3, n_jobs=2)
        with pytest.raises(perturbopt.SolverError) as in_workers:
            po.solve(np.array([[5.0, 0.0], [0.1, 0.0]]))
        with pytest.raises(perturbopt.SolverError) as in_process:
            serial.solve(np.array([[5.0, 0.0], [0.1, 0.0]]))
        assert str(in_workers.value) == str(in_process.value)  # the lowest failing row wins
        assert isinstance(in_workers.value.__cause__, ValueError)
        fine = np.array([[5.0, 0.0], [6.0, 1.0]])
        np.testing.assert_array_equal(po.solve(fine).samples, serial.solve(fine).samples)
    assert force_dispatch


def test_failure_of_the_unperturbed_solve_is_named() -> None:
    po = perturbopt.perturbed(FailsOnNegativeFirst(), warm_start=True, num_samples=2)
    with pytest.raises(perturbopt.SolverError, match="unperturbed theta of batch item 1"):
        po.solve(np.array([[1.0, 0.0], [-1.0, 0.0]]))


def test_unpicklable_solver_on_workers_is_a_clear_error(force_dispatch: list[str]) -> None:
    import threading

    class Locked(CountingSolver):
        def __init__(self) -> None:
            super().__init__()
            self.lock = threading.Lock()

    po = perturbopt.perturbed(Locked(), num_samples=8, n_jobs=2)
    with pytest.raises(TypeError, match="cannot be sent to parallel workers.*n_jobs=1"):
        po.solve(np.zeros((2, 3)))


def test_bad_cotangent_shape() -> None:
    result = perturbopt.perturbed("argmax", num_samples=4, seed=0).solve(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"g has shape \(3,\); .* \(2, 3\)"):
        result.vjp(np.zeros(3))


class CrashesInWorkers:
    """argmax that kills its worker process on a negative first entry (never in the
    process that built it), like a segfault in a solver's native code."""

    sense = "max"
    name = "crashy"

    def __init__(self) -> None:
        import os

        self.home = os.getpid()

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        import os

        if theta[0] < 0 and os.getpid() != self.home:
            os._exit(3)
        return np.eye(theta.shape[-1])[np.argmax(theta)]


def test_a_dead_worker_is_reported_and_the_pool_recovers(force_dispatch: list[str]) -> None:
    po = perturbopt.perturbed(CrashesInWorkers(), num_samples=40, seed=0, isolate=True)
    with pytest.raises(
        perturbopt.SolverCrashError, match="solver 'crashy' crashed on sample 0 of batch item 0"
    ) as caught:
        po.solve(np.array([[-9.0, 0.0]]))  # every perturbed first entry is negative
    assert caught.value.samples[0] == (0, 0)
    fine = np.array([[5.0, 0.0], [6.0, 1.0]])
    expected = perturbopt.perturbed(CrashesInWorkers(), num_samples=40, seed=9).solve(fine)
    np.testing.assert_array_equal(po.solve(fine, seed=9).samples, expected.samples)
