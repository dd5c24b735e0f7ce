"""Perturbed functions of any output shape, and generalized maximizers (numpy).

Closed forms with Gaussian noise: for ``f(theta) = [sign(theta_0), 1{theta_1 > theta_2}]``
(R^3 -> R^2), ``f_eps = [2 Phi(theta_0 / eps) - 1, Phi((theta_1 - theta_2) / (eps sqrt 2))]``.
For a choice of one of ``n`` options with features ``g(y) = e_y`` and a fixed part
``h``, Gumbel noise gives ``P(y = i) = softmax((theta + h) / eps)_i`` and
``F_eps = eps logsumexp((theta + h) / eps) + eps gamma``. Tolerances are a few Monte-Carlo
standard errors, from the same samples; every seed is fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp, softmax
from scipy.stats import norm

import perturbopt

Z_TOL = 5.0


def sign_and_order(theta: np.ndarray) -> np.ndarray:
    """R^3 -> R^2, one instance."""
    return np.array([np.sign(theta[0]), float(theta[1] > theta[2])])


def sign_and_order_batch(thetas: np.ndarray) -> np.ndarray:
    """The same on a stack ``(n, 3) -> (n, 2)``."""
    return np.stack([np.sign(thetas[:, 0]), (thetas[:, 1] > thetas[:, 2]).astype(float)], axis=1)


def closed_form(theta: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """The mean ``(2,)`` and Jacobian ``(2, 3)`` of ``sign_and_order`` under Gaussian noise."""
    a, d = theta[0] / eps, (theta[1] - theta[2]) / (eps * np.sqrt(2))
    mean = np.array([2 * norm.cdf(a) - 1, norm.cdf(d)])
    slope = norm.pdf(d) / (eps * np.sqrt(2))
    jacobian = np.array([[2 * norm.pdf(a) / eps, 0.0, 0.0], [0.0, slope, -slope]])
    return mean, jacobian


def jacobian_terms(result: perturbopt.PerturbedResult) -> np.ndarray:
    """Per-sample terms ``(y_l - b_l) grad nu(Z_l)^T / eps`` of the leave-one-out Jacobian
    of one unbatched additive instance, ``(M, k, d)``."""
    y = result.samples.astype(np.float64).reshape(result.num_samples, -1)
    m = y.shape[0]
    centred = y - (y.sum(axis=0) - y) / (m - 1)
    score = result.plan.noise.score(result.noise).reshape(m, -1)
    return centred[:, :, None] * score[:, None, :] / result.epsilon


def standard_error(terms: np.ndarray) -> np.ndarray:
    return terms.std(axis=0, ddof=1) / np.sqrt(terms.shape[0])


# -- any output shape ------------------------------------------------------------------


def test_a_function_to_another_shape_has_its_closed_form_mean_and_jacobian() -> None:
    theta, eps, m = np.array([0.3, 0.2, -0.4]), 0.8, 40_000
    po = perturbopt.perturbed_function(sign_and_order, epsilon=eps, num_samples=m, seed=1)
    result = po.solve(theta)
    mean, jacobian = closed_form(theta, eps)
    assert result.mean.shape == (2,) and result.samples.shape == (m, 2)
    np.testing.assert_array_less(np.abs(result.mean - mean), Z_TOL * result.stderr)

    estimate = result.jacobian()
    assert estimate.shape == (2, 3)
    se = standard_error(jacobian_terms(result))
    np.testing.assert_allclose(jacobian_terms(result).mean(axis=0), estimate, atol=1e-12)
    assert Z_TOL * se.max() < 0.2 * np.abs(jacobian).max()  # the check has teeth
    np.testing.assert_array_less(np.abs(estimate - jacobian), Z_TOL * se + 1e-12)

    g, v = np.array([1.0, -2.0]), np.array([0.5, 1.0, -1.0])
    np.testing.assert_allclose(result.vjp(g), g @ estimate, atol=1e-12)
    np.testing.assert_allclose(result.jvp(v), estimate @ v, atol=1e-12)


@pytest.mark.parametrize("baseline", ["none", "loo", "control"])
def test_every_baseline_estimates_the_same_jacobian(baseline: str) -> None:
    theta, eps, m = np.array([0.3, 0.2, -0.4]), 0.8, 40_000
    po = perturbopt.perturbed_function(sign_and_order, epsilon=eps, num_samples=m, seed=2)
    result = po.solve(theta)
    _, jacobian = closed_form(theta, eps)
    # the none baseline has the largest spread: |y| <= 1, |score| ~ N(0, 1), / eps
    bound = Z_TOL * np.sqrt(2.0 / m) / eps
    np.testing.assert_array_less(np.abs(result.jacobian(baseline) - jacobian), bound)
    np.testing.assert_allclose(
        result.vjp(np.array([1.0, 1.0]), baseline), result.jacobian(baseline).sum(axis=0)
    )


def test_batched_function_matches_the_function_of_one_instance_exactly() -> None:
    theta = np.array([[0.3, 0.2, -0.4], [-1.0, 0.5, 0.6]])
    options = {"epsilon": 0.5, "num_samples": 300, "seed": 3}
    one = perturbopt.perturbed_function(sign_and_order, **options).solve(theta)
    stack = perturbopt.perturbed_function(sign_and_order_batch, batched=True, **options)
    many = stack.solve(theta)
    assert many.mean.shape == (2, 2) and many.jacobian().shape == (2, 2, 3)
    np.testing.assert_array_equal(one.samples, many.samples)
    np.testing.assert_array_equal(one.vjp(np.ones((2, 2))), many.vjp(np.ones((2, 2))))


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_bit_identical_whatever_n_jobs(force_dispatch: list[str], n_jobs: int) -> None:
    theta = np.random.default_rng(0).normal(size=(5, 3))
    options = {"epsilon": 0.5, "num_samples": 64, "seed": 4, "batched": True}
    reference = perturbopt.perturbed_function(sign_and_order_batch, n_jobs=1, **options)
    parallel = perturbopt.perturbed_function(sign_and_order_batch, n_jobs=n_jobs, **options)
    expected, got = reference.solve(theta), parallel.solve(theta)
    np.testing.assert_array_equal(expected.samples, got.samples)
    np.testing.assert_array_equal(expected.jacobian(), got.jacobian())


def test_scalar_and_matrix_outputs() -> None:
    theta = np.array([0.5, -0.2, 0.1, 0.9])
    total = perturbopt.perturbed_function(
        lambda t: np.sign(t).sum(), epsilon=0.6, num_samples=2000, seed=5
    ).solve(theta)
    assert total.mean.shape == () and total.jacobian().shape == (4,)
    assert total.stderr.shape == () and total.hard.shape == ()
    outer = perturbopt.perturbed_function(
        lambda t: np.outer(np.sign(t), np.sign(t)), epsilon=0.6, num_samples=200, seed=5
    ).solve(np.stack([theta, -theta]))
    assert outer.mean.shape == (2, 4, 4) and outer.jacobian().shape == (2, 4, 4, 4)
    assert outer.vjp(np.ones((2, 4, 4))).shape == (2, 4)
    assert outer.jvp(np.ones((2, 4))).shape == (2, 4, 4)


def test_multiplicative_noise_divides_by_theta() -> None:
    """``P(theta_0 e^{eps Z_0} > theta_1 e^{eps Z_1}) = Phi(log(theta_0 / theta_1) / (eps sqrt 2))``."""
    theta, eps, m = np.array([1.2, 1.0]), 0.4, 40_000
    po = perturbopt.perturbed_function(
        lambda t: float(t[0] > t[1]),
        epsilon=eps,
        num_samples=m,
        perturbation="multiplicative",
        seed=6,
    )
    result = po.solve(theta)
    a = np.log(theta[0] / theta[1]) / (eps * np.sqrt(2))
    exact = norm.pdf(a) / (eps * np.sqrt(2)) * np.array([1 / theta[0], -1 / theta[1]])
    assert abs(result.mean - norm.cdf(a)) < Z_TOL * result.stderr
    terms = jacobian_terms(result)[:, 0, :] / theta
    np.testing.assert_allclose(terms.mean(axis=0), result.jacobian(), atol=1e-12)
    np.testing.assert_array_less(np.abs(result.jacobian() - exact), Z_TOL * standard_error(terms))


def test_decorator_forms() -> None:
    @perturbopt.perturbed_function(epsilon=0.5, num_samples=10, seed=0)
    def any_positive(theta: np.ndarray) -> float:
        """One sign per instance."""
        return 1.0 if (theta > 0).any() else -1.0

    assert isinstance(any_positive, perturbopt.Perturbed)
    assert any_positive.__name__ == "any_positive" and "sign" in any_positive.__doc__
    assert any_positive(np.zeros((4, 3))).shape == (4,)
    plain = perturbopt.perturbed_function(np.sign, out_shape=None, epsilon=0.5, num_samples=10)
    assert plain(np.zeros(3)).shape == (3,)
    solver = perturbopt.perturbed_function("argmax", epsilon=0.5, num_samples=10, seed=0)
    assert solver.solve(np.zeros(3)).value is not None  # solvers go to perturbed() as they are


def test_f_eps_of_an_output_outside_theta_space_is_refused_clearly() -> None:
    result = perturbopt.perturbed_function(
        lambda t: np.sign(t).sum(), epsilon=0.5, num_samples=10, seed=0
    ).solve(np.zeros(3))
    for attribute in ("value", "value_stderr", "value_grad"):
        with pytest.raises(ValueError, match=r"needs <y, theta>, but function '.*' returns "):
            getattr(result, attribute)
    assert np.isnan(result.values).all()


def test_output_shape_errors_say_what_to_do() -> None:
    with pytest.raises(perturbopt.SolverContractError, match="use perturbopt.perturbed_function"):
        perturbopt.perturbed(lambda t: t[:2], epsilon=0.5, num_samples=4)(np.zeros(3))
    fixed = perturbopt.perturbed_function(lambda t: t[:2], out_shape=(3,), num_samples=4)
    with pytest.raises(perturbopt.SolverContractError, match=r"expected \(3,\), the solver's"):
        fixed(np.zeros(3))
    ragged = perturbopt.perturbed_function(lambda t: np.zeros(int(t[0] > 0) + 1), num_samples=40)
    with pytest.raises(perturbopt.SolverContractError, match="returned shape"):
        ragged(np.zeros(3))
    with pytest.raises(ValueError, match="out_shape must be"):
        perturbopt.perturbed_function(np.sign, out_shape="wide")
    with pytest.raises(TypeError, match="batched and out_shape describe plain functions"):
        perturbopt.perturbed_function("argmax", batched=True)


def run_isolated(theta: np.ndarray) -> float:
    return float(theta.sum() > 0)


def test_isolated_functions_run_on_the_same_engine() -> None:
    options = {"epsilon": 0.5, "num_samples": 16, "seed": 7}
    here = perturbopt.perturbed_function(run_isolated, **options).solve(np.ones(3))
    away = perturbopt.perturbed_function(run_isolated, isolate=True, **options).solve(np.ones(3))
    np.testing.assert_array_equal(here.samples, away.samples)


# -- generalized maximizers ------------------------------------------------------------


class Choice:
    """Choose one of ``n`` options; the decision is its index (shape ``()``), the objective
    ``<theta, e_y> + bonus[y]``: ``g(y) = e_y``, ``h(y) = bonus[y]``."""

    sense = "max"

    def __init__(self, bonus: np.ndarray) -> None:
        self.bonus = np.asarray(bonus, dtype=float)

    def output_shape(self, instance_shape: tuple[int, ...]) -> tuple[int, ...]:
        return ()

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        return np.array(np.argmax(theta + self.bonus))

    def features(self, y: np.ndarray) -> np.ndarray:
        return np.eye(self.bonus.size)[int(y)]

    def offset(self, y: np.ndarray) -> float:
        return float(self.bonus[int(y)])


def test_generalized_maximizer_value_and_gradient_have_closed_forms() -> None:
    bonus, theta, eps, m = np.array([0.0, 0.5, -0.3]), np.array([0.2, -0.1, 0.4]), 0.6, 40_000
    po = perturbopt.perturbed(Choice(bonus), epsilon=eps, num_samples=m, noise="gumbel", seed=8)
    result = po.solve(theta)
    p = softmax((theta + bonus) / eps)
    assert result.mean.shape == () and result.samples.shape == (m,)
    assert abs(result.mean - p @ np.arange(3)) < Z_TOL * result.stderr  # E[index]
    exact = eps * logsumexp((theta + bonus) / eps) + eps * np.euler_gamma
    assert abs(result.value - exact) < Z_TOL * result.value_stderr
    assert result.value_grad.shape == (3,)
    np.testing.assert_array_less(np.abs(result.value_grad - p), Z_TOL * np.sqrt(p * (1 - p) / m))
    np.testing.assert_array_equal(result.sample_features.sum(axis=1), np.ones(m))


def test_generalized_maximizer_with_bad_features_is_named() -> None:
    class Bad(Choice):
        def features(self, y: np.ndarray) -> np.ndarray:
            return np.zeros(2)

    po = perturbopt.perturbed(Bad(np.zeros(3)), num_samples=4, seed=0)
    with pytest.raises(perturbopt.SolverError, match=r"g\(y\) must have theta's shape \(3,\)"):
        po(np.zeros(3))
