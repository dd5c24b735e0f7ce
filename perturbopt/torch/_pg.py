"""Perturbation-gradient losses (Huang and Gupta, "Decision-Focused Learning with
Directional Gradients", 2024): PyEPO's ``PG``, for any solver."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.autograd.function import FunctionCtx

from .._checks import check_number
from .._perturbed import Perturbed
from ._common import (
    batch_numpy,
    batch_shape,
    build_solver,
    check_cost,
    check_truth,
    flat,
    reduce,
    sense_sign,
    solve_hard,
)
from ._validation import check_reduction, to_tensor

__all__ = ["PerturbationGradientLoss", "perturbation_gradient_loss"]


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("bk,bk->b", a, b)


class _PGFunction(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: FunctionCtx,
        pred: torch.Tensor,
        true: np.ndarray,
        po: Perturbed,
        sigma: float,
        two_sides: bool,
    ) -> torch.Tensor:
        s = sense_sign(po)
        theta = batch_numpy(pred, po)
        c_hat, c = s * flat(theta), s * flat(true)
        # w*(c_hat + t c) = y*(s (c_hat + t c)) = y*(pred + t true)
        minus = flat(solve_hard(po, theta - sigma * true))
        if two_sides:
            plus = flat(solve_hard(po, theta + sigma * true))
            losses = (_dot(c_hat + sigma * c, plus) - _dot(c_hat - sigma * c, minus)) / (2 * sigma)
            grad = (plus - minus) / (2 * sigma)
        else:
            here = flat(solve_hard(po, theta))
            losses = (_dot(c_hat, here) - _dot(c_hat - sigma * c, minus)) / sigma
            grad = (here - minus) / sigma
        ctx.grad = to_tensor((s * grad).reshape(pred.shape), pred)  # type: ignore[attr-defined]
        return to_tensor(losses.reshape(batch_shape(pred, po)), pred)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[Any, ...]:
        grad = ctx.grad
        extra = grad.dim() - grad_output.dim()
        return grad_output.reshape(grad_output.shape + (1,) * extra) * grad, None, None, None, None


def _check_sigma(sigma: Any) -> float:
    meaning = "the finite-difference step along the true costs (PyEPO's default 0.1)"
    return check_number(None, "sigma", sigma, positive=True, meaning=meaning)


def perturbation_gradient_loss(
    pred_cost: torch.Tensor,
    true_cost: torch.Tensor,
    solver: Any,
    *,
    sigma: float = 0.1,
    two_sides: bool = False,
    reduction: str = "mean",
    **options: Any,
) -> torch.Tensor:
    """The perturbation-gradient loss (Huang and Gupta, 2024), per instance.

    With ``V(c_hat) = min_w <c_hat, w> = <c_hat, w*(c_hat)>``, whose gradient is
    ``w*(c_hat)``, the decision loss ``<c, w*(c_hat)>`` is the derivative of
    ``t -> V(c_hat + t c)`` at 0; the loss is its finite difference with step
    ``sigma`` (``h``)::

        one-sided (PGB):  (V(c_hat) - V(c_hat - h c)) / h,
                          gradient (w*(c_hat) - w*(c_hat - h c)) / h
        two-sided (PGC):  (V(c_hat + h c) - V(c_hat - h c)) / (2 h),
                          gradient (w*(c_hat + h c) - w*(c_hat - h c)) / (2 h)

    Two solves per instance. For ``sense="max"`` the same on ``c = -pred``.

    Args:
        pred_cost: predicted costs ``(*b, *s)``.
        true_cost: true costs, the same shape.
        solver: a registered name, a solver object, a function, or a ready
            [`perturbopt.Perturbed`][perturbopt.Perturbed].
        sigma: the step ``h > 0`` (default 0.1).
        two_sides: central (``True``) or backward (default) difference.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed], ``solve_ratio``, ``pool``.

    Example:
        >>> import torch
        >>> from perturbopt.torch import perturbation_gradient_loss
        >>> pred = torch.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
        >>> true = torch.tensor([[3.0, 2.0, 1.0]])
        >>> loss = perturbation_gradient_loss(-pred, -true, "argmax", sigma=1.0)
        >>> loss.item()          # V(c_hat) - V(c_hat - c) = 1 - (-2)
        3.0
    """
    po = build_solver(solver, "perturbation_gradient_loss", **options)
    reduction = check_reduction(reduction)
    check_cost(pred_cost, "pred_cost", po)
    check_truth(true_cost, "true_cost", pred_cost, "PG", "pass the true costs second")
    true = batch_numpy(true_cost, po)
    losses = _PGFunction.apply(pred_cost, true, po, _check_sigma(sigma), bool(two_sides))
    return reduce(losses, reduction)


class PerturbationGradientLoss(torch.nn.Module):
    """The perturbation-gradient loss (Huang and Gupta, 2024): PyEPO's ``PG``.
    ``forward(pred_cost, true_cost) -> loss``; see `perturbation_gradient_loss`.

    Args:
        solver: a registered name, a solver object, a function, or a ready
            [`perturbopt.Perturbed`][perturbopt.Perturbed].
        sigma: the finite-difference step (default 0.1).
        two_sides: central (``True``) or backward (default) difference.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed], ``solve_ratio``, ``pool``.

    Example:
        >>> import torch
        >>> from perturbopt.torch import PerturbationGradientLoss
        >>> loss_fn = PerturbationGradientLoss("scipy.grid_shortest_path_edges",
        ...                                    solver_options={"grid": (3, 3)})
        >>> pred = torch.rand(4, 12, requires_grad=True)
        >>> loss_fn(pred, torch.rand(4, 12)).backward()
    """

    def __init__(
        self,
        solver: Any,
        *,
        sigma: float = 0.1,
        two_sides: bool = False,
        reduction: str = "mean",
        **options: Any,
    ) -> None:
        super().__init__()
        self.sigma = _check_sigma(sigma)
        self.two_sides = bool(two_sides)
        self.reduction = check_reduction(reduction)
        self.perturbed: Perturbed = build_solver(solver, type(self).__name__, **options)

    def forward(self, pred_cost: torch.Tensor, true_cost: torch.Tensor) -> torch.Tensor:
        """The loss of ``pred_cost`` against ``true_cost``."""
        return perturbation_gradient_loss(
            pred_cost,
            true_cost,
            self.perturbed,
            sigma=self.sigma,
            two_sides=self.two_sides,
            reduction=self.reduction,
        )
