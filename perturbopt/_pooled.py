"""``solve_ratio``: a solver that answers most solves from a `SolutionPool`.

`pooled_perturbed` builds, for any method, the [`perturbopt.Perturbed`][perturbopt.Perturbed] that
the method calls. With ``solve_ratio < 1`` its solver is a `PooledSolver`: each
call's rows (perturbed or not) go to the real solver with probability ``solve_ratio``
(those solutions join the pool), and are otherwise answered by the best pool member
for each row's costs, all of them in one matrix product. Deciding per call, as PyEPO
does, rather than per row sends the same share of solves to the solver in far fewer
engine calls. The pool lives in
the calling process, so the pooled solver runs there; the real solves still go through
the engine with the caller's ``n_jobs``, ``timeout`` and ``isolate``.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ._perturbed import Perturbed, _seed_sequence
from .pool import SolutionPool, check_solve_ratio

__all__ = ["RUN_OPTIONS", "PooledSolver", "pooled_perturbed"]

RUN_OPTIONS = ("n_jobs", "timeout", "isolate", "solver_options", "sense", "ndim", "registry")
"""Options of the real solver's calls; the others (noise, samples, ...) are the method's."""


class PooledSolver:
    """A solver that sends a share ``solve_ratio`` of its calls to ``exact`` and answers
    the others with ``pool.best`` (inexact but feasible solutions).

    While the pool is empty every call goes to the real solver. The choice of calls is
    drawn from a generator seeded by ``seed``.

    Args:
        exact: the real solver, as a [`perturbopt.Perturbed`][perturbopt.Perturbed] whose ``hard`` runs
            it through the engine.
        pool: the pool to read and feed.
        solve_ratio: the share of rows solved exactly, in ``(0, 1]``.
        seed: seeds the choice of rows.
    """

    def __init__(self, exact: Perturbed, pool: SolutionPool, solve_ratio: float, seed: Any) -> None:
        self.exact = exact
        self.pool = pool
        self.solve_ratio = check_solve_ratio(solve_ratio)
        self.sense = exact.sense
        self.ndim = exact._ndim
        self.shape = exact._shape
        self.name = f"pooled({getattr(exact.solver, 'name', None) or type(exact.solver).__name__})"
        self._rng = np.random.default_rng(_seed_sequence(seed).spawn(1)[0])
        self._lock = threading.Lock()
        self.exact_solves = 0
        self.pool_answers = 0

    def solve_batch(self, thetas: np.ndarray, *, hints: np.ndarray | None = None) -> np.ndarray:
        thetas = np.asarray(thetas, dtype=np.float64)
        count = thetas.shape[0]
        with self._lock:
            exact = bool(self._rng.random() < self.solve_ratio) or len(self.pool) == 0
        if exact:
            out = np.asarray(self.exact.hard(thetas), dtype=np.float64)
            self.pool.add(out)
            self.exact_solves += count
        else:
            out = self.pool.best(thetas, self.sense)
            self.pool_answers += count
        return out

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        return self.solve_batch(np.asarray(theta)[None])[0]


def pooled_perturbed(
    solver: Any, *, solve_ratio: Any = 1.0, pool: Any = None, **options: Any
) -> Perturbed:
    """``perturbed(solver, **options)``, with a `PooledSolver` in front of the real
    solver when ``solve_ratio < 1``.

    Args:
        solver: what [`perturbopt.perturbed`][perturbopt.perturbed] takes.
        solve_ratio: the share of solves sent to the real solver, in ``(0, 1]``.
        pool: a `SolutionPool` to share (several modules may share one), an array
            of solutions to seed a new one with (e.g. the training labels), or ``None``
            for a new empty pool. Only used with ``solve_ratio < 1``.
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed].
    """
    ratio = check_solve_ratio(solve_ratio)
    if ratio == 1.0:
        if pool is not None:
            raise ValueError(
                "pool= was given with solve_ratio=1, where every solve is exact and no pool "
                "is used; give solve_ratio < 1 too, or leave pool out"
            )
        return Perturbed(solver, **options)
    exact_options = {name: options.pop(name) for name in RUN_OPTIONS if name in options}
    if "memory_limit" in options:
        exact_options["memory_limit"] = options["memory_limit"]
    exact = Perturbed(solver, **exact_options)
    shared = as_pool(pool, exact._shape, seed=options.get("seed"))
    wrapper = PooledSolver(exact, shared, ratio, options.get("seed"))
    return Perturbed(wrapper, n_jobs=1, **options)


def as_pool(pool: Any, shape: tuple[int, ...] | None, *, seed: Any = None) -> SolutionPool:
    """``pool`` if it is a `SolutionPool`, a new pool seeded with the solutions
    ``pool`` (an array), or a new empty pool for ``None``; its shape checked against the
    solver's instance ``shape`` when both are known."""
    if isinstance(pool, SolutionPool):
        result = pool
    elif pool is None:
        result = SolutionPool(seed=seed)
    else:
        if hasattr(pool, "detach"):  # a torch tensor of labels
            pool = pool.detach().cpu().numpy()
        result = SolutionPool(pool, seed=seed)
    if shape is not None and result.shape is not None and result.shape != tuple(shape):
        raise ValueError(
            f"pool holds solutions of shape {result.shape}, but the solver's instances have "
            f"shape {tuple(shape)}: seed the pool with this problem's solutions"
        )
    return result
