"""Implicit maximum-likelihood estimation, I-MLE (Niepert et al., NeurIPS 2021), and its
adaptive variant (Minervini et al., AAAI 2023), for any solver."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch
from torch.autograd.function import FunctionCtx

from .._perturbed import Perturbed, _seed_sequence
from .._sum_of_gamma import SumOfGamma
from ._blackbox import check_lambda
from ._common import batch_numpy, build_solver, check_cost, sense_sign
from ._validation import to_numpy, to_tensor

__all__ = ["IMLE", "AdaptiveIMLE", "imle"]


def _imle_solver(solver: Any, owner: str, kappa: int, options: dict[str, Any]) -> Perturbed:
    if not isinstance(solver, Perturbed):
        options.setdefault("noise", SumOfGamma(k=kappa))
        options.setdefault("num_samples", 10)
        options.setdefault("epsilon", 1.0)
    po = build_solver(solver, owner, **options)
    if po.perturbation != "additive":
        raise ValueError("I-MLE perturbs additively: leave perturbation='additive'")
    return po


def _mean_solution(po: Perturbed, theta: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """``(1/M) sum_l y*(theta + eps Z_l)`` for the forward's noise ``Z`` ``(M, B, *s)``:
    the ``M B`` perturbed inputs solved as one plain batch (the noise is not drawn
    again)."""
    rows = (theta[None] + po.epsilon * noise).reshape((-1,) + theta.shape[1:])
    solutions = np.asarray(po.hard(rows), dtype=np.float64).reshape(noise.shape)
    return solutions.mean(axis=0)  # type: ignore[no-any-return]


class _IMLEFunction(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: FunctionCtx,
        pred: torch.Tensor,
        po: Perturbed,
        key: np.random.SeedSequence,
        step: Any,
        two_sides: bool,
    ) -> torch.Tensor:
        theta = batch_numpy(pred, po)
        result = po.solve(theta, seed=key)
        mean = np.asarray(result.mean, dtype=np.float64).reshape(theta.shape)
        ctx.po, ctx.result, ctx.step, ctx.two_sides = po, result, step, two_sides  # type: ignore[attr-defined]
        ctx.theta, ctx.mean = theta, mean  # type: ignore[attr-defined]
        return to_tensor(mean.reshape(pred.shape), pred)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[Any, ...]:
        s = sense_sign(ctx.po)
        g = to_numpy(grad_output).reshape(ctx.theta.shape)
        adaptive = isinstance(ctx.step, AdaptiveIMLE)
        step = ctx.step.step_for(ctx.theta, g) if adaptive else ctx.step
        if step == 0.0:
            return torch.zeros_like(grad_output), None, None, None, None
        # min: c' = c + lambda g; max: theta' = theta - lambda g; the same noise
        noise = np.asarray(ctx.result.noise, dtype=np.float64).reshape((-1,) + ctx.theta.shape)
        plus = _mean_solution(ctx.po, ctx.theta + s * step * g, noise)
        if ctx.two_sides:
            minus = _mean_solution(ctx.po, ctx.theta - s * step * g, noise)
            grad = s * (plus - minus) / (2.0 * step)
        else:
            grad = s * (plus - ctx.mean) / step
        if adaptive:
            ctx.step.observe(grad)
        return to_tensor(grad.reshape(grad_output.shape), grad_output), None, None, None, None


def imle(
    pred_cost: torch.Tensor,
    solver: Any,
    *,
    lambda_: float = 10.0,
    two_sides: bool = False,
    kappa: int = 5,
    seed: Any = None,
    **options: Any,
) -> torch.Tensor:
    """Perturb-and-MAP solutions differentiated by I-MLE (Niepert, Minervini and
    Franceschi, "Implicit MLE: Backpropagating Through Discrete Exponential Family
    Distributions", NeurIPS 2021).

    Forward: ``(1/M) sum_l y*(theta + eps Z_l)``, with sum-of-gamma noise ``Z`` by
    default ([`perturbopt.SumOfGamma`][perturbopt.SumOfGamma], ``k = kappa``). Backward, for the upstream
    gradient ``g``, with the *same* noise ``Z_l``; in the paper's maximisation form
    (``sense="max"``, scores ``theta``)::

        theta' = theta - lambda g,   grad = (1/M) sum_l (y*(theta + eps Z_l) - y*(theta' + eps Z_l)) / lambda

    and for ``sense="min"`` (costs ``c``), the same with the signs flipped:
    ``c' = c + lambda g``, ``grad = (1/M) sum_l (w*(c' + eps Z_l) - w*(c + eps Z_l)) / lambda``.
    The ``1 / lambda`` makes it a finite difference (as PyEPO does); the paper's
    estimator is ``lambda`` times this. ``two_sides=True`` uses the central difference
    ``(y*(theta + lambda g ...) - y*(theta - lambda g ...)) / (2 lambda)`` (two solves).
    Cost: ``M`` solves forward, ``M`` (``2M``) backward per instance.

    Args:
        pred_cost: predicted costs (or scores) ``(*b, *s)``.
        solver: a registered name, a solver object, a function, or a ready
            [`perturbopt.Perturbed`][perturbopt.Perturbed] (whose noise is then used).
        lambda_: the step ``lambda > 0`` towards the target distribution (default 10).
        two_sides: central instead of one-sided differences.
        kappa: ``k`` of the default sum-of-gamma noise (default 5, as PyEPO).
        seed: this call's noise key (default: the next one).
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed]: ``epsilon`` (the noise
            temperature, default 1), ``num_samples`` (default 10), ``noise``, ``n_jobs``,
            ... and ``solve_ratio``, ``pool``.

    Example:
        >>> import torch
        >>> from perturbopt.torch import imle
        >>> theta = torch.tensor([[0.1, 2.0, 1.9, -1.0]], requires_grad=True)
        >>> y = imle(theta, "topk", solver_options={"k": 2}, kappa=2, seed=0)
        >>> y.sum().item()                 # k = 2 items in every sample
        2.0
        >>> (y * torch.tensor([[0.0, 0.0, 1.0, 0.0]])).sum().backward()
        >>> theta.grad.shape
        torch.Size([1, 4])
    """
    po = _imle_solver(solver, "imle", kappa, options)
    check_cost(pred_cost, "pred_cost", po)
    return _IMLEFunction.apply(  # type: ignore[no-any-return]
        pred_cost, po, _seed_sequence(seed), check_lambda(lambda_), bool(two_sides)
    )


class IMLE(torch.nn.Module):
    """I-MLE over any solver (Niepert et al., NeurIPS 2021): PyEPO's ``IMLE``.
    ``forward(pred_cost) -> (1/M) sum_l w*(pred_cost + eps Z_l)``; see `imle`.

    Args:
        solver: a registered name, a solver object, a function, or a ready
            [`perturbopt.Perturbed`][perturbopt.Perturbed].
        lambda_: the step towards the target distribution (default 10).
        two_sides: central differences (two solves per sample in backward).
        kappa: ``k`` of the default sum-of-gamma noise (default 5).
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed] (``epsilon`` default 1,
            ``num_samples`` default 10, ``seed``, ``n_jobs``, ...), ``solve_ratio``,
            ``pool``.

    Example:
        >>> import torch
        >>> from perturbopt.torch import IMLE
        >>> layer = IMLE("scipy.grid_shortest_path_edges", solver_options={"grid": (3, 3)},
        ...              num_samples=3, seed=0)
        >>> pred = torch.rand(2, 12, requires_grad=True)
        >>> [round(v, 4) for v in layer(pred).sum(dim=1).tolist()]  # 4-arc paths
        [4.0, 4.0]
    """

    def __init__(
        self,
        solver: Any,
        *,
        lambda_: float = 10.0,
        two_sides: bool = False,
        kappa: int = 5,
        **options: Any,
    ) -> None:
        super().__init__()
        self.lambda_ = check_lambda(lambda_)
        self.two_sides = bool(two_sides)
        self._keys = _seed_sequence(options.get("seed"))
        self.perturbed: Perturbed = _imle_solver(solver, type(self).__name__, kappa, options)

    def _next_key(self) -> np.random.SeedSequence:
        return self._keys.spawn(1)[0]

    def forward(self, pred_cost: torch.Tensor) -> torch.Tensor:
        """The mean perturbed solution, with the I-MLE gradient."""
        check_cost(pred_cost, "pred_cost", self.perturbed)
        return _IMLEFunction.apply(  # type: ignore[no-any-return]
            pred_cost, self.perturbed, self._next_key(), self.lambda_, self.two_sides
        )


class AdaptiveIMLE(IMLE):
    """Adaptive I-MLE (Minervini, Franceschi and Niepert, "Adaptive Perturbation-Based
    Gradient Estimation for Discrete Latent Variable Models", AAAI 2023): PyEPO's
    ``AIMLE``.

    As `IMLE`, but the step is chosen per call relative to the inputs::

        lambda = alpha * |theta| / |g|      (Frobenius norms over the batch)

    and ``alpha`` adapts so that the gradient estimate is non-zero in a share
    ``target_density`` of its entries: after each backward pass the moving average
    ``d <- 0.9 d + 0.1 (share of non-zero entries)`` is compared with the target, and
    ``alpha`` grows by ``alpha_step`` when ``d`` is below it, shrinks (not below 0)
    otherwise. The default target 1 reproduces PyEPO's rule (``alpha`` grows while any
    entry of the gradient is zero).

    Args:
        solver: as for `IMLE`.
        alpha: the initial relative step (default 1).
        alpha_step: how much ``alpha`` moves per call (default 1e-3).
        target_density: the wanted share of non-zero gradient entries, in ``(0, 1]``.
        two_sides: central differences, as for `IMLE`.
        kappa: ``k`` of the default sum-of-gamma noise (default 5).
        **options: as for `IMLE` (no ``lambda_``).

    Attributes:
        alpha: the current relative step.

    Example:
        >>> import torch
        >>> from perturbopt.torch import AdaptiveIMLE
        >>> layer = AdaptiveIMLE("topk", solver_options={"k": 1}, kappa=1, seed=0)
        >>> theta = torch.tensor([[0.3, 0.2, 0.1]], requires_grad=True)
        >>> (layer(theta) * torch.tensor([[1.0, 0.0, 0.0]])).sum().backward()
        >>> layer.alpha > 1.0               # the gradient was sparse: alpha grew
        True
    """

    alpha: float
    alpha_step: float
    target_density: float
    density: float

    def __init__(
        self,
        solver: Any,
        *,
        alpha: float = 1.0,
        alpha_step: float = 1e-3,
        target_density: float = 1.0,
        two_sides: bool = False,
        kappa: int = 5,
        **options: Any,
    ) -> None:
        super().__init__(solver, lambda_=1.0, two_sides=two_sides, kappa=kappa, **options)
        for name, value in (("alpha", alpha), ("alpha_step", alpha_step)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        if not isinstance(target_density, numbers.Real) or not 0 < target_density <= 1:
            raise ValueError(f"target_density must be in (0, 1], got {target_density!r}")
        self.alpha = float(alpha)
        self.alpha_step = float(alpha_step)
        self.target_density = float(target_density)
        self.density = 1.0

    def step_for(self, theta: np.ndarray, g: np.ndarray) -> float:
        """``lambda = alpha |theta| / |g|`` (0 when ``g`` is 0)."""
        norm = float(np.linalg.norm(g))
        if norm == 0.0 or not math.isfinite(norm):
            return 0.0
        return self.alpha * float(np.linalg.norm(theta)) / norm

    def observe(self, grad: np.ndarray) -> None:
        """Update the density average and ``alpha`` after a backward pass."""
        self.density = 0.9 * self.density + 0.1 * float(np.mean(np.abs(grad) > 1e-12))
        if self.density < self.target_density:
            self.alpha += self.alpha_step
        else:
            self.alpha = max(0.0, self.alpha - self.alpha_step)

    def forward(self, pred_cost: torch.Tensor) -> torch.Tensor:
        """The mean perturbed solution, with the adaptive I-MLE gradient."""
        check_cost(pred_cost, "pred_cost", self.perturbed)
        return _IMLEFunction.apply(  # type: ignore[no-any-return]
            pred_cost, self.perturbed, self._next_key(), self, self.two_sides
        )
