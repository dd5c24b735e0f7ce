"""A pool of feasible solutions: the cache behind ``solve_ratio`` and the contrastive and
learning-to-rank losses.

Mulamba et al. (IJCAI 2021) replace most solver calls by the best member of a pool of
solutions seen so far: ``w_S(c) = argmin_{w in S} <c, w>`` (``argmax`` for a
``sense="max"`` solver). The pool holds only feasible solutions, so ``w_S(c)`` is
feasible, but it is optimal only when the pool holds an optimum for ``c``: a pool answer
is an *inexact* solve, cheap (one matrix product) and biased towards solutions already
seen. ``solve_ratio`` sets the share of solves that still go to the real solver and feed
the pool.
"""

from __future__ import annotations

import numbers
import threading
from typing import Any

import numpy as np

from ._types import Sense
from ._validation import as_float_array

__all__ = ["SolutionPool", "check_solve_ratio"]

ROWS_PER_PRODUCT = 4_000_000
"""The most entries of one ``costs @ pool.T`` block in `SolutionPool.best`."""


def check_solve_ratio(solve_ratio: Any) -> float:
    """``solve_ratio`` as a float in ``(0, 1]``, or an error that says what it means."""
    if isinstance(solve_ratio, bool) or not isinstance(solve_ratio, numbers.Real):
        raise TypeError(f"solve_ratio must be a number in (0, 1], got {solve_ratio!r}")
    value = float(solve_ratio)
    if not 0.0 < value <= 1.0:
        raise ValueError(
            f"solve_ratio must be in (0, 1], got {solve_ratio!r}: it is the share of solves "
            "sent to the real solver (1 = every solve exact; 0.1 = one in ten, the others "
            "answered by the best member of the solution pool)"
        )
    return value


class SolutionPool:
    """A deduplicated, memory-bounded set of feasible solutions, shared across calls.

    Solutions of one instance shape ``s`` are stored once each (exact duplicates are
    dropped), in ``int8`` while every entry is a small integer (0/1 paths, one-hot
    vectors) and in float64 otherwise. When the pool holds ``max_size`` solutions a new
    one replaces a member drawn at random by the pool's seeded generator, so the pool
    stays a sample of everything it was given.

    The best member for costs ``c`` is ``argmin_{w in S} <c, w>`` (``argmax`` for
    ``sense="max"``), for a whole batch in one matrix product (`best`).

    Args:
        solutions: solutions to start from, ``(N, *s)`` (e.g. the training labels: the
            pool is then "seeded from the labels"), or ``None`` for an empty pool.
        max_size: the most solutions held (default 100,000; memory ``max_size * |s|``
            bytes for 0/1 solutions).
        seed: seeds the choice of the member a new solution replaces in a full pool.

    Example:
        >>> import numpy as np
        >>> from perturbopt import SolutionPool
        >>> pool = SolutionPool(np.eye(3), seed=0)
        >>> pool.add(np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]))  # one new solution
        1
        >>> len(pool)
        4
        >>> pool.best(np.array([[3.0, -1.0, 2.0]]), sense="min")
        array([[0., 1., 0.]])
    """

    max_size: int
    _size: int
    _lock: threading.Lock
    _rng: np.random.Generator
    _shape: tuple[int, ...] | None
    _rows: np.ndarray | None
    _floats: np.ndarray | None
    _index: dict[bytes, int]

    def __init__(self, solutions: Any = None, *, max_size: int = 100_000, seed: Any = None) -> None:
        if isinstance(max_size, bool) or not isinstance(max_size, numbers.Integral) or max_size < 1:
            raise ValueError(f"max_size must be an integer >= 1, got {max_size!r}")
        self.max_size = int(max_size)
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()
        self._shape: tuple[int, ...] | None = None
        self._rows: np.ndarray | None = None  # (capacity, d), int8 or float64
        self._floats: np.ndarray | None = None  # float64 copy of the members, on demand
        self._index: dict[bytes, int] = {}
        self._size = 0
        if solutions is not None:
            self.add(solutions)

    # -- contents -----------------------------------------------------------------------

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return (
            f"SolutionPool({self._size} solutions of shape {self._shape}, max_size={self.max_size})"
        )

    @property
    def shape(self) -> tuple[int, ...] | None:
        """The instance shape ``s`` of the solutions (``None`` while empty)."""
        return self._shape

    @property
    def solutions(self) -> np.ndarray:
        """The members, ``(N, *s)`` float64 (a read-only copy)."""
        out = self._as_floats().reshape((self._size,) + (self._shape or (0,)))
        out.flags.writeable = False
        return out

    @property
    def nbytes(self) -> int:
        """Bytes held by the members."""
        return 0 if self._rows is None else int(self._rows[: self._size].nbytes)

    def clear(self) -> None:
        """Forget every member (the shape too)."""
        with self._lock:
            self._shape, self._rows, self._floats = None, None, None
            self._index.clear()
            self._size = 0

    def _as_floats(self) -> np.ndarray:
        if self._rows is None:
            return np.zeros((0, 0))
        if self._floats is None or self._floats.shape[0] != self._size:
            self._floats = self._rows[: self._size].astype(np.float64)
        return self._floats

    # -- adding ---------------------------------------------------------------------------

    def _check_shape(self, array: np.ndarray, name: str) -> np.ndarray:
        """``array`` ``(*b, *s)`` as ``(B, |s|)``, checking ``s`` against the pool's."""
        if self._shape is None:
            return array.reshape(-1, array.shape[-1]) if array.ndim else array.reshape(1, 1)
        ndim = len(self._shape)
        if array.ndim < ndim or tuple(array.shape[array.ndim - ndim :]) != self._shape:
            raise ValueError(
                f"{name} has shape {array.shape}, but the solution pool holds solutions of "
                f"shape {self._shape}: pass {name} of shape (B, {', '.join(map(str, self._shape))}), "
                "or use another SolutionPool for this problem"
            )
        return array.reshape(-1, int(np.prod(self._shape)))

    def add(self, solutions: Any) -> int:
        """Add solutions ``(N, *s)`` (or one, ``s``, when the pool knows ``s``); return how
        many were new. The first call fixes ``s``: a 2-D array is ``N`` solutions of
        ``s = (d,)``; for instances with more axes, add a 1-solution batch first."""
        array = as_float_array(solutions, "solutions")
        if array.size == 0:
            return 0
        with self._lock:
            if self._shape is None:
                if array.ndim < 2:
                    raise ValueError(
                        f"solutions has shape {array.shape}: give a batch (N, *s) of solutions, "
                        "so the pool can tell the batch axis from the instance axes"
                    )
                self._shape = tuple(array.shape[1:])
            flat = self._check_shape(array, "solutions")
            compact = _compact(flat)
            if self._rows is not None and compact.dtype != self._rows.dtype:
                self._rows = self._rows.astype(np.float64)
                self._index = {row.tobytes(): i for i, row in enumerate(self._rows[: self._size])}
                compact = flat
            added = 0
            for row in compact:
                key = row.tobytes()
                if key in self._index:
                    continue
                self._insert(row, key)
                added += 1
            if added:
                self._floats = None
            return added

    def _insert(self, row: np.ndarray, key: bytes) -> None:
        if self._rows is None:
            self._rows = np.empty((min(self.max_size, 1024), row.size), dtype=row.dtype)
        if self._size < self.max_size:
            if self._size == self._rows.shape[0]:
                rows = min(self.max_size, 2 * self._size)
                grown = np.empty((rows, row.size), dtype=self._rows.dtype)
                grown[: self._size] = self._rows[: self._size]
                self._rows = grown
            slot = self._size
            self._size += 1
        else:
            slot = int(self._rng.integers(self._size))
            del self._index[self._rows[slot].tobytes()]
        self._rows[slot] = row
        self._index[key] = slot

    # -- querying -------------------------------------------------------------------------

    def objectives(self, costs: Any, name: str = "costs") -> np.ndarray:
        """``<c_i, w_j>`` for every instance ``i`` of ``costs`` ``(B, *s)`` and member
        ``j``: ``(B, N)``."""
        if self._size == 0:
            raise ValueError(
                "the solution pool is empty: seed it with solutions (SolutionPool(labels) or "
                "pool.add(...)) or keep solve_ratio at 1 for the first calls"
            )
        flat = self._check_shape(np.asarray(costs, dtype=np.float64), name)
        return flat @ self._as_floats().T  # type: ignore[no-any-return]

    def best(self, costs: Any, sense: Sense = "min", *, name: str = "costs") -> np.ndarray:
        """The best member for each instance of ``costs`` ``(*b, *s)``: ``argmin <c, w>``
        over the pool for ``sense="min"`` (``argmax`` for ``"max"``), float64 of
        ``costs``' shape. Ties go to the member added first."""
        if sense not in ("min", "max"):
            raise ValueError(f"sense must be 'min' or 'max', got {sense!r}")
        array = np.asarray(costs, dtype=np.float64)
        members = self._as_floats()
        if self._size == 0:
            self.objectives(array, name)  # raises the empty-pool error
        flat = self._check_shape(array, name)
        step = max(1, ROWS_PER_PRODUCT // max(1, self._size))
        choice = np.empty(flat.shape[0], dtype=np.intp)
        for start in range(0, flat.shape[0], step):
            values = flat[start : start + step] @ members.T
            pick = values.argmin(axis=1) if sense == "min" else values.argmax(axis=1)
            choice[start : start + step] = pick
        return members[choice].reshape(array.shape)  # type: ignore[no-any-return]


def _compact(flat: np.ndarray) -> np.ndarray:
    """``flat`` in int8 when every entry is an integer in [-128, 127], else float64."""
    if flat.size and np.all(flat == np.round(flat)) and flat.min() >= -128 and flat.max() <= 127:
        return flat.astype(np.int8)
    return np.ascontiguousarray(flat, dtype=np.float64)
