"""Functional forms of the torch layers, taking a :class:`perturbopt.Perturbed`.

Shapes: ``theta`` is one instance ``(*s)`` or a batch ``(B, *s)``, as the solver
defines an instance (``ndim`` axes). Outputs keep ``theta``'s dtype and device; the
solver runs on a float64 CPU copy.
"""

from __future__ import annotations

import torch

from .._estimators import Baseline, check_baseline
from .._perturbed import Perturbed
from ._functions import FenchelYoungFunction, PerturbedMaxFunction, PerturbedOptimizerFunction
from ._validation import (
    check_perturbed,
    check_reduction,
    check_target,
    check_theta,
    to_numpy,
    to_tensor,
)

__all__ = ["fenchel_young_loss", "hard_solution", "perturbed_max", "perturbed_optimizer"]


def perturbed_optimizer(theta: torch.Tensor, perturbed: Perturbed, *,
                        baseline: Baseline = "loo") -> torch.Tensor:
    """The perturbed solution ``y_eps(theta) = E[y*(theta + eps Z)]``, differentiable.

    The forward pass solves ``M`` perturbed problems and returns their mean. The
    backward pass is the Monte-Carlo vector-Jacobian product of Berthet et al.
    (Prop. 3.1) on the same samples, with no further solver call::

        J^T g = (1 / (M eps)) sum_l (<y_l, g> - b_l) grad nu(Z_l)

    where ``grad nu`` is the noise's score (``z`` for Gaussian, ``1 - exp(-z)`` for
    Gumbel) and ``b_l`` a baseline: ``"none"`` (0), ``"loo"`` (mean of ``<y_k, g>``
    over the other samples) or ``"control"`` (``<y*(theta), g>``, one extra
    unperturbed solve in backward). Multiplicative noise also divides by ``theta``.

    Args:
        theta: scores, ``(*s)`` or ``(B, *s)``, floating point.
        perturbed: the perturbed solver, from :func:`perturbopt.perturbed`.
        baseline: ``"loo"`` (default), ``"none"`` or ``"control"``.

    Returns:
        ``y_eps(theta)``, theta's shape, dtype and device.

    Example:
        >>> import torch, perturbopt
        >>> from perturbopt.torch import perturbed_optimizer
        >>> po = perturbopt.perturbed("argmax", epsilon=1.0, num_samples=500,
        ...                           noise="gumbel", seed=0)
        >>> theta = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64, requires_grad=True)
        >>> y = perturbed_optimizer(theta, po)  # ~ softmax(theta)
        >>> y[2].backward()
        >>> theta.grad.shape
        torch.Size([3])
    """
    check_theta(theta)
    check_perturbed(perturbed)
    check_baseline(baseline)
    return PerturbedOptimizerFunction.apply(theta, perturbed, baseline)


def perturbed_max(theta: torch.Tensor, perturbed: Perturbed) -> torch.Tensor:
    """The perturbed optimum ``F_eps(theta) = E[<y*(theta + eps Z), theta + eps Z>]``.

    Its gradient is ``y_eps(theta)`` (Berthet et al., Prop. 2.2), estimated from the
    same samples (for multiplicative noise, ``E[y_l * theta_l / theta]``). For a
    ``sense="min"`` solver it is the perturbed minimum, a concave function.

    Args:
        theta: scores, ``(*s)`` or ``(B, *s)``, floating point.
        perturbed: the perturbed solver, from :func:`perturbopt.perturbed`.

    Returns:
        ``F_eps(theta)``: shape ``()`` for one instance, ``(B,)`` for a batch.

    Example:
        >>> import torch, perturbopt
        >>> from perturbopt.torch import perturbed_max
        >>> po = perturbopt.perturbed("argmax", epsilon=1.0, num_samples=2000,
        ...                           noise="gumbel", seed=0)
        >>> theta = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
        >>> value = perturbed_max(theta, po)  # ~ logsumexp(theta) + 0.5772
        >>> value.shape
        torch.Size([])
    """
    check_theta(theta)
    check_perturbed(perturbed)
    return PerturbedMaxFunction.apply(theta, perturbed)


def fenchel_young_loss(theta: torch.Tensor, y: torch.Tensor, perturbed: Perturbed, *,
                       reduction: str = "mean") -> torch.Tensor:
    """Fenchel-Young loss of the perturbed optimizer (Berthet et al., section 4).

    Per instance, for a ``sense="max"`` solver::

        L(theta; y) = F_eps(theta) - <theta, y>,   grad_theta L = y_eps(theta) - y

    and for a ``sense="min"`` solver (``theta`` are costs ``c``)::

        L(c; y) = <c, y> - F_eps(c),   grad_c L = y - y_eps(c)

    The gradient needs no Jacobian, so one perturbed sample (``num_samples=1``)
    already gives an unbiased stochastic gradient. The loss leaves out the constant
    ``eps * Omega(y)`` of the full Fenchel-Young loss, unknown for most solvers: its
    gradient is exact, but its minimum is not 0 (for centred noise and a feasible
    ``y`` it is still >= 0 in expectation).

    Args:
        theta: scores or costs, ``(*s)`` or ``(B, *s)``, floating point.
        y: target solutions, theta's shape and device. Float, integer or bool labels
            are accepted (cast to float64 for the computation); ``y`` must not
            require grad.
        perturbed: the perturbed solver, from :func:`perturbopt.perturbed`.
        reduction: over the batch axis: ``"mean"`` (default), ``"sum"`` or ``"none"``
            (one loss per instance, ``(B,)``, or ``()`` for one instance).

    Returns:
        The loss, theta's dtype and device.

    Example:
        >>> import torch, perturbopt
        >>> from perturbopt.torch import fenchel_young_loss
        >>> po = perturbopt.perturbed("argmax", epsilon=1.0, num_samples=10, seed=0)
        >>> theta = torch.randn(4, 3, requires_grad=True)
        >>> y = torch.eye(3)[torch.tensor([0, 2, 1, 0])]
        >>> fenchel_young_loss(theta, y, po).backward()  # grad: (y_eps - y) / 4
        >>> theta.grad.shape
        torch.Size([4, 3])
    """
    check_theta(theta)
    check_target(y, theta)
    check_perturbed(perturbed)
    reduction = check_reduction(reduction)
    losses = FenchelYoungFunction.apply(theta, y, perturbed)
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def hard_solution(theta: torch.Tensor, perturbed: Perturbed) -> torch.Tensor:
    """The unperturbed solution ``y*(theta)``, theta's shape, dtype and device.

    Piecewise constant in ``theta``: the result carries no gradient.
    """
    check_theta(theta)
    check_perturbed(perturbed)
    return to_tensor(perturbed.hard(to_numpy(theta)), theta)
