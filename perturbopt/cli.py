"""The ``perturbopt`` command."""

from __future__ import annotations

import argparse
import os
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


def _cmd_demo(args: argparse.Namespace) -> int:
    """Run the ranking experiment (Berthet et al., Sect. 5.2) and print its table."""
    try:
        import torch  # noqa: F401
    except ImportError:
        print("perturbopt demo needs PyTorch: pip install 'perturbopt[torch]'", file=sys.stderr)
        return 1
    from .experiments.ranking import (
        RankingConfig,
        format_ranking_table,
        plot_ranking_results,
        run_ranking_experiment,
    )

    try:
        config = RankingConfig(train=args.train, test=args.test, n=args.n, d=args.d,
                               sigmas=tuple(args.sigmas), epochs=args.epochs,
                               batch_size=args.batch_size, epsilon=args.epsilon,
                               num_samples=args.samples, learning_rate=args.lr,
                               scale_learning_rate=args.scale_lr, seed=args.seed,
                               n_jobs=args.n_jobs)
    except ValueError as error:
        print(f"perturbopt demo: {error}", file=sys.stderr)
        return 2
    print(f"Learning to rank noisy data with the perturbed Fenchel-Young loss: "
          f"{config.train} train / {config.test} test instances of n={config.n} items in "
          f"d={config.d}, {config.epochs} epochs, batch {config.batch_size}, "
          f"M={config.num_samples}, epsilon={config.epsilon:g}.")
    result = run_ranking_experiment(config, progress=not args.no_progress)
    print()
    print("Test accuracy against the clean ranks (sigma: variance of the label noise):")
    print(format_ranking_table(result))
    print(f"\nwall time {result.seconds:.1f} s")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is not installed, so no figure was drawn; "
              "pip install 'perturbopt[examples]' to get it.")
        return 0
    print(f"figure written to {plot_ranking_results(result, args.output)}")
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
    demo = commands.add_parser(
        "demo", help="learn to rank noisy data (the paper's Fig. 4) in a few minutes",
        description="Train a linear ranking model with the perturbed Fenchel-Young loss over "
                    "the permutahedron on synthetic noisy rankings (Berthet et al., 2020, "
                    "Sect. 5.2), print the test accuracies for each label-noise variance "
                    "sigma and draw them like the paper's Fig. 4.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    from .experiments.ranking import RankingConfig  # numpy only: torch loads in _cmd_demo

    defaults = RankingConfig()
    demo.add_argument("--train", type=int, default=defaults.train,
                      help="number of training instances")
    demo.add_argument("--test", type=int, default=defaults.test,
                      help="number of test instances")
    demo.add_argument("--n", type=int, default=defaults.n, help="items ranked per instance")
    demo.add_argument("--d", type=int, default=defaults.d, help="feature dimension")
    demo.add_argument("--epochs", type=int, default=defaults.epochs, help="training epochs")
    demo.add_argument("--batch-size", type=int, default=defaults.batch_size,
                      help="instances per minibatch")
    demo.add_argument("--epsilon", type=float, default=defaults.epsilon,
                      help="scale of the Gaussian perturbation")
    demo.add_argument("--samples", type=int, default=defaults.num_samples,
                      help="perturbations per instance and step (M)")
    demo.add_argument("--lr", type=float, default=defaults.learning_rate,
                      help="Adam's initial step size for the direction of w (cosine decay "
                           "to 0)")
    demo.add_argument("--scale-lr", type=float, default=defaults.scale_learning_rate,
                      help="Adam's initial step size for the log-scale of w (cosine decay "
                           "to 0)")
    demo.add_argument("--sigmas", type=float, nargs="+", default=list(defaults.sigmas),
                      help="label-noise variances, one model each")
    demo.add_argument("--n-jobs", type=int, default=defaults.n_jobs,
                      help="joblib workers for the perturbed solves (the built-in ranking "
                           "solver is vectorised: 1 is fastest)")
    demo.add_argument("--seed", type=int, default=defaults.seed, help="random seed")
    demo.add_argument("--output", default="perturbopt_demo.png",
                      help="path of the PNG figure (needs matplotlib)")
    demo.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    demo.set_defaults(run=_cmd_demo)
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
