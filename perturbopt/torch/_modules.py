"""``torch.nn.Module`` wrappers: each builds its [`perturbopt.Perturbed`][perturbopt.Perturbed] once.

Every module takes a solver (or a ready [`perturbopt.Perturbed`][perturbopt.Perturbed]) and, as keyword
arguments, its own few options plus the options of [`perturbopt.perturbed`][perturbopt.perturbed], which
are checked in one place ([`perturbopt.PerturbedOptions`][perturbopt.PerturbedOptions]).
"""

from __future__ import annotations

from typing import Any

import torch

from .._estimators import check_baseline
from .._function import perturbed_function
from .._perturbed import Perturbed
from .._solver import AUTO
from .._types import Baseline
from ._functional import (
    as_perturbed,
    fenchel_young_loss,
    hard_solution,
    perturbed_optimizer,
    perturbed_optimum,
    warn_if_homogeneous,
)
from ._validation import check_reduction

__all__ = ["FenchelYoungLoss", "PerturbedFunction", "PerturbedOptimizer", "PerturbedOptimum"]


class PerturbedOptimizer(torch.nn.Module):
    """Differentiable layer ``theta -> y_eps(theta) = E[y*(theta + eps Z)]``.

    ``y*(theta)`` is ``argmax_{y in Y} <y, theta>`` (``argmin`` for a ``sense="min"``
    solver). The forward pass averages ``num_samples`` perturbed solutions; the
    backward pass is the vector-Jacobian product of Berthet et al. (Prop. 3.1) on
    the forward's own samples, with no further solver call::

        J^T g = (1 / (M eps)) sum_l (<y_l, g> - b_l) grad nu(Z_l)

    with the baseline ``b_l`` chosen by ``baseline`` (see
    [`perturbopt.torch.perturbed_optimizer`][perturbopt.torch.perturbed_optimizer]).

    Args:
        solver: a registered name (``"argmax"``, ``"topk"``, ...), a solver object,
            a plain function ``theta -> y``, or a ready [`perturbopt.Perturbed`][perturbopt.Perturbed].
        baseline: ``"loo"`` (default), ``"none"`` or ``"control"``.
        hard_at_eval: in eval mode (``self.training`` false) return the unperturbed
            ``y*(theta)`` instead, with no gradient.
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed] (``epsilon``,
            ``num_samples``, ``noise``, ``perturbation``, ``seed``, ``n_jobs``, ...).

    Attributes:
        perturbed: the underlying [`perturbopt.Perturbed`][perturbopt.Perturbed].

    Shapes:
        ``theta`` ``(*s)`` or ``(*b, *s)``, floating point; the output has its shape,
        dtype and device (the solver runs on a float64 CPU copy).

    Example:
        >>> import torch
        >>> from perturbopt.torch import PerturbedOptimizer
        >>> layer = PerturbedOptimizer("topk", epsilon=0.5, num_samples=100,
        ...                            solver_options={"k": 2}, seed=0)
        >>> theta = torch.tensor([[0.3, 2.0, 1.0, -1.0]], requires_grad=True)
        >>> y = layer(theta)             # ~ [[0.2, 1.0, 0.8, 0.0]]
        >>> y.sum(dim=-1).tolist()       # k = 2 items chosen in every sample
        [2.0]
        >>> (y * torch.tensor([[0.0, 0.0, 1.0, 0.0]])).sum().backward()
    """

    def __init__(
        self, solver: Any, *, baseline: Baseline = "loo", hard_at_eval: bool = False, **options: Any
    ) -> None:
        super().__init__()
        self.baseline: Baseline = check_baseline(baseline)
        self.hard_at_eval = bool(hard_at_eval)
        self.perturbed: Perturbed = as_perturbed(solver, type(self).__name__, **options)

    def forward(self, theta: torch.Tensor, *, seed: Any = None) -> torch.Tensor:
        """``y_eps(theta)`` (or ``y*(theta)`` in eval mode with ``hard_at_eval``);
        ``seed`` sets this call's noise (default: the next key)."""
        if self.hard_at_eval and not self.training:
            return hard_solution(theta, self.perturbed)
        return perturbed_optimizer(theta, self.perturbed, baseline=self.baseline, seed=seed)

    def extra_repr(self) -> str:
        return f"{self.perturbed!r}, baseline={self.baseline!r}, hard_at_eval={self.hard_at_eval}"


class PerturbedFunction(PerturbedOptimizer):
    """Differentiable smoothing of any numpy function: ``theta -> E[f(theta + eps Z)]``.

    ``f`` may be piecewise constant (a sign, an argmax, a logical or) and return any
    shape ``out``; the output is ``(*b, *out)`` and its Jacobian is estimated by
    ``E[f(theta + eps Z) grad nu(Z)^T] / eps`` on the forward's samples, with no further
    call of ``f`` in backward. Derivatives of every order work (``create_graph=True``,
    ``torch.autograd.functional.hessian``), each a Monte-Carlo estimator on the same
    samples. The torch counterpart of [`perturbopt.perturbed_function`][perturbopt.perturbed_function], whose
    arguments it takes.

    Args:
        function: ``f(theta) -> y`` in numpy for one instance ``(*s)`` (for a stack
            ``(n, *s)`` with ``batched=True``), or a
            [`perturbopt.perturbed_function`][perturbopt.perturbed_function] object.
        batched: whether ``function`` takes a stack of instances.
        ndim: number of axes of one instance (default 1).
        out_shape: ``"auto"`` (default), a tuple, a callable, or ``None`` (theta's).
        baseline: ``"loo"`` (default), ``"none"`` or ``"control"``.
        hard_at_eval: in eval mode return ``f(theta)`` itself, with no gradient.
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed] (``epsilon``,
            ``num_samples``, ``noise``, ``seed``, ``n_jobs``, ...).

    Example:
        >>> import numpy as np, torch
        >>> from perturbopt.torch import PerturbedFunction
        >>> any_positive = PerturbedFunction(  # one sign per row of 3
        ...     lambda t: np.where((t > 0).any(axis=-1), 1.0, -1.0),
        ...     batched=True, epsilon=0.1, num_samples=2000, seed=0)
        >>> theta = torch.tensor([[-0.6, -1.2, 0.05], [-0.2, -2.4, -1.0]], requires_grad=True)
        >>> y = any_positive(theta)
        >>> y.shape
        torch.Size([2])
        >>> y.sum().backward()       # the undecided entries get the gradient
        >>> tuple(int(i) for i in theta.grad.argmax(dim=1))
        (2, 0)
    """

    def __init__(
        self,
        function: Any,
        *,
        batched: bool = False,
        ndim: int | None = None,
        out_shape: Any = AUTO,
        baseline: Baseline = "loo",
        hard_at_eval: bool = False,
        **options: Any,
    ) -> None:
        if not isinstance(function, Perturbed):
            function = perturbed_function(
                function, batched=batched, ndim=ndim, out_shape=out_shape, **options
            )
        elif options or batched or ndim is not None or out_shape != AUTO:
            raise TypeError(
                "PerturbedFunction got a ready Perturbed object and options; give the "
                "options to perturbopt.perturbed_function(), or pass the function itself"
            )
        super().__init__(function, baseline=baseline, hard_at_eval=hard_at_eval)


class PerturbedOptimum(torch.nn.Module):
    """Differentiable perturbed optimum ``F_eps(theta) = E[opt_y <y, theta + eps Z>]``.

    ``opt`` is ``max`` for a ``sense="max"`` solver and ``min`` for a ``sense="min"``
    one. Its gradient is ``y_eps(theta)`` (Berthet et al., Prop. 2.2), from the same
    samples; for multiplicative noise ``E[y_l * theta_l / theta]``.

    Args:
        solver: as for [`PerturbedOptimizer`][perturbopt.torch._modules.PerturbedOptimizer].
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed].

    Attributes:
        perturbed: the underlying [`perturbopt.Perturbed`][perturbopt.Perturbed].

    Shapes:
        ``theta`` ``(*s)`` gives ``()``, ``(*b, *s)`` gives ``b``; theta's dtype and
        device.

    Example:
        >>> import torch
        >>> from perturbopt.torch import PerturbedOptimum
        >>> fmax = PerturbedOptimum("argmax", epsilon=1.0, num_samples=1000,
        ...                         noise="gumbel", seed=0)
        >>> theta = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
        >>> value = fmax(theta)          # ~ log(3) + 0.5772 per row
        >>> value.sum().backward()       # theta.grad ~ softmax(theta) = 1/3
        >>> value.shape
        torch.Size([2])
    """

    def __init__(self, solver: Any, **options: Any) -> None:
        super().__init__()
        self.perturbed: Perturbed = as_perturbed(solver, type(self).__name__, **options)

    def forward(self, theta: torch.Tensor, *, seed: Any = None) -> torch.Tensor:
        """``F_eps(theta)``, one value per instance."""
        return perturbed_optimum(theta, self.perturbed, seed=seed)

    def extra_repr(self) -> str:
        return repr(self.perturbed)


class FenchelYoungLoss(torch.nn.Module):
    """Fenchel-Young loss of a perturbed optimizer, for learning from target solutions.

    Per instance, ``sense="max"``: ``L(theta; y) = F_eps(theta) - <theta, y>`` with
    gradient ``y_eps(theta) - y``; ``sense="min"`` (costs ``c``):
    ``L(c; y) = <c, y> - F_eps(c)`` with gradient ``y - y_eps(c)``. No Jacobian is
    needed, so ``num_samples=1`` gives an unbiased stochastic gradient. The constant
    ``eps * Omega(y)`` of the full loss is left out (unknown for most solvers): the
    gradient is exact, the minimum value is not 0.

    Positive costs: multiplicative noise makes the loss 1-homogeneous in ``theta``
    and zero at ``theta = 0``, so a cost model can collapse; the constructor warns. Use
    additive noise with ``solver_options={"negative_costs": "clip"}`` (a solver that
    treats perturbed costs below 0 as 0) instead.

    Args:
        solver: as for [`PerturbedOptimizer`][perturbopt.torch._modules.PerturbedOptimizer].
        reduction: over the batch axes: ``"mean"`` (default), ``"sum"`` or ``"none"``.
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed].

    Attributes:
        perturbed: the underlying [`perturbopt.Perturbed`][perturbopt.Perturbed].

    Shapes:
        ``theta`` and ``y``: both ``(*s)`` or both ``(*b, *s)``, on one device;
        ``theta`` floating point, ``y`` float, integer or bool (cast to float), not
        requiring grad. Output ``()``, or ``b`` with ``reduction="none"``.

    Example:
        >>> import torch
        >>> from perturbopt.torch import FenchelYoungLoss
        >>> loss_fn = FenchelYoungLoss("argmax", epsilon=1.0, num_samples=1, seed=0)
        >>> model = torch.nn.Linear(5, 3)
        >>> x, labels = torch.randn(8, 5), torch.randint(0, 3, (8,))
        >>> y = torch.nn.functional.one_hot(labels, 3)     # int64 labels are fine
        >>> loss = loss_fn(model(x), y)
        >>> loss.backward()              # grad wrt scores: (y_eps - y) / 8
    """

    def __init__(self, solver: Any, *, reduction: str = "mean", **options: Any) -> None:
        super().__init__()
        self.reduction = check_reduction(reduction)
        self.perturbed: Perturbed = as_perturbed(solver, type(self).__name__, **options)
        warn_if_homogeneous(self.perturbed)

    def forward(self, theta: torch.Tensor, y: torch.Tensor, *, seed: Any = None) -> torch.Tensor:
        """The loss of scores ``theta`` against target solutions ``y``."""
        return fenchel_young_loss(theta, y, self.perturbed, reduction=self.reduction, seed=seed)

    def extra_repr(self) -> str:
        return f"{self.perturbed!r}, reduction={self.reduction!r}"
