"""The methods of ``perturbopt benchmark``: one entry per method, name -> how to build its
loss and compute it on a minibatch.

Each entry names the modules it needs (``perturbopt.torch.SPOPlus``, ...); a method
whose module is missing from this installation is reported as unavailable, never
half-run. The losses follow PyEPO's training loops, so that a method's regret can be
set beside PyEPO's: SPO+ and the perturbed Fenchel-Young loss are losses of the
predicted costs; solution-returning layers get PyEPO's task loss on their output (the
squared error to the true solution for DPO, the absolute error of the objective
``<w, c>`` to ``z*(c)`` for blackbox differentiation and the negative identity, the
absolute error to the true solution for I-MLE).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

__all__ = ["METHODS", "Batch", "Context", "LossFn", "Method"]


@dataclass(frozen=True)
class Batch:
    """One minibatch, as float64 torch tensors: features ``x``, true costs ``c``, true
    solutions ``w = w*(c)`` and optimal values ``z = <c, w>`` (``(B, 1)``)."""

    x: torch.Tensor
    c: torch.Tensor
    w: torch.Tensor
    z: torch.Tensor


@dataclass(frozen=True)
class Context:
    """What a method needs to build its loss.

    Attributes:
        solver_name: the registry name of the problem's solver.
        solver_options: its options.
        solver: one built instance (for modules that take a solver object).
        sense: ``"min"`` or ``"max"``.
        epsilon: the noise scale of the perturbed methods (PyEPO's ``sigma``).
        num_samples: the perturbations per instance and step.
        lambda_: the interpolation step of blackbox differentiation and I-MLE.
        seed: seeds the methods' own noise.
        n_jobs: joblib workers for the perturbed solves.
        pool: ``(n, d)`` solutions of the training set (the contrastive and ranking
            methods' initial pool).
    """

    solver_name: str
    solver_options: Mapping[str, Any]
    solver: Any
    sense: str
    epsilon: float
    num_samples: int
    lambda_: float
    seed: int
    n_jobs: int | None
    pool: Any


LossFn = Callable[["torch.Tensor", Batch], "torch.Tensor"]
"""``loss(pred_cost, batch)``: a scalar to minimise."""


@dataclass(frozen=True)
class Method:
    """One method of the benchmark.

    Attributes:
        name: its name on the command line (``"spo+"``).
        description: a line for ``--help`` and the tables.
        needs: the dotted names it imports (``"perturbopt.torch.SPOPlus"``).
        build: ``build(context) -> loss(pred_cost, batch)``.
    """

    name: str
    description: str
    needs: tuple[str, ...]
    build: Callable[[Context], LossFn]


def _get(dotted: str) -> Any:
    module, _, attribute = dotted.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def _perturbed_options(ctx: Context) -> dict[str, Any]:
    return {
        "solver_options": dict(ctx.solver_options),
        "epsilon": ctx.epsilon,
        "num_samples": ctx.num_samples,
        "seed": ctx.seed,
        "n_jobs": ctx.n_jobs,
    }


def _two_stage(ctx: Context) -> LossFn:
    import torch

    return lambda pred, batch: torch.nn.functional.mse_loss(pred, batch.c)


def _fenchel_young(ctx: Context) -> LossFn:
    loss = _get("perturbopt.torch.FenchelYoungLoss")(ctx.solver_name, **_perturbed_options(ctx))
    return lambda pred, batch: loss(pred, batch.w)


def _dpo(ctx: Context) -> LossFn:
    import torch

    layer = _get("perturbopt.torch.PerturbedOptimizer")(ctx.solver_name, **_perturbed_options(ctx))
    return lambda pred, batch: torch.nn.functional.mse_loss(layer(pred), batch.w)


def _solver_options(ctx: Context) -> dict[str, Any]:
    """The solver by name, with its options and workers (each module builds its own)."""
    return {"solver_options": dict(ctx.solver_options), "n_jobs": ctx.n_jobs}


def _spo_plus(ctx: Context) -> LossFn:
    loss = _get("perturbopt.torch.SPOPlus")(ctx.solver_name, **_solver_options(ctx))
    return lambda pred, batch: loss(pred, batch.c, batch.w, batch.z[:, 0])


def _objective_l1(layer: Any) -> LossFn:
    import torch

    def loss(pred: torch.Tensor, batch: Batch) -> torch.Tensor:
        objective = (layer(pred) * batch.c).sum(dim=1, keepdim=True)
        return torch.nn.functional.l1_loss(objective, batch.z)

    return loss


def _blackbox(ctx: Context) -> LossFn:
    build = _get("perturbopt.torch.BlackboxOptimizer")
    return _objective_l1(build(ctx.solver_name, lambda_=ctx.lambda_, **_solver_options(ctx)))


def _negative_identity(ctx: Context) -> LossFn:
    build = _get("perturbopt.torch.NegativeIdentity")
    return _objective_l1(build(ctx.solver_name, **_solver_options(ctx)))


def _solution_l1(name: str) -> Callable[[Context], LossFn]:
    def build(ctx: Context) -> LossFn:
        import torch

        layer = _get(name)(ctx.solver_name, **_perturbed_options(ctx))
        return lambda pred, batch: torch.nn.functional.l1_loss(layer(pred), batch.w)

    return build


def _perturbation_gradient(ctx: Context) -> LossFn:
    # PyEPO's finite-difference width, sigma = 0.1, the module's default
    loss = _get("perturbopt.torch.PerturbationGradientLoss")(
        ctx.solver_name, **_solver_options(ctx)
    )
    return lambda pred, batch: loss(pred, batch.c)


POOL_SOLVE_RATIO = 0.05
"""The share of instances whose predicted costs are solved to grow the pool (PyEPO's)."""


def _pool_loss(ctx: Context, name: str) -> Any:
    """A pool loss seeded with the training set's solutions, as PyEPO does."""
    return _get(name)(
        ctx.solver_name,
        pool=ctx.pool,
        solve_ratio=POOL_SOLVE_RATIO,
        seed=ctx.seed,
        **_solver_options(ctx),
    )


def _against_solutions(name: str) -> Callable[[Context], LossFn]:
    def build(ctx: Context) -> LossFn:
        loss = _pool_loss(ctx, name)
        return lambda pred, batch: loss(pred, batch.w)

    return build


def _against_costs(name: str) -> Callable[[Context], LossFn]:
    def build(ctx: Context) -> LossFn:
        loss = _pool_loss(ctx, name)
        return lambda pred, batch: loss(pred, batch.c)

    return build


def _method(name: str, description: str, needs: tuple[str, ...], build: Any) -> Method:
    return Method(name, description, ("torch", *needs), build)


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        _method("2s", "two-stage: least squares on the costs", (), _two_stage),
        _method(
            "spo+", "SPO+ loss (Elmachtoub and Grigas)", ("perturbopt.torch.SPOPlus",), _spo_plus
        ),
        _method(
            "fy",
            "perturbed Fenchel-Young loss (Berthet et al.)",
            ("perturbopt.torch.FenchelYoungLoss",),
            _fenchel_young,
        ),
        _method(
            "dpo",
            "perturbed optimizer + squared error to w*(c) (Berthet et al.)",
            ("perturbopt.torch.PerturbedOptimizer",),
            _dpo,
        ),
        _method(
            "dbb",
            "blackbox differentiation + |<w, c> - z*| (Vlastelica et al.)",
            ("perturbopt.torch.BlackboxOptimizer",),
            _blackbox,
        ),
        _method(
            "nid",
            "negative identity + |<w, c> - z*| (Sahoo et al.)",
            ("perturbopt.torch.NegativeIdentity",),
            _negative_identity,
        ),
        _method(
            "imle",
            "I-MLE + |w - w*(c)| (Niepert et al.)",
            ("perturbopt.torch.IMLE",),
            _solution_l1("perturbopt.torch.IMLE"),
        ),
        _method(
            "aimle",
            "adaptive I-MLE + |w - w*(c)| (Minervini et al.)",
            ("perturbopt.torch.AdaptiveIMLE",),
            _solution_l1("perturbopt.torch.AdaptiveIMLE"),
        ),
        _method(
            "pg",
            "perturbation-gradient loss (Huang and Gupta)",
            ("perturbopt.torch.PerturbationGradientLoss",),
            _perturbation_gradient,
        ),
        _method(
            "nce",
            "noise-contrastive loss over a solution pool (Mulamba et al.)",
            ("perturbopt.torch.NCELoss",),
            _against_solutions("perturbopt.torch.NCELoss"),
        ),
        _method(
            "cmap",
            "contrastive MAP loss over a solution pool (Mulamba et al.)",
            ("perturbopt.torch.ContrastiveMAPLoss",),
            _against_solutions("perturbopt.torch.ContrastiveMAPLoss"),
        ),
        _method(
            "listwise",
            "listwise learning to rank (Mandi et al.)",
            ("perturbopt.torch.ListwiseLTRLoss",),
            _against_costs("perturbopt.torch.ListwiseLTRLoss"),
        ),
        _method(
            "pairwise",
            "pairwise learning to rank (Mandi et al.)",
            ("perturbopt.torch.PairwiseLTRLoss",),
            _against_costs("perturbopt.torch.PairwiseLTRLoss"),
        ),
        _method(
            "pointwise",
            "pointwise learning to rank (Mandi et al.)",
            ("perturbopt.torch.PointwiseLTRLoss",),
            _against_costs("perturbopt.torch.PointwiseLTRLoss"),
        ),
    )
}
"""Every method, by its command-line name."""
