"""The estimators against the closed forms of Berthet et al. (2020).

Tolerances are multiples of the Monte-Carlo standard error, computed from the closed
form where there is one; every seed is fixed, so each test is deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp, softmax
from scipy.stats import norm

import perturbopt

Z_SCORE = 5.0  # a fixed-seed test fails by chance with probability ~ 6e-7 per coordinate


def test_gumbel_argmax_mean_is_softmax() -> None:
    theta, eps, m = np.array([0.3, -1.0, 1.2, 0.0, 0.5]), 0.7, 40_000
    po = perturbopt.perturbed("argmax", epsilon=eps, num_samples=m, noise="gumbel", seed=1)
    result = po.solve(theta)
    p = softmax(theta / eps)
    stderr = np.sqrt(p * (1 - p) / m)
    assert np.all(np.abs(result.mean - p) < Z_SCORE * stderr)
    np.testing.assert_allclose(result.stderr, stderr, rtol=0.05)


def test_gumbel_argmax_value_is_smoothed_max() -> None:
    theta, eps, m = np.array([0.3, -1.0, 1.2, 0.0, 0.5]), 0.7, 40_000
    po = perturbopt.perturbed("argmax", epsilon=eps, num_samples=m, noise="gumbel", seed=2)
    result = po.solve(theta)
    expected = eps * logsumexp(theta / eps) + eps * np.euler_gamma
    # max_i (theta_i + eps Z_i) is Gumbel(location eps*logsumexp(theta/eps), scale eps):
    stderr = eps * np.pi / np.sqrt(6) / np.sqrt(m)
    assert abs(result.value - expected) < Z_SCORE * stderr
    assert result.value_stderr == pytest.approx(stderr, rel=0.05)


def test_gaussian_sign_mean_is_normal_cdf() -> None:
    theta, eps, m = np.array([-1.5, -0.2, 0.0, 0.4, 2.0]), 0.8, 40_000
    result = perturbopt.perturbed("sign", epsilon=eps, num_samples=m, seed=3).solve(theta)
    expected = 2 * norm.cdf(theta / eps) - 1
    stderr = np.sqrt((1 - expected**2) / m)
    assert np.all(np.abs(result.mean - expected) < Z_SCORE * stderr)


def test_batched_closed_form_matches_per_item() -> None:
    theta, eps, m = np.array([[0.0, 1.0, 2.0], [2.0, 0.0, -1.0]]), 1.0, 20_000
    result = perturbopt.perturbed(
        "argmax", epsilon=eps, num_samples=m, noise="gumbel", seed=4
    ).solve(theta)
    p = softmax(theta / eps, axis=1)
    assert result.mean.shape == (2, 3) and result.value.shape == (2,)
    assert np.all(np.abs(result.mean - p) < Z_SCORE * np.sqrt(p * (1 - p) / m))


@pytest.mark.parametrize("solver", ["argmax", "topk", "ranking", "sign"])
def test_scaling_identity(solver: str) -> None:
    """``y_eps(theta) = y_1(theta / eps)`` with common noise: the same samples exactly."""
    theta, eps = np.random.default_rng(5).normal(size=(3, 7)), 0.3
    options = {"k": 3} if solver == "topk" else None
    small = perturbopt.perturbed(
        solver, epsilon=eps, num_samples=200, seed=6, solver_options=options
    )
    unit = perturbopt.perturbed(
        solver, epsilon=1.0, num_samples=200, seed=6, solver_options=options
    )
    np.testing.assert_array_equal(small.solve(theta).samples, unit.solve(theta / eps).samples)


@pytest.mark.parametrize("solver", ["argmax", "topk", "ranking", "sign"])
def test_small_epsilon_gives_the_hard_solution(solver: str) -> None:
    theta = np.random.default_rng(7).normal(size=(4, 9))
    options = {"k": 3} if solver == "topk" else None
    po = perturbopt.perturbed(solver, epsilon=1e-9, num_samples=50, seed=8, solver_options=options)
    result = po.solve(theta)
    np.testing.assert_array_equal(result.mean, po.hard(theta))
    np.testing.assert_allclose(result.value, np.sum(po.hard(theta) * theta, axis=1), atol=1e-7)


def _softmax_jacobian(theta: np.ndarray, eps: float) -> np.ndarray:
    p = softmax(theta / eps)
    return (np.diag(p) - np.outer(p, p)) / eps


@pytest.mark.parametrize("baseline", ["none", "loo", "control"])
def test_gumbel_argmax_vjp_is_softmax_jacobian(baseline: str) -> None:
    theta, eps, m = np.array([0.2, -0.4, 0.9, 0.1]), 0.8, 100_000
    g = np.array([1.0, -2.0, 0.5, 3.0])
    result = perturbopt.perturbed(
        "argmax", epsilon=eps, num_samples=m, noise="gumbel", seed=9
    ).solve(theta)
    expected = _softmax_jacobian(theta, eps).T @ g
    # Standard error of the estimator without baseline (the largest of the three).
    terms = (result.samples @ g)[:, None] * (-np.expm1(-result.noise)) / eps
    stderr = terms.std(axis=0, ddof=1) / np.sqrt(m)
    assert np.all(np.abs(result.vjp(g, baseline=baseline) - expected) < Z_SCORE * stderr)


def test_jacobian_and_jvp_agree_with_vjp() -> None:
    theta = np.array([[0.2, -0.4, 0.9], [1.0, 0.0, -1.0]])
    result = perturbopt.perturbed(
        "argmax", epsilon=0.5, num_samples=3000, noise="gumbel", seed=10
    ).solve(theta)
    jac = result.jacobian()
    g, v = np.array([[1.0, 2.0, -1.0], [0.0, 1.0, 3.0]]), np.array([[0.5, 0.0, 1.0], [2.0, -1, 0]])
    np.testing.assert_allclose(np.einsum("bij,bi->bj", jac, g), result.vjp(g), atol=1e-12)
    np.testing.assert_allclose(np.einsum("bij,bj->bi", jac, v), result.jvp(v), atol=1e-12)


def test_vjp_matches_finite_differences_with_common_random_numbers() -> None:
    """``<J^T g, v>`` against ``<g, (y_eps(theta + h v) - y_eps(theta - h v)) / 2h>``."""
    rng = np.random.default_rng(11)
    theta, eps, h, m = rng.normal(size=6), 1.0, 0.05, 200_000
    po = perturbopt.perturbed("topk", solver_options={"k": 2}, epsilon=eps, num_samples=m)
    plus = po.solve(theta + h * (v := rng.normal(size=6)), seed=12)
    minus = po.solve(theta - h * v, seed=12)
    centre = po.solve(theta, seed=12)
    g = rng.normal(size=6)
    per_sample_fd = ((plus.samples - minus.samples) @ g) / (2 * h)
    finite_difference = per_sample_fd.mean()
    fd_stderr = per_sample_fd.std(ddof=1) / np.sqrt(m)
    terms = (centre.samples @ g - (centre.samples @ g).mean()) * (centre.noise @ v)
    vjp_stderr = terms.std(ddof=1) / (eps * np.sqrt(m))
    tolerance = Z_SCORE * np.hypot(fd_stderr, vjp_stderr)
    assert abs(centre.vjp(g) @ v - finite_difference) < tolerance
    assert abs(centre.jvp(v) @ g - finite_difference) < tolerance


def test_sense_min_is_argmax_of_negated_costs() -> None:
    """For a min solver, y_eps(c) with noise Z equals the max solver's on -c with -Z."""
    costs = np.array([1.0, 0.2, 0.7, 0.5])
    argmin = perturbopt.as_solver(lambda c: np.eye(4)[np.argmin(c)], sense="min")
    result = perturbopt.perturbed(argmin, epsilon=0.5, num_samples=2000, seed=13).solve(costs)
    np.testing.assert_allclose(
        result.samples, np.eye(4)[np.argmin(costs + 0.5 * result.noise, axis=1)]
    )
    # F_eps for min is E[min_y <y, c + eps Z>] <= min_y <y, c>, and its gradient is y_eps.
    assert result.value <= costs.min()


def test_multiplicative_noise_matches_its_definition() -> None:
    theta, eps = np.array([1.0, 2.0, 0.5]), 0.4
    po = perturbopt.perturbed(
        "argmax", epsilon=eps, num_samples=500, seed=14, perturbation="multiplicative"
    )
    result = po.solve(theta)
    perturbed_theta = theta * np.exp(eps * result.noise - eps**2 / 2)
    np.testing.assert_array_equal(result.samples, np.eye(3)[np.argmax(perturbed_theta, axis=1)])
    np.testing.assert_allclose(result.sample_values, perturbed_theta.max(axis=1))


def test_multiplicative_vjp_matches_finite_differences() -> None:
    rng = np.random.default_rng(15)
    theta, eps, h, m = np.array([1.0, 1.5, 0.8, 1.2]), 0.5, 0.01, 200_000
    po = perturbopt.perturbed("argmax", epsilon=eps, num_samples=m, perturbation="multiplicative")
    v, g = rng.normal(size=4), rng.normal(size=4)
    plus, minus = po.solve(theta + h * v, seed=16), po.solve(theta - h * v, seed=16)
    centre = po.solve(theta, seed=16)
    per_sample_fd = ((plus.samples - minus.samples) @ g) / (2 * h)
    fd_stderr = per_sample_fd.std(ddof=1) / np.sqrt(m)
    terms = (
        ((centre.samples @ g) - (centre.samples @ g).mean()) * (centre.noise @ (v / theta)) / eps
    )
    tolerance = Z_SCORE * np.hypot(fd_stderr, terms.std(ddof=1) / np.sqrt(m))
    assert abs(centre.vjp(g) @ v - per_sample_fd.mean()) < tolerance


@pytest.mark.parametrize(
    "options", [{}, {"antithetic": True}, {"perturbation": "multiplicative"}, {"noise": "gumbel"}]
)
def test_released_noise_is_redrawn_bit_for_bit(options: dict) -> None:
    theta = np.random.default_rng(17).uniform(0.5, 2.0, size=(3, 5))
    g = np.random.default_rng(18).normal(size=(3, 5))
    kept = perturbopt.perturbed("topk", solver_options={"k": 2}, num_samples=20, seed=19, **options)
    released = perturbopt.perturbed(
        "topk", solver_options={"k": 2}, num_samples=20, seed=19, keep_noise=False, **options
    )
    for _ in range(2):  # the object's generator advances identically across calls
        a, b = kept.solve(theta), released.solve(theta)
        assert b.noise_cache is None and a.noise_cache is not None
        np.testing.assert_array_equal(a.samples, b.samples)
        np.testing.assert_array_equal(a.noise, b.noise)
        assert a.vjp(g).tobytes() == b.vjp(g).tobytes()
        assert a.jacobian().tobytes() == b.jacobian().tobytes()
        assert a.value_grad.tobytes() == b.value_grad.tobytes()
