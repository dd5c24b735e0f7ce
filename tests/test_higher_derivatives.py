"""Derivatives of every order through the torch layers, against closed forms.

Gumbel argmax: ``y_eps = softmax(theta / eps)``, ``F_eps = eps logsumexp(theta / eps) +
eps gamma``, so the Hessian of ``F_eps`` is the Jacobian of ``y_eps``,
``(diag(p) - p p^T) / eps``. Gaussian sign: ``y_eps = 2 Phi(theta / eps) - 1``, whose
``k``-th derivative is ``2 Phi^(k)(theta / eps) / eps^k``.

Each estimate is compared with its closed form at ``Z_TOL`` standard errors, computed
from the per-sample terms of the very estimator the layer computes (the score-function
terms ``(y_l - b_l) d^k w_l``, leave-one-out baseline), with fixed seeds.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax
from scipy.stats import norm

torch = pytest.importorskip("torch")

import perturbopt
from perturbopt.torch import (
    FenchelYoungLoss,
    PerturbedFunction,
    PerturbedOptimizer,
    PerturbedOptimum,
)

Z_TOL = 5.0
hessian = torch.autograd.functional.hessian
jacobian = torch.autograd.functional.jacobian


def loo_centred(values: np.ndarray) -> np.ndarray:
    """``v_l - mean of the other samples``, along axis 0."""
    m = values.shape[0]
    return values - (values.sum(axis=0) - values) / (m - 1)


def standard_error(terms: np.ndarray) -> np.ndarray:
    return terms.std(axis=0, ddof=1) / np.sqrt(terms.shape[0])


def check_close(estimate: np.ndarray, exact: np.ndarray, terms: np.ndarray) -> None:
    """``estimate`` is the mean of ``terms`` and within ``Z_TOL`` standard errors of
    ``exact``, a check with teeth (the tolerance is small against the values)."""
    np.testing.assert_allclose(terms.mean(axis=0), estimate, rtol=1e-9, atol=1e-12)
    se = standard_error(terms)
    assert Z_TOL * se.max() < 0.25 * np.abs(exact).max()
    np.testing.assert_array_less(np.abs(estimate - exact), Z_TOL * se + 1e-12)


def gumbel_terms(result: perturbopt.PerturbedResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Samples ``(M, d)``, score ``1 - exp(-z)`` and ``Hess nu = diag(exp(-z))`` diagonal."""
    y = result.samples.astype(np.float64).reshape(result.num_samples, -1)
    z = result.noise.reshape(result.num_samples, -1)
    return y, -np.expm1(-z), np.exp(-z)


# -- Gumbel argmax -----------------------------------------------------------------------


def test_hessian_of_f_eps_is_the_jacobian_of_softmax_and_of_y_eps() -> None:
    eps, m = 0.7, 40_000
    theta = np.array([0.5, -0.3, 1.2, 0.0])
    options = {"epsilon": eps, "num_samples": m, "noise": "gumbel", "seed": 3, "n_jobs": 1}
    p = softmax(theta / eps)
    exact = (np.diag(p) - np.outer(p, p)) / eps

    optimum = PerturbedOptimum("argmax", **options)
    estimate = hessian(lambda t: optimum(t, seed=5), torch.tensor(theta)).numpy()
    y, score, _ = gumbel_terms(perturbopt.perturbed("argmax", **options).solve(theta, seed=5))
    terms = loo_centred(y)[:, :, None] * score[:, None, :] / eps
    check_close(estimate, exact, terms)

    # The Jacobian of y_eps on the same samples is the same estimate.
    layer = PerturbedOptimizer("argmax", **options)
    same = jacobian(lambda t: layer(t, seed=5), torch.tensor(theta)).numpy()
    np.testing.assert_allclose(same, estimate, rtol=1e-12, atol=1e-15)
    # So is the Hessian of the Fenchel-Young loss (sense max: F_eps - <theta, y>).
    loss = FenchelYoungLoss("argmax", reduction="sum", **options)
    target = torch.tensor([0.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    of_loss = hessian(lambda t: loss(t, target, seed=5), torch.tensor(theta)).numpy()
    np.testing.assert_allclose(of_loss, estimate, rtol=1e-12, atol=1e-15)


def test_second_derivative_of_the_perturbed_argmax_is_that_of_softmax() -> None:
    eps, m = 1.0, 100_000
    theta = np.array([0.2, -0.4, 0.6])
    v = np.array([1.0, -0.5, 2.0])
    options = {"epsilon": eps, "num_samples": m, "noise": "gumbel", "seed": 11, "n_jobs": 1}
    layer = PerturbedOptimizer("argmax", **options)
    vt = torch.tensor(v)
    estimate = hessian(lambda t: layer(t, seed=2) @ vt, torch.tensor(theta)).numpy()
    exact = hessian(lambda t: torch.softmax(t / eps, 0) @ vt, torch.tensor(theta)).numpy()

    y, s, h = gumbel_terms(perturbopt.perturbed("argmax", **options).solve(theta, seed=2))
    second = (s[:, :, None] * s[:, None, :] - h[:, :, None] * np.eye(3)) / eps**2
    check_close(estimate, exact, loo_centred(y @ v)[:, None, None] * second)


def test_jacobian_of_jacobian_and_batches() -> None:
    """A Jacobian of a Jacobian is the Hessian of each output (the same estimator on the
    same samples, whose accuracy the test above checks), item by item."""
    theta = torch.tensor([[0.1, 0.4, -0.2], [1.0, 0.0, 0.3]], dtype=torch.float64)
    layer = PerturbedOptimizer("argmax", epsilon=0.5, num_samples=2000, noise="gumbel", seed=0)

    def inner(t: torch.Tensor) -> torch.Tensor:
        return jacobian(lambda u: layer(u, seed=1), t, create_graph=True)

    second = jacobian(inner, theta)
    assert second.shape == (2, 3, 2, 3, 2, 3)
    # batch items are independent: no derivative crosses from one item to another
    assert torch.count_nonzero(second[0, :, 1]) == 0 and torch.count_nonzero(second[1, :, 0]) == 0
    for item in range(2):
        for i in range(3):
            own = hessian(lambda t, item=item, i=i: layer(t, seed=1)[item, i], theta)
            torch.testing.assert_close(second[item, i], own, rtol=1e-10, atol=1e-12)


# -- Gaussian sign: orders 1, 2, 3 ---------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_sign_derivatives_of_every_order_are_those_of_the_normal_cdf(dtype: torch.dtype) -> None:
    eps, m = 0.8, 100_000
    theta = np.array([[-1.0], [-0.3], [0.1], [0.4], [1.5]])  # five 1-d instances
    options = {"epsilon": eps, "num_samples": m, "seed": 12, "n_jobs": 1}
    layer = PerturbedOptimizer("sign", **options)
    t = torch.tensor(theta, dtype=dtype, requires_grad=True)
    y = layer(t, seed=4)
    derivatives, out = [], y
    for _ in range(3):
        (out,) = torch.autograd.grad(out.sum(), t, create_graph=True)
        assert out.dtype == dtype
        derivatives.append(out.detach().double().numpy().ravel())

    result = perturbopt.perturbed("sign", **options).solve(theta, seed=4)
    c = loo_centred(result.samples.astype(np.float64).reshape(m, -1))
    z = result.noise.reshape(m, -1)
    x = theta.ravel() / eps
    hermite = [z, z**2 - 1, z**3 - 3 * z]  # d^k w / w at theta_0, times eps^k
    phi = norm.pdf(x)
    exact = [2 * phi / eps, -2 * x * phi / eps**2, 2 * (x**2 - 1) * phi / eps**3]
    for order in range(3):
        terms = c * hermite[order] / eps ** (order + 1)
        if dtype == torch.float32:  # float32 rounding, not the Monte-Carlo error, dominates
            np.testing.assert_allclose(derivatives[order], terms.mean(axis=0), atol=1e-3)
            continue
        check_close(derivatives[order], exact[order], terms)


def test_multiplicative_second_derivative_has_its_closed_form() -> None:
    """``P(theta_0 e^{eps Z_0} > theta_1 e^{eps Z_1}) = Phi(a)``, ``a = log(theta_0 /
    theta_1) / (eps sqrt 2)``; per sample, ``d^2 w / d theta_0^2 = (Z_0^2 - 1) / (eps
    theta_0)^2 - Z_0 / (eps theta_0^2)``."""
    eps, m = 0.4, 100_000
    theta = np.array([1.2, 1.0])
    options = {
        "epsilon": eps,
        "num_samples": m,
        "perturbation": "multiplicative",
        "seed": 6,
        "n_jobs": 1,
    }
    smooth = PerturbedFunction(lambda t: float(t[0] > t[1]), **options)
    estimate = hessian(lambda t: smooth(t, seed=3), torch.tensor(theta)).numpy()[0, 0]

    result = perturbopt.perturbed_function(lambda t: float(t[0] > t[1]), **options).solve(
        theta, seed=3
    )
    c = loo_centred(result.samples.astype(np.float64))
    z0 = result.noise[:, 0]
    terms = c * ((z0**2 - 1) / (eps * theta[0]) ** 2 - z0 / (eps * theta[0] ** 2))
    a, r = np.log(theta[0] / theta[1]) / (eps * np.sqrt(2)), eps * np.sqrt(2) * theta[0]
    exact = -a * norm.pdf(a) / r**2 - norm.pdf(a) / (eps * np.sqrt(2) * theta[0] ** 2)
    check_close(np.array([estimate]), np.array([exact]), terms[:, None])


def test_multiplicative_hessian_of_f_eps_has_its_closed_form() -> None:
    """Argmax of two under multiplicative Gaussian noise, ``X_i = exp(eps Z_i - eps^2/2)``:
    ``d F_eps / d theta_0 = E[1{theta_0 X_0 > theta_1 X_1} X_0] = Phi(a_0)`` with
    ``a_0 = (log(theta_0 / theta_1) + eps^2) / (eps sqrt 2)`` (tilting ``Z_0`` by
    ``eps``), and the same for ``theta_1``. Per sample, the estimator of
    ``d^2 F_eps / d theta_i d theta_j`` is ``(h_li - b_li) Z_lj / (eps theta_j) -
    [i = j] h_li / theta_i``, with ``h_l = y_l X_l``."""
    eps, m = 0.4, 100_000
    theta = np.array([1.2, 1.0])
    options = {"epsilon": eps, "num_samples": m, "perturbation": "multiplicative", "n_jobs": 1}
    optimum = PerturbedOptimum("argmax", seed=0, **options)
    estimate = hessian(lambda t: optimum(t, seed=1), torch.tensor(theta)).numpy()

    def gradient(t: np.ndarray) -> np.ndarray:
        a = (np.log(t / t[::-1]) + eps**2) / (eps * np.sqrt(2))
        return norm.cdf(a)

    a = (np.log(theta / theta[::-1]) + eps**2) / (eps * np.sqrt(2))
    slope = norm.pdf(a) / (eps * np.sqrt(2))
    exact = (
        np.array([[1 / theta[0], -1 / theta[1]], [-1 / theta[0], 1 / theta[1]]]) * slope[:, None]
    )

    result = perturbopt.perturbed("argmax", seed=0, **options).solve(theta, seed=1)
    z = result.noise
    h = result.samples.astype(np.float64) * np.exp(eps * z - eps**2 / 2)
    terms = loo_centred(h)[:, :, None] * (z / (eps * theta))[:, None, :]
    terms -= (h / theta)[:, :, None] * np.eye(2)
    steps = 1e-6 * np.eye(2)  # the closed form is the derivative of the closed-form gradient
    differences = [(gradient(theta + e) - gradient(theta - e)) / 2e-6 for e in steps]
    np.testing.assert_allclose(np.stack(differences, axis=1), exact, rtol=1e-6)
    check_close(estimate, exact, terms)


# -- create_graph in training, perturbed functions, generalized maximizers -----------------


def test_a_gradient_penalty_trains_through_the_layer() -> None:
    layer = PerturbedOptimizer("topk", epsilon=0.5, num_samples=200, solver_options={"k": 2})
    theta = torch.tensor([[0.3, 2.0, 1.0, -1.0]], dtype=torch.float64, requires_grad=True)
    y = layer(theta)
    (grad,) = torch.autograd.grad((y * torch.arange(4.0)).sum(), theta, create_graph=True)
    (y.sum() + (grad**2).sum()).backward()
    assert theta.grad is not None and torch.isfinite(theta.grad).all()


def test_perturbed_function_forward_and_backward_match_numpy() -> None:
    def any_positive(t: np.ndarray) -> np.ndarray:
        return np.where((t > 0).any(axis=-1), 1.0, -1.0)

    options = {"epsilon": 0.3, "num_samples": 500, "seed": 1, "batched": True}
    layer = PerturbedFunction(any_positive, **options)
    theta_np = np.array([[-0.6, -1.2, 0.05], [-0.2, -2.4, -1.0]])
    theta = torch.tensor(theta_np, requires_grad=True)
    y = layer(theta, seed=2)
    assert y.shape == (2,)
    g = np.array([1.0, -0.5])
    y.backward(torch.tensor(g))
    reference = perturbopt.perturbed_function(any_positive, **options).solve(theta_np, seed=2)
    np.testing.assert_allclose(y.detach().numpy(), reference.mean)
    np.testing.assert_allclose(theta.grad.numpy(), reference.vjp(g), rtol=1e-12)
    assert hessian(lambda t: layer(t, seed=2).sum(), theta.detach()).shape == (2, 3, 2, 3)
    layer.eval()
    layer.hard_at_eval = True
    np.testing.assert_array_equal(layer(theta).numpy(), [1.0, -1.0])
    with pytest.raises(TypeError, match="ready Perturbed object and options"):
        PerturbedFunction(perturbopt.perturbed_function(any_positive), epsilon=0.1)


class Choice:
    """One of ``n`` options as an index; objective ``<theta, e_y> + bonus[y]``."""

    sense = "max"

    def __init__(self, bonus: list[float]) -> None:
        self.bonus = np.asarray(bonus)

    def output_shape(self, instance_shape: tuple[int, ...]) -> tuple[int, ...]:
        return ()

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        return np.array(np.argmax(theta + self.bonus))

    def features(self, y: np.ndarray) -> np.ndarray:
        return np.eye(self.bonus.size)[int(y)]

    def offset(self, y: np.ndarray) -> float:
        return float(self.bonus[int(y)])


def test_fenchel_young_loss_of_a_generalized_maximizer() -> None:
    eps, m, bonus = 0.6, 40_000, [0.0, 0.5, -0.3]
    options = {"epsilon": eps, "num_samples": m, "noise": "gumbel", "seed": 8, "n_jobs": 1}
    loss = FenchelYoungLoss(Choice(bonus), reduction="sum", **options)
    theta_np = np.array([[0.2, -0.1, 0.4], [1.0, 0.0, 0.0]])
    theta = torch.tensor(theta_np, requires_grad=True)
    target = torch.tensor([2, 0])  # the chosen indices
    loss(theta, target, seed=1).backward()
    p = softmax((theta_np + bonus) / eps, axis=1)
    expected = p - np.eye(3)[[2, 0]]
    np.testing.assert_array_less(np.abs(theta.grad.numpy() - expected), Z_TOL * np.sqrt(0.25 / m))

    one = theta[0].detach()
    second = hessian(lambda t: loss(t, target[0], seed=1), one).numpy()
    exact = (np.diag(p[0]) - np.outer(p[0], p[0])) / eps
    assert np.abs(second - exact).max() < Z_TOL * 1.5 / eps / np.sqrt(m)
    with pytest.raises(ValueError, match="targets of a generalized maximizer are solutions"):
        loss(theta, torch.zeros(2, 3))


def test_losses_refuse_outputs_outside_theta_space() -> None:
    def total(t: np.ndarray) -> float:
        return float(np.sign(t).sum())

    theta = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ValueError, match="FenchelYoungLoss needs <y, theta>, but function"):
        FenchelYoungLoss(perturbopt.perturbed_function(total, num_samples=4))(theta, torch.zeros(3))
    with pytest.raises(ValueError, match=r"value \(F_eps\) needs <y, theta>"):
        PerturbedOptimum(perturbopt.perturbed_function(total, num_samples=4))(theta)


def test_released_noise_and_every_baseline_give_second_derivatives() -> None:
    theta = torch.tensor([0.2, -0.4, 0.6], dtype=torch.float64)
    options = {"epsilon": 0.5, "num_samples": 300, "noise": "gumbel", "seed": 0}
    held = PerturbedOptimizer("argmax", **options)
    released = PerturbedOptimizer("argmax", keep_noise=False, **options)
    expected = hessian(lambda t: held(t, seed=1)[0], theta)
    torch.testing.assert_close(hessian(lambda t: released(t, seed=1)[0], theta), expected)
    for baseline in ("none", "control"):
        other = PerturbedOptimizer("argmax", baseline=baseline, **options)
        assert torch.isfinite(hessian(lambda t, o=other: o(t, seed=1)[0], theta)).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_higher_derivatives_stay_on_the_device() -> None:
    theta = torch.tensor([0.2, -0.4, 0.6], dtype=torch.float64, device="cuda")
    layer = PerturbedOptimum("argmax", epsilon=0.5, num_samples=300, noise="gumbel", seed=0)
    second = hessian(lambda t: layer(t, seed=1), theta)
    assert second.device == theta.device and second.shape == (3, 3)
