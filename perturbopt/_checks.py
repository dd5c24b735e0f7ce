"""The option checks shared by the core's options and every solver plugin.

One family of checks, so that ``perturbed(epsilon=...)`` and a plugin's
``time_limit=...`` fail alike: a value of the wrong type raises `TypeError`, a
value of the right type but out of range `ValueError`, and every message names
the option, the value it got, and (for a plugin) starts with ``solver 'name': ``.
[`perturbopt.plugin`][perturbopt.plugin] re-exports them for plugin authors; the core calls them with
``solver=None`` (no prefix).

Example:
    >>> check_number(None, "epsilon", 0.5, positive=True)
    0.5
    >>> check_choice("my.solver", "sense", "max", ("max", "min"))
    'max'
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["check_bool", "check_choice", "check_int", "check_number", "message"]


def message(solver: str | None, text: str) -> str:
    """``text`` prefixed with the solver's name, the one convention for plugin messages.

    Example:
        >>> message("scipy.linprog", "the LP is infeasible")
        "solver 'scipy.linprog': the LP is infeasible"
        >>> message(None, "epsilon must be > 0")
        'epsilon must be > 0'
    """
    return text if solver is None else f"solver {solver!r}: {text}"


def _kind(value: Any) -> str:
    return f"{value!r} (a {type(value).__name__})"


def check_choice(solver: str | None, option: str, value: Any, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of the strings ``choices``.

    Raises:
        TypeError: ``value`` is not a string.
        ValueError: a string not in ``choices``.

    Example:
        >>> check_choice("my.solver", "negative_costs", "clip", ("clip", "error"))
        'clip'
    """
    listed = " or ".join(repr(choice) for choice in choices)
    if not isinstance(value, str):
        raise TypeError(message(solver, f"{option} must be {listed}, got {_kind(value)}"))
    if value not in choices:
        raise ValueError(message(solver, f"{option} must be {listed}, got {value!r}"))
    return value


def check_bool(solver: str | None, option: str, value: Any) -> bool:
    """``value`` as a ``bool`` if it is ``True`` or ``False`` (numpy's too).

    Raises:
        TypeError: anything else, truthy or not.

    Example:
        >>> check_bool("my.solver", "maxcardinality", 1)
        Traceback (most recent call last):
        ...
        TypeError: solver 'my.solver': maxcardinality must be True or False, got 1 (a int)
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(message(solver, f"{option} must be True or False, got {_kind(value)}"))
    return bool(value)


def check_int(solver: str | None, option: str, value: Any, *, minimum: int | None = None) -> int:
    """``value`` as an ``int``, at least ``minimum``.

    Raises:
        TypeError: not an integer (``bool`` and integral floats are refused).
        ValueError: below ``minimum``.

    Example:
        >>> check_int("my.solver", "threads", 0, minimum=1)
        Traceback (most recent call last):
        ...
        ValueError: solver 'my.solver': threads must be >= 1, got 0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        bound = "" if minimum is None else f" >= {minimum}"
        raise TypeError(message(solver, f"{option} must be an integer{bound}, got {_kind(value)}"))
    if minimum is not None and value < minimum:
        raise ValueError(message(solver, f"{option} must be >= {minimum}, got {value!r}"))
    return int(value)


def check_number(
    solver: str | None,
    option: str,
    value: Any,
    *,
    positive: bool = False,
    meaning: str | None = None,
) -> float:
    """``value`` as a finite ``float`` (``> 0`` with ``positive=True``).

    Args:
        solver: the registry name of the solver, or ``None`` for no prefix.
        option: the option's name.
        value: what the user passed.
        positive: whether it must be ``> 0``.
        meaning: what the option is, added to the ``ValueError``'s message.

    Raises:
        TypeError: not a real number (``bool`` is refused).
        ValueError: not finite, or not positive when it must be.

    Example:
        >>> check_number("my.solver", "time_limit", 2, positive=True)
        2.0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        what = "a positive number" if positive else "a number"
        raise TypeError(message(solver, f"{option} must be {what}, got {_kind(value)}"))
    number = float(value)
    if not math.isfinite(number) or (positive and number <= 0):
        bound = "a finite number > 0" if positive else "a finite number"
        meant = f"; it is {meaning}" if meaning else ""
        raise ValueError(message(solver, f"{option} must be {bound}, got {value!r}{meant}"))
    return number
