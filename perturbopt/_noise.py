"""Noise distributions for the perturbations.

A noise ``Z`` has density ``mu(z) ~ exp(-nu(z))``. The Jacobian estimator of
Berthet et al. (Prop. 3.1) needs its score ``grad nu(z)``; the multiplicative
perturbation needs ``log E[exp(eps Z)]`` so that the perturbation factor has mean one.
"""

from __future__ import annotations

import math
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["EULER_GAMMA", "Gaussian", "Gumbel", "Noise", "sample_noise"]

EULER_GAMMA = 0.5772156649015329
"""Mean of the standard Gumbel distribution."""


@runtime_checkable
class Noise(Protocol):
    """What the engine needs from a noise distribution.

    Attributes:
        name: registry name.
        symmetric: whether ``Z`` and ``-Z`` have the same law (antithetic pairs allowed).

    Optional: ``torch_nu(z)``, ``nu`` of a torch tensor element-wise (``-log`` density up
    to a constant), which the torch bridge needs for second and higher derivatives (the
    built-in Gaussian and Gumbel noises have it there).
    """

    name: str
    symmetric: bool

    def sample(
        self,
        rng: np.random.Generator,
        shape: tuple[int, ...],
        dtype: type[np.floating[Any]] = np.float64,
    ) -> np.ndarray:
        """Draw samples of the given shape and floating-point type from ``rng``."""
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

    def sample(
        self,
        rng: np.random.Generator,
        shape: tuple[int, ...],
        dtype: type[np.floating[Any]] = np.float64,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        return rng.standard_normal(None if out is not None else shape, dtype=dtype, out=out)

    def score(self, z: np.ndarray) -> np.ndarray:
        return z

    def log_mgf(self, epsilon: float) -> float:
        return 0.5 * epsilon * epsilon

    def __repr__(self) -> str:
        return "Gaussian()"


class Gumbel:
    """Standard Gumbel noise: ``nu(z) = z + exp(-z)``, score ``1 - exp(-z)``.

    Drawn as ``Z = -log E`` with ``E`` standard exponential. Its mean is Euler's
    constant 0.5772...; ``log E[e^{eps Z}] = log Gamma(1 - eps)``, finite for
    ``eps < 1`` only.
    """

    name = "gumbel"
    symmetric = False

    def sample(
        self,
        rng: np.random.Generator,
        shape: tuple[int, ...],
        dtype: type[np.floating[Any]] = np.float64,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        z = rng.standard_exponential(None if out is not None else shape, dtype=dtype, out=out)
        np.maximum(z, np.finfo(dtype).tiny, out=z)  # E = 0 has probability ~2^-53, not 0
        np.log(z, out=z)
        np.negative(z, out=z)
        return z

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


def sample_noise(
    noise: Any,
    rng: np.random.Generator,
    shape: tuple[int, ...],
    dtype: type[np.floating[Any]],
    out: np.ndarray | None = None,
) -> np.ndarray:
    """``noise.sample(rng, shape, dtype=dtype)`` as a C-contiguous array of ``dtype``, or
    written into ``out`` (C-contiguous, ``shape``, ``dtype``) when given: the built-in
    noises draw straight into it, others are copied there.

    Every noise's ``sample`` takes ``dtype`` (the [Noise][perturbopt.Noise] protocol);
    a noise written without it raises ``TypeError`` naming the fix."""
    if out is not None and type(noise) in (Gaussian, Gumbel):
        return noise.sample(rng, shape, dtype=dtype, out=out)  # type: ignore[no-any-return]
    try:
        z = noise.sample(rng, shape, dtype=dtype)
    except TypeError as error:
        if "dtype" not in str(error):
            raise
        raise TypeError(
            f"noise {getattr(noise, 'name', type(noise).__name__)!r}: sample(rng, shape, "
            f"dtype=...) must take the dtype keyword (float64 or float32) since 0.3; add it "
            f"to its signature: {error}"
        ) from error
    if out is not None:
        out[...] = z
        return out
    return np.ascontiguousarray(z, dtype=dtype)
