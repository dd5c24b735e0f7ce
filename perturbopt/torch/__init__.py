"""PyTorch layers and losses built on perturbed optimizers (Berthet et al., 2020).

``perturbopt`` itself never imports torch; this subpackage needs it
(``pip install perturbopt[torch]``). Solvers run on the CPU in float64 numpy; inputs
and outputs keep the caller's dtype and device.

* [`PerturbedOptimizer`][perturbopt.torch.PerturbedOptimizer] / [`perturbed_optimizer`][perturbopt.torch.perturbed_optimizer]: the perturbed solution
  ``y_eps(theta) = E[y*(theta + eps Z)]``, differentiated with the Monte-Carlo
  vector-Jacobian product of the forward's own samples.
* [`PerturbedOptimum`][perturbopt.torch.PerturbedOptimum] / [`perturbed_optimum`][perturbopt.torch.perturbed_optimum]: the perturbed optimum
  ``F_eps(theta) = E[<y*(theta + eps Z), theta + eps Z>]``, gradient ``y_eps(theta)``
  (a maximum for ``sense="max"`` solvers, a minimum for ``sense="min"``).
* [`FenchelYoungLoss`][perturbopt.torch.FenchelYoungLoss] / [`fenchel_young_loss`][perturbopt.torch.fenchel_young_loss]: the Fenchel-Young loss,
  whose gradient ``y_eps(theta) - y`` needs no Jacobian.
* `PerturbedFunction`: ``E[f(theta + eps Z)]`` for any numpy function ``f``, of
  any output shape.

Every one of them has derivatives of every order (``create_graph=True``,
``torch.autograd.functional.hessian``): each is a Monte-Carlo estimator on the
forward's samples (`perturbopt.torch._higher`).

The field's other methods over the same solvers (see the methods guide):
`SPOPlus`, `BlackboxOptimizer`, `NegativeIdentity`, `IMLE`,
`AdaptiveIMLE`, `PerturbationGradientLoss`, `NCELoss`,
`ContrastiveMAPLoss`, `ListwiseLTRLoss`, `PairwiseLTRLoss`,
`PointwiseLTRLoss`, each with a functional form.

Example:
    >>> import torch
    >>> from perturbopt.torch import PerturbedOptimizer
    >>> layer = PerturbedOptimizer("argmax", epsilon=0.5, num_samples=200, seed=0)
    >>> theta = torch.tensor([0.1, 0.9, 0.3], requires_grad=True)
    >>> y = layer(theta)            # ~ a smoothed one-hot vector
    >>> (y * torch.tensor([0.0, 1.0, 0.0])).sum().backward()
    >>> theta.grad.shape
    torch.Size([3])
"""

try:
    import torch as _torch  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "perturbopt.torch needs PyTorch, which is not installed: "
        "pip install perturbopt[torch] (or install torch yourself)"
    ) from error

from ._blackbox import BlackboxOptimizer, NegativeIdentity, blackbox_optimizer, negative_identity
from ._functional import fenchel_young_loss, perturbed_optimizer, perturbed_optimum
from ._imle import IMLE, AdaptiveIMLE, imle
from ._modules import FenchelYoungLoss, PerturbedFunction, PerturbedOptimizer, PerturbedOptimum
from ._pg import PerturbationGradientLoss, perturbation_gradient_loss
from ._pool_losses import (
    ContrastiveMAPLoss,
    ListwiseLTRLoss,
    NCELoss,
    PairwiseLTRLoss,
    PointwiseLTRLoss,
    contrastive_map_loss,
    listwise_ltr_loss,
    nce_loss,
    pairwise_ltr_loss,
    pointwise_ltr_loss,
)
from ._spo import SPOPlus, spo_plus_loss

__all__ = [
    "IMLE",
    "AdaptiveIMLE",
    "BlackboxOptimizer",
    "ContrastiveMAPLoss",
    "FenchelYoungLoss",
    "ListwiseLTRLoss",
    "NCELoss",
    "NegativeIdentity",
    "PairwiseLTRLoss",
    "PerturbationGradientLoss",
    "PerturbedFunction",
    "PerturbedOptimizer",
    "PerturbedOptimum",
    "PointwiseLTRLoss",
    "SPOPlus",
    "blackbox_optimizer",
    "contrastive_map_loss",
    "fenchel_young_loss",
    "imle",
    "listwise_ltr_loss",
    "nce_loss",
    "negative_identity",
    "pairwise_ltr_loss",
    "perturbation_gradient_loss",
    "perturbed_optimizer",
    "perturbed_optimum",
    "pointwise_ltr_loss",
    "spo_plus_loss",
]
