"""Noise distributions for the perturbations.

A noise ``Z`` has density ``mu(z) ~ exp(-nu(z))``. The Jacobian estimator of
Berthet et al. (Prop. 3.1) needs its score ``grad nu(z)``; the multiplicative
perturbation needs ``log E[exp(eps Z)]`` so that the perturbation factor has mean one.
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["EULER_GAMMA", "Gaussian", "Gumbel", "Noise"]

EULER_GAMMA = 0.5772156649015329
"""Mean of the standard Gumbel distribution."""


@runtime_checkable
class Noise(Protocol):
    """What the engine needs from a noise distribution.

    Attributes:
        name: registry name.
        symmetric: whether ``Z`` and ``-Z`` have the same law (antithetic pairs allowed).
    """

    name: str
    symmetric: bool

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Draw float64 samples of the given shape from ``rng``."""
        ...

    def score(self, z: np.ndarray) -> np.ndarray:
        """``grad nu(z)``, element-wise; it has mean zero under the noise."""
        ...

    def log_mgf(self, epsilon: float) -> float:
        """``log E[exp(epsilon * Z)]`` for one coordinate (for multiplicative noise)."""
        ...


class Gaussian:
    """Standard normal noise: ``nu(z) = |z|^2 / 2``, score ``z``, ``log E[e^{eps Z}] = eps^2/2``."""

    name = "gaussian"
    symmetric = True

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        return rng.standard_normal(shape)

    def score(self, z: np.ndarray) -> np.ndarray:
        return z

    def log_mgf(self, epsilon: float) -> float:
        return 0.5 * epsilon * epsilon

    def __repr__(self) -> str:
        return "Gaussian()"


class Gumbel:
    """Standard Gumbel noise: ``nu(z) = z + exp(-z)``, score ``1 - exp(-z)``.

    Its mean is Euler's constant 0.5772...; ``log E[e^{eps Z}] = log Gamma(1 - eps)``,
    finite for ``eps < 1`` only.
    """

    name = "gumbel"
    symmetric = False

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        return rng.gumbel(size=shape)

    def score(self, z: np.ndarray) -> np.ndarray:
        return -np.expm1(-z)

    def log_mgf(self, epsilon: float) -> float:
        if epsilon >= 1.0:
            raise ValueError(
                f"multiplicative Gumbel noise needs epsilon < 1 (E[exp(eps Z)] is infinite "
                f"otherwise), got epsilon={epsilon}; use noise='gaussian'"
            )
        return math.lgamma(1.0 - epsilon)

    def __repr__(self) -> str:
        return "Gumbel()"
