"""Losses over a pool of feasible solutions, for any solver: noise-contrastive and MAP
(Mulamba et al., IJCAI 2021), and learning to rank (Mandi et al., ICML 2022).

Each loss keeps a [`perturbopt.SolutionPool`][perturbopt.SolutionPool] ``S``, shared across calls (and
across losses when one pool is passed to several). Every call adds the labels it is
given and, with probability ``solve_ratio`` (always while the pool is empty), solves its
predicted cost vectors exactly and adds those solutions: one solve per instance at
``solve_ratio=1``, none for most calls at 0.05. The loss itself is a closed form in ``c_hat`` over ``S``, differentiated by torch.
With ``s = +1`` for ``sense="min"`` and ``-1`` for ``"max"``, the losses are written for
costs ``c_hat = s * pred`` (exact for both senses).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch

from .._checks import check_number
from .._perturbed import Perturbed, _seed_sequence
from .._pooled import as_pool
from ..pool import SolutionPool, check_solve_ratio
from ._common import (
    batch_numpy,
    batch_shape,
    build_solver,
    check_cost,
    check_truth,
    reduce,
    sense_sign,
    solve_hard,
)
from ._validation import check_reduction

__all__ = [
    "ContrastiveMAPLoss",
    "ListwiseLTRLoss",
    "NCELoss",
    "PairwiseLTRLoss",
    "PointwiseLTRLoss",
    "contrastive_map_loss",
    "listwise_ltr_loss",
    "nce_loss",
    "pairwise_ltr_loss",
    "pointwise_ltr_loss",
]


class _PoolLoss(torch.nn.Module):
    """What the pool losses share: the solver, the pool, ``solve_ratio``, the reduction."""

    needs = "true_sol"

    def __init__(
        self,
        solver: Any,
        *,
        pool: Any = None,
        solve_ratio: float = 1.0,
        reduction: str = "mean",
        **options: Any,
    ) -> None:
        super().__init__()
        self.reduction = check_reduction(reduction)
        self.solve_ratio = check_solve_ratio(solve_ratio)
        self.perturbed: Perturbed = build_solver(solver, type(self).__name__, **options)
        seed = options.get("seed")
        self.pool: SolutionPool = as_pool(pool, self.perturbed._shape, seed=seed)
        self._rng = np.random.default_rng(_seed_sequence(seed).spawn(1)[0])

    def _grow(self, pred: np.ndarray, labels: np.ndarray | None, true: np.ndarray | None) -> None:
        """Add the labels, and, with probability ``solve_ratio``, the exact solutions of
        ``pred``."""
        if labels is not None:
            self.pool.add(labels)
        elif len(self.pool) == 0 and true is not None:
            self.pool.add(solve_hard(self.perturbed, true))  # seed from the true solutions
        if self._rng.random() < self.solve_ratio or len(self.pool) == 0:
            self.pool.add(solve_hard(self.perturbed, pred))

    def _members(self, like: torch.Tensor) -> torch.Tensor:
        """The pool as ``(N, |s|)``, ``like``'s dtype and device."""
        members = self.pool.solutions
        flat = np.array(members.reshape(members.shape[0], -1))
        return torch.tensor(flat, dtype=like.dtype, device=like.device)

    def _prepare(
        self, pred_cost: torch.Tensor, truth: torch.Tensor | None, name: str, method: str
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Checks, grows the pool; returns ``c_hat`` and the label as ``(B, |s|)`` in min
        form, and the members."""
        po = self.perturbed
        check_cost(pred_cost, "pred_cost", po)
        hint = (
            "pass the true optimal solutions w*(c) second (PyEPO's true_sol)"
            if name == "true_sol"
            else "pass the true costs second"
        )
        truth = check_truth(truth, name, pred_cost, method, hint)
        pred_np = batch_numpy(pred_cost, po)
        truth_np = batch_numpy(truth, po)
        if name == "true_sol":
            self._grow(pred_np, truth_np, None)
        else:
            self._grow(pred_np, None, truth_np)
        if self.pool.shape is not None and tuple(self.pool.shape) != tuple(pred_np.shape[1:]):
            raise ValueError(
                f"the pool holds solutions of shape {self.pool.shape}, but pred_cost's "
                f"instances have shape {tuple(pred_np.shape[1:])}: use a pool of this problem"
            )
        s = sense_sign(po)
        rows = pred_np.shape[0]
        c_hat = s * pred_cost.reshape(rows, -1)
        label = truth.reshape(rows, -1).to(pred_cost.dtype)
        return c_hat, (s * label if name == "true_cost" else label), self._members(pred_cost)

    def _finish(self, losses: torch.Tensor, pred_cost: torch.Tensor) -> torch.Tensor:
        return reduce(losses.reshape(batch_shape(pred_cost, self.perturbed)), self.reduction)

    def extra_repr(self) -> str:
        return f"solve_ratio={self.solve_ratio}, pool={self.pool!r}, reduction={self.reduction!r}"


class NCELoss(_PoolLoss):
    """Noise-contrastive estimation over a solution pool (Mulamba et al., "Contrastive
    Losses and Solution Caching for Predict-and-Optimize", IJCAI 2021): PyEPO's ``NCE``.

    Per instance, for costs (``sense="min"``)::

        l(c_hat; w*) = mean_{w in S} (<c_hat, w*> - <c_hat, w>),
        gradient w* - mean_{w in S} w

    It pushes the predicted objective of the true solution ``w* = w*(c)`` below those of
    the other pool members. ``forward(pred_cost, true_sol)``. Cost per step: a share
    ``solve_ratio`` of one solve per instance, plus ``B x |S|`` inner products.

    Args:
        solver: a registered name, a solver object, a function, or a ready
            [`perturbopt.Perturbed`][perturbopt.Perturbed].
        pool: a [`perturbopt.SolutionPool`][perturbopt.SolutionPool] to share, solutions to seed one with
            (e.g. all training labels, as PyEPO's ``dataset``), or ``None``.
        solve_ratio: the probability, in ``(0, 1]``, that a call solves its predicted
            costs and adds the solutions to the pool.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed] (``n_jobs``, ``seed``, ...).

    Example:
        >>> import torch
        >>> from perturbopt.torch import NCELoss
        >>> loss_fn = NCELoss("argmax", pool=torch.eye(3))
        >>> scores = torch.tensor([[0.5, 0.2, 0.1]], requires_grad=True)
        >>> loss = loss_fn(scores, torch.tensor([[1.0, 0.0, 0.0]]))
        >>> round(loss.item(), 4)          # mean over S of <theta, w> - <theta, w*>
        -0.2333
    """

    def forward(self, pred_cost: torch.Tensor, true_sol: torch.Tensor) -> torch.Tensor:
        """The loss of ``pred_cost`` against the true solutions."""
        c_hat, label, members = self._prepare(pred_cost, true_sol, "true_sol", "NCE")
        losses = (c_hat * label).sum(dim=1) - (c_hat @ members.T).mean(dim=1)
        return self._finish(losses, pred_cost)


class ContrastiveMAPLoss(_PoolLoss):
    """The self-contrastive MAP loss (Mulamba et al., IJCAI 2021): PyEPO's ``CMAP``.

    Per instance, for costs::

        l(c_hat; w*) = <c_hat, w*> - min_{w in S} <c_hat, w>,
        gradient w* - argmin_{w in S} <c_hat, w>

    (``>= 0`` when ``w*`` is in the pool). ``forward(pred_cost, true_sol)``; options as
    `NCELoss`.

    Example:
        >>> import torch
        >>> from perturbopt.torch import ContrastiveMAPLoss
        >>> loss_fn = ContrastiveMAPLoss("argmax", pool=torch.eye(3))
        >>> scores = torch.tensor([[0.5, 0.9, 0.1]], requires_grad=True)
        >>> round(loss_fn(scores, torch.tensor([[1.0, 0.0, 0.0]])).item(), 4)  # 0.9 - 0.5
        0.4
    """

    def forward(self, pred_cost: torch.Tensor, true_sol: torch.Tensor) -> torch.Tensor:
        """The loss of ``pred_cost`` against the true solutions."""
        c_hat, label, members = self._prepare(pred_cost, true_sol, "true_sol", "CMAP")
        losses = (c_hat * label).sum(dim=1) - (c_hat @ members.T).min(dim=1).values
        return self._finish(losses, pred_cost)


class PointwiseLTRLoss(_PoolLoss):
    """Pointwise learning to rank over the pool (Mandi et al., "Decision-Focused Learning:
    Through the Lens of Learning to Rank", ICML 2022): PyEPO's ``ptLTR``.

    Per instance: ``mean_{w in S} (<c_hat, w> - <c, w>)^2``, the squared error of the
    pool's predicted objectives. ``forward(pred_cost, true_cost)``; an empty pool is
    seeded with ``w*(c)`` of the first batch. Options as `NCELoss`.

    Example:
        >>> import torch
        >>> from perturbopt.torch import PointwiseLTRLoss
        >>> loss_fn = PointwiseLTRLoss("argmax", pool=torch.eye(2))
        >>> loss_fn(torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 0.0]])).item()
        2.0
    """

    def forward(self, pred_cost: torch.Tensor, true_cost: torch.Tensor) -> torch.Tensor:
        """The loss of ``pred_cost`` against ``true_cost``."""
        c_hat, c, members = self._prepare(pred_cost, true_cost, "true_cost", "ptLTR")
        losses = ((c_hat @ members.T - c @ members.T) ** 2).mean(dim=1)
        return self._finish(losses, pred_cost)


class PairwiseLTRLoss(_PoolLoss):
    """Pairwise learning to rank over the pool (Mandi et al., ICML 2022): PyEPO's
    ``prLTR``.

    Per instance, with ``w_b = argmin_{w in S} <c, w>`` the pool's best for the true
    costs: ``mean_{w in S, w != w_b} max(0, margin + <c_hat, w_b> - <c_hat, w>)``, a hinge
    that wants ``w_b`` ranked first under ``c_hat`` too (0 with a one-member pool).
    ``forward(pred_cost, true_cost)``.

    Args:
        margin: the hinge's margin (default 0, as PyEPO).
        solver: as for `NCELoss`.
        pool: as for `NCELoss`.
        solve_ratio: as for `NCELoss`.
        reduction: as for `NCELoss`.
        **options: as for `NCELoss`.

    Example:
        >>> import torch
        >>> from perturbopt.torch import PairwiseLTRLoss
        >>> loss_fn = PairwiseLTRLoss("argmax", pool=torch.eye(2))
        >>> loss_fn(torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 0.0]])).item()
        1.0
    """

    margin: float

    def __init__(
        self,
        solver: Any,
        *,
        margin: float = 0.0,
        pool: Any = None,
        solve_ratio: float = 1.0,
        reduction: str = "mean",
        **options: Any,
    ) -> None:
        super().__init__(solver, pool=pool, solve_ratio=solve_ratio, reduction=reduction, **options)
        if isinstance(margin, bool) or not isinstance(margin, numbers.Real) or margin < 0:
            raise ValueError(f"margin must be a number >= 0, got {margin!r}")
        self.margin = float(margin)

    def forward(self, pred_cost: torch.Tensor, true_cost: torch.Tensor) -> torch.Tensor:
        """The loss of ``pred_cost`` against ``true_cost``."""
        c_hat, c, members = self._prepare(pred_cost, true_cost, "true_cost", "prLTR")
        pred_obj, true_obj = c_hat @ members.T, c @ members.T
        count = members.shape[0]
        if count < 2:
            return self._finish(pred_obj.sum(dim=1) * 0.0, pred_cost)
        best = true_obj.argmin(dim=1, keepdim=True)
        hinge = torch.relu(self.margin + pred_obj.gather(1, best) - pred_obj)
        others = torch.ones_like(hinge).scatter(1, best, 0.0)
        losses = (hinge * others).sum(dim=1) / (count - 1)
        return self._finish(losses, pred_cost)


class ListwiseLTRLoss(_PoolLoss):
    """Listwise learning to rank over the pool (Mandi et al., ICML 2022): PyEPO's
    ``lsLTR``.

    Per instance, the cross-entropy between the pool's softmax distributions under the
    true and the predicted costs (low cost, high probability)::

        - sum_{w in S} softmax(-<c, S> / tau)_w  log softmax(-<c_hat, S> / tau)_w

    ``forward(pred_cost, true_cost)``.

    Args:
        temperature: ``tau > 0`` (default 1).
        solver: as for `NCELoss`.
        pool: as for `NCELoss`.
        solve_ratio: as for `NCELoss`.
        reduction: as for `NCELoss`.
        **options: as for `NCELoss`.

    Example:
        >>> import torch
        >>> from perturbopt.torch import ListwiseLTRLoss
        >>> loss_fn = ListwiseLTRLoss("argmax", pool=torch.eye(2))
        >>> round(loss_fn(torch.tensor([[0.0, 0.0]]), torch.tensor([[5.0, 0.0]])).item(), 4)
        0.6931
    """

    temperature: float

    def __init__(
        self,
        solver: Any,
        *,
        temperature: float = 1.0,
        pool: Any = None,
        solve_ratio: float = 1.0,
        reduction: str = "mean",
        **options: Any,
    ) -> None:
        super().__init__(solver, pool=pool, solve_ratio=solve_ratio, reduction=reduction, **options)
        self.temperature = check_number(None, "temperature", temperature, positive=True)

    def forward(self, pred_cost: torch.Tensor, true_cost: torch.Tensor) -> torch.Tensor:
        """The loss of ``pred_cost`` against ``true_cost``."""
        c_hat, c, members = self._prepare(pred_cost, true_cost, "true_cost", "lsLTR")
        target = torch.softmax(-(c @ members.T) / self.temperature, dim=1)
        log_pred = torch.log_softmax(-(c_hat @ members.T) / self.temperature, dim=1)
        return self._finish(-(target * log_pred).sum(dim=1), pred_cost)


def _functional(cls: type[_PoolLoss], name: str) -> Any:
    def loss(
        pred_cost: torch.Tensor,
        truth: torch.Tensor,
        solver: Any,
        *,
        pool: Any = None,
        solve_ratio: float = 1.0,
        reduction: str = "mean",
        **options: Any,
    ) -> torch.Tensor:
        module = cls(solver, pool=pool, solve_ratio=solve_ratio, reduction=reduction, **options)
        return module(pred_cost, truth)  # type: ignore[no-any-return]

    loss.__name__ = loss.__qualname__ = name
    loss.__doc__ = (
        f"Functional form of `{cls.__name__}`: ``{name}(pred_cost, "
        f"{'true_sol' if cls in (NCELoss, ContrastiveMAPLoss) else 'true_cost'}, solver, "
        "*, pool=None, solve_ratio=1.0, reduction='mean', **options)``. Pass a "
        "[`perturbopt.SolutionPool`][perturbopt.SolutionPool] as ``pool`` to keep the pool across calls; "
        "without one each call starts from its own labels."
    )
    return loss


nce_loss = _functional(NCELoss, "nce_loss")
contrastive_map_loss = _functional(ContrastiveMAPLoss, "contrastive_map_loss")
pointwise_ltr_loss = _functional(PointwiseLTRLoss, "pointwise_ltr_loss")
pairwise_ltr_loss = _functional(PairwiseLTRLoss, "pairwise_ltr_loss")
listwise_ltr_loss = _functional(ListwiseLTRLoss, "listwise_ltr_loss")
