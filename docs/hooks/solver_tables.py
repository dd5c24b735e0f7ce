"""MkDocs hook: solver tables generated from the plugin registry, never kept by hand.

A page asks for a table with a line ``<!-- solvers: WHICH -->``: ``*`` for every
solver, a name prefix ending in a dot (``scipy.``), or a distribution's name
(``perturbopt`` for the built-ins). The hook replaces it with one row per registered
solver: its name, description, options (the factory's keyword arguments, with their
defaults) and the
distribution that provides it.
"""

from __future__ import annotations

import re
from typing import Any

_MARKER = re.compile(r"^<!-- solvers: (\S+) -->$", re.MULTILINE)


def _options(entry: Any) -> str:
    """The factory's options with their defaults (``k (required)``, ``grid=None``)."""
    from perturbopt._factory_options import option_texts

    texts = option_texts(entry.factory)
    if texts is None:
        return "any keyword options"
    return ", ".join(f"`{text}`" for text in texts) or "none"


def _wanted(entry: Any, which: str) -> bool:
    if which == "*":
        return True
    if which.endswith("."):
        return bool(entry.name.startswith(which))
    return bool(entry.distribution == which)


def solver_table(which: str) -> str:
    """The markdown table of the registered solvers ``which`` selects."""
    import perturbopt

    rows = ["| solver | what it solves | options | distribution |", "|---|---|---|---|"]
    for entry in perturbopt.list_solvers():
        if _wanted(entry, which):
            rows.append(
                f"| `{entry.name}` | {entry.description} | {_options(entry)} | "
                f"`{entry.distribution}` |"
            )
    if len(rows) == 2:
        raise ValueError(f"no registered solver matches {which!r}: is its plugin installed?")
    return "\n".join(rows)


def on_page_markdown(markdown: str, **_: Any) -> str:
    return _MARKER.sub(lambda match: solver_table(match.group(1)), markdown)
