"""Decision metrics for predicted costs, for any solver: regret, unambiguous regret, the
share of optimal decisions.

For a cost-minimising solver ``w*(c)`` with optimal value ``z*(c) = <c, w*(c)>``,
predicted costs ``c_hat_i`` and true costs ``c_i``, the regret of instance ``i`` is
``<c_i, w*(c_hat_i)> - z*(c_i) >= 0``, and PyEPO's normalised regret is::

    sum_i (<c_i, w*(c_hat_i)> - z*(c_i)) / sum_i |z*(c_i)|

For a ``sense="max"`` solver (scores ``theta``) the regret is
``z*(theta_i) - <theta_i, y*(theta_hat_i)>``, also ``>= 0``. Every solve goes through
the engine, batched and in parallel with the options of [`perturbopt.perturbed`][perturbopt.perturbed]
(``n_jobs``, ``timeout``, ``isolate``, ``solver_options``, ...).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._perturbed import Perturbed
from ._solver import solver_name
from ._validation import as_float_array, split_batch

__all__ = ["optimal_share", "regret", "unambiguous_regret"]

_METRIC_OPTIONS = frozenset(
    {"n_jobs", "timeout", "isolate", "memory_limit", "solver_options", "sense", "ndim", "registry"}
)


def _solver(solver: Any, options: dict[str, Any], owner: str) -> Perturbed:
    if isinstance(solver, Perturbed):
        if options:
            raise TypeError(f"{owner} got a ready Perturbed object and options {sorted(options)}")
        return solver
    unknown = sorted(set(options) - _METRIC_OPTIONS)
    if unknown:
        raise TypeError(
            f"{owner} got unknown option {unknown[0]!r}; it takes "
            f"{', '.join(sorted(_METRIC_OPTIONS))}"
        )
    return Perturbed(solver, **options)


def _as_batch(po: Perturbed, value: Any, name: str) -> np.ndarray:
    """``value`` ``(*b, *s)`` as a float64 batch ``(B, *s)``, with errors naming ``name``."""
    if hasattr(value, "detach"):  # torch tensors
        value = value.detach().cpu().numpy()
    array = as_float_array(value, name)
    try:
        batch, _ = split_batch(array, po._ndim, po._shape, solver_name(po.solver))
    except ValueError as error:
        raise ValueError(str(error).replace("theta", name, 1)) from None
    return batch


def _inputs(po: Perturbed, pred_costs: Any, true_costs: Any) -> tuple[np.ndarray, np.ndarray]:
    pred = _as_batch(po, pred_costs, "pred_costs")
    true = _as_batch(po, true_costs, "true_costs")
    if pred.shape != true.shape:
        raise ValueError(
            f"pred_costs has shape {pred.shape} as a batch but true_costs has {true.shape}: "
            "give one predicted and one true cost vector per instance"
        )
    return pred, true


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("bk,bk->b", a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1))


def _regrets(
    po: Perturbed, decisions: np.ndarray, true: np.ndarray, true_obj: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Per-instance regrets and optimal values."""
    if true_obj is None:
        optimal = _dot(true, po.hard(true))
    else:
        if hasattr(true_obj, "detach"):  # torch tensors
            true_obj = true_obj.detach().cpu().numpy()
        optimal = as_float_array(true_obj, "true_obj").reshape(-1)
        if optimal.shape[0] != true.shape[0]:
            raise ValueError(
                f"true_obj has {optimal.shape[0]} values for {true.shape[0]} instances; give "
                "one optimal objective per instance, or leave it out to have it solved"
            )
    achieved = _dot(true, decisions)
    gap = achieved - optimal if po.sense == "min" else optimal - achieved
    return gap, optimal


def _summary(gap: np.ndarray, optimal: np.ndarray, normalized: bool) -> float:
    if not normalized:
        return float(gap.mean())
    scale = float(np.abs(optimal).sum())
    if scale == 0.0:
        raise ValueError(
            "every optimal objective z*(c_i) is 0, so the normalised regret "
            "sum regret / sum |z*| is undefined; use normalized=False (the mean regret)"
        )
    return float(gap.sum() / scale)


def regret(
    solver: Any,
    pred_costs: Any,
    true_costs: Any,
    *,
    normalized: bool = True,
    true_obj: Any = None,
    **options: Any,
) -> float:
    """The regret of the decisions ``w*(c_hat)`` taken on predicted costs.

    ``normalized=True`` (PyEPO's convention)::

        sum_i (<c_i, w*(c_hat_i)> - z*(c_i)) / sum_i |z*(c_i)|

    ``normalized=False``: the mean regret ``mean_i (<c_i, w*(c_hat_i)> - z*(c_i))``. For a
    ``sense="max"`` solver each regret is ``z*(c_i) - <c_i, y*(c_hat_i)>``. Ties in
    ``w*(c_hat)`` are broken by the solver; `unambiguous_regret` takes the worst.

    Args:
        solver: a registered name, a solver object, a plain function, or a ready
            [`perturbopt.Perturbed`][perturbopt.Perturbed].
        pred_costs: predicted costs ``(*b, *s)`` (numpy, torch, or lists).
        true_costs: true costs, the same shape.
        normalized: divide by ``sum |z*(c_i)|`` (default) instead of averaging.
        true_obj: the optimal values ``z*(c_i)``, ``(*b)``, if known (saves one solve per
            instance).
        **options: ``n_jobs``, ``timeout``, ``isolate``, ``memory_limit``,
            ``solver_options``, ``sense``, ``ndim``, ``registry`` as for
            [`perturbopt.perturbed`][perturbopt.perturbed].

    Example:
        >>> import numpy as np
        >>> from perturbopt import metrics
        >>> true = np.array([[1.0, 2.0, 3.0], [3.0, 1.0, 2.0]])
        >>> pred = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]])  # second one is wrong
        >>> metrics.regret("argmax", -pred, -true)  # argmax of -costs: a min problem
        1.0
    """
    po = _solver(solver, options, "regret")
    pred, true = _inputs(po, pred_costs, true_costs)
    gap, optimal = _regrets(po, po.hard(pred), true, true_obj)
    return _summary(gap, optimal, normalized)


def unambiguous_regret(
    solver: Any,
    pred_costs: Any,
    true_costs: Any,
    *,
    normalized: bool = True,
    true_obj: Any = None,
    tolerance: float = 1e-7,
    **options: Any,
) -> float:
    """The regret of the *worst* optimal decision for ``c_hat`` (ties resolved against you).

    A prediction with ties (``c_hat = 0`` is optimal for every solution) has an
    ambiguous regret; this takes, among the optima of ``c_hat``, the one worst for the
    true costs. For any black-box solver it is found with one solve of
    ``c_hat - delta c`` with a tiny ``delta``: among the solutions tied for ``c_hat``,
    that one maximises ``<c, w>`` (minimises it for ``sense="max"``), and a ``delta``
    that small leaves untied optima alone. ``delta`` is ``tolerance`` times
    ``max(|c_hat|_inf, |c|_inf) / |c|_inf`` per instance; solvers whose answers are only
    accurate to more than that (inexact LP tolerances) may break ties their own way.

    Args:
        solver: as for `regret`.
        pred_costs: predicted costs ``(*b, *s)``.
        true_costs: true costs, the same shape.
        normalized: divide by ``sum |z*(c_i)|`` (default) instead of averaging.
        true_obj: the optimal values ``z*(c_i)``, if known.
        tolerance: the relative size of ``delta`` (default ``1e-7``).
        **options: as for `regret`.

    Example:
        >>> import numpy as np
        >>> from perturbopt import metrics
        >>> true = np.array([[-1.0, -2.0, -3.0]])           # scores: item 2 is best
        >>> metrics.unambiguous_regret("argmax", np.zeros((1, 3)), true, normalized=False)
        2.0
    """
    po = _solver(solver, options, "unambiguous_regret")
    pred, true = _inputs(po, pred_costs, true_costs)
    if not tolerance > 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance!r}")
    flat_pred = np.abs(pred.reshape(pred.shape[0], -1)).max(axis=1)
    flat_true = np.abs(true.reshape(true.shape[0], -1)).max(axis=1)
    safe = np.where(flat_true > 0, flat_true, 1.0)
    delta = tolerance * np.maximum(flat_pred, flat_true) / safe
    shifted = pred - delta.reshape((-1,) + (1,) * (pred.ndim - 1)) * true
    gap, optimal = _regrets(po, po.hard(shifted), true, true_obj)
    return _summary(gap, optimal, normalized)


def optimal_share(
    solver: Any,
    pred_costs: Any,
    true_costs: Any,
    *,
    true_obj: Any = None,
    tolerance: float = 1e-6,
    **options: Any,
) -> float:
    """The share of instances whose decision ``w*(c_hat_i)`` is optimal for ``c_i``: its
    regret is at most ``tolerance * max(1, |z*(c_i)|)``.

    Args:
        solver: as for `regret`.
        pred_costs: predicted costs ``(*b, *s)``.
        true_costs: true costs, the same shape.
        true_obj: the optimal values ``z*(c_i)``, if known.
        tolerance: relative tolerance on the regret (default ``1e-6``).
        **options: as for `regret`.

    Example:
        >>> import numpy as np
        >>> from perturbopt import metrics
        >>> true = np.array([[1.0, 2.0, 3.0], [3.0, 1.0, 2.0]])
        >>> metrics.optimal_share("argmax", true + 0.5, true)
        1.0
    """
    po = _solver(solver, options, "optimal_share")
    pred, true = _inputs(po, pred_costs, true_costs)
    gap, optimal = _regrets(po, po.hard(pred), true, true_obj)
    return float(np.mean(gap <= tolerance * np.maximum(1.0, np.abs(optimal))))
