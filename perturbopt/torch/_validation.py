"""Input checks for the torch bridge, run before any solver is called.

Each error names the input, says what is wrong and what to do about it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._perturbed import Perturbed
from .._solver import solver_name
from .._validation import as_float_array, split_batch

__all__ = [
    "REDUCTIONS",
    "check_reduction",
    "check_target",
    "check_theta",
    "empty_batch",
    "target_to_numpy",
    "to_numpy",
    "to_tensor",
]

REDUCTIONS = ("none", "mean", "sum")


def _quoted(choices: tuple[str, ...]) -> str:
    return ", ".join(map(repr, choices[:-1])) + f" or {choices[-1]!r}"


def check_theta(theta: Any) -> None:
    """``theta`` must be a real floating-point tensor."""
    if not isinstance(theta, torch.Tensor):
        raise TypeError(
            f"theta must be a torch.Tensor, got {type(theta).__name__}; "
            f"convert it with torch.as_tensor(theta, dtype=torch.float64)"
        )
    if theta.is_complex():
        raise TypeError(
            f"theta must be a real floating-point tensor, got dtype {theta.dtype}; "
            f"perturbed optimizers take real scores: pass theta.real or theta.abs()"
        )
    if not theta.is_floating_point():
        raise TypeError(
            f"theta must be a floating-point tensor, got dtype {theta.dtype}; "
            f"gradients need floats: pass theta.float() or theta.double()"
        )


def check_target(y: Any, theta: torch.Tensor, *, same_shape: bool = True) -> None:
    """``y`` is a label for ``theta``: same shape and device, real, no gradient.

    Integer and bool labels (one-hot vectors, ranks, signs) are accepted and cast to
    ``theta``'s dtype. ``same_shape=False`` for a generalized maximizer's targets,
    solutions whose shape is checked against the solver's after the solve.
    """
    if not isinstance(y, torch.Tensor):
        raise TypeError(
            f"y must be a torch.Tensor, got {type(y).__name__}; "
            f"convert it with torch.as_tensor(y, dtype=theta.dtype)"
        )
    if y.is_complex():
        raise TypeError(f"y must be a real tensor (float, integer or bool), got dtype {y.dtype}")
    if same_shape and y.shape != theta.shape:
        raise ValueError(
            f"y has shape {tuple(y.shape)} but theta has shape "
            f"{tuple(theta.shape)}; the label y must have theta's shape, "
            f"one target solution per instance (no broadcasting)"
        )
    if y.device != theta.device:
        raise ValueError(
            f"y is on device {y.device} but theta is on {theta.device}; "
            f"move the label with y.to(theta.device)"
        )
    if y.requires_grad:
        raise ValueError(
            "y requires grad, but labels must not: the loss differentiates "
            "theta only; pass y.detach()"
        )


def empty_batch(theta: torch.Tensor, perturbed: Perturbed) -> tuple[int, ...] | None:
    """The batch axes ``b`` of ``theta`` ``(*b, *s)`` when the batch is empty (a zero in
    ``b``), else ``None``. An empty batch's instance shape ``s`` is checked as any
    other's, so a wrong shape is an error whatever the batch size.

    Raises:
        ValueError: the instance shape does not fit the solver.
    """
    ndim = perturbed._ndim
    if theta.dim() <= ndim:
        return None
    batch = tuple(theta.shape[: theta.dim() - ndim])
    if 0 not in batch:
        return None
    instance = tuple(theta.shape[theta.dim() - ndim :])
    try:
        split_batch(np.zeros(instance), ndim, perturbed._shape, solver_name(perturbed.solver))
    except ValueError as error:
        message = str(error).replace(f"shape {instance}", f"shape {tuple(theta.shape)}", 1)
        raise ValueError(message) from None
    return batch


def check_reduction(reduction: Any) -> str:
    """``reduction`` is one of ``"none"``, ``"mean"``, ``"sum"``."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be {_quoted(REDUCTIONS)}, got {reduction!r}")
    return str(reduction)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A detached float64 numpy copy of ``tensor`` on the CPU (never sharing its memory)."""
    return tensor.detach().to(device="cpu", dtype=torch.float64, copy=True).numpy()


def target_to_numpy(y: torch.Tensor) -> np.ndarray:
    """The label ``y`` as float64 numpy, with an error naming any NaN or inf entry."""
    return as_float_array(to_numpy(y), "y")


def to_tensor(array: Any, like: torch.Tensor) -> torch.Tensor:
    """A new tensor holding ``array``, with ``like``'s dtype and device."""
    return torch.tensor(np.asarray(array), dtype=like.dtype, device=like.device)
