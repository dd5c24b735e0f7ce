"""Blackbox differentiation of the grid shortest path (Vlastelica et al., 2019), the
baseline of the shortest-path experiment, as a torch autograd Function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

__all__ = ["BlackboxShortestPath"]


class BlackboxShortestPath(torch.autograd.Function):
    """``y*(theta)`` forward; ``-(y*(theta) - y*(theta + lambda g)) / lambda`` backward.

    ``solve`` maps a stack of cost maps ``(B, k, k)`` float64 to their 0/1 paths.
    The backward pass is the gradient of a piecewise-linear interpolation of
    ``theta -> loss(y*(theta))``, one more solve per map (Vlastelica et al., 2019).
    """

    @staticmethod
    def forward(
        ctx: Any, theta: torch.Tensor, step: float, solve: Callable[[np.ndarray], np.ndarray]
    ) -> torch.Tensor:
        paths = torch.as_tensor(
            solve(theta.detach().double().cpu().numpy()), dtype=theta.dtype, device=theta.device
        )
        ctx.save_for_backward(theta, paths)
        ctx.step, ctx.solve = step, solve
        return paths

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        theta, paths = ctx.saved_tensors
        moved = (theta + ctx.step * grad).detach().double().cpu().numpy()
        shifted = torch.as_tensor(ctx.solve(moved), dtype=theta.dtype, device=theta.device)
        return -(paths - shifted) / ctx.step, None, None
