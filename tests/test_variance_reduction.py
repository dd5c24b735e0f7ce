"""Baselines and antithetic pairs: unbiased, and a measured lower variance of the VJP.

Each estimator is repeated over independent seeds; the mean of the repetitions is
compared with the closed-form Jacobian product within its standard error, and the
variances across repetitions are compared with each other.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax
from scipy.stats import norm

import perturbopt

REPEATS, SAMPLES, Z_SCORE = 400, 10, 5.0


def _repeat_vjp(
    po: perturbopt.Perturbed, theta: np.ndarray, g: np.ndarray, baseline: str
) -> np.ndarray:
    return np.stack(
        [po.solve(theta, seed=seed).vjp(g, baseline=baseline) for seed in range(REPEATS)]
    )


def _assert_unbiased(estimates: np.ndarray, expected: np.ndarray) -> None:
    stderr = estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
    assert np.all(np.abs(estimates.mean(axis=0) - expected) < Z_SCORE * stderr)


def test_leave_one_out_is_unbiased_and_reduces_variance() -> None:
    theta, eps = np.array([0.5, -0.3, 1.0, 0.2]), 0.6
    g = np.array([2.0, 1.5, 2.5, 1.0])  # a large common part: the case baselines are for
    po = perturbopt.perturbed("argmax", epsilon=eps, num_samples=SAMPLES, noise="gumbel")
    p = softmax(theta / eps)
    expected = ((np.diag(p) - np.outer(p, p)) / eps).T @ g
    plain, loo = _repeat_vjp(po, theta, g, "none"), _repeat_vjp(po, theta, g, "loo")
    control = _repeat_vjp(po, theta, g, "control")
    for estimates in (plain, loo, control):
        _assert_unbiased(estimates, expected)
    assert loo.var(axis=0).sum() < 0.5 * plain.var(axis=0).sum()
    assert control.var(axis=0).sum() < 0.5 * plain.var(axis=0).sum()


def test_antithetic_pairs_are_unbiased_and_reduce_variance() -> None:
    """Gaussian argmax over two items has ``y_eps = (Phi(u), 1 - Phi(u))`` with
    ``u = (theta_0 - theta_1) / (eps sqrt 2)``. Pairs ``Z, -Z`` cancel the even part
    of ``<y(Z), g>`` (here its large constant part) from the score-function estimate.
    """
    theta, eps = np.array([0.4, -0.1]), 0.7
    g = np.array([2.5, 2.0])
    scale = eps * np.sqrt(2.0)
    slope = norm.pdf((theta[0] - theta[1]) / scale) / scale
    expected = slope * np.array([[1.0, -1.0], [-1.0, 1.0]]) @ g
    plain = perturbopt.perturbed("argmax", epsilon=eps, num_samples=SAMPLES)
    paired = perturbopt.perturbed("argmax", epsilon=eps, num_samples=SAMPLES, antithetic=True)
    plain_estimates = _repeat_vjp(plain, theta, g, "none")
    _assert_unbiased(plain_estimates, expected)
    for baseline in ("none", "loo"):
        paired_estimates = _repeat_vjp(paired, theta, g, baseline)
        _assert_unbiased(paired_estimates, expected)
        assert paired_estimates.var(axis=0).sum() < 0.5 * plain_estimates.var(axis=0).sum()


def test_antithetic_pairs_duplicate_odd_integrands() -> None:
    """The limit of antithetic pairs, kept visible: for sign near 0, ``<y(Z), g>`` is odd
    in ``Z``, so both members of a pair give the same term and nothing is gained."""
    theta, eps, g = np.array([0.0, 0.0]), 1.0, np.array([1.0, 1.0])
    paired = perturbopt.perturbed("sign", epsilon=eps, num_samples=2, antithetic=True, seed=0)
    result = paired.solve(theta)
    terms = (result.samples @ g)[:, None] * result.noise
    np.testing.assert_allclose(terms[0], terms[1])


def test_antithetic_noise_comes_in_pairs() -> None:
    result = perturbopt.perturbed(
        "sign", epsilon=1.0, num_samples=6, antithetic=True, seed=0
    ).solve(np.zeros(3))
    np.testing.assert_array_equal(result.noise[3:], -result.noise[:3])


def test_antithetic_stderr_uses_pair_means() -> None:
    theta = np.array([0.3, -0.2])
    result = perturbopt.perturbed(
        "sign", epsilon=1.0, num_samples=8, antithetic=True, seed=1
    ).solve(theta)
    pair_means = (result.samples[:4] + result.samples[4:]) / 2.0
    np.testing.assert_allclose(result.stderr, pair_means.std(axis=0, ddof=1) / 2.0)


def test_single_sample_has_no_stderr_and_loo_falls_back_to_no_baseline() -> None:
    result = perturbopt.perturbed("argmax", epsilon=1.0, num_samples=1, seed=2).solve(
        np.array([0.1, 0.2])
    )
    assert np.all(np.isnan(result.stderr))
    g = np.array([1.0, 3.0])
    np.testing.assert_array_equal(result.vjp(g, baseline="loo"), result.vjp(g, baseline="none"))


def test_unknown_baseline_is_refused() -> None:
    result = perturbopt.perturbed("argmax", num_samples=4, seed=3).solve(np.zeros(3))
    with pytest.raises(ValueError, match="baseline must be one of"):
        result.vjp(np.ones(3), baseline="mean")
