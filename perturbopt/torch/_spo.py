"""The SPO+ loss (Elmachtoub and Grigas, "Smart 'Predict, then Optimize'",
Management Science 2022), for any solver."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.autograd.function import FunctionCtx

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
from ._validation import check_reduction, to_numpy, to_tensor

__all__ = ["SPOPlus", "spo_plus_loss"]


class _SPOPlusFunction(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: FunctionCtx,
        pred: torch.Tensor,
        true: np.ndarray,
        true_sol: np.ndarray | None,
        true_obj: np.ndarray | None,
        po: Perturbed,
    ) -> torch.Tensor:
        s = sense_sign(po)
        pred_np = batch_numpy(pred, po)
        c_hat, c = s * flat(pred_np), s * flat(true)
        w_true = flat(solve_hard(po, true)) if true_sol is None else flat(true_sol)
        z = np.einsum("bk,bk->b", c, w_true) if true_obj is None else s * true_obj
        # w*(2 c_hat - c) = y*(s (2 c_hat - c)) = y*(2 pred - true)
        w_spo = flat(solve_hard(po, 2.0 * pred_np - true))
        shifted = 2.0 * c_hat - c
        losses = (
            -np.einsum("bk,bk->b", shifted, w_spo) + 2.0 * np.einsum("bk,bk->b", c_hat, w_true) - z
        )
        grad = (s * 2.0 * (w_true - w_spo)).reshape(pred.shape)
        ctx.grad = to_tensor(grad, pred)  # type: ignore[attr-defined]
        return to_tensor(losses.reshape(batch_shape(pred, po)), pred)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[Any, ...]:
        grad = ctx.grad
        extra = grad.dim() - grad_output.dim()
        return grad_output.reshape(grad_output.shape + (1,) * extra) * grad, None, None, None, None


def spo_plus_loss(
    pred_cost: torch.Tensor,
    true_cost: torch.Tensor,
    solver: Any,
    *,
    true_sol: torch.Tensor | None = None,
    true_obj: torch.Tensor | None = None,
    reduction: str = "mean",
    **options: Any,
) -> torch.Tensor:
    """The SPO+ loss of predicted costs (Elmachtoub and Grigas, 2022), per instance::

        l(c_hat, c) = max_w <c - 2 c_hat, w> + 2 <c_hat, w*(c)> - z*(c)
                    = -<2 c_hat - c, w*(2 c_hat - c)> + 2 <c_hat, w*(c)> - z*(c)

    a convex upper bound of the regret ``<c, w*(c_hat)> - z*(c)``, with subgradient
    ``2 (w*(c) - w*(2 c_hat - c))``. One solve per instance (two when ``true_sol`` is
    left out). For a ``sense="max"`` solver (scores) it is applied to ``c = -pred``: the
    same loss for the maximisation problem, gradient ``2 (y*(2 pred - true) - y*(true))``.

    Args:
        pred_cost: predicted costs ``(*b, *s)``, floating point.
        true_cost: true costs, the same shape.
        solver: a registered name, a solver object, a function, or a ready
            [`perturbopt.Perturbed`][perturbopt.Perturbed].
        true_sol: ``w*(true_cost)``; solved when left out.
        true_obj: ``z*(true_cost) = <true_cost, true_sol>`` in the solver's own sense,
            shape ``(*b)``; computed when left out.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed] (``n_jobs``, ``timeout``,
            ``isolate``, ``solver_options``, ...) and ``solve_ratio``, ``pool``.

    Example:
        >>> import torch
        >>> from perturbopt.torch import spo_plus_loss
        >>> pred = torch.tensor([[0.0, 1.0, 2.0]], requires_grad=True)
        >>> true = torch.tensor([[2.0, 1.0, 0.0]])
        >>> loss = spo_plus_loss(-pred, -true, "argmax")  # argmax of -costs: a min problem
        >>> loss.backward()
        >>> pred.grad                                     # 2 (w*(c) - w*(2 c_hat - c))
        tensor([[-2.,  0.,  2.]])
    """
    po = build_solver(solver, "spo_plus_loss", **options)
    reduction = check_reduction(reduction)
    check_cost(pred_cost, "pred_cost", po)
    hint = "pass the true costs as the second argument"
    check_truth(true_cost, "true_cost", pred_cost, "SPO+", hint)
    true = batch_numpy(true_cost, po)
    sol = None
    if true_sol is not None:
        check_truth(true_sol, "true_sol", pred_cost, "SPO+", "")
        sol = batch_numpy(true_sol, po)
    obj = None
    if true_obj is not None:
        if not isinstance(true_obj, torch.Tensor):
            raise TypeError(f"true_obj must be a torch.Tensor, got {type(true_obj).__name__}")
        obj = to_numpy(true_obj).reshape(-1)
        if obj.shape[0] != true.shape[0]:
            raise ValueError(
                f"true_obj has {obj.shape[0]} values but pred_cost has {true.shape[0]} "
                "instances: give one optimal objective per instance, or leave it out"
            )
    losses = _SPOPlusFunction.apply(pred_cost, true, sol, obj, po)
    return reduce(losses, reduction)


class SPOPlus(torch.nn.Module):
    """The SPO+ loss (Elmachtoub and Grigas, Management Science 2022) as a module.

    ``forward(pred_cost, true_cost, true_sol=None, true_obj=None)``, PyEPO's calling
    order; see `spo_plus_loss` for the formula. ``true_sol`` and ``true_obj`` may
    be left out (then solved: one more solve per instance).

    Args:
        solver: a registered name, a solver object, a function, or a ready
            [`perturbopt.Perturbed`][perturbopt.Perturbed].
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed], plus ``solve_ratio`` and
            ``pool`` (answer a share of the solves from a [`perturbopt.SolutionPool`][perturbopt.SolutionPool]).

    Example:
        >>> import torch
        >>> from perturbopt.torch import SPOPlus
        >>> loss_fn = SPOPlus("scipy.grid_shortest_path_edges", solver_options={"grid": (3, 3)})
        >>> pred = torch.rand(4, 12, requires_grad=True)
        >>> loss = loss_fn(pred, torch.rand(4, 12))
        >>> loss.backward()
    """

    def __init__(self, solver: Any, *, reduction: str = "mean", **options: Any) -> None:
        super().__init__()
        self.reduction = check_reduction(reduction)
        self.perturbed: Perturbed = build_solver(solver, type(self).__name__, **options)

    def forward(
        self,
        pred_cost: torch.Tensor,
        true_cost: torch.Tensor,
        true_sol: torch.Tensor | None = None,
        true_obj: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The SPO+ loss of ``pred_cost`` against ``true_cost``."""
        return spo_plus_loss(
            pred_cost,
            true_cost,
            self.perturbed,
            true_sol=true_sol,
            true_obj=true_obj,
            reduction=self.reduction,
        )
