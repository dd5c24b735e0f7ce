"""The travelling salesperson problem with edge costs from coordinates and features (PyEPO)."""

from __future__ import annotations

import itertools

import numpy as np
from scipy.spatial.distance import pdist

from ._checks import check_count, check_degree, check_noise_width, check_seed
from ._data import ProblemData

__all__ = ["tsp", "tsp_edges"]


def tsp_edges(num_nodes: int) -> list[tuple[int, int]]:
    """The edges ``(i, j)``, ``i < j``, of the complete graph on ``num_nodes`` nodes in
    PyEPO's order (``itertools.combinations``, that of ``scipy.spatial.distance.pdist``):
    ``c[e]`` and a tour's ``w[e]`` belong to edge ``e``.

    Example:
        >>> tsp_edges(4)
        [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    """
    nodes = check_count("tsp_edges", "num_nodes", num_nodes, minimum=2)
    return list(itertools.combinations(range(nodes), 2))


def tsp(
    num_data: int,
    num_features: int,
    num_nodes: int,
    degree: int = 1,
    noise_width: float = 0.0,
    seed: int = 135,
) -> ProblemData:
    r"""Symmetric TSP instances on ``m`` nodes, one cost per edge of the complete graph.

    The cost of edge ``e = (j, k)`` in instance ``i`` is a fixed Euclidean distance plus a
    feature term (PyEPO's ``tsp.genData``):

    .. math::

        c_{ie} = \lVert u_j - u_k \rVert_2 + \frac{1}{3^{deg - 1}}
        \big(\tfrac{1}{\sqrt{p}} (B x_i)_e + 3\big)^{deg} \varepsilon_{ie},
        \qquad x_i \sim \mathcal{N}(0, I_p), \quad
        \varepsilon_{ie} \sim U(1 - \bar\varepsilon, 1 + \bar\varepsilon),

    rounded to 4 decimals. The coordinates ``u`` are drawn once: ``m // 2`` nodes from
    ``U(-2, 2)^2``, the others from ``N(0, I_2)``; ``B`` has entries
    ``Bernoulli(0.5) * U(-2, 2)``. Edges are in `tsp_edges` order. The draws are
    PyEPO's, so for one seed ``x`` and ``c`` equal PyEPO's. With an odd ``deg`` the feature
    term can be negative, and so, rarely, can an edge cost: a tour still exists and the
    solver takes costs of any sign.

    Args:
        num_data: the number of instances ``n``.
        num_features: the feature dimension ``p``.
        num_nodes: the number of nodes ``m >= 3``.
        degree: the polynomial degree ``deg >= 1``.
        noise_width: the half-width ``eps_bar`` in ``[0, 1)``.
        seed: the seed (PyEPO's default 135).

    Returns:
        `ProblemData` with ``sense="min"``, ``m (m - 1) / 2`` costs per instance
        and the solver ``ortools.tsp`` (``num_nodes``).

    Example:
        >>> from perturbopt import problems
        >>> data = problems.tsp(20, 5, num_nodes=6, degree=2, noise_width=0.5)
        >>> data.c.shape
        (20, 15)
        >>> w, z = data[:2].optimal()  # a tour uses m edges
        >>> w.sum(axis=1)
        array([6., 6.])
    """
    n = check_count("tsp", "num_data", num_data)
    p = check_count("tsp", "num_features", num_features)
    m = check_count("tsp", "num_nodes", num_nodes, minimum=3)
    deg = check_degree("tsp", degree)
    width = check_noise_width("tsp", noise_width)
    rnd = np.random.RandomState(check_seed("tsp", seed))
    num_edges = m * (m - 1) // 2
    coordinates = np.concatenate(
        (rnd.uniform(-2, 2, (m // 2, 2)), rnd.normal(0, 1, (m - m // 2, 2)))
    )
    distances = pdist(coordinates, "euclidean")
    bernoulli = rnd.binomial(1, 0.5, (num_edges, p))
    B = bernoulli * rnd.uniform(-2, 2, (num_edges, p))
    x = rnd.normal(0, 1, (n, p))
    feature_cost = ((x @ B.T / np.sqrt(p) + 3) ** deg) / 3 ** (deg - 1)
    noise = rnd.uniform(1 - width, 1 + width, (n, num_edges))
    c = np.around(distances + feature_cost * noise, decimals=4)
    return ProblemData(
        name="tsp",
        x=x,
        c=c.astype(np.float32),
        sense="min",
        solver="ortools.tsp",
        solver_options={"num_nodes": m},
        solvers=("ortools.tsp",),
        arguments={
            "num_data": n,
            "num_features": p,
            "num_nodes": m,
            "degree": deg,
            "noise_width": width,
            "seed": int(seed),
        },
    )
