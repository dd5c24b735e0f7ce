"""Derivatives of every order: the perturbed mean as a torch expression of ``theta``.

Write the perturbed input ``x_l = theta + eps Z_l`` (``theta * exp(eps Z_l - s)`` for
multiplicative noise) as a draw from a density ``p(x | theta)``. Then
``f_eps(theta) = E_{x ~ p(. | theta)}[f(x)]`` and every derivative in ``theta`` falls on
the density alone. With the forward's samples ``x_l`` held fixed, the likelihood ratio

    w_l(theta) = p(x_l | theta) / p(x_l | theta_0) = exp(-sum_j nu(u_lj(theta)) + sum_j nu(Z_lj)),
    u_l(theta) = Z_l + (theta_0 - theta) / eps   (additive)
    u_l(theta) = Z_l + (log|theta_0| - log|theta|) / eps   (multiplicative)

equals 1 at ``theta_0`` and has ``E[d^k w_l] = 0`` for every order ``k >= 1``, so

    S(theta) = (1 / M) sum_l [h_l(theta) w_l(theta) - b_l (w_l(theta) - 1)]

has the value of the Monte-Carlo mean at ``theta_0`` and, as a torch expression, a
``k``-th derivative that is an unbiased Monte-Carlo estimator of the ``k``-th derivative
of the perturbed mean, for every ``k`` (the "magic box" of Foerster et al., 2018, which
optax's ``make_perturbed_fun`` uses too). The first derivative is Berthet et al.'s
``E[f(x_l) grad nu(Z_l)^T] / eps``, the second
``E[f(x_l) (grad nu grad nu^T - Hess nu)(Z_l)] / eps^2`` (Gaussian: ``Z Z^T - I``;
Gumbel: ``grad nu = 1 - exp(-z)``, ``Hess nu = diag(exp(-z))``). The baseline ``b_l``
(leave-one-out, control variate or none, never a function of ``Z_l``) keeps every order
unbiased and reduces its variance.

``h_l`` is the sample itself (``f(x_l)``, the solution ``y_l``, or the features
``g(y_l)`` of a generalized maximizer), or, for the gradient of ``F_eps`` under
multiplicative noise, ``y_l * x_l / theta``, which depends on ``theta`` explicitly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .._estimators import PerturbedResult
from .._noise import Gaussian, Gumbel
from .._types import Baseline

__all__ = ["smoothed_mean", "smoothed_value_grad", "torch_nu"]


def torch_nu(noise: object) -> Callable[[torch.Tensor], torch.Tensor]:
    """``nu``, the negative log-density of the noise up to a constant, in torch.

    A noise registered by a plugin provides it as a method ``torch_nu(z)``; the
    built-in Gaussian (``z^2 / 2``) and Gumbel (``z + exp(-z)``) have it here.

    Raises:
        TypeError: the noise has no ``torch_nu``.
    """
    own = getattr(noise, "torch_nu", None)
    if callable(own):
        return own  # type: ignore[no-any-return]
    if type(noise) is Gaussian:
        return lambda z: 0.5 * z * z
    if type(noise) is Gumbel:
        return lambda z: z + torch.exp(-z)
    name = getattr(noise, "name", type(noise).__name__)
    raise TypeError(
        f"second and higher derivatives need the noise's nu(z) as a torch function, and "
        f"noise {name!r} has none: give its class a method torch_nu(z) returning "
        f"-log density(z) up to a constant, element-wise (first derivatives work without it)"
    )


def _likelihood_ratio(theta: torch.Tensor, result: PerturbedResult) -> torch.Tensor:
    """``w_l(theta)``, ``(M, B, 1)``: 1 in value, all its derivatives in ``theta``."""
    nu = torch_nu(result.plan.noise)
    batch, samples = result.batch_size, result.num_samples
    flat = theta.reshape(batch, -1)
    anchor = flat.detach()
    z = torch.as_tensor(
        np.asarray(result.noise, dtype=np.float64).reshape(samples, batch, -1),
        dtype=theta.dtype,
        device=theta.device,
    )
    if result.multiplicative:
        moved = (torch.log(anchor.abs()) - torch.log(flat.abs())) / result.epsilon
    else:
        moved = (anchor - flat) / result.epsilon
    log_ratio = -nu(z + moved).sum(dim=-1)
    return torch.exp(log_ratio - log_ratio.detach())[..., None]


def _combine(
    theta: torch.Tensor, result: PerturbedResult, per_sample: np.ndarray, baseline: np.ndarray
) -> torch.Tensor:
    like = {"dtype": theta.dtype, "device": theta.device}
    h = torch.as_tensor(per_sample, **like)  # type: ignore[arg-type]
    b = torch.as_tensor(baseline, **like)  # type: ignore[arg-type]
    w = _likelihood_ratio(theta, result)
    return (h * w - b * (w - 1.0)).mean(dim=0)


def smoothed_mean(theta: torch.Tensor, result: PerturbedResult, baseline: Baseline) -> torch.Tensor:
    """The perturbed mean ``(*b, *out)`` as a function of ``theta`` (the forward's
    samples): its value is ``result.mean`` (to rounding), its derivatives of every order
    the score-function estimators with ``baseline``."""
    batch, samples = result.batch_size, result.num_samples
    per_sample = np.asarray(result.solutions, dtype=np.float64).reshape(samples, batch, -1)
    out = _combine(theta, result, per_sample, result.sample_baselines(per_sample, baseline))
    return out.reshape(result.batch_shape + result.out_shape)


def smoothed_value_grad(theta: torch.Tensor, result: PerturbedResult) -> torch.Tensor:
    """The gradient of ``F_eps`` ``(*b, *s)`` as a function of ``theta``: its value is
    ``result.value_grad``, its derivatives (the Hessian of ``F_eps`` and beyond) the
    score-function estimators with the leave-one-out baseline. Additive noise: the
    Jacobian of ``y_eps`` (of ``E[g(y_l)]`` for a generalized maximizer)."""
    batch, samples = result.batch_size, result.num_samples
    per_sample = result.sample_features.reshape(samples, batch, -1)
    if result.multiplicative:
        noise = np.asarray(result.noise, dtype=np.float64).reshape(samples, batch, -1)
        per_sample = per_sample * np.exp(result.epsilon * noise - float(result.plan.shift or 0.0))
    baseline = result.sample_baselines(per_sample, "loo")
    if not result.multiplicative:
        out = _combine(theta, result, per_sample, baseline)
    else:  # h_l(theta) = y_l * x_l / theta, with x_l fixed
        flat = theta.reshape(batch, -1)
        like = {"dtype": theta.dtype, "device": theta.device}
        h = torch.as_tensor(per_sample, **like) * (flat.detach() / flat)  # type: ignore[arg-type]
        w = _likelihood_ratio(theta, result)
        b = torch.as_tensor(baseline, **like)  # type: ignore[arg-type]
        out = (h * w - b * (w - 1.0)).mean(dim=0)
    return out.reshape(result.batch_shape + result.instance_shape)
