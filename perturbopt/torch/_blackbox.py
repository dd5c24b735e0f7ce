"""Blackbox differentiation (Vlastelica et al., ICLR 2020) and the negative identity
(Sahoo et al., TMLR 2023): the solver's own solution forward, a surrogate gradient
backward."""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import FunctionCtx

from .._checks import check_number
from .._perturbed import Perturbed
from ._common import batch_numpy, build_solver, check_cost, sense_sign, solve_hard
from ._validation import to_numpy, to_tensor

__all__ = ["BlackboxOptimizer", "NegativeIdentity", "blackbox_optimizer", "negative_identity"]


def check_lambda(value: Any, name: str = "lambda_") -> float:
    """A finite ``lambda > 0``."""
    meaning = "the interpolation step (PyEPO's lambd; 10 to 20 is usual for costs of order 1)"
    return check_number(None, name, value, positive=True, meaning=meaning)


class _BlackboxFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx: FunctionCtx, pred: torch.Tensor, po: Perturbed, step: float) -> torch.Tensor:
        theta = batch_numpy(pred, po)
        solution = solve_hard(po, theta)
        ctx.po, ctx.step = po, step  # type: ignore[attr-defined]
        ctx.theta, ctx.solution = theta, solution  # type: ignore[attr-defined]
        return to_tensor(solution.reshape(pred.shape), pred)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[Any, None, None]:
        s = sense_sign(ctx.po)
        g = to_numpy(grad_output).reshape(ctx.theta.shape)
        # min: c' = c + lambda g; max: theta' = theta - lambda g
        moved = solve_hard(ctx.po, ctx.theta + s * ctx.step * g)
        grad = s * (moved - ctx.solution) / ctx.step
        return to_tensor(grad.reshape(grad_output.shape), grad_output), None, None


class _NegativeIdentityFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx: FunctionCtx, pred: torch.Tensor, po: Perturbed) -> torch.Tensor:
        ctx.sign = sense_sign(po)  # type: ignore[attr-defined]
        solution = solve_hard(po, batch_numpy(pred, po))
        return to_tensor(solution.reshape(pred.shape), pred)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[Any, None]:
        return -ctx.sign * grad_output, None


def blackbox_optimizer(
    pred_cost: torch.Tensor, solver: Any, *, lambda_: float = 10.0, **options: Any
) -> torch.Tensor:
    """``w*(pred_cost)``, differentiated by blackbox interpolation (Vlastelica et al.,
    "Differentiation of Blackbox Combinatorial Solvers", ICLR 2020).

    Forward: the solver's solution ``w = w*(c_hat)``. Backward, for the upstream gradient
    ``g`` of a loss in ``w``, with a ``sense="min"`` solver (costs)::

        c' = c_hat + lambda g,   grad = (w*(c') - w) / lambda

    the gradient of a piecewise-linear interpolation of ``c_hat -> loss(w*(c_hat))``.
    For ``sense="max"`` (scores): ``theta' = theta - lambda g``,
    ``grad = (w - y*(theta')) / lambda``. One more solve per instance in backward.

    Args:
        pred_cost: predicted costs (or scores) ``(*b, *s)``.
        solver: a registered name, a solver object, a function, or a ready
            [`perturbopt.Perturbed`][perturbopt.Perturbed].
        lambda_: the interpolation step ``lambda > 0`` (PyEPO's ``lambd``, default 10).
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed], plus ``solve_ratio`` and
            ``pool``.

    Returns:
        ``w*(pred_cost)``, pred_cost's shape, dtype and device.

    Example:
        >>> import torch
        >>> from perturbopt.torch import blackbox_optimizer
        >>> theta = torch.tensor([1.0, 3.0, 2.0], requires_grad=True)
        >>> y = blackbox_optimizer(theta, "argmax", lambda_=2.0)
        >>> y
        tensor([0., 1., 0.], grad_fn=<_BlackboxFunctionBackward>)
        >>> (y * torch.tensor([0.0, 1.0, 0.0])).sum().backward()  # theta' = [1, 1, 2]
        >>> (theta.grad + 0.0).tolist()
        [0.0, 0.5, -0.5]
    """
    po = build_solver(solver, "blackbox_optimizer", **options)
    check_cost(pred_cost, "pred_cost", po)
    return _BlackboxFunction.apply(pred_cost, po, check_lambda(lambda_))  # type: ignore[no-any-return]


def negative_identity(pred_cost: torch.Tensor, solver: Any, **options: Any) -> torch.Tensor:
    """``w*(pred_cost)``, with the negative identity as its Jacobian (Sahoo et al.,
    "Backpropagation through Combinatorial Algorithms: Identity with Projection Works",
    TMLR 2023).

    Forward: the solver's solution. Backward: ``-g`` for a ``sense="min"`` solver (a
    cost going up makes its item less chosen), ``+g`` for ``sense="max"``. No extra
    solve, no hyperparameter; it is the blackbox gradient's limit for large ``lambda``
    up to scale.

    Args:
        pred_cost: predicted costs (or scores) ``(*b, *s)``.
        solver: a registered name, a solver object, a function, or a ready
            [`perturbopt.Perturbed`][perturbopt.Perturbed].
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed], plus ``solve_ratio`` and
            ``pool``.

    Example:
        >>> import torch
        >>> from perturbopt.torch import negative_identity
        >>> costs = torch.tensor([[1.0, 0.5, 2.0]], requires_grad=True)
        >>> y = negative_identity(-costs, "argmax")       # argmax of -c: argmin of c
        >>> (y * torch.tensor([[1.0, 2.0, 3.0]])).sum().backward()
        >>> costs.grad                                    # -g through the min problem
        tensor([[-1., -2., -3.]])
    """
    po = build_solver(solver, "negative_identity", **options)
    check_cost(pred_cost, "pred_cost", po)
    return _NegativeIdentityFunction.apply(pred_cost, po)  # type: ignore[no-any-return]


class BlackboxOptimizer(torch.nn.Module):
    """Blackbox differentiation of any solver (Vlastelica et al., ICLR 2020): PyEPO's
    ``DBB``. ``forward(pred_cost) -> w*(pred_cost)``; see `blackbox_optimizer`.

    Args:
        solver: a registered name, a solver object, a function, or a ready
            [`perturbopt.Perturbed`][perturbopt.Perturbed].
        lambda_: the interpolation step ``lambda > 0`` (default 10).
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed], plus ``solve_ratio`` and
            ``pool``.

    Example:
        >>> import torch
        >>> from perturbopt.torch import BlackboxOptimizer
        >>> dbb = BlackboxOptimizer("scipy.grid_shortest_path_edges",
        ...                         solver_options={"grid": (3, 3)}, lambda_=10.0)
        >>> pred = torch.rand(2, 12, requires_grad=True)
        >>> paths = dbb(pred)             # 0/1 arcs, 4 per path
        >>> paths.sum(dim=1).tolist()
        [4.0, 4.0]
    """

    def __init__(self, solver: Any, *, lambda_: float = 10.0, **options: Any) -> None:
        super().__init__()
        self.lambda_ = check_lambda(lambda_)
        self.perturbed: Perturbed = build_solver(solver, type(self).__name__, **options)

    def forward(self, pred_cost: torch.Tensor) -> torch.Tensor:
        """``w*(pred_cost)``, with the blackbox gradient."""
        return blackbox_optimizer(pred_cost, self.perturbed, lambda_=self.lambda_)

    def extra_repr(self) -> str:
        return f"lambda_={self.lambda_}"


class NegativeIdentity(torch.nn.Module):
    """The negative-identity backward (Sahoo et al., TMLR 2023): PyEPO's ``NID``.
    ``forward(pred_cost) -> w*(pred_cost)``; see `negative_identity`.

    Args:
        solver: a registered name, a solver object, a function, or a ready
            [`perturbopt.Perturbed`][perturbopt.Perturbed].
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed], plus ``solve_ratio`` and
            ``pool``.

    Example:
        >>> import torch
        >>> from perturbopt.torch import NegativeIdentity
        >>> nid = NegativeIdentity("topk", solver_options={"k": 1})
        >>> nid(torch.tensor([0.2, 0.9, 0.1])).tolist()
        [0.0, 1.0, 0.0]
    """

    def __init__(self, solver: Any, **options: Any) -> None:
        super().__init__()
        self.perturbed: Perturbed = build_solver(solver, type(self).__name__, **options)

    def forward(self, pred_cost: torch.Tensor) -> torch.Tensor:
        """``w*(pred_cost)``, with gradient ``-g`` (min) or ``g`` (max)."""
        return negative_identity(pred_cost, self.perturbed)
