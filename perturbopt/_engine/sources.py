"""Row sources: the inputs that the engine solves, row by row.

A call's rows are either perturbed copies of ``theta`` (`PerturbedRows`, row
``r = m * B + b`` is sample ``m`` of batch item ``b``, its noise drawn from the call's
`NoisePlan`) or ``theta`` itself
(`PlainRows`, for ``y*(theta)``). Both are plain data: they pickle to any worker,
which computes the inputs of the rows it is given where it runs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .noise_plan import NoisePlan

__all__ = ["PerturbedRows", "PlainRows", "RowSource"]


@dataclass(frozen=True)
class PerturbedRows:
    """The perturbed inputs of a call: row ``r`` is ``theta[r % B]`` perturbed by the
    noise of row ``r``."""

    theta: np.ndarray  # (B, *s) float64, read-only
    plan: NoisePlan

    @functools.cached_property
    def num_rows(self) -> int:
        return self.plan.num_rows

    def inputs(self, start: int, stop: int, noise_out: np.ndarray | None = None) -> np.ndarray:
        """The perturbed inputs of rows ``[start, stop)``; their noise is left in
        ``noise_out`` when given (the inputs are then a new array).

        Raises:
            OverflowFailure: a perturbed input is out of range.
        """
        z = self.plan.draw_rows(start, stop, out=noise_out)
        if noise_out is None:
            return self.plan.perturb(self.theta, z, start)
        return self.plan.perturb(self.theta, z, start, out=np.empty_like(z))


@dataclass(frozen=True)
class PlainRows:
    """Unperturbed inputs: row ``r`` is ``theta[r]`` (the problems ``y*(theta)``)."""

    theta: np.ndarray  # (B, *s) float64, read-only

    @functools.cached_property
    def num_rows(self) -> int:
        return int(self.theta.shape[0])

    def inputs(self, start: int, stop: int, noise_out: np.ndarray | None = None) -> np.ndarray:
        """The inputs of rows ``[start, stop)`` (there is no noise to keep)."""
        return self.theta[start:stop]


RowSource = PerturbedRows | PlainRows
