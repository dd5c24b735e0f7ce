"""PyEPO's synthetic shortest-path data: arc costs that are a noisy polynomial of
features, on the right/down grid of ``scipy.grid_shortest_path_edges``.

The generator of Tang and Khalil's PyEPO benchmark (``pyepo.data.shortestpath``),
written from its description: ``p`` features ``x ~ N(0, I)``, a fixed 0/1 matrix
``B`` (``d x p``, entries Bernoulli(1/2)), and for each of the ``d`` arcs::

    c_j = ((B x / sqrt(p) + 3)_j ^ deg + 1) / 3.5 ^ deg * u_j,   u_j ~ U[1 - w, 1 + w]

with ``deg`` the degree of misspecification and ``w`` the noise half-width. The
costs are positive; the 5 x 5 grid has ``d = 40`` arcs in PyEPO's order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["LinearShortestPathData", "make_linear_shortest_path"]


@dataclass(frozen=True)
class LinearShortestPathData:
    """Features and true costs of a generated shortest-path data set.

    Attributes:
        features: ``(n, p)`` float64.
        costs: ``(n, d)`` float64, positive arc costs.
        grid: the node grid ``(h, w)`` (solver option ``grid`` of
            ``scipy.grid_shortest_path_edges``).
    """

    features: np.ndarray
    costs: np.ndarray
    grid: tuple[int, int]


def make_linear_shortest_path(
    num_data: int,
    *,
    grid: tuple[int, int] = (5, 5),
    num_features: int = 5,
    degree: int = 4,
    noise_width: float = 0.5,
    seed: Any = 0,
) -> LinearShortestPathData:
    """Generate ``num_data`` instances of PyEPO's shortest-path benchmark.

    Args:
        num_data: the number of instances ``n``.
        grid: the node grid ``(h, w)``; ``d = h (w - 1) + (h - 1) w`` arcs.
        num_features: ``p``.
        degree: ``deg``, the polynomial degree (1 makes a linear model well specified).
        noise_width: ``w``, the half-width of the multiplicative uniform noise.
        seed: seeds ``B``, the features and the noise.

    Example:
        >>> data = make_linear_shortest_path(8, seed=0)
        >>> data.features.shape, data.costs.shape, bool((data.costs > 0).all())
        ((8, 5), (8, 40), True)
    """
    h, w = (int(v) for v in grid)
    if h < 1 or w < 1 or h * w < 2:
        raise ValueError(f"grid must have at least two nodes, got {grid!r}")
    if num_data < 1 or num_features < 1 or degree < 1 or not 0 <= noise_width < 1:
        raise ValueError(
            "num_data, num_features and degree must be >= 1 and noise_width in [0, 1), got "
            f"{num_data}, {num_features}, {degree}, {noise_width}"
        )
    arcs = h * (w - 1) + (h - 1) * w
    rng = np.random.default_rng(seed)
    basis = rng.binomial(1, 0.5, size=(arcs, num_features)).astype(np.float64)
    features = rng.standard_normal((num_data, num_features))
    signal = features @ basis.T / math.sqrt(num_features) + 3.0
    costs = (signal**degree + 1.0) / 3.5**degree
    costs *= rng.uniform(1.0 - noise_width, 1.0 + noise_width, size=costs.shape)
    return LinearShortestPathData(features, costs, (h, w))
