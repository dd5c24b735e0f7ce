"""MkDocs hook: solver tables generated from the plugin registry, never kept by hand.

A page asks for a table with a line ``<!-- solvers: PREFIX -->`` (``PREFIX`` a name
prefix such as ``scipy.``, or ``*`` for every solver); the hook replaces it with one
row per registered solver: its name, description, options (the factory's keyword
arguments) and the distribution that provides it.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

_MARKER = re.compile(r"^<!-- solvers: (\S+) -->$", re.MULTILINE)


def _options(entry: Any) -> str:
    try:
        parameters = inspect.signature(entry.factory).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - factories without a signature
        return ""
    names = [p.name for p in parameters
             if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"]
    return ", ".join(f"`{name}`" for name in names) or "none"


def solver_table(prefix: str) -> str:
    """The markdown table of the registered solvers whose name starts with ``prefix``."""
    import perturbopt

    rows = ["| solver | what it solves | options | distribution |", "|---|---|---|---|"]
    for entry in perturbopt.list_solvers():
        if prefix == "*" or entry.name.startswith(prefix):
            rows.append(f"| `{entry.name}` | {entry.description} | {_options(entry)} | "
                        f"`{entry.distribution}` |")
    if len(rows) == 2:
        raise ValueError(f"no registered solver starts with {prefix!r}: is its plugin installed?")
    return "\n".join(rows)


def on_page_markdown(markdown: str, **_: Any) -> str:
    return _MARKER.sub(lambda match: solver_table(match.group(1)), markdown)
