"""Autograd Functions around one perturbed solve each.

The solver runs once, in ``forward``, on a float64 CPU copy of ``theta``; ``backward``
reuses that solve's samples and never calls the solver again.

A plain backward computes the first-order estimators in numpy, block by block. A
backward that builds a graph (``create_graph=True``, ``torch.autograd.functional.hessian``,
a Jacobian of a Jacobian) returns the same value as a torch expression of ``theta`` on
the same samples (`perturbopt.torch._higher`), whose derivatives of every order are
again Monte-Carlo estimators.

An empty batch (``B = 0``, a zero among the batch axes) calls no solver: it gives an
empty result of the right shape and a zero (empty) gradient, as torch's own layers do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.autograd.function import FunctionCtx

from .._perturbed import Perturbed
from .._solver import objective_terms
from ._higher import smoothed_mean, smoothed_value_grad
from ._validation import empty_batch, target_to_numpy, to_numpy, to_tensor

__all__ = ["FenchelYoungFunction", "PerturbedOptimizerFunction", "PerturbedOptimumFunction"]


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
        ctx.save_for_backward(theta)
        return to_tensor(result.mean, theta)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[Any, None, None, None]:
        if not ctx.needs_input_grad[0]:
            return None, None, None, None
        if ctx.result is None:  # an empty batch
            return torch.zeros_like(grad_output), None, None, None
        if torch.is_grad_enabled():  # a graph is built: every order from the samples
            (theta,) = ctx.saved_tensors
            with torch.enable_grad():
                mean = smoothed_mean(theta, ctx.result, ctx.baseline)
                (grad,) = torch.autograd.grad(mean, theta, grad_output, create_graph=True)
            return grad, None, None, None
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
        ctx.result = result  # type: ignore[attr-defined]
        ctx.save_for_backward(theta)
        value = result.value  # checks that F_eps is defined before anything else
        ctx.value_grad = to_tensor(result.value_grad, theta)  # type: ignore[attr-defined]
        return to_tensor(value, theta)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        value_grad = ctx.value_grad
        empty = getattr(ctx, "result", None) is None
        if torch.is_grad_enabled() and not empty:  # Hessians: y_eps as a function of theta
            (theta,) = ctx.saved_tensors
            value_grad = smoothed_value_grad(theta, ctx.result)
        return _per_item(grad_output, value_grad) * value_grad, None, None


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
        if not result.in_theta_space:
            raise ValueError(
                f"FenchelYoungLoss needs <y, theta>, but {result.owner} returns solutions "
                f"of shape {result.out_shape} for instances of shape "
                f"{result.instance_shape}: give the solver features(y) (a generalized "
                "maximizer: the objective <theta, g(y)> + h(y)), or train through "
                "PerturbedOptimizer/PerturbedFunction with a loss on their output"
            )
        value = np.asarray(result.value, dtype=np.float64)  # (*b) or ()
        rows = result.batch_size
        features, offsets = target_terms(perturbed, result, target)
        inner = np.einsum("bk,bk->b", result.theta.reshape(rows, -1), features) + offsets
        sign = 1.0 if perturbed.sense == "max" else -1.0
        grad = sign * (result.value_grad - features.reshape(result.value_grad.shape))
        ctx.result = result  # type: ignore[attr-defined]
        ctx.sign = sign  # type: ignore[attr-defined]
        ctx.target = features  # type: ignore[attr-defined]
        ctx.save_for_backward(theta)
        ctx.grad = to_tensor(grad, theta)  # type: ignore[attr-defined]
        return to_tensor(sign * (value - inner.reshape(value.shape)), theta)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        grad = ctx.grad
        empty = getattr(ctx, "result", None) is None
        if torch.is_grad_enabled() and not empty:  # Hessians: sign * (y_eps(theta) - g(y))
            (theta,) = ctx.saved_tensors
            target = to_tensor(ctx.target, theta).reshape(theta.shape)
            grad = ctx.sign * (smoothed_value_grad(theta, ctx.result) - target)
        return _per_item(grad_output, grad) * grad, None, None, None


def target_terms(
    perturbed: Perturbed, result: Any, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(g(y), h(y))`` of the targets, ``(B, |s|)`` and ``(B,)``: the targets
    themselves and 0 for a plain solver.

    Raises:
        ValueError: a generalized maximizer's target is not of its solutions' shape.
    """
    rows = result.batch_size
    if result.features is None:
        return target.reshape(rows, -1), np.zeros(rows)
    expected = result.batch_shape + result.out_shape
    if target.shape != expected:
        raise ValueError(
            f"y has shape {target.shape}; the targets of a generalized maximizer are "
            f"solutions, of shape {expected} here (one per instance), which the loss "
            "maps to g(y) itself"
        )
    features, offsets = objective_terms(
        perturbed.solver, target.reshape((rows,) + result.out_shape), result.instance_shape
    )
    return features.reshape(rows, -1), offsets
