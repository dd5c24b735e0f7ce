"""Argument checks of the generators: each message names the generator and the argument."""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["check_count", "check_degree", "check_noise_width", "check_seed"]


def check_count(generator: str, name: str, value: Any, *, minimum: int = 1) -> int:
    """``value`` as an ``int`` of at least ``minimum``.

    Example:
        >>> check_count("knapsack", "num_items", 0)
        Traceback (most recent call last):
        ...
        ValueError: knapsack(): num_items must be an integer >= 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{generator}(): {name} must be an integer >= {minimum}, got {value!r} "
            f"(a {type(value).__name__})"
        )
    if int(value) < minimum:
        raise ValueError(f"{generator}(): {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_degree(generator: str, degree: Any) -> int:
    """The polynomial degree, an integer >= 1 (1: the costs are linear in the features)."""
    return check_count(generator, "degree", degree)


def check_noise_width(generator: str, noise_width: Any) -> float:
    """The half-width of the multiplicative noise ``U(1 - w, 1 + w)``, in ``[0, 1)`` so that
    the noise factor stays positive.

    Example:
        >>> check_noise_width("tsp", 1.0)
        Traceback (most recent call last):
        ...
        ValueError: tsp(): noise_width must be in [0, 1) (the noise factor U(1 - w, 1 + w) must stay positive), got 1.0
    """
    if isinstance(noise_width, bool) or not isinstance(noise_width, numbers.Real):
        raise TypeError(
            f"{generator}(): noise_width must be a number in [0, 1), got {noise_width!r} "
            f"(a {type(noise_width).__name__})"
        )
    width = float(noise_width)
    if not (math.isfinite(width) and 0.0 <= width < 1.0):
        raise ValueError(
            f"{generator}(): noise_width must be in [0, 1) (the noise factor U(1 - w, 1 + w) "
            f"must stay positive), got {noise_width!r}"
        )
    return width


def check_seed(generator: str, seed: Any) -> int:
    """The seed of ``numpy.random.RandomState``: an integer in ``[0, 2**32)``."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"{generator}(): seed must be an integer in [0, 2**32), got {seed!r} "
            f"(a {type(seed).__name__})"
        )
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"{generator}(): seed must be an integer in [0, 2**32), got {seed!r}")
    return int(seed)
