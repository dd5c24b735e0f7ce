"""Functional forms of the torch layers.

Each takes ``theta`` and a solver (or a ready [`perturbopt.Perturbed`][perturbopt.Perturbed]) with the
options of [`perturbopt.perturbed`][perturbopt.perturbed]. Shapes: ``theta`` is one instance ``(*s)`` or a
batch ``(*b, *s)`` with any number of leading batch axes, as the solver defines an
instance (``ndim`` axes). Outputs keep ``theta``'s dtype and device; the solver runs on
a float64 CPU copy. ``seed`` sets the key of this call's noise (common random numbers,
``torch.autograd.gradcheck``); by default each call takes the next key.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from .._estimators import check_baseline
from .._perturbed import Perturbed, perturbed
from .._solver import has_features
from .._types import Baseline
from ._functions import FenchelYoungFunction, PerturbedOptimizerFunction, PerturbedOptimumFunction
from ._validation import (
    check_reduction,
    check_target,
    check_theta,
    empty_batch,
    to_numpy,
    to_tensor,
)

__all__ = [
    "as_perturbed",
    "fenchel_young_loss",
    "hard_solution",
    "perturbed_optimizer",
    "perturbed_optimum",
    "warn_if_homogeneous",
]

HOMOGENEOUS_WARNING = (
    "the Fenchel-Young loss with multiplicative noise is positively 1-homogeneous in theta "
    "and zero at theta = 0, so a model trained with it can collapse to theta -> 0 (every "
    "gradient step shrinks theta). For positive costs use perturbation='additive' with a "
    "solver that accepts perturbed costs of any sign (e.g. solver_options="
    "{'negative_costs': 'clip'}), or fix the scale of theta yourself; see the section "
    "'Positive costs' of the torch guide"
)


def as_perturbed(solver: Any, owner: str, **options: Any) -> Perturbed:
    """``solver`` if it is a [`perturbopt.Perturbed`][perturbopt.Perturbed] (then no options may be
    given), else ``perturbopt.perturbed(solver, **options)``, with a solution pool in
    front of the solver when ``options`` has ``solve_ratio < 1`` (and maybe ``pool``)."""
    if isinstance(solver, Perturbed):
        if options:
            raise TypeError(
                f"{owner} got a ready Perturbed object and options "
                f"{sorted(options)}; give the options to perturbopt.perturbed(), "
                "or pass the solver itself with the options"
            )
        return solver
    if "solve_ratio" in options or "pool" in options:
        from .._pooled import pooled_perturbed

        return pooled_perturbed(solver, **options)
    return perturbed(solver, **options)


def warn_if_homogeneous(po: Perturbed) -> None:
    """Warn that a Fenchel-Young loss with multiplicative noise can collapse."""
    if po.perturbation == "multiplicative":
        warnings.warn(HOMOGENEOUS_WARNING, UserWarning, stacklevel=3)


def perturbed_optimizer(
    theta: torch.Tensor,
    solver: Any,
    *,
    baseline: Baseline = "loo",
    seed: Any = None,
    **options: Any,
) -> torch.Tensor:
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
        theta: scores, ``(*s)`` or ``(*b, *s)``, floating point.
        solver: a [`perturbopt.Perturbed`][perturbopt.Perturbed], or what [`perturbopt.perturbed`][perturbopt.perturbed]
            takes (then ``options`` go with it).
        baseline: ``"loo"`` (default), ``"none"`` or ``"control"``.
        seed: the key of this call's noise (default: the next key).
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed].

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
    po = as_perturbed(solver, "perturbed_optimizer", **options)
    check_baseline(baseline)
    return PerturbedOptimizerFunction.apply(theta, po, baseline, seed)  # type: ignore[no-any-return]


def perturbed_optimum(
    theta: torch.Tensor, solver: Any, *, seed: Any = None, **options: Any
) -> torch.Tensor:
    """The perturbed optimum ``F_eps(theta) = E[opt_y <y, theta + eps Z>]``.

    ``opt`` is ``max`` for a ``sense="max"`` solver (a convex function of ``theta``)
    and ``min`` for a ``sense="min"`` one (concave). Its gradient is ``y_eps(theta)``
    (Berthet et al., Prop. 2.2), estimated from the same samples (for multiplicative
    noise, ``E[y_l * theta_l / theta]``); with a fixed ``seed`` it is the exact
    gradient of the Monte-Carlo estimate, so ``torch.autograd.gradcheck`` applies.

    Args:
        theta: scores or costs, ``(*s)`` or ``(*b, *s)``, floating point.
        solver: a [`perturbopt.Perturbed`][perturbopt.Perturbed], or what [`perturbopt.perturbed`][perturbopt.perturbed]
            takes (then ``options`` go with it).
        seed: the key of this call's noise (default: the next key).
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed].

    Returns:
        ``F_eps(theta)``: shape ``()`` for one instance, ``b`` for a batch.

    Example:
        >>> import torch, perturbopt
        >>> from perturbopt.torch import perturbed_optimum
        >>> po = perturbopt.perturbed("argmax", epsilon=1.0, num_samples=2000,
        ...                           noise="gumbel", seed=0)
        >>> theta = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
        >>> value = perturbed_optimum(theta, po)  # ~ logsumexp(theta) + 0.5772
        >>> value.shape
        torch.Size([])
    """
    check_theta(theta)
    po = as_perturbed(solver, "perturbed_optimum", **options)
    return PerturbedOptimumFunction.apply(theta, po, seed)  # type: ignore[no-any-return]


def fenchel_young_loss(
    theta: torch.Tensor,
    y: torch.Tensor,
    solver: Any,
    *,
    reduction: str = "mean",
    seed: Any = None,
    **options: Any,
) -> torch.Tensor:
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

    Positive costs: with ``perturbation="multiplicative"`` the loss is positively
    1-homogeneous in ``theta`` and zero at ``theta = 0``, so a model can collapse to
    ``theta -> 0``; this warns. Use additive noise with a solver that accepts perturbed
    costs of any sign (``negative_costs="clip"``).

    A generalized maximizer (a solver with ``features(y)``, optionally ``offset(y)``;
    objective ``<theta, g(y)> + h(y)``) uses ``g`` and ``h`` in place of ``y`` and 0:
    ``L = F_eps(theta) - <theta, g(y)> - h(y)``, gradient ``E[g(y_l)] - g(y)``.

    Args:
        theta: scores or costs, ``(*s)`` or ``(*b, *s)``, floating point.
        y: target solutions, theta's shape and device (the solver's output shape for a
            generalized maximizer). Float, integer or bool labels are accepted (cast
            to float64 for the computation); ``y`` must not require grad.
        solver: a [`perturbopt.Perturbed`][perturbopt.Perturbed], or what [`perturbopt.perturbed`][perturbopt.perturbed]
            takes (then ``options`` go with it).
        reduction: over the batch axes: ``"mean"`` (default), ``"sum"`` or ``"none"``
            (one loss per instance, shape ``b``, or ``()`` for one instance). Over an
            empty batch: NaN, 0 and an empty tensor, as for torch's own losses.
        seed: the key of this call's noise (default: the next key).
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed].

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
    po = as_perturbed(solver, "fenchel_young_loss", **options)
    # a generalized maximizer's targets are solutions, of the solver's output shape
    check_target(y, theta, same_shape=not has_features(po.solver))
    reduction = check_reduction(reduction)
    if options:
        warn_if_homogeneous(po)
    losses = FenchelYoungFunction.apply(theta, y, po, seed)
    if reduction == "mean":
        return losses.mean()  # type: ignore[no-any-return]
    if reduction == "sum":
        return losses.sum()  # type: ignore[no-any-return]
    return losses  # type: ignore[no-any-return]


def hard_solution(theta: torch.Tensor, solver: Perturbed) -> torch.Tensor:
    """The unperturbed solution ``y*(theta)``, theta's shape, dtype and device.

    Piecewise constant in ``theta``: the result carries no gradient. An empty batch
    gives an empty result.
    """
    check_theta(theta)
    if empty_batch(theta, solver) is not None:
        return theta.detach().new_zeros(theta.shape)
    return to_tensor(solver.hard(to_numpy(theta)), theta)
