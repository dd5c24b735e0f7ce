"""``perturbopt benchmark``: the field's methods on the field's problems, from the shell."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_benchmark_parser"]

_EXAMPLE = (
    "example: perturbopt benchmark --problem knapsack --methods spo+,fy,dbb --seeds 3 "
    "(writes perturbopt_benchmark.json, .csv and .png)"
)


def _methods_text() -> str:
    from .experiments._methods import METHODS

    return "\n".join(f"  {method.name:<10} {method.description}" for method in METHODS.values())


def _cmd_benchmark(args: argparse.Namespace) -> int:
    from .experiments import benchmark

    if args.list_methods:
        print(_methods_text())
        return 0
    try:
        settings: dict[str, Any] = {
            "problem": args.problem,
            "methods": tuple(m.strip() for m in args.methods.split(",") if m.strip()),
            "seeds": benchmark.parse_seeds(args.seeds),
        }
        for flag, field in _FIELDS:
            value = getattr(args, flag)
            if value is not None:
                settings[field] = value
        config = benchmark.BenchmarkConfig(**settings)
    except ValueError as error:
        print(f"perturbopt benchmark: {error}", file=sys.stderr)
        return 2
    try:
        import torch  # noqa: F401
    except ImportError:
        print("perturbopt benchmark needs torch: pip install 'perturbopt[torch]'", file=sys.stderr)
        return 1
    try:
        result = benchmark.run_benchmark(config, progress=not args.no_progress)
    except (RuntimeError, LookupError) as error:  # a missing method or solver plugin
        print(f"perturbopt benchmark: {error}", file=sys.stderr)
        return 1
    print()
    print(
        f"{config.problem}: {config.train} train / {config.test} test instances, "
        f"{config.num_features} features, degree {config.degree}, noise {config.noise_width:g}, "
        f"linear model, Adam {config.learning_rate:g}, batch {config.batch_size}, "
        f"{config.epochs} epochs, seeds {', '.join(map(str, config.seeds))}"
    )
    print(benchmark.format_benchmark_table(result))
    print(f"\nwall time {result.seconds:.1f} s")
    json_path, csv_path = benchmark.write_benchmark_results(result, args.output)
    print(f"results written to {json_path} and {csv_path}")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is not installed, so no figure was drawn")
        return 0
    print(f"figure written to {benchmark.plot_benchmark(result, f'{args.output}.png')}")
    return 0


# (attribute of the parsed arguments, BenchmarkConfig field) for the optional settings
_FIELDS = (
    ("train", "train"),
    ("test", "test"),
    ("features", "num_features"),
    ("degree", "degree"),
    ("noise_width", "noise_width"),
    ("grid", "grid"),
    ("items", "num_items"),
    ("dim", "dim"),
    ("capacity", "capacity"),
    ("nodes", "num_nodes"),
    ("epochs", "epochs"),
    ("batch_size", "batch_size"),
    ("lr", "learning_rate"),
    ("epsilon", "epsilon"),
    ("samples", "num_samples"),
    ("lambda_", "lambda_"),
    ("eval_every", "eval_every"),
    ("n_jobs", "n_jobs"),
)


def add_benchmark_parser(commands: Any) -> None:
    """Add the ``benchmark`` subcommand to ``commands`` (argparse subparsers)."""
    parser = commands.add_parser(
        "benchmark",
        help="train the field's methods on shortest path, knapsack or TSP data: "
        "regret and training time over seeds",
        description="Train PyEPO's linear model with each method on one of "
        "perturbopt.problems' data sets, once per seed; print the normalised test regret "
        "(mean and standard deviation over the seeds) and the training time; write the "
        "runs as JSON and CSV and a figure of regret against training time. Defaults: "
        "PyEPO's notebook-03 setting (1000/1000 instances, 5 features, degree 4, noise "
        "0.5, Adam 1e-2, batch 32, 20 epochs).",
        epilog=_EXAMPLE,
    )
    parser.add_argument(
        "--problem", default="shortest_path", choices=("shortest_path", "knapsack", "tsp")
    )
    parser.add_argument(
        "--methods",
        default="2s,spo+,fy,dpo,dbb",
        help="comma-separated method names (default: 2s,spo+,fy,dpo,dbb; --list-methods)",
    )
    parser.add_argument(
        "--seeds", default="3", help="a count (3: seeds 0, 1, 2) or a list (4,7); default 3"
    )
    add = parser.add_argument
    add("--train", type=int, help="training instances (default 1000)")
    add("--test", type=int, help="test instances (default 1000)")
    add("--features", type=int, help="feature dimension p (default 5)")
    add("--degree", type=int, help="polynomial degree (default 4)")
    add("--noise-width", type=float, help="noise half-width in [0, 1) (default 0.5)")
    add("--grid", type=int, help="shortest path: grid x grid nodes (default 5)")
    add("--items", type=int, help="knapsack: items (default 32)")
    add("--dim", type=int, help="knapsack: dimensions (default 2)")
    add("--capacity", type=float, help="knapsack: capacity per dimension (default: half)")
    add("--nodes", type=int, help="tsp: nodes (default 20)")
    add("--epochs", type=int, help="training epochs (default 20)")
    add("--batch-size", type=int, help="instances per step (default 32)")
    add("--lr", type=float, help="Adam's step size (default 0.01)")
    add("--epsilon", type=float, help="noise scale of the perturbed methods (default 1)")
    add("--samples", type=int, help="perturbations per instance and step (default 3)")
    add("--lambda", dest="lambda_", type=float, help="dbb's interpolation step (default 10)")
    add("--eval-every", type=int, help="also measure regret every N epochs (default: end)")
    add("--n-jobs", type=int, help="joblib workers for the perturbed solves")
    add(
        "--output",
        default="perturbopt_benchmark",
        help="path of the results without suffix: .json, .csv, .png (default perturbopt_benchmark)",
    )
    add("--no-progress", action="store_true", help="hide the progress bar")
    add("--list-methods", action="store_true", help="list the methods and exit")
    parser.set_defaults(run=_cmd_benchmark)
