"""The data set a generator returns: features, costs, and the solver that solves them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .._types import Sense

__all__ = ["ProblemData"]


@dataclass(frozen=True, eq=False)
class ProblemData:
    """``num_data`` instances of one problem: features ``x`` and true costs ``c``.

    Row ``i`` is one instance: the features ``x[i]`` a model sees, and the costs ``c[i]``
    of the decision problem ``w*(c) = argmin_w <c, w>`` (``sense="min"``) or ``argmax``
    (``sense="max"``) over the feasible set that ``solver`` with ``solver_options`` solves.

    Attributes:
        name: the generator (``"shortest_path"``, ``"knapsack"``, ``"tsp"``).
        x: features, float64 of shape ``(num_data, num_features)``.
        c: costs, float32 of shape ``(num_data, num_costs)`` (PyEPO's dtype).
        sense: ``"min"`` (costs) or ``"max"`` (values, the knapsack).
        solver: the registry name of the default solver.
        solver_options: the options that solver (and every name in ``solvers``) takes.
        solvers: every shipped solver that solves these instances with ``solver_options``,
            the default first.
        arguments: the generator's arguments, seed included: calling it again with them
            gives the same data.

    Example:
        >>> from perturbopt import problems
        >>> data = problems.shortest_path(10, 5, grid=(3, 3), seed=0)
        >>> len(data), data.x.shape, data.c.shape, data.solver
        (10, (10, 5), (10, 12), 'scipy.grid_shortest_path_edges')
        >>> train, test = data.split(8)
        >>> len(train), len(test)
        (8, 2)
    """

    name: str
    x: np.ndarray
    c: np.ndarray
    sense: Sense
    solver: str
    solver_options: Mapping[str, Any]
    solvers: tuple[str, ...]
    arguments: Mapping[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def num_features(self) -> int:
        """``p``, the length of one feature vector."""
        return int(self.x.shape[1])

    @property
    def num_costs(self) -> int:
        """``d``, the length of one cost vector (arcs, items, edges)."""
        return int(self.c.shape[1])

    def __getitem__(self, rows: Any) -> ProblemData:
        """The instances ``rows`` (a slice, or an array of indices or of booleans)."""
        x, c = self.x[rows], self.c[rows]
        if x.ndim != 2:
            raise IndexError(
                f"ProblemData[{rows!r}] must select rows with a slice or an array of "
                "indices; use data.x[i] and data.c[i] for one instance"
            )
        return replace(self, x=x, c=c)

    def split(self, num_first: int) -> tuple[ProblemData, ProblemData]:
        """The first ``num_first`` instances and the rest (PyEPO's train/test split).

        Raises:
            ValueError: ``num_first`` leaves one of the two parts empty.
        """
        if isinstance(num_first, bool) or not isinstance(num_first, (int, np.integer)):
            raise TypeError(f"split(): num_first must be an integer, got {num_first!r}")
        if not 0 < num_first < len(self):
            raise ValueError(
                f"split(): num_first must be in 1 .. {len(self) - 1} for {len(self)} "
                f"instances, got {num_first}"
            )
        return self[:num_first], self[num_first:]

    def get_solver(self, name: str | None = None, **options: Any) -> Any:
        """The solver of these instances: ``perturbopt.get_solver(name, **solver_options,
        **options)``, with ``name`` the default ``solver`` unless given."""
        from .._registry import get_solver

        return get_solver(
            self.solver if name is None else name, **{**self.solver_options, **options}
        )

    def optimal(
        self, costs: np.ndarray | None = None, *, solver: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Optimal solutions and values ``(w*(c_i), z*(c_i))`` of every row of ``costs``.

        Args:
            costs: ``(n, num_costs)`` costs; the true costs ``c`` by default.
            solver: a solver built by `get_solver` (built here if ``None``).

        Returns:
            ``w`` of shape ``(n, num_costs)`` and ``z = <c_i, w_i>`` of shape ``(n,)``,
            both float64.
        """
        solver = self.get_solver() if solver is None else solver
        c = np.asarray(self.c if costs is None else costs, dtype=np.float64)
        if c.ndim != 2 or c.shape[1] != self.num_costs:
            raise ValueError(
                f"optimal(): costs must have shape (n, {self.num_costs}), got {c.shape}"
            )
        batch = getattr(solver, "solve_batch", None)
        if batch is not None:
            w = np.asarray(batch(c), dtype=np.float64)
        else:
            w = np.array([solver.solve(row) for row in c], dtype=np.float64).reshape(c.shape)
        return w, np.einsum("ij,ij->i", c, w)

    def __repr__(self) -> str:
        return (
            f"ProblemData({self.name!r}, {len(self)} instances, {self.num_features} features, "
            f"{self.num_costs} costs, sense={self.sense!r}, solver={self.solver!r})"
        )
