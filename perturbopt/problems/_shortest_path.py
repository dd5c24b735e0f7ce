"""Shortest path on a grid with costs from features (Elmachtoub and Grigas; PyEPO)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ._checks import check_count, check_degree, check_noise_width, check_seed
from ._data import ProblemData

__all__ = ["grid_num_arcs", "shortest_path"]


def grid_num_arcs(grid: tuple[int, int]) -> int:
    """The number of arcs of an ``h x w`` right/down grid: ``h (w - 1) + (h - 1) w``.

    Example:
        >>> grid_num_arcs((5, 5))
        40
    """
    h, w = grid
    return h * (w - 1) + (h - 1) * w


def _check_grid(grid: Any) -> tuple[int, int]:
    described = f"grid must be a pair (h, w) of integers >= 1 with h * w >= 2, got {grid!r}"
    try:
        entries = tuple(grid)
    except TypeError:
        raise TypeError(f"shortest_path(): {described}") from None
    if len(entries) != 2 or not all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in entries
    ):
        raise TypeError(f"shortest_path(): {described}")
    h, w = int(entries[0]), int(entries[1])
    if h < 1 or w < 1 or h * w < 2:
        raise ValueError(f"shortest_path(): {described} (a path needs two nodes)")
    return h, w


def shortest_path(
    num_data: int,
    num_features: int,
    grid: tuple[int, int] = (5, 5),
    degree: int = 1,
    noise_width: float = 0.0,
    seed: int = 135,
) -> ProblemData:
    r"""Shortest-path instances on an ``h x w`` grid, costs a polynomial of the features.

    The network has ``h x w`` nodes and ``d = h (w - 1) + (h - 1) w`` arcs going right or
    down (PyEPO's arc order, that of ``scipy.grid_shortest_path_edges``); a path runs
    from the top-left to the bottom-right node. For instance ``i``,

    .. math::

        x_i \sim \mathcal{N}(0, I_p), \qquad
        c_{ij} = \frac{1}{3.5^{deg}} \Big[\big(\tfrac{1}{\sqrt{p}} (B x_i)_j + 3\big)^{deg}
        + 1\Big] \, \varepsilon_{ij}, \qquad \varepsilon_{ij} \sim U(1 - \bar\varepsilon,
        1 + \bar\varepsilon),

    with ``B`` in ``{0, 1}^{d x p}`` of Bernoulli(0.5) entries drawn once for the data set
    (Elmachtoub and Grigas's experiment, as PyEPO's ``shortestpath.genData`` generates it).
    The draws (``numpy.random.RandomState(seed)``: ``B``, then ``x``, then the noise) are
    PyEPO's, so for one seed ``x`` and ``c`` equal PyEPO's bit for bit.

    Args:
        num_data: the number of instances ``n``.
        num_features: the feature dimension ``p``.
        grid: the node grid ``(h, w)``.
        degree: the polynomial degree ``deg >= 1``; 1 makes the costs linear in ``x``
            (a linear model is well specified), higher degrees misspecify it.
        noise_width: the half-width ``eps_bar`` in ``[0, 1)``.
        seed: the seed (PyEPO's default 135).

    Returns:
        `ProblemData` with ``sense="min"`` and the solver
        ``scipy.grid_shortest_path_edges`` (``grid``).

    Raises:
        TypeError, ValueError: an argument that is not as above (the message names it).

    Example:
        >>> from perturbopt import problems
        >>> data = problems.shortest_path(100, 5, grid=(5, 5), degree=4, noise_width=0.5)
        >>> data.c.shape, bool((data.c > 0).all())
        ((100, 40), True)
        >>> w, z = data[:3].optimal()  # 8 arcs on each path
        >>> w.sum(axis=1)
        array([8., 8., 8.])
    """
    n = check_count("shortest_path", "num_data", num_data)
    p = check_count("shortest_path", "num_features", num_features)
    h, w = _check_grid(grid)
    deg = check_degree("shortest_path", degree)
    width = check_noise_width("shortest_path", noise_width)
    rnd = np.random.RandomState(check_seed("shortest_path", seed))
    d = grid_num_arcs((h, w))
    B = rnd.binomial(1, 0.5, (d, p))
    x = rnd.normal(0, 1, (n, p))
    c = (x @ B.T / np.sqrt(p) + 3) ** deg + 1
    c /= 3.5**deg
    c *= rnd.uniform(1 - width, 1 + width, (n, d))
    return ProblemData(
        name="shortest_path",
        x=x,
        c=c.astype(np.float32),
        sense="min",
        solver="scipy.grid_shortest_path_edges",
        solver_options={"grid": (h, w)},
        solvers=("scipy.grid_shortest_path_edges",),
        arguments={
            "num_data": n,
            "num_features": p,
            "grid": (h, w),
            "degree": deg,
            "noise_width": width,
            "seed": int(seed),
        },
    )
