"""The ``perturbopt`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]


def _cmd_solvers(args: argparse.Namespace) -> int:
    from ._registry import list_noises, list_solvers

    entries = list_solvers()
    rows = [(e.name, e.distribution, e.plugin, e.description) for e in entries]
    header = ("solver", "distribution", "plugin", "description")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(3)]
    print("  ".join(h.ljust(w) for h, w in zip(header[:3], widths)) + "  " + header[3])
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row[:3], widths)) + "  " + row[3])
    if args.noises:
        print()
        for noise in list_noises():
            print(f"noise {noise.name}: {noise.description} ({noise.distribution})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``perturbopt`` command."""
    parser = argparse.ArgumentParser(
        prog="perturbopt",
        description="Differentiable perturbed optimizers (Berthet et al., 2020).",
    )
    commands = parser.add_subparsers(dest="command", title="commands")
    commands.required = True
    solvers = commands.add_parser("solvers", help="list every registered solver and its plugin")
    solvers.add_argument("--noises", action="store_true", help="list the noises too")
    solvers.set_defaults(run=_cmd_solvers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``perturbopt`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
