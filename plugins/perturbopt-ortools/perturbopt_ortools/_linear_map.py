"""The map from a model's variables to the solution ``y`` a model solver returns.

Each entry of ``y`` is an affine function of the model's variables ``x`` (a variable,
a negated Boolean, or any linear expression): ``y = A x + c``. Setting the objective
to ``<theta, y>`` therefore sets the coefficients of ``x`` to ``A^T theta`` (the
constant ``<theta, c>`` does not change the argmax).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse

__all__ = ["DENSE_ENTRIES", "LinearMap"]

DENSE_ENTRIES = 1 << 16
"""Maps with at most this many entries (512 KiB in float64) are kept dense."""


class LinearMap:
    """``y = A x[columns] + c`` for the model variables ``columns`` that ``y`` uses.

    Args:
        rows: one ``(variable indices, coefficients, constant)`` triple per entry of
            ``y``, in C order of ``shape``.
        shape: the shape of ``y`` (and of ``theta``).
        dtype: ``np.int64`` for CP-SAT (exact integer arithmetic), ``np.float64`` for
            MathOpt.
    """

    def __init__(
        self,
        rows: Sequence[tuple[Sequence[int], Sequence[float], float]],
        shape: tuple[int, ...],
        dtype: type,
    ) -> None:
        indices = [np.asarray(variables, dtype=np.int64) for variables, _, _ in rows]
        used = np.concatenate(indices) if indices else np.empty(0, dtype=np.int64)
        self.columns: np.ndarray = np.unique(used)
        """The model variables ``y`` depends on, sorted."""
        self.shape = shape
        self.offset: np.ndarray = np.array([constant for _, _, constant in rows], dtype=dtype)
        lengths = [len(i) for i in indices]
        matrix = scipy.sparse.csr_matrix(
            (
                np.concatenate([np.asarray(c, dtype=dtype) for _, c, _ in rows])
                if rows
                else np.empty(0, dtype=dtype),
                np.searchsorted(self.columns, used),
                np.concatenate([[0], np.cumsum(lengths)]),
            ),
            shape=(len(rows), self.columns.size),
            dtype=dtype,
        )
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        self.matrix = matrix
        self._transposed = matrix.T.tocsr()
        # A small map is applied as a dense matrix: a few microseconds a solve less than
        # scipy.sparse's dispatch, which a per-row solver pays twice per solve.
        self._dense: np.ndarray | None = (
            matrix.toarray() if matrix.shape[0] * matrix.shape[1] <= DENSE_ENTRIES else None
        )
        # Entries that are one variable times a non-zero number can be inverted to
        # turn a solution y into a (partial) hint on x.
        single = np.flatnonzero(np.diff(matrix.indptr) == 1)
        positions = matrix.indices[matrix.indptr[single]]
        positions, first = np.unique(positions, return_index=True)
        self._hint_rows = single[first]
        self._hint_positions = positions
        self._hint_coefficients = matrix.data[matrix.indptr[self._hint_rows]]

    @property
    def size(self) -> int:
        """The number of entries of ``y``."""
        return int(self.offset.size)

    def objective(self, theta: np.ndarray) -> np.ndarray:
        """``A^T theta``: the coefficients of ``x[columns]`` in ``<theta, y>``."""
        if self._dense is not None:
            return theta @ self._dense
        return np.asarray(self._transposed @ theta)

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """``y = A x + c`` from the values ``x`` of ``columns``, shaped like theta."""
        y = self._dense @ x if self._dense is not None else self.matrix @ x
        y += self.offset
        return y.reshape(self.shape)

    def hint(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Variables and values implied by a solution ``y`` (flat).

        Returns ``(positions in columns, values)`` for every variable that some entry
        of ``y`` is an affine function of alone: ``x = (y_i - c_i) / a_i``. Variables
        that only enter sums are left out.
        """
        rows = self._hint_rows
        values = (y[rows] - self.offset[rows]) / self._hint_coefficients
        return self._hint_positions, values
