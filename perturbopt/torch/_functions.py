"""Autograd Functions around one perturbed solve each.

The solver runs once, in ``forward``, on a float64 CPU copy of ``theta``; ``backward``
reuses that solve's samples and never calls the solver again. None of these Functions
is twice differentiable: a second derivative raises an error that says so.

An empty batch (``B = 0``, a zero among the batch axes) calls no solver: it gives an
empty result of the right shape and a zero (empty) gradient, as torch's own layers do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.autograd.function import FunctionCtx

from .._perturbed import Perturbed
from ._validation import empty_batch, target_to_numpy, to_numpy, to_tensor

__all__ = ["FenchelYoungFunction", "PerturbedOptimizerFunction", "PerturbedOptimumFunction"]


def _once(name: str) -> None:
    """Refuse a backward pass that builds a graph (``create_graph=True``)."""
    if torch.is_grad_enabled():
        raise RuntimeError(
            f"{name} is differentiable once: its gradient is a Monte-Carlo estimate that "
            "has no derivative of its own, so double backward (create_graph=True, "
            "torch.autograd.gradgradcheck, Hessians) is not available. Differentiate the "
            "perturbed optimum twice through PerturbedOptimizer instead: the gradient of "
            "F_eps is y_eps, whose Jacobian it estimates"
        )


def _per_item(grad_output: torch.Tensor, instance: torch.Tensor) -> torch.Tensor:
    """``grad_output`` ``(*b)`` or ``()`` reshaped to broadcast against ``(*b, *s)``."""
    extra = instance.dim() - grad_output.dim()
    return grad_output.reshape(grad_output.shape + (1,) * extra)


class PerturbedOptimizerFunction(torch.autograd.Function):
    """``theta -> y_eps(theta)``; backward is the Monte-Carlo VJP of the same samples.

    ``J^T g = (1 / (M eps)) sum_l (<y_l, g> - b_l) grad nu(Z_l)`` (divided by
    ``theta`` for multiplicative noise), see [`perturbopt.PerturbedResult.vjp`][perturbopt.PerturbedResult.vjp].
    """

    @staticmethod
    def forward(
        ctx: FunctionCtx, theta: torch.Tensor, perturbed: Perturbed, baseline: str, seed: Any
    ) -> torch.Tensor:
        ctx.baseline = baseline  # type: ignore[attr-defined]
        if empty_batch(theta, perturbed) is not None:
            ctx.result = None  # type: ignore[attr-defined]
            return theta.new_zeros(theta.shape)
        result = perturbed.solve(to_numpy(theta), seed=seed)
        ctx.result = result  # type: ignore[attr-defined]
        return to_tensor(result.mean, theta)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[Any, None, None, None]:
        _once("PerturbedOptimizer")
        if not ctx.needs_input_grad[0]:
            return None, None, None, None
        if ctx.result is None:  # an empty batch
            return torch.zeros_like(grad_output), None, None, None
        grad = ctx.result.vjp(to_numpy(grad_output), baseline=ctx.baseline)
        return to_tensor(grad, grad_output), None, None, None


class PerturbedOptimumFunction(torch.autograd.Function):
    """``theta -> F_eps(theta)``, one value per instance; gradient ``result.value_grad``
    (``y_eps(theta)`` for additive noise)."""

    @staticmethod
    def forward(
        ctx: FunctionCtx, theta: torch.Tensor, perturbed: Perturbed, seed: Any
    ) -> torch.Tensor:
        batch = empty_batch(theta, perturbed)
        if batch is not None:
            ctx.value_grad = theta.new_zeros(theta.shape)  # type: ignore[attr-defined]
            return theta.new_zeros(batch)
        result = perturbed.solve(to_numpy(theta), seed=seed)
        ctx.value_grad = to_tensor(result.value_grad, theta)  # type: ignore[attr-defined]
        return to_tensor(result.value, theta)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        _once("PerturbedOptimum")
        return _per_item(grad_output, ctx.value_grad) * ctx.value_grad, None, None


class FenchelYoungFunction(torch.autograd.Function):
    """Per-instance Fenchel-Young loss, without the constant ``eps * Omega(y)``.

    ``sense="max"``: ``F_eps(theta) - <theta, y>``, gradient ``y_eps(theta) - y``;
    ``sense="min"``: ``<theta, y> - F_eps(theta)``, gradient ``y - y_eps(theta)``
    (``result.value_grad`` in place of ``y_eps`` for multiplicative noise). The label
    ``y`` gets no gradient.
    """

    @staticmethod
    def forward(
        ctx: FunctionCtx, theta: torch.Tensor, y: torch.Tensor, perturbed: Perturbed, seed: Any
    ) -> torch.Tensor:
        target = target_to_numpy(y)
        batch = empty_batch(theta, perturbed)
        if batch is not None:
            ctx.grad = theta.new_zeros(theta.shape)  # type: ignore[attr-defined]
            return theta.new_zeros(batch)
        result = perturbed.solve(to_numpy(theta), seed=seed)
        value = np.asarray(result.value, dtype=np.float64)  # (*b) or ()
        rows = result.batch_size
        inner = np.einsum("bk,bk->b", result.theta.reshape(rows, -1), target.reshape(rows, -1))
        sign = 1.0 if perturbed.sense == "max" else -1.0
        grad = sign * (result.value_grad - target)
        ctx.grad = to_tensor(grad, theta)  # type: ignore[attr-defined]
        return to_tensor(sign * (value - inner.reshape(value.shape)), theta)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        _once("FenchelYoungLoss")
        return _per_item(grad_output, ctx.grad) * ctx.grad, None, None, None
