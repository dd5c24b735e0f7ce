"""The multi-dimensional 0/1 knapsack with item values from features (PyEPO)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import check_count, check_degree, check_noise_width, check_seed
from ._data import ProblemData

__all__ = ["check_knapsack", "knapsack"]


def check_knapsack(weights: Any, capacities: Any, *, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Checked knapsack constraints ``weights @ y <= capacities``, ``y`` in ``{0, 1}^m``.

    The check that the knapsack generator and the knapsack solvers share: every message
    starts with ``prefix`` (``"solver 'scipy.knapsack': "``, ``"knapsack(): "``).

    Args:
        weights: ``(dim, m)`` non-negative finite weights (a ``(m,)`` vector for one
            dimension).
        capacities: ``(dim,)`` non-negative finite capacities, or one number for every
            dimension.
        prefix: the start of every message.

    Returns:
        ``(weights, capacities)`` as float64 arrays of shapes ``(dim, m)`` and ``(dim,)``.

    Raises:
        TypeError: not numbers.
        ValueError: wrong shapes, negative or non-finite entries, no item, or capacities
            that admit no item (every item alone is too heavy in some dimension: only
            the empty selection would be feasible).

    Example:
        >>> w, c = check_knapsack([3, 4, 5], 6, prefix="")
        >>> w.shape, c
        ((1, 3), array([6.]))
        >>> check_knapsack([[3, 4], [5, 2]], [4, 1], prefix="knapsack(): ")
        Traceback (most recent call last):
        ...
        ValueError: knapsack(): capacities admit no item: each item alone exceeds a capacity (item 0 needs 5 in dimension 1 > 1, item 1 needs 2 in dimension 1 > 1); raise the capacities
    """
    w = _real_array(weights, "weights", prefix)
    if w.ndim == 1:
        w = w[None, :]
    if w.ndim != 2 or w.shape[1] == 0 or w.shape[0] == 0:
        raise ValueError(
            f"{prefix}weights must be a (dim, num_items) array with at least one item, "
            f"got shape {np.shape(weights)}"
        )
    dim = w.shape[0]
    cap = _real_array(capacities, "capacities", prefix)
    if cap.ndim == 0:
        cap = np.full(dim, float(cap))
    if cap.shape != (dim,):
        raise ValueError(
            f"{prefix}capacities must be one number or one per dimension ({dim}, as weights "
            f"has {dim} rows), got shape {cap.shape}"
        )
    for name, array in (("weights", w), ("capacities", cap)):
        bad = ~np.isfinite(array) | (array < 0)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            where = ", ".join(str(i) for i in index)
            raise ValueError(
                f"{prefix}{name} must be finite and non-negative, but {name}[{where}] = "
                f"{array[index]:g}"
            )
    fits = (w <= cap[:, None]).all(axis=0)
    if not fits.any():
        shown = []
        for item in range(min(w.shape[1], 3)):
            k = int(np.argmax(w[:, item] - cap))
            shown.append(f"item {item} needs {w[k, item]:g} in dimension {k} > {cap[k]:g}")
        more = ", ..." if w.shape[1] > 3 else ""
        raise ValueError(
            f"{prefix}capacities admit no item: each item alone exceeds a capacity "
            f"({', '.join(shown)}{more}); raise the capacities"
        )
    return w, cap


def _real_array(value: Any, name: str, prefix: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:  # ragged lists
        raise ValueError(f"{prefix}{name} must be an array of numbers: {error}") from error
    if array.dtype.kind not in "biuf" or array.dtype.kind == "b":
        raise TypeError(f"{prefix}{name} must be numbers, got entries of dtype {array.dtype}")
    return array.astype(np.float64)


def knapsack(
    num_data: int,
    num_features: int,
    num_items: int,
    dim: int = 1,
    degree: int = 1,
    noise_width: float = 0.0,
    seed: int = 135,
    *,
    capacity: Any = None,
) -> ProblemData:
    r"""Multi-dimensional 0/1 knapsack instances whose item values depend on features.

    ``dim`` resources, ``m`` items of fixed weights ``W`` (drawn once: uniform on
    ``{3.00, 3.01, ..., 7.99}``, as in PyEPO), capacities ``b``; instance ``i`` maximises
    the value ``<c_i, y>`` over ``y`` in ``{0, 1}^m`` with ``W y <= b``, where

    .. math::

        c_{ij} = \Big\lceil \frac{5}{3.5^{deg}} \Big[\big(\tfrac{1}{\sqrt{p}} (B x_i)_j
        + 3\big)^{deg} + 1\Big] \varepsilon_{ij} \Big\rceil, \qquad
        x_i \sim \mathcal{N}(0, I_p), \quad
        \varepsilon_{ij} \sim U(1 - \bar\varepsilon, 1 + \bar\varepsilon),

    with ``B`` in ``{0, 1}^{m x p}`` of Bernoulli(0.5) entries (PyEPO's
    ``knapsack.genData``; the draws are PyEPO's, so for one seed the weights, ``x`` and
    ``c`` equal PyEPO's). PyEPO's generator leaves the capacities to the user; the
    default here is the rule of PyEPO's README, half of each dimension's total weight
    rounded down, ``b_k = floor(0.5 sum_j W_kj)``.

    Args:
        num_data: the number of instances ``n``.
        num_features: the feature dimension ``p``.
        num_items: the number of items ``m``.
        dim: the number of resources (rows of ``W``).
        degree: the polynomial degree ``deg >= 1``.
        noise_width: the half-width ``eps_bar`` in ``[0, 1)``.
        seed: the seed (PyEPO's default 135).
        capacity: one capacity for every dimension, or one per dimension; default
            ``floor(0.5 * W.sum(axis=1))`` (PyEPO's notebooks use 20 per dimension).

    Returns:
        `ProblemData` with ``sense="max"``, the solver ``ortools.knapsack``
        (``scipy.knapsack`` takes the same options ``weights``, ``capacities``).

    Raises:
        ValueError: an argument out of range, or capacities that admit no item.

    Example:
        >>> from perturbopt import problems
        >>> data = problems.knapsack(50, 5, num_items=10, dim=2, degree=2, noise_width=0.5)
        >>> data.solver_options["weights"].shape, data.solver_options["capacities"]
        ((2, 10), array([26., 26.]))
        >>> w, z = data[:2].optimal()
        >>> bool((w @ data.solver_options["weights"].T <= 26).all())
        True
    """
    n = check_count("knapsack", "num_data", num_data)
    p = check_count("knapsack", "num_features", num_features)
    m = check_count("knapsack", "num_items", num_items)
    k = check_count("knapsack", "dim", dim)
    deg = check_degree("knapsack", degree)
    width = check_noise_width("knapsack", noise_width)
    rnd = np.random.RandomState(check_seed("knapsack", seed))
    weights = rnd.choice(np.arange(300, 800), size=(k, m)) / 100
    if capacity is None:
        capacity = np.floor(weights.sum(axis=1) * 0.5)
    weights, capacities = check_knapsack(weights, capacity, prefix="knapsack(): ")
    B = rnd.binomial(1, 0.5, (m, p))
    x = rnd.normal(0, 1, (n, p))
    c = (x @ B.T / np.sqrt(p) + 3) ** deg + 1
    c *= 5
    c /= 3.5**deg
    c *= rnd.uniform(1 - width, 1 + width, (n, m))
    return ProblemData(
        name="knapsack",
        x=x,
        c=np.ceil(c).astype(np.float32),
        sense="max",
        solver="ortools.knapsack",
        solver_options={"weights": weights, "capacities": capacities},
        solvers=("ortools.knapsack", "scipy.knapsack"),
        arguments={
            "num_data": n,
            "num_features": p,
            "num_items": m,
            "dim": k,
            "degree": deg,
            "noise_width": width,
            "seed": int(seed),
            "capacity": capacities.tolist(),
        },
    )
