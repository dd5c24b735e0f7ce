"""Learning shortest paths on terrain images with the perturbed Fenchel-Young loss
(Berthet et al., 2020, Sect. 5.3, Figs. 3 and 5), against blackbox differentiation.

Generates Warcraft-like maps (or reads the published Warcraft data set with
``--data``), trains the three-layer convolutional network once per epsilon and once
with the blackbox baseline, prints the test metrics and writes Fig. 3 (a map, its
hidden costs, its shortest path and perturbed paths) and Fig. 5 (test cost ratio per
epoch). ``perturbopt demo shortest-path`` runs the same code on two epsilons.

Run (about a minute on 2 cores)::

    pip install "perturbopt[torch,examples]" perturbopt-scipy
    python examples/shortest_path_experiment.py --fig3 docs/figures/shortest_path_fig3.png \\
        --fig5 docs/figures/shortest_path_fig5.png
"""

from __future__ import annotations

import argparse

from perturbopt.experiments.shortest_path import (
    ShortestPathConfig,
    format_shortest_path_table,
    plot_cost_ratio_curves,
    plot_perturbed_paths,
    run_shortest_path_experiment,
)
from perturbopt.experiments.terrain import TerrainMaps, load_warcraft_maps, make_terrain_maps


def main() -> None:
    """Parse the command line, run the experiment, print the table, draw the figures."""
    defaults = ShortestPathConfig()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--grid", type=int, default=defaults.grid, help="cells per side of the generated maps"
    )
    parser.add_argument(
        "--train",
        type=int,
        default=defaults.train,
        help="training maps (the first ones of the data set with --data)",
    )
    parser.add_argument(
        "--test",
        type=int,
        default=defaults.test,
        help="test maps (the first ones of the data set with --data)",
    )
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="training epochs")
    parser.add_argument(
        "--epsilons",
        type=float,
        nargs="+",
        default=list(defaults.epsilons),
        help="noise scales of the Fenchel-Young runs",
    )
    parser.add_argument(
        "--perturbation",
        choices=("additive", "multiplicative"),
        default=defaults.perturbation,
        help="noise of the Fenchel-Young loss (multiplicative shows the scale trap)",
    )
    parser.add_argument(
        "--blackbox-lambda",
        type=float,
        default=defaults.blackbox_lambda,
        help="interpolation step of the blackbox baseline",
    )
    parser.add_argument("--no-blackbox", action="store_true", help="skip the baseline")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed")
    parser.add_argument(
        "--data",
        default=None,
        help="folder of the published Warcraft data set for one map size "
        "(e.g. warcraft_shortest_path_oneskin/12x12) instead of "
        "generated maps",
    )
    parser.add_argument("--fig3", default="shortest_path_fig3.png", help="path of the Fig. 3 PNG")
    parser.add_argument("--fig5", default="shortest_path_fig5.png", help="path of the Fig. 5 PNG")
    args = parser.parse_args()
    train: TerrainMaps | None = None
    test: TerrainMaps | None = None
    if args.data:
        train = load_warcraft_maps(args.data, "train", limit=args.train)
        test = load_warcraft_maps(args.data, "test", limit=args.test)
        grid, train_size, test_size = train.grid, len(train), len(test)
    else:
        grid, train_size, test_size = args.grid, args.train, args.test
    config = ShortestPathConfig(
        grid=grid,
        train=train_size,
        test=test_size,
        epochs=args.epochs,
        epsilons=tuple(args.epsilons),
        perturbation=args.perturbation,
        blackbox_lambda=None if args.no_blackbox else args.blackbox_lambda,
        seed=args.seed,
    )
    result = run_shortest_path_experiment(config, train, test, progress=True)
    print(format_shortest_path_table(result))
    print(f"maps generated in {result.data_seconds:.1f} s; wall time {result.seconds:.1f} s")
    print(f"figure written to {plot_cost_ratio_curves(result, args.fig5)}")
    shown = test if test is not None else make_terrain_maps(1, grid=grid, seed=[args.seed, 1])
    print(f"figure written to {plot_perturbed_paths(shown, args.fig3, seed=args.seed)}")


if __name__ == "__main__":
    main()
