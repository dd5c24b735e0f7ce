"""scipy.assignment: brute force over permutations, the 2 x 2 closed form, the Birkhoff
polytope, torch gradients and error messages."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from perturbopt_scipy import AssignmentSolver

import perturbopt

NAME = "scipy.assignment"


def brute_force(theta: np.ndarray, sense: str) -> np.ndarray:
    """Enumerate every injective map of the shorter side into the longer one."""
    n, m = theta.shape
    best, best_value = None, None
    transposed = n > m
    matrix = theta.T if transposed else theta
    for columns in itertools.permutations(range(matrix.shape[1]), matrix.shape[0]):
        value = matrix[np.arange(matrix.shape[0]), list(columns)].sum()
        if best_value is None or (value < best_value if sense == "min" else value > best_value):
            best_value = value
            best = np.zeros(matrix.shape, dtype=np.int8)
            best[np.arange(matrix.shape[0]), list(columns)] = 1
    assert best is not None
    return best.T if transposed else best


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 2)])
@pytest.mark.parametrize("sense", ["min", "max"])
def test_matches_brute_force(shape: tuple[int, int], sense: str) -> None:
    rng = np.random.default_rng(hash((shape, sense)) % 2**32)
    solver = perturbopt.get_solver(NAME, sense=sense)
    for _ in range(5):
        theta = rng.normal(size=shape)
        y = solver.solve(theta)
        assert y.dtype == np.int8
        np.testing.assert_array_equal(y, brute_force(theta, sense))


def test_maximize_removed_in_0_3_names_the_options() -> None:
    assert AssignmentSolver().sense == "min"
    with pytest.raises(
        TypeError,
        match=r"solver 'scipy\.assignment' has no option 'maximize'\. "
        r"Its options: shape=None, sense='min'",
    ):
        perturbopt.get_solver("scipy.assignment", maximize=True)


def test_solve_batch_matches_solve() -> None:
    rng = np.random.default_rng(1)
    thetas = rng.normal(size=(6, 4, 3))
    solver = AssignmentSolver(shape=(4, 3))
    expected = np.stack([solver.solve(t) for t in thetas])
    np.testing.assert_array_equal(solver.solve_batch(thetas), expected)


@pytest.mark.parametrize("sense", ["min", "max"])
def test_two_by_two_closed_form(sense: str) -> None:
    """Gaussian noise: the diagonal wins with probability Phi(+-(t00 + t11 - t01 - t10) / (2 eps))."""
    theta = np.array([[0.3, 0.1], [0.2, 0.5]])
    eps = 0.4
    gap = (theta[0, 0] + theta[1, 1] - theta[0, 1] - theta[1, 0]) / (2 * eps)
    gap = gap if sense == "max" else -gap
    expected = 0.5 * (1 + math.erf(gap / math.sqrt(2)))
    result = perturbopt.perturbed(
        NAME, solver_options={"sense": sense}, epsilon=eps, num_samples=2000, seed=0
    ).solve(theta)
    assert abs(result.mean[0, 0] - expected) <= 4 * result.stderr[0, 0]
    assert result.mean[0, 0] == result.mean[1, 1]


def test_perturbed_mean_is_doubly_stochastic_and_converges() -> None:
    rng = np.random.default_rng(2)
    theta = rng.normal(size=(5, 5))
    hard = AssignmentSolver().solve(theta)
    wide = perturbopt.perturbed(NAME, epsilon=1.0, num_samples=200, seed=0).solve(theta).mean
    np.testing.assert_allclose(wide.sum(axis=0), 1.0)
    np.testing.assert_allclose(wide.sum(axis=1), 1.0)
    assert wide.min() >= 0 and np.abs(wide - hard).max() > 0.1
    narrow = perturbopt.perturbed(NAME, epsilon=1e-4, num_samples=20, seed=0).solve(theta).mean
    np.testing.assert_array_equal(narrow, hard)


def test_rectangular_perturbed_mean_covers_every_row() -> None:
    rng = np.random.default_rng(3)
    mean = perturbopt.perturbed(NAME, epsilon=1.0, num_samples=200, seed=0)(rng.normal(size=(3, 6)))
    np.testing.assert_allclose(mean.sum(axis=1), 1.0)
    assert np.all(mean.sum(axis=0) <= 1.0 + 1e-12)
    np.testing.assert_allclose(mean.sum(), 3.0)


def test_torch_gradient_is_the_vjp() -> None:
    torch = pytest.importorskip("torch")
    tp = pytest.importorskip("perturbopt.torch")
    rng = np.random.default_rng(4)
    theta, g = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    kwargs = {"epsilon": 0.5, "num_samples": 100, "seed": 0, "solver_options": {"sense": "max"}}
    theta_t = torch.tensor(theta, requires_grad=True)
    y = tp.PerturbedOptimizer(NAME, **kwargs)(theta_t)
    (y * torch.tensor(g)).sum().backward()
    expected = perturbopt.perturbed(NAME, **kwargs).solve(theta)
    assert theta_t.grad is not None and theta_t.grad.shape == theta_t.shape
    assert torch.isfinite(theta_t.grad).all()
    np.testing.assert_allclose(y.detach().numpy(), expected.mean)
    np.testing.assert_allclose(theta_t.grad.numpy(), expected.vjp(g))


def test_wrong_theta_shape() -> None:
    po = perturbopt.perturbed(NAME, solver_options={"shape": (3, 3)}, num_samples=2, seed=0)
    with pytest.raises(ValueError, match=r"'scipy\.assignment' takes instances of shape \(3, 3\)"):
        po.solve(np.ones((3, 4)))
    with pytest.raises(
        ValueError,
        match=r"solver 'scipy\.assignment': theta has shape "
        r"\(3, 4\).*\(3, 3\)",
    ):
        AssignmentSolver(shape=(3, 3)).solve(np.ones((3, 4)))
    with pytest.raises(
        ValueError,
        match=r"solver 'scipy\.assignment': theta has shape "
        r"\(3,\).*2 axes",
    ):
        AssignmentSolver().solve(np.ones(3))


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"shape": (3, 0)}, ValueError, r"shape must be a pair of positive integers"),
        ({"shape": 3}, TypeError, r"shape must be a pair of positive integers"),
        ({"sense": "largest"}, ValueError, r"sense must be 'max' or 'min'"),
    ],
)
def test_bad_options(options: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=r"^solver 'scipy\.assignment': " + message):
        AssignmentSolver(**options)
