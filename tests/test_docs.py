"""Every ``python`` code block of the docs and the README runs, in page order, in one
namespace per page. A block that cannot run here says why on the line before it:
``<!-- not run: needs a Dask scheduler -->``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
BLOCK = re.compile(r"(?P<before>[^\n]*)\n```python\n(?P<code>.*?)\n```", re.DOTALL)
SKIP = re.compile(r"<!-- not run: .+ -->")


def blocks(page: Path) -> list[tuple[int, str]]:
    """``(line, code)`` of every block of ``page`` that runs."""
    text = page.read_text()
    found = []
    for match in BLOCK.finditer("\n" + text):
        if SKIP.fullmatch(match.group("before").strip()):
            continue
        line = text[: match.start("code")].count("\n")
        found.append((line, match.group("code")))
    return found


@pytest.mark.parametrize(
    "page", [p for p in PAGES if blocks(p)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_code_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for line, code in blocks(page):
        try:
            exec(compile(code, f"{page.relative_to(ROOT)}:{line}", "exec"), namespace)
        except Exception as error:
            raise AssertionError(
                f"the block at {page.name}:{line} failed: {type(error).__name__}: {error}"
            ) from error
