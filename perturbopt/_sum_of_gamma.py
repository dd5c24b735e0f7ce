"""The sum-of-gamma noise of I-MLE (Niepert et al., NeurIPS 2021), registered as
``"sum_of_gamma"``."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["SumOfGamma"]


class SumOfGamma:
    """Sum-of-gamma noise, whose sum over ``k`` coordinates is a standard Gumbel.

    Niepert, Minervini and Franceschi, "Implicit MLE: Backpropagating Through Discrete
    Exponential Family Distributions" (NeurIPS 2021), section 5::

        Z = (1 / k) (sum_{i=1}^{s} G_i - log s),   G_i ~ Gamma(shape 1/k, scale k/i)

    with ``s = iterations`` terms. For ``k``-subset problems (top-k, and paths or
    matchings with ``k`` chosen items) the perturbation ``theta + eps Z`` then gives the
    items' sum a Gumbel perturbation, as perturb-and-MAP needs. Its mean is
    ``(H_s - log s) / k``, which tends to Euler's ``0.5772 / k`` as ``s`` grows.

    The score ``grad nu`` has no closed form: this noise serves I-MLE
    ([`perturbopt.torch.IMLE`][perturbopt.torch.IMLE]), which needs none, and the perturbed solution's
    mean; a vector-Jacobian product with it raises an error saying so.

    Args:
        k: the number of items a solution chooses (PyEPO's ``kappa``, default 5).
        iterations: the number ``s`` of gamma terms (default 10, as the paper's code).

    Example:
        >>> import numpy as np
        >>> noise = SumOfGamma(k=5)
        >>> z = noise.sample(np.random.default_rng(0), (200000,))
        >>> harmonic = sum(1 / i for i in range(1, 11))
        >>> bool(abs(z.mean() - (harmonic - np.log(10)) / 5) < 0.003)
        True
    """

    name = "sum_of_gamma"
    symmetric = False

    def __init__(self, k: int = 5, iterations: int = 10) -> None:
        for label, value in (("k", k), ("iterations", iterations)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"SumOfGamma: {label} must be an integer >= 1, got {value!r}")
        self.k = int(k)
        self.iterations = int(iterations)

    def sample(
        self,
        rng: np.random.Generator,
        shape: tuple[int, ...],
        dtype: type[np.floating[Any]] = np.float64,
    ) -> np.ndarray:
        total = np.zeros(shape, dtype=np.float64)
        for i in range(1, self.iterations + 1):
            total += rng.gamma(1.0 / self.k, self.k / i, size=shape)
        total -= math.log(self.iterations)
        total /= self.k
        return total.astype(dtype, copy=False)

    def score(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError(
            "the sum-of-gamma noise has no closed-form score grad nu(z), so the "
            "perturbed optimizer's vector-Jacobian product is not available with it; "
            "use I-MLE (perturbopt.torch.IMLE), which needs none, or noise='gumbel'"
        )

    def log_mgf(self, epsilon: float) -> float:
        raise ValueError(
            "multiplicative perturbation is not available with noise='sum_of_gamma'; "
            "use perturbation='additive'"
        )

    def __repr__(self) -> str:
        return f"SumOfGamma(k={self.k}, iterations={self.iterations})"
