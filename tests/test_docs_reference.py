"""The API reference: every public module has a page entry, and the docstrings it
renders hold no Sphinx roles (mkdocstrings shows them raw; write
``[name][perturbopt.X]`` or plain backticks)."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_MODULES = [
    "perturbopt",
    "perturbopt.torch",
    "perturbopt.plugin",
    "perturbopt.plugin.testing",
    "perturbopt.experiments",
    "perturbopt.experiments.ranking",
    "perturbopt.experiments.classification",
    "perturbopt.experiments.shortest_path",
    "perturbopt.experiments.terrain",
    "perturbopt_ortools",
    "perturbopt_scipy",
    "perturbopt_networkx",
]
ROLE = re.compile(r":(?:py:)?(?:class|func|mod|meth|data|attr|exc|obj):`")


def test_every_public_module_is_in_the_reference() -> None:
    """A module is listed whole (``::: module``) or name by name (``::: module.name`` for
    each name of its ``__all__``)."""
    pytest.importorskip("torch")
    pages = "\n".join(p.read_text() for p in (ROOT / "docs" / "reference").glob("*.md"))
    listed = set(re.findall(r"^::: (\S+)$", pages, re.MULTILINE))
    missing = [
        f"{module}.{name}"
        for module in PUBLIC_MODULES
        if module not in listed
        for name in importlib.import_module(module).__all__
        if f"{module}.{name}" not in listed and not name.startswith("__")
    ]
    assert not missing, f"add '::: <name>' to a page of docs/reference/ for {missing}"


def _documented(module_name: str) -> list[tuple[str, object]]:
    module = importlib.import_module(module_name)
    objects: list[tuple[str, object]] = [(module_name, module)]
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        objects.append((f"{module_name}.{name}", obj))
        if inspect.isclass(obj):
            objects += [
                (f"{module_name}.{name}.{attribute}", value)
                for attribute, value in vars(obj).items()
                if not attribute.startswith("_") or attribute == "__init__"
            ]
    return objects


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_rendered_docstrings_hold_no_sphinx_roles(module_name: str) -> None:
    if "torch" in module_name or "experiments" in module_name:
        pytest.importorskip("torch")
    raw = [
        name
        for name, obj in _documented(module_name)
        if str(getattr(obj, "__module__", None) or getattr(obj, "__name__", "")).startswith(
            "perturbopt"
        )
        and ROLE.search(inspect.getdoc(obj) or "")
    ]
    assert not raw, f"Sphinx roles show raw in the reference: {raw}"
