"""``torch.nn.Module`` wrappers: each builds its :class:`perturbopt.Perturbed` once.

All constructor options except ``baseline``, ``hard_at_eval`` and ``reduction`` go to
:func:`perturbopt.perturbed`; see there for their meaning.
"""

from __future__ import annotations

from typing import Any, Literal

import torch

from .._estimators import Baseline, check_baseline
from .._noise import Noise
from .._perturbed import Perturbation, Perturbed, perturbed
from ._functional import fenchel_young_loss, hard_solution, perturbed_max, perturbed_optimizer
from ._validation import check_reduction

__all__ = ["FenchelYoungLoss", "PerturbedMax", "PerturbedOptimizer"]

Sense = Literal["max", "min"]


def _make_perturbed(owner: str, solver: Any, **options: Any) -> Perturbed:
    if isinstance(solver, Perturbed):
        raise TypeError(f"{owner} takes a solver (a registered name, a solver object or a "
                        f"function), not a perturbopt.Perturbed; pass its solver and options, "
                        f"or use the functional form, which takes a Perturbed")
    return perturbed(solver, **options)


class PerturbedOptimizer(torch.nn.Module):
    """Differentiable layer ``theta -> y_eps(theta) = E[y*(theta + eps Z)]``.

    ``y*(theta)`` is ``argmax_{y in Y} <y, theta>`` (``argmin`` for a ``sense="min"``
    solver). The forward pass averages ``num_samples`` perturbed solutions; the
    backward pass is the vector-Jacobian product of Berthet et al. (Prop. 3.1) on
    the forward's own samples, with no further solver call::

        J^T g = (1 / (M eps)) sum_l (<y_l, g> - b_l) grad nu(Z_l)

    with the baseline ``b_l`` chosen by ``baseline`` (see
    :func:`perturbopt.torch.perturbed_optimizer`).

    Args:
        solver: a registered name (``"argmax"``, ``"topk"``, ...), a solver object
            or a plain function ``theta -> y``, as :func:`perturbopt.perturbed` takes.
        epsilon: noise scale ``eps > 0``.
        num_samples: perturbations ``M`` per instance and forward call.
        noise: ``"gaussian"``, ``"gumbel"``, another registered name, or a Noise.
        perturbation: ``"additive"`` or ``"multiplicative"`` (positive costs).
        baseline: ``"loo"`` (default), ``"none"`` or ``"control"``.
        seed: seeds the noise generator, which advances from call to call.
        n_jobs: joblib workers for the solves (``None``: 1, ``-1``: all cores).
        warm_start: pass ``y*(theta)`` as a hint to every perturbed solve.
        antithetic: draw noise in pairs ``Z, -Z`` (symmetric noise, even ``M``).
        keep_noise: hold the noise until backward (default); ``False`` keeps only the
            solutions and redraws the same noise in backward (1/8 of the memory).
        solver_options: options of a registered solver, e.g. ``{"k": 3}``.
        sense: ``"max"`` or ``"min"`` for a plain function.
        ndim: axes of one instance, for solvers that do not say (default 1).
        hard_at_eval: in eval mode (``self.training`` false) return the unperturbed
            ``y*(theta)`` instead, with no gradient.

    Attributes:
        perturbed: the underlying :class:`perturbopt.Perturbed`.

    Shapes:
        ``theta`` ``(*s)`` or ``(B, *s)``, floating point; the output has its shape,
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
        self,
        solver: Any,
        *,
        epsilon: float = 1.0,
        num_samples: int = 100,
        noise: str | Noise = "gaussian",
        perturbation: Perturbation = "additive",
        baseline: Baseline = "loo",
        seed: Any = None,
        n_jobs: int | None = None,
        warm_start: bool = False,
        antithetic: bool = False,
        keep_noise: bool = True,
        solver_options: dict[str, Any] | None = None,
        sense: Sense | None = None,
        ndim: int | None = None,
        hard_at_eval: bool = False,
    ) -> None:
        super().__init__()
        self.baseline: Baseline = check_baseline(baseline)
        self.hard_at_eval = bool(hard_at_eval)
        self.perturbed = _make_perturbed(
            type(self).__name__, solver, epsilon=epsilon, num_samples=num_samples,
            noise=noise, perturbation=perturbation, seed=seed, n_jobs=n_jobs,
            warm_start=warm_start, antithetic=antithetic, keep_noise=keep_noise,
            solver_options=solver_options,
            sense=sense, ndim=ndim)

    def forward(self, theta: torch.Tensor) -> torch.Tensor:
        """``y_eps(theta)`` (or ``y*(theta)`` in eval mode with ``hard_at_eval``)."""
        if self.hard_at_eval and not self.training:
            return hard_solution(theta, self.perturbed)
        return perturbed_optimizer(theta, self.perturbed, baseline=self.baseline)

    def extra_repr(self) -> str:
        return f"{self.perturbed!r}, baseline={self.baseline!r}, hard_at_eval={self.hard_at_eval}"


class PerturbedMax(torch.nn.Module):
    """Differentiable perturbed optimum ``F_eps(theta) = E[max_y <y, theta + eps Z>]``.

    (``min`` for a ``sense="min"`` solver.) Its gradient is ``y_eps(theta)``
    (Berthet et al., Prop. 2.2), from the same samples; for multiplicative noise
    ``E[y_l * theta_l / theta]``.

    Args:
        solver, epsilon, num_samples, noise, perturbation, seed, n_jobs, warm_start,
        antithetic, solver_options, sense, ndim: as for :class:`PerturbedOptimizer`.

    Attributes:
        perturbed: the underlying :class:`perturbopt.Perturbed`.

    Shapes:
        ``theta`` ``(*s)`` gives ``()``, ``(B, *s)`` gives ``(B,)``; theta's dtype and
        device.

    Example:
        >>> import torch
        >>> from perturbopt.torch import PerturbedMax
        >>> fmax = PerturbedMax("argmax", epsilon=1.0, num_samples=1000,
        ...                     noise="gumbel", seed=0)
        >>> theta = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
        >>> value = fmax(theta)          # ~ log(3) + 0.5772 per row
        >>> value.sum().backward()       # theta.grad ~ softmax(theta) = 1/3
        >>> value.shape
        torch.Size([2])
    """

    def __init__(
        self,
        solver: Any,
        *,
        epsilon: float = 1.0,
        num_samples: int = 100,
        noise: str | Noise = "gaussian",
        perturbation: Perturbation = "additive",
        seed: Any = None,
        n_jobs: int | None = None,
        warm_start: bool = False,
        antithetic: bool = False,
        solver_options: dict[str, Any] | None = None,
        sense: Sense | None = None,
        ndim: int | None = None,
    ) -> None:
        super().__init__()
        self.perturbed = _make_perturbed(
            type(self).__name__, solver, epsilon=epsilon, num_samples=num_samples,
            noise=noise, perturbation=perturbation, seed=seed, n_jobs=n_jobs,
            warm_start=warm_start, antithetic=antithetic, solver_options=solver_options,
            sense=sense, ndim=ndim)

    def forward(self, theta: torch.Tensor) -> torch.Tensor:
        """``F_eps(theta)``, one value per instance."""
        return perturbed_max(theta, self.perturbed)

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

    Args:
        solver, epsilon, num_samples, noise, perturbation, seed, n_jobs, warm_start,
        antithetic, solver_options, sense, ndim: as for :class:`PerturbedOptimizer`.
        reduction: over the batch axis: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Attributes:
        perturbed: the underlying :class:`perturbopt.Perturbed`.

    Shapes:
        ``theta`` and ``y``: both ``(*s)`` or both ``(B, *s)``, on one device;
        ``theta`` floating point, ``y`` float, integer or bool (cast to float), not
        requiring grad. Output ``()``, or ``(B,)`` with ``reduction="none"``.

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

    def __init__(
        self,
        solver: Any,
        *,
        epsilon: float = 1.0,
        num_samples: int = 100,
        noise: str | Noise = "gaussian",
        perturbation: Perturbation = "additive",
        seed: Any = None,
        n_jobs: int | None = None,
        warm_start: bool = False,
        antithetic: bool = False,
        solver_options: dict[str, Any] | None = None,
        sense: Sense | None = None,
        ndim: int | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        self.reduction = check_reduction(reduction)
        self.perturbed = _make_perturbed(
            type(self).__name__, solver, epsilon=epsilon, num_samples=num_samples,
            noise=noise, perturbation=perturbation, seed=seed, n_jobs=n_jobs,
            warm_start=warm_start, antithetic=antithetic, solver_options=solver_options,
            sense=sense, ndim=ndim)

    def forward(self, theta: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The loss of scores ``theta`` against target solutions ``y``."""
        return fenchel_young_loss(theta, y, self.perturbed, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"{self.perturbed!r}, reduction={self.reduction!r}"
