"""The table helper every experiment shares: rows of values as a Markdown table."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["markdown_table"]


def markdown_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], align: str | None = None
) -> str:
    """A Markdown table.

    Args:
        header: the column titles.
        rows: the cells, already formatted, one sequence per row.
        align: one letter per column, ``"l"`` (left) or ``"r"`` (right); by default the
            first column left and the others right.

    Example:
        >>> print(markdown_table(["epsilon", "accuracy"], [["0.1", "0.97"]]))
        | epsilon | accuracy |
        |---|---:|
        | 0.1 | 0.97 |
    """
    align = align or "l" + "r" * (len(header) - 1)
    if len(align) != len(header) or set(align) - {"l", "r"}:
        raise ValueError(f"align needs one 'l' or 'r' per column ({len(header)}), got {align!r}")
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row has {len(row)} cells for {len(header)} columns: {row}")
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
