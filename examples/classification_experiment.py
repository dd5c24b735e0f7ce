"""Perturbed-max classification against cross-entropy (Berthet et al., 2020, Sect. 5.1,
Fig. 2), on scikit-learn's digits instead of CIFAR-10.

Trains one MLP with cross-entropy and with the perturbed Fenchel-Young loss over the
simplex (M=1 and M=1000), then once per epsilon of a grid; prints the test accuracies
and the final Fenchel-Young losses, and writes the two-panel figure. To run the protocol
on other data (e.g. CIFAR-10), build a
:class:`perturbopt.experiments.classification.ClassificationData` from your loader and
pass it to ``run_classification_experiment``.

Run (a few minutes on 2 cores)::

    pip install "perturbopt[torch,examples]"
    python examples/classification_experiment.py --output docs/figures/classification_fig2.png
"""

from __future__ import annotations

import argparse

from perturbopt.experiments.classification import (
    ClassificationConfig,
    format_classification_tables,
    plot_classification_results,
    run_classification_experiment,
)


def main() -> None:
    """Parse the command line, run the experiment, print the tables, draw the figure."""
    defaults = ClassificationConfig()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="training epochs")
    parser.add_argument(
        "--epsilon",
        type=float,
        default=defaults.epsilon,
        help="noise scale of the runs compared with cross-entropy",
    )
    parser.add_argument(
        "--epsilons",
        type=float,
        nargs="+",
        default=list(defaults.epsilons),
        help="grid of the loss-against-epsilon part",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed")
    parser.add_argument(
        "--output", default="classification_fig2.png", help="path of the PNG figure"
    )
    args = parser.parse_args()
    config = ClassificationConfig(
        epochs=args.epochs, epsilon=args.epsilon, epsilons=tuple(args.epsilons), seed=args.seed
    )
    result = run_classification_experiment(config, progress=True)
    print(format_classification_tables(result))
    print(f"wall time {result.seconds:.1f} s")
    print(f"figure written to {plot_classification_results(result, args.output)}")


if __name__ == "__main__":
    main()
