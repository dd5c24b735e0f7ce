"""One validation for every experiment's configuration.

A configuration is a frozen dataclass deriving from `ExperimentConfig` whose
``_rules`` map field names to `Rule` objects. The checks run at construction; a
bad field raises ``ValueError("RankingConfig.train must be an integer >= 1, got 0")``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = ["ExperimentConfig", "Rule", "each", "integer", "one_of", "optional", "real"]


@dataclass(frozen=True)
class Rule:
    """What a field's value must be (``text``) and the test that says whether it is."""

    text: str
    test: Callable[[Any], bool]


def integer(*, at_least: int) -> Rule:
    """An integer (not a bool) ``>= at_least``."""
    return Rule(
        f"an integer >= {at_least}",
        lambda v: (
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and int(v) >= at_least
        ),
    )


def real(
    *, above: float | None = None, at_least: float | None = None, below: float | None = None
) -> Rule:
    """A finite real number (not a bool), ``> above``, ``>= at_least``, ``< below`` where
    given."""
    bounds = [
        f"> {above:g}" if above is not None else "",
        f">= {at_least:g}" if at_least is not None else "",
        f"< {below:g}" if below is not None else "",
    ]

    def test(value: Any) -> bool:
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            return False
        x = float(value)
        return (
            math.isfinite(x)
            and (above is None or x > above)
            and (at_least is None or x >= at_least)
            and (below is None or x < below)
        )

    return Rule(" ".join(["a finite number", " and ".join(b for b in bounds if b)]).strip(), test)


def each(rule: Rule, *, what: str) -> Rule:
    """A non-empty tuple of ``what``, every item passing ``rule``."""
    return Rule(
        f"{what}: a non-empty tuple, each item {rule.text}",
        lambda v: isinstance(v, tuple) and len(v) > 0 and all(map(rule.test, v)),
    )


def optional(rule: Rule) -> Rule:
    """``None``, or a value that passes ``rule``."""
    return Rule(f"None or {rule.text}", lambda v: v is None or rule.test(v))


def one_of(*choices: Any) -> Rule:
    """One of ``choices``."""
    return Rule("one of " + ", ".join(map(repr, choices)), lambda v: v in choices)


@dataclass(frozen=True)
class ExperimentConfig:
    """Base of the experiments' configurations: checks each field named in ``_rules``.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class Config(ExperimentConfig):
        ...     epochs: int = 10
        ...     _rules = {"epochs": integer(at_least=1)}
        >>> Config(epochs=0)
        Traceback (most recent call last):
        ...
        ValueError: Config.epochs must be an integer >= 1, got 0
    """

    _rules: ClassVar[Mapping[str, Rule]] = {}

    def __post_init__(self) -> None:
        for name, rule in self._rules.items():
            value = getattr(self, name)
            if not rule.test(value):
                raise ValueError(f"{type(self).__name__}.{name} must be {rule.text}, got {value!r}")
