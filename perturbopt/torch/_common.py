"""What the decision-focused methods share: building the solver, checking the inputs
against it, and the sign flip that lets methods written for minimisation run on
``sense="max"`` solvers.

Sign convention: with ``s = +1`` for a ``sense="min"`` solver and ``s = -1`` for
``sense="max"``, a method written for costs ``c`` runs on ``c = s * pred`` and
``w*(c) = y*(s * c)``; its gradient in ``c`` is multiplied by ``s`` again. A maximiser
of ``<theta, y>`` is the minimiser of ``<-theta, y>``, so this flip is exact.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .._perturbed import Perturbed
from .._solver import solver_name
from ._functional import as_perturbed
from ._validation import check_theta, to_numpy

__all__ = [
    "batch_numpy",
    "build_solver",
    "check_cost",
    "check_truth",
    "flat",
    "instance_ndim",
    "reduce",
    "sense_sign",
    "solve_hard",
]


def build_solver(solver: Any, owner: str, **options: Any) -> Perturbed:
    """The [`perturbopt.Perturbed`][perturbopt.Perturbed] a method calls: ``solver`` itself if it is one
    (then no options may be given), else ``perturbed(solver, **options)`` with the
    solution pool in front when ``solve_ratio < 1`` (options ``solve_ratio``, ``pool``)."""
    return as_perturbed(solver, owner, **options)


def sense_sign(po: Perturbed) -> float:
    """``+1`` for a ``sense="min"`` solver, ``-1`` for ``sense="max"``."""
    return 1.0 if po.sense == "min" else -1.0


def instance_ndim(po: Perturbed) -> int:
    """The number of axes of one instance."""
    return int(po._ndim)


def check_cost(value: Any, name: str, po: Perturbed) -> None:
    """``value`` is a floating tensor of instances the solver takes, ``(*s)`` or
    ``(*b, *s)``; errors name the argument."""
    if value is None:
        raise TypeError(f"{name} is required (got None)")
    try:
        check_theta(value)
    except TypeError as error:
        raise TypeError(str(error).replace("theta", name)) from None
    ndim = instance_ndim(po)
    shape = po._shape
    if value.dim() < ndim:
        raise ValueError(
            f"{name} has shape {tuple(value.shape)}, but solver {solver_name(po.solver)!r} "
            f"takes instances with {ndim} axes: pass ({name} of shape (B, *s))"
        )
    instance = tuple(value.shape[value.dim() - ndim :])
    if shape is not None and instance != tuple(shape):
        raise ValueError(
            f"{name} has shape {tuple(value.shape)}, but solver {solver_name(po.solver)!r} "
            f"takes instances of shape {tuple(shape)}: pass {name} of shape "
            f"(B, {', '.join(map(str, shape))})"
        )
    if 0 in value.shape:
        raise ValueError(f"{name} has shape {tuple(value.shape)}: it is empty")


def check_truth(value: Any, name: str, pred: torch.Tensor, method: str, hint: str) -> torch.Tensor:
    """A label ``value`` for ``pred``: present, a tensor of ``pred``'s shape and device,
    real, not requiring grad; returned as it is."""
    if value is None:
        raise TypeError(f"{method} needs {name}, which is missing: {hint}")
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(value).__name__}; convert it with "
            f"torch.as_tensor({name}, dtype=pred_cost.dtype)"
        )
    if value.is_complex():
        raise TypeError(f"{name} must be real, got dtype {value.dtype}")
    if value.shape != pred.shape:
        raise ValueError(
            f"{name} has shape {tuple(value.shape)} but pred_cost has shape "
            f"{tuple(pred.shape)}; {method} needs one {name} per predicted cost vector"
        )
    if value.device != pred.device:
        raise ValueError(
            f"{name} is on device {value.device} but pred_cost is on {pred.device}; "
            f"move it with {name}.to(pred_cost.device)"
        )
    if value.requires_grad:
        raise ValueError(f"{name} requires grad, but labels must not: pass {name}.detach()")
    return value


def batch_numpy(value: torch.Tensor, po: Perturbed) -> np.ndarray:
    """``value`` ``(*b, *s)`` as a float64 numpy batch ``(B, *s)``."""
    array = to_numpy(value)
    ndim = instance_ndim(po)
    instance = array.shape[array.ndim - ndim :]
    return array.reshape((math.prod(array.shape[: array.ndim - ndim]),) + instance)


def flat(array: np.ndarray) -> np.ndarray:
    """A batch ``(B, *s)`` as ``(B, |s|)``."""
    return array.reshape(array.shape[0], -1)


def solve_hard(po: Perturbed, batch: np.ndarray) -> np.ndarray:
    """``y*(batch)`` for a batch ``(B, *s)``, float64 ``(B, *s)``."""
    return np.asarray(po.hard(batch), dtype=np.float64).reshape(batch.shape)


def reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    """Apply ``reduction`` to per-instance losses."""
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def batch_shape(value: torch.Tensor, po: Perturbed) -> tuple[int, ...]:
    """The batch axes of ``value``."""
    return tuple(value.shape[: value.dim() - instance_ndim(po)])
