"""Built-in vectorised solvers and noises, registered through the same hooks as plugins.

Each solver has a ``solve_batch`` that handles a whole ``(n, d)`` stack in numpy, so
the engine solves all ``M x B`` perturbed problems in a few array operations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._hookspecs import hookimpl
from ._noise import Gaussian, Gumbel
from ._sum_of_gamma import SumOfGamma

__all__ = ["Argmax", "Ranking", "Sign", "TopK"]


def _scatter_rows(out: np.ndarray, columns: np.ndarray, values: np.ndarray | int) -> None:
    """``out[i, columns[i, j]] = values[j]`` for every row ``i`` of a stack, through one
    flat index (several times faster than ``np.put_along_axis``)."""
    d = out.shape[-1]
    rows = columns.reshape(-1, columns.shape[-1])
    flat = (rows + (np.arange(rows.shape[0]) * d)[:, None]).reshape(-1)
    if not isinstance(values, int):
        values = np.broadcast_to(values, rows.shape).reshape(-1)
    out.reshape(-1)[flat] = values


class _VectorSolver:
    """Shared plumbing: ``solve`` is ``solve_batch`` on a stack of one."""

    sense = "max"
    ndim = 1
    name = "builtin"
    releases_gil = True  # numpy's sorts, reductions and ufuncs release it

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        return self.solve_batch(np.asarray(theta)[None])[0]

    def solve_batch(self, thetas: np.ndarray, *, hints: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Argmax(_VectorSolver):
    """One-hot argmax over the simplex: ``y*(theta) = e_{argmax_i theta_i}``.

    With Gumbel noise the perturbed solution is ``softmax(theta / eps)`` and the
    perturbed optimum ``eps * logsumexp(theta / eps) + eps * 0.5772...``.
    Ties go to the first index. Returns ``int8``.
    """

    name = "argmax"

    def solve_batch(self, thetas: np.ndarray, *, hints: np.ndarray | None = None) -> np.ndarray:
        thetas = np.asarray(thetas)
        out = np.zeros(thetas.shape, dtype=np.int8)
        _scatter_rows(out, np.argmax(thetas, axis=-1)[..., None], 1)
        return out


class TopK(_VectorSolver):
    """Indicator of the ``k`` largest entries: ``argmax <y, theta>`` over
    ``{y in {0,1}^d : sum y = k}``. Ties go to the lower index. Returns ``int8``.

    Args:
        k: how many entries to select (``1 <= k``; at most ``d`` at solve time). Required:
            there is no natural default.

    Example:
        >>> import numpy as np, perturbopt
        >>> perturbopt.get_solver("topk", k=2).solve(np.array([0.3, 0.9, 0.1, 0.5]))
        array([0, 1, 0, 1], dtype=int8)
    """

    name = "topk"

    def __init__(self, *, k: int) -> None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"topk needs an integer k >= 1, got k={k!r}")
        self.k = int(k)

    def solve_batch(self, thetas: np.ndarray, *, hints: np.ndarray | None = None) -> np.ndarray:
        thetas = np.asarray(thetas)
        d = thetas.shape[-1]
        if self.k > d:
            raise ValueError(f"topk with k={self.k} cannot select from d={d} entries; use k <= {d}")
        if self.k == d:
            return np.ones(thetas.shape, dtype=np.int8)
        # Partitioning the values (no indices) finds each row's k-th and (k+1)-th largest
        # in linear time; the entries at least the k-th largest are the answer, unless
        # those two are tied: such rows are redone with a stable sort, so that ties go to
        # the lower index.
        k = self.k
        part = np.partition(thetas, d - k - 1, axis=-1)  # one kth: several cost far more
        kth, below = part[..., d - k :].min(axis=-1), part[..., d - k - 1]
        out = np.greater_equal(thetas, kth[..., None]).view(np.int8)
        tied = kth == below
        if tied.any():
            chosen = np.argsort(-thetas[tied], axis=-1, kind="stable")[..., :k]
            redone = np.zeros(chosen.shape[:-1] + (d,), dtype=np.int8)
            _scatter_rows(redone, chosen, 1)
            out[tied] = redone
        return out

    def __repr__(self) -> str:
        return f"TopK(k={self.k})"


class Ranking(_VectorSolver):
    """Ranks, the vertices of the permutahedron: ``argmax <y, theta>`` over the
    permutations of ``(1, ..., d)``.

    ``y_i`` is the rank of ``theta_i`` in increasing order: ``d`` for the largest
    entry, ``1`` for the smallest (Berthet et al., appendix on ranking). Ties keep
    index order. Returns the smallest integer type that holds ``d``.
    """

    name = "ranking"

    def solve_batch(self, thetas: np.ndarray, *, hints: np.ndarray | None = None) -> np.ndarray:
        thetas = np.asarray(thetas)
        d = thetas.shape[-1]
        dtype = np.int8 if d <= np.iinfo(np.int8).max else np.int32
        # An unstable sort is several times faster; rows with tied entries are redone
        # with a stable sort so that ties keep index order.
        order = np.argsort(thetas, axis=-1)
        ordered = np.sort(thetas, axis=-1)
        tied = (ordered[..., 1:] == ordered[..., :-1]).any(axis=-1)
        if tied.any():
            order[tied] = np.argsort(thetas[tied], axis=-1, kind="stable")
        ranks = np.empty(thetas.shape, dtype=dtype)
        _scatter_rows(ranks, order, np.arange(1, d + 1, dtype=dtype))
        return ranks


class Sign(_VectorSolver):
    """Signs, the vertices of the hypercube: ``argmax <y, theta>`` over ``{-1, 1}^d``.

    ``y_i = 1`` where ``theta_i >= 0`` and ``-1`` elsewhere. With Gaussian noise the
    perturbed solution is ``2 Phi(theta / eps) - 1``. Returns ``int8``.
    """

    name = "sign"

    def solve_batch(self, thetas: np.ndarray, *, hints: np.ndarray | None = None) -> np.ndarray:
        thetas = np.asarray(thetas)
        out = np.greater_equal(thetas, 0).view(np.int8)
        out *= 2
        out -= 1
        return out


@hookimpl
def register_solvers(register: Any) -> None:
    register("argmax", Argmax, description="one-hot argmax over the simplex, vectorised; sense max")
    register(
        "topk",
        TopK,
        description="indicator of the k largest entries, vectorised; sense max; "
        "options: k (required)",
    )
    register("ranking", Ranking, description="ranks 1..d, the permutahedron, vectorised; sense max")
    register("sign", Sign, description="signs in {-1, 1}^d, the hypercube, vectorised; sense max")


@hookimpl
def register_noises(register: Any) -> None:
    register("gaussian", Gaussian, description="standard normal, score z")
    register("gumbel", Gumbel, description="standard Gumbel, score 1 - exp(-z)")
    register("sum_of_gamma", SumOfGamma, description="I-MLE's sum of gammas, k=5 (no score)")
