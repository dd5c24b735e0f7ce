"""A solver's options checked against its factory's signature, before it is built.

A misspelled or misplaced option would otherwise reach the factory's ``__init__`` and
come back as Python's bare ``TypeError: __init__() got an unexpected keyword argument``.
Here it is answered with the solver's name, the options it takes (with their defaults)
and the closest spelling.

Example:
    >>> def factory(*, k, largest=True): ...
    >>> check_factory_options("topk", factory, {"kk": 3})
    Traceback (most recent call last):
    ...
    TypeError: solver 'topk' has no option 'kk'; did you mean 'k'? Its options: k (required), largest=True
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["check_factory_options", "describe_options", "option_texts"]


def _parameters(factory: Callable[..., Any]) -> list[inspect.Parameter] | None:
    """The keyword parameters of ``factory``, or ``None`` if it takes ``**options`` or
    has no signature to read."""
    try:
        parameters = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return [p for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


def option_texts(factory: Callable[..., Any]) -> list[str] | None:
    """``["k (required)", "largest=True"]``: each option of ``factory`` with its default,
    or ``None`` when it takes any keyword options (``**options``)."""
    parameters = _parameters(factory)
    if parameters is None:
        return None
    return [
        f"{p.name} (required)" if p.default is p.empty else f"{p.name}={p.default!r}"
        for p in parameters
    ]


def describe_options(factory: Callable[..., Any]) -> str:
    """``"k (required), largest=True"``: the options of ``factory`` with their defaults.

    Example:
        >>> def factory(*, grid, negative_costs="clip"): ...
        >>> describe_options(factory)
        "grid (required), negative_costs='clip'"
    """
    texts = option_texts(factory)
    if texts is None:
        return "any keyword options"
    return ", ".join(texts) or "none"


def check_factory_options(
    name: str, factory: Callable[..., Any], options: Mapping[str, Any]
) -> None:
    """Raise ``TypeError`` for an option ``factory`` does not take or a required one missing.

    Args:
        name: the solver's registry name, for the message.
        factory: the registered factory (a class or a function).
        options: the keyword options about to be passed to it.

    Raises:
        TypeError: the message names the wrong or missing option, the closest spelling
            and every option the solver takes.
    """
    parameters = _parameters(factory)
    if parameters is None:
        return
    names = [p.name for p in parameters]
    listed = f"Its options: {describe_options(factory)}"
    for option in options:
        if option not in names:
            close = difflib.get_close_matches(option, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "."
            raise TypeError(f"solver {name!r} has no option {option!r}{hint} {listed}")
    missing = [p.name for p in parameters if p.default is p.empty and p.name not in options]
    if missing:
        needed = ", ".join(repr(m) for m in missing)
        call = ", ".join(f"{m}=..." for m in missing)
        nested = ", ".join(f"{m!r}: ..." for m in missing)
        raise TypeError(
            f"solver {name!r} needs option{'s' if len(missing) > 1 else ''} {needed}: "
            f"get_solver({name!r}, {call}), or solver_options={{{nested}}} in "
            f"perturbed(...). {listed}"
        )
