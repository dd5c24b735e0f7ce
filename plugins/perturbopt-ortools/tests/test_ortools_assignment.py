"""ortools.assignment against brute force and scipy, its perturbed mean, gradients, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from perturbopt_ortools import AssignmentSolver, StatusError
from scipy.optimize import linear_sum_assignment

import perturbopt

NAME = "ortools.assignment"


def brute_force(theta: np.ndarray) -> tuple[list[float], list[tuple[int, ...]]]:
    """Costs of every permutation, sorted, with the permutations."""
    n = theta.shape[0]
    perms = list(itertools.permutations(range(n)))
    costs = [float(theta[np.arange(n), p].sum()) for p in perms]
    order = np.argsort(costs)
    return [costs[i] for i in order], [perms[i] for i in order]


@pytest.mark.parametrize("resolution", [1e-6, 0.05])
def test_optimal_for_real_costs_against_brute_force(resolution: float) -> None:
    rng = np.random.default_rng(0)
    solver = perturbopt.get_solver(NAME, resolution=resolution)
    checked = 0
    for trial in range(60):
        n = 2 + trial % 4
        theta = rng.normal(size=(n, n)) * 3
        costs, perms = brute_force(theta)
        if costs[1] - costs[0] <= n * resolution:
            continue  # the rounding to `resolution` may pick either
        y = solver.solve(theta)
        assert y.dtype == np.int8
        expected = np.zeros((n, n), dtype=np.int8)
        expected[np.arange(n), perms[0]] = 1
        np.testing.assert_array_equal(y, expected)
        checked += 1
    assert checked >= 30


def test_max_sense_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    solver = perturbopt.get_solver(NAME, sense="max")
    assert solver.sense == "max"
    for n in (3, 7, 12):
        theta = rng.uniform(-5, 5, size=(n, n))
        rows, cols = linear_sum_assignment(theta, maximize=True)
        y = solver.solve(theta)
        np.testing.assert_allclose((y * theta).sum(), theta[rows, cols].sum(), atol=n * 1e-6)


def test_perturbed_mean_is_doubly_stochastic_and_converges() -> None:
    theta = np.random.default_rng(2).normal(size=(5, 5))
    hard = perturbopt.get_solver(NAME).solve(theta)
    errors = []
    for epsilon in (1.0, 0.1, 1e-4):
        mean = perturbopt.perturbed(NAME, epsilon=epsilon, num_samples=50, seed=0).solve(theta).mean
        np.testing.assert_allclose(mean.sum(axis=0), 1.0)
        np.testing.assert_allclose(mean.sum(axis=1), 1.0)
        assert mean.min() >= 0 and mean.max() <= 1
        errors.append(np.abs(mean - hard).max())
    assert errors[0] > 0.05  # smooth at a large epsilon ...
    assert errors[-1] == 0.0  # ... and the hard solution as epsilon -> 0


def test_torch_gradient_equals_vjp() -> None:
    torch = pytest.importorskip("torch")
    tp = pytest.importorskip("perturbopt.torch")
    rng = np.random.default_rng(3)
    theta, g = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    options = {"epsilon": 0.5, "num_samples": 30, "seed": 0, "solver_options": {"resolution": 1e-6}}
    layer = tp.PerturbedOptimizer(NAME, **options)
    tensor = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    y = layer(tensor)
    (y * torch.as_tensor(g)).sum().backward()
    grad = tensor.grad.numpy()
    assert grad.shape == theta.shape and np.isfinite(grad).all()
    result = perturbopt.perturbed(NAME, **options).solve(theta)
    np.testing.assert_allclose(y.detach().numpy(), result.mean)
    np.testing.assert_allclose(grad, result.vjp(g), rtol=1e-10, atol=1e-12)


def test_non_square_theta_names_the_solver() -> None:
    with pytest.raises(ValueError, match=r"'ortools.assignment'.*square.*\(2, 3\)"):
        perturbopt.get_solver(NAME).solve(np.zeros((2, 3)))
    with pytest.raises(perturbopt.SolverError, match=r"'ortools.assignment'.*square"):
        perturbopt.perturbed(NAME, num_samples=2, seed=0).solve(np.zeros((2, 3)))


def test_fixed_shape_is_checked_before_any_solve() -> None:
    po = perturbopt.perturbed(NAME, solver_options={"shape": (3, 3)}, num_samples=2, seed=0)
    with pytest.raises(ValueError, match=r"ortools.assignment.*shape \(3, 3\)"):
        po.solve(np.zeros((4, 4)))
    assert po.solve(np.eye(3)).mean.shape == (3, 3)
    with pytest.raises(ValueError, match=r"shape must be square \(n, n\).*\(3, 4\)"):
        AssignmentSolver(shape=(3, 4))


def test_n_removed_in_0_3_names_the_options() -> None:
    with pytest.raises(
        TypeError,
        match=r"solver 'ortools\.assignment' has no option 'n'\. Its options: sense='min', "
        r"resolution=1e-06, shape=None",
    ):
        perturbopt.get_solver(NAME, n=3)


def test_overflow_and_bad_options() -> None:
    with pytest.raises(OverflowError, match=r"'ortools.assignment'.*larger resolution"):
        perturbopt.get_solver(NAME).solve(np.full((2, 2), 1e12))
    huge = AssignmentSolver(resolution=1.0)
    theta = np.random.default_rng(4).uniform(0, 2**52, size=(40, 40))
    with pytest.raises(StatusError, match="POSSIBLE_OVERFLOW.*larger resolution"):
        huge.solve(theta)
    with pytest.raises(ValueError, match="resolution must be a finite number > 0"):
        AssignmentSolver(resolution=0.0)
    with pytest.raises(TypeError, match="resolution must be a positive number"):
        AssignmentSolver(resolution="1e-6")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sense must be 'max' or 'min'"):
        AssignmentSolver(sense="maximize")  # type: ignore[arg-type]
