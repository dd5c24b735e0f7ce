"""The ``perturbopt`` command."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["build_parser", "main"]


def _cmd_solvers(args: argparse.Namespace) -> int:
    from ._registry import list_noises, list_solvers

    entries = list_solvers()
    rows = [(e.name, e.distribution, e.plugin, e.description) for e in entries]
    header = ("solver", "distribution", "plugin", "description")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(3)]
    print("  ".join(h.ljust(w) for h, w in zip(header[:3], widths, strict=True)) + "  " + header[3])
    for row in rows:
        print(
            "  ".join(str(c).ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  " + row[3]
        )
    if args.noises:
        print()
        for noise in list_noises():
            print(f"noise {noise.name}: {noise.description} ({noise.distribution})")
    return 0


def _ranking_summary(c: Any) -> str:
    return (
        f"Learning to rank noisy data with the perturbed Fenchel-Young loss (Sect. 5.2, "
        f"Fig. 4): {c.train} train / {c.test} test instances of n={c.n} items in "
        f"d={c.d}, {c.epochs} epochs, batch {c.batch_size}, M={c.num_samples}, "
        f"epsilon={c.epsilon:g}."
    )


def _classification_summary(c: Any) -> str:
    return (
        f"Perturbed-max classification against cross-entropy on scikit-learn's digits "
        f"(Sect. 5.1, Fig. 2): an MLP 64-{c.hidden}-10, {c.epochs} epochs, batch "
        f"{c.batch_size}, epsilon={c.epsilon:g} with M in {_show(c.num_samples)}, then "
        f"one model per epsilon in {_show(c.epsilons)}."
    )


def _shortest_path_summary(c: Any) -> str:
    baseline = (
        "no baseline"
        if c.blackbox_lambda is None
        else f"blackbox differentiation (lambda={c.blackbox_lambda:g}) on the same budget"
    )
    return (
        f"Learning shortest paths on {c.grid}x{c.grid} terrain images (Sect. 5.3, "
        f"Fig. 5): {c.train} train / {c.test} test maps, a 3-layer convolutional "
        f"network, {c.epochs} epochs, batch {c.batch_size}, the perturbed Fenchel-Young "
        f"loss (M={c.num_samples}, {c.perturbation} noise) at each epsilon in "
        f"{_show(c.epsilons)}, and {baseline}."
    )


@dataclass(frozen=True)
class _Demo:
    """How ``perturbopt demo NAME`` runs one experiment of [`perturbopt.experiments`][perturbopt.experiments]:
    the module and the names of its config class and functions."""

    module: str
    config: str
    run: str
    table: str
    plot: str
    summary: Callable[[Any], str]
    caption: str = ""  # printed above the table
    defaults: Mapping[str, Any] = field(default_factory=dict)  # the demo's own defaults
    needs: tuple[tuple[str, str], ...] = ()  # (module, what to install)


_DEMOS: dict[str, _Demo] = {
    "ranking": _Demo(
        "ranking",
        "RankingConfig",
        "run_ranking_experiment",
        "format_ranking_table",
        "plot_ranking_results",
        _ranking_summary,
        "Test accuracy against the clean ranks (sigma: variance of the label noise):",
    ),
    "classification": _Demo(
        "classification",
        "ClassificationConfig",
        "run_classification_experiment",
        "format_classification_tables",
        "plot_classification_results",
        _classification_summary,
        needs=(("sklearn", "scikit-learn"),),
    ),
    "shortest-path": _Demo(
        "shortest_path",
        "ShortestPathConfig",
        "run_shortest_path_experiment",
        "format_shortest_path_table",
        "plot_cost_ratio_curves",
        _shortest_path_summary,
        "Test paths scored with the hidden costs (optimal: the path costs the optimum):",
        defaults={"epsilons": (0.1, 1.0)},
    ),
}


@dataclass(frozen=True)
class _Option:
    """A ``perturbopt demo`` option and the config field it sets in each experiment."""

    flag: str
    help: str
    fields: Mapping[str, str]
    kwargs: Mapping[str, Any]


def _everywhere(config_field: str) -> dict[str, str]:
    return {name: config_field for name in _DEMOS}


_OPTIONS = (
    _Option(
        "--train",
        "training instances (maps)",
        {"ranking": "train", "shortest-path": "train"},
        {"type": int},
    ),
    _Option(
        "--test",
        "test instances (maps)",
        {"ranking": "test", "shortest-path": "test"},
        {"type": int},
    ),
    _Option("--n", "items ranked per instance", {"ranking": "n"}, {"type": int}),
    _Option("--d", "feature dimension", {"ranking": "d"}, {"type": int}),
    _Option(
        "--sigmas",
        "label-noise variances, one model each",
        {"ranking": "sigmas"},
        {"type": float, "nargs": "+"},
    ),
    _Option(
        "--grid", "cells per side of the terrain maps", {"shortest-path": "grid"}, {"type": int}
    ),
    _Option("--epochs", "training epochs", _everywhere("epochs"), {"type": int}),
    _Option("--batch-size", "examples per minibatch", _everywhere("batch_size"), {"type": int}),
    _Option(
        "--epsilon",
        "scale of the Gaussian perturbation",
        {"ranking": "epsilon", "classification": "epsilon"},
        {"type": float},
    ),
    _Option(
        "--epsilons",
        "noise scales, one model each",
        {"classification": "epsilons", "shortest-path": "epsilons"},
        {"type": float, "nargs": "+"},
    ),
    _Option(
        "--samples",
        "perturbations per example and step (M)",
        {"ranking": "num_samples", "shortest-path": "num_samples"},
        {"type": int},
    ),
    _Option(
        "--lr",
        "Adam's initial step size (of the Fenchel-Young runs)",
        _everywhere("learning_rate"),
        {"type": float},
    ),
    _Option(
        "--scale-lr",
        "Adam's initial step size for the log-scale of w",
        {"ranking": "scale_learning_rate"},
        {"type": float},
    ),
    _Option(
        "--hidden", "width of the MLP's hidden layer", {"classification": "hidden"}, {"type": int}
    ),
    _Option(
        "--perturbation",
        "noise of the Fenchel-Young loss",
        {"shortest-path": "perturbation"},
        {"choices": ("additive", "multiplicative")},
    ),
    _Option(
        "--blackbox-lambda",
        "interpolation step of the blackbox baseline",
        {"shortest-path": "blackbox_lambda"},
        {"type": float},
    ),
    _Option(
        "--blackbox-lr",
        "Adam's initial step size for the blackbox baseline",
        {"shortest-path": "blackbox_learning_rate"},
        {"type": float},
    ),
    _Option(
        "--n-jobs", "joblib workers for the perturbed solves", _everywhere("n_jobs"), {"type": int}
    ),
    _Option("--seed", "random seed", _everywhere("seed"), {"type": int}),
)


def _experiment(demo: _Demo) -> Any:
    """The experiment's module (it imports numpy only; torch loads when it trains)."""
    return importlib.import_module(f".experiments.{demo.module}", __package__)


def _default(name: str, config_field: str) -> Any:
    demo = _DEMOS[name]
    if config_field in demo.defaults:
        return demo.defaults[config_field]
    return getattr(getattr(_experiment(demo), demo.config)(), config_field)


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return " ".join(map(_show, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _demo_settings(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """The config fields the command line sets, over the demo's own defaults.

    Raises:
        ValueError: an option that does not apply to experiment ``name``.
    """
    settings = dict(_DEMOS[name].defaults)
    for option in _OPTIONS:
        value = getattr(args, option.flag[2:].replace("-", "_"))
        if value is None:
            continue
        if name not in option.fields:
            raise ValueError(
                f"{option.flag} does not apply to this experiment (only to "
                f"{', '.join(option.fields)})"
            )
        settings[option.fields[name]] = tuple(value) if isinstance(value, list) else value
    if args.no_blackbox:
        if name != "shortest-path":
            raise ValueError("--no-blackbox applies to shortest-path only")
        settings["blackbox_lambda"] = None
    return settings


def _missing(name: str) -> str | None:
    """What experiment ``name`` needs and is not installed, as an install hint."""
    needs = (("torch", "perturbopt[torch]"), *_DEMOS[name].needs)
    for module, package in needs:
        try:
            importlib.import_module(module)
        except ImportError:
            return f"{module}: pip install '{package}'"
    if name == "shortest-path":
        from ._registry import list_solvers

        if "scipy.grid_shortest_path" not in {entry.name for entry in list_solvers()}:
            return (
                "the solver scipy.grid_shortest_path: pip install perturbopt-scipy "
                "(plugins/perturbopt-scipy)"
            )
    return None


def _cmd_demo(args: argparse.Namespace) -> int:
    """Run one experiment of the paper, print its table and draw its figure."""
    name = args.experiment
    demo = _DEMOS[name]
    missing = _missing(name)
    if missing is not None:
        print(f"perturbopt demo {name} needs {missing}", file=sys.stderr)
        return 1
    experiment = _experiment(demo)
    try:
        config = getattr(experiment, demo.config)(**_demo_settings(name, args))
    except ValueError as error:
        print(f"perturbopt demo {name}: {error}", file=sys.stderr)
        return 2
    print(demo.summary(config))
    result = getattr(experiment, demo.run)(config, progress=not args.no_progress)
    print()
    if demo.caption:
        print(demo.caption)
    print(getattr(experiment, demo.table)(result))
    print(f"\nwall time {result.seconds:.1f} s")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(
            "matplotlib is not installed, so no figure was drawn; "
            "pip install 'perturbopt[examples]' to get it."
        )
        return 0
    print(f"figure written to {getattr(experiment, demo.plot)(result, args.output)}")
    return 0


def _add_demo_parser(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="run one of the paper's experiments in a few minutes: "
        + ", ".join(_DEMOS)
        + " (default: ranking)",
        description="Run one of the experiments of Berthet et al. (2020) at laptop scale, "
        "print its table and draw its figure. Experiments: ranking (learning "
        "to rank noisy data, Fig. 4; the default), classification (perturbed "
        "argmax against cross-entropy on digits, Fig. 2), shortest-path "
        "(shortest paths learned from terrain images, Fig. 5, against blackbox "
        "differentiation). An option applies to the experiments named in its "
        "default.",
    )
    demo.add_argument(
        "experiment",
        nargs="?",
        default="ranking",
        choices=tuple(_DEMOS),
        help="the experiment to run (default: ranking)",
    )
    for option in _OPTIONS:
        defaults = ", ".join(
            f"{name} {_show(_default(name, config_field))}"
            for name, config_field in option.fields.items()
        )
        demo.add_argument(
            option.flag, default=None, help=f"{option.help} (default: {defaults})", **option.kwargs
        )
    demo.add_argument(
        "--no-blackbox", action="store_true", help="skip the blackbox baseline (shortest-path)"
    )
    demo.add_argument(
        "--output",
        default="perturbopt_demo.png",
        help="path of the PNG figure, drawn if matplotlib is installed "
        "(default: perturbopt_demo.png)",
    )
    demo.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    demo.set_defaults(run=_cmd_demo)


def _version() -> str:
    from . import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``perturbopt`` command."""
    parser = argparse.ArgumentParser(
        prog="perturbopt",
        description="Differentiable perturbed optimizers (Berthet et al., 2020).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", title="commands")
    commands.required = True
    solvers = commands.add_parser("solvers", help="list every registered solver and its plugin")
    solvers.add_argument("--noises", action="store_true", help="list the noises too")
    solvers.set_defaults(run=_cmd_solvers)
    _add_demo_parser(commands)
    from ._cli_benchmark import add_benchmark_parser

    add_benchmark_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``perturbopt`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except BrokenPipeError:  # `perturbopt solvers | head`: the reader left, nothing is wrong
        # As the Python docs advise: point stdout at devnull so the exit flush is quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
