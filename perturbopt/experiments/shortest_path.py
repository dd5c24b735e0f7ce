"""Learning shortest paths on terrain images (Berthet et al., 2020, Sect. 5.3, Figs. 3
and 5; the Warcraft task of Vlastelica et al., 2019).

The task. A map is an RGB image of ``k x k`` textured tiles (`.terrain`); each
tile's terrain has a hidden cost ``c_ij``, and the label is the cheapest 8-connected
path ``y = argmin_{y in Y} <y, c>`` from the top-left to the bottom-right cell. A
network reads the image and outputs costs ``theta``; the predicted path is
``y*(theta)``, computed by ``scipy.grid_shortest_path``. Only the paths are seen in
training, never the costs.

The network is purely convolutional, three layers: a ``4 x 4`` convolution of stride 4,
a ``2 x 2`` convolution of stride 2 (together one output per ``8 x 8`` tile), each
followed by a ReLU, and a ``1 x 1`` convolution to one channel, made positive by a
softplus: ``theta = softplus(f(image))``, ``(k, k)`` per map (the pixels are first
standardised per channel with the training images' statistics).

The loss is the perturbed Fenchel-Young loss of the shortest-path solver (``sense="min"``),
``L(theta; y) = <theta, y> - F_eps(theta)``, with gradient ``y - y_eps(theta)``, one
perturbation per map and step (``M = 1``), minibatches of 64. The noise is additive,
``theta + eps Z``, and the solver counts negative perturbed costs as 0
(``negative_costs="clip"``). With multiplicative noise the loss is positively
1-homogeneous in ``theta`` and 0 at ``theta = 0``: the costs shrink towards 0 and the
paths are lost (``perturbation="multiplicative"`` reproduces it).

The baseline is blackbox differentiation (Vlastelica et al., 2019) on the same data,
network, optimiser and number of steps: the forward pass is ``y*(theta)``; for an
upstream gradient ``g`` the backward pass solves ``y_lambda = y*(theta + lambda g)`` and
returns ``-(y*(theta) - y_lambda) / lambda``; the loss is the Hamming loss, per map
``sum_ij y (1 - y_true) + (1 - y) y_true`` (the number of cells on one path only),
averaged over the batch, as in their code.

Metrics after each epoch, on held-out maps, of the predicted path ``y*(theta)`` scored
with the true costs ``c``:

* optimal paths: the share of maps where ``<y*(theta), c>`` equals the optimum
  ``<y, c>`` (ties are common with five cost values, so several paths are optimal);
* exact paths: the share where ``y*(theta) = y`` cell for cell;
* cost ratio: the mean of ``<y*(theta), c> / <y, c>`` (Fig. 5), 1 at best;
* regret: the mean of ``<y*(theta), c> - <y, c>``.

Example:
    >>> from perturbopt.experiments.shortest_path import (ShortestPathConfig,
    ...     format_shortest_path_table, run_shortest_path_experiment)
    >>> config = ShortestPathConfig(train=64, test=32, epochs=1, epsilons=(0.5,))
    >>> result = run_shortest_path_experiment(config)
    >>> print(format_shortest_path_table(result))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from ._config import ExperimentConfig, Rule, each, integer, one_of, optional, real
from ._plotting import png_figure
from ._tables import markdown_table
from ._training import fit
from ._util import Progress, progress_bar
from .terrain import TerrainMaps, make_terrain_maps, path_costs

if TYPE_CHECKING:
    import torch

__all__ = [
    "PathMetrics",
    "ShortestPathConfig",
    "ShortestPathResult",
    "ShortestPathRun",
    "blackbox_shortest_path",
    "format_shortest_path_table",
    "make_cost_network",
    "path_metrics",
    "pixel_statistics",
    "plot_cost_ratio_curves",
    "plot_perturbed_paths",
    "predict_costs",
    "run_shortest_path_experiment",
    "train_cost_network",
]

SOLVER = "scipy.grid_shortest_path"


@dataclass(frozen=True)
class ShortestPathConfig(ExperimentConfig):
    """Sizes and hyper-parameters of the shortest-path experiment.

    Attributes:
        grid: ``k``, cells per side of the generated maps.
        train: number of training maps (generated).
        test: number of held-out maps (generated).
        epochs: passes over the training maps, for every run.
        batch_size: maps per minibatch.
        epsilons: the noise scales of the Fenchel-Young runs, one run each.
        num_samples: perturbations per map and step (``M``).
        perturbation: ``"additive"`` (with negative perturbed costs clipped at 0) or
            ``"multiplicative"`` (the scale trap, for comparison).
        learning_rate: Adam's initial step size for the Fenchel-Young runs (cosine
            decay to 0).
        channels: width of the network's hidden layers.
        blackbox_lambda: the interpolation step ``lambda`` of the blackbox baseline,
            or ``None`` to skip the baseline.
        blackbox_learning_rate: Adam's initial step size for the baseline (cosine decay
            to 0); each method has the step size that suits it best on the grid 1e-3,
            3e-3, 1e-2 (larger steps shrink the baseline's costs and its accuracy).
        seed: seeds the maps, the initialisation, the shuffling and the perturbations.
        n_jobs: joblib workers for the perturbed solves (``None``: 1).
    """

    grid: int = 12
    train: int = 4000
    test: int = 1000
    epochs: int = 10
    batch_size: int = 64
    epsilons: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0)
    num_samples: int = 1
    perturbation: Literal["additive", "multiplicative"] = "additive"
    learning_rate: float = 1e-2
    channels: int = 32
    blackbox_lambda: float | None = 20.0
    blackbox_learning_rate: float = 1e-3
    seed: int = 0
    n_jobs: int | None = None

    _rules: ClassVar[Mapping[str, Rule]] = {
        "grid": integer(at_least=2),
        **{
            name: integer(at_least=1)
            for name in ("train", "test", "epochs", "batch_size", "num_samples", "channels")
        },
        "epsilons": each(real(above=0), what="noise scales"),
        "perturbation": one_of("additive", "multiplicative"),
        "learning_rate": real(above=0),
        "blackbox_lambda": optional(real(above=0)),
        "blackbox_learning_rate": real(above=0),
        "seed": integer(at_least=0),
    }

    @property
    def steps_per_epoch(self) -> int:
        """Minibatches per epoch (the last one may be smaller)."""
        return -(-self.train // self.batch_size)


@dataclass(frozen=True)
class PathMetrics:
    """Quality of predicted paths, scored with the true costs.

    Attributes:
        optimal: share of maps whose predicted path costs the optimum.
        exact: share of maps whose predicted path is the label, cell for cell.
        cost_ratio: mean of predicted path cost / optimal cost.
        regret: mean of predicted path cost - optimal cost.
    """

    optimal: float
    exact: float
    cost_ratio: float
    regret: float


@dataclass(frozen=True)
class ShortestPathRun:
    """One trained network.

    Attributes:
        label: ``"perturbed FY, eps=..."`` or ``"blackbox, lambda=..."``.
        epsilon: the Fenchel-Young run's noise scale, ``None`` for the baseline.
        curve: the test metrics after each epoch.
        cost_scale: the mean predicted cost on the test maps after each epoch (the
            true costs average about 4; the scale trap drives it to 0).
        seconds: training wall time, evaluations included.
    """

    label: str
    epsilon: float | None
    curve: tuple[PathMetrics, ...]
    cost_scale: tuple[float, ...]
    seconds: float

    @property
    def final(self) -> PathMetrics:
        """The test metrics after the last epoch."""
        return self.curve[-1]


@dataclass(frozen=True)
class ShortestPathResult:
    """Everything one run of the experiment measured.

    Attributes:
        config: the configuration that produced it.
        data_name: the maps' description.
        runs: the Fenchel-Young runs in ``config.epsilons`` order, then the baseline.
        data_seconds: wall time of generating the maps and their labels.
        seconds: wall time of the whole run.
    """

    config: ShortestPathConfig
    data_name: str
    runs: tuple[ShortestPathRun, ...]
    data_seconds: float
    seconds: float


def path_metrics(predicted: np.ndarray, maps: TerrainMaps) -> PathMetrics:
    """Score predicted paths with the maps' true costs.

    A path is optimal when its cost is within ``1e-9`` (relative) of the label's.

    Args:
        predicted: ``(N, k, k)`` 0/1 paths.
        maps: the maps, with their ``costs`` and label ``paths``.
    """
    predicted = np.asarray(predicted)
    if predicted.shape != maps.costs.shape:
        raise ValueError(
            f"predicted paths have shape {predicted.shape}, the maps' costs {maps.costs.shape}"
        )
    cost = path_costs(predicted, maps.costs)
    best = path_costs(maps.paths, maps.costs)
    return PathMetrics(
        optimal=float(np.mean(np.abs(cost - best) <= 1e-9 * best)),
        exact=float(np.mean(np.all(predicted == maps.paths, axis=(1, 2)))),
        cost_ratio=float(np.mean(cost / best)),
        regret=float(np.mean(cost - best)),
    )


def pixel_statistics(images: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of ``images`` ``(N, H, W, 3)``, from at
    most 256 of them (evenly spaced)."""
    sample = np.asarray(images[:: max(1, len(images) // 256)], dtype=np.float64)
    mean = sample.mean(axis=(0, 1, 2))
    std = sample.std(axis=(0, 1, 2)) + 1e-6
    return tuple(map(float, mean)), tuple(map(float, std))


def make_cost_network(
    channels: int,
    seed: int,
    mean: tuple[float, ...] = (0.0, 0.0, 0.0),
    std: tuple[float, ...] = (1.0, 1.0, 1.0),
) -> torch.nn.Module:
    """The three-layer convolutional network: images ``(B, 8k, 8k, 3)`` (uint8 or float)
    -> positive costs ``(B, k, k)``.

    The images are first standardised per channel, ``(x - mean) / std`` (see
    [`pixel_statistics`][perturbopt.experiments.shortest_path.pixel_statistics]); then a ``4 x 4`` convolution of stride 4 and a ``2 x 2``
    one of stride 2 (one output per ``8 x 8`` tile), each followed by a ReLU, and a
    ``1 x 1`` convolution to one channel with a softplus. Initialised from ``seed``
    without touching torch's global generator.

    Args:
        channels: width of the hidden layers.
        seed: seeds the initial weights.
        mean: per-channel pixel mean.
        std: per-channel pixel standard deviation.
    """
    from ._network import cost_network

    return cost_network(channels, seed, mean, std)


def predict_costs(model: torch.nn.Module, images: np.ndarray, chunk: int = 500) -> np.ndarray:
    """The network's costs for ``images`` ``(N, 8k, 8k, 3)``: ``(N, k, k)`` float64,
    computed in chunks without gradients."""
    import torch

    with torch.no_grad():
        return np.concatenate(
            [
                model(torch.from_numpy(np.ascontiguousarray(images[i : i + chunk])))
                .double()
                .numpy()
                for i in range(0, len(images), chunk)
            ]
        )


@functools.lru_cache(maxsize=8)
def _solver(grid: int) -> Any:
    from .. import get_solver

    return get_solver(SOLVER, grid=(grid, grid), negative_costs="clip")


def _solve(costs: np.ndarray) -> np.ndarray:
    """``y*(max(costs, 0))`` for a stack of maps ``(N, k, k)``."""
    return np.asarray(_solver(costs.shape[-1]).solve_batch(costs), dtype=np.int8)


def blackbox_shortest_path(costs: torch.Tensor, step: float) -> torch.Tensor:
    """``y*(costs)`` with the blackbox gradient of Vlastelica et al. (2019), through the
    public [`perturbopt.torch.BlackboxOptimizer`][perturbopt.torch.BlackboxOptimizer].

    Forward: the shortest paths of a batch of cost maps ``(B, k, k)`` (negative costs
    count as 0). Backward, for the upstream gradient ``g``:
    ``-(y*(costs) - y*(costs + step g)) / step``, the gradient of a piecewise-linear
    interpolation of the loss.

    Args:
        costs: ``(B, k, k)`` costs.
        step: the interpolation step ``lambda > 0``.

    Returns:
        ``(B, k, k)`` 0/1 paths, ``costs``' dtype.
    """
    return _blackbox(int(costs.shape[-1]), float(step))(costs)  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=8)
def _blackbox(grid: int, step: float) -> Any:
    from ..torch import BlackboxOptimizer

    options = {"grid": (grid, grid), "negative_costs": "clip"}
    return BlackboxOptimizer(SOLVER, lambda_=step, solver_options=options)


def train_cost_network(
    train: TerrainMaps,
    test: TerrainMaps,
    config: ShortestPathConfig,
    *,
    epsilon: float | None,
    bar: Progress | None = None,
) -> tuple[torch.nn.Module, tuple[PathMetrics, ...], tuple[float, ...]]:
    """Train the network with the perturbed Fenchel-Young loss or the blackbox baseline.

    Every call starts from the same initialisation and sees the same minibatches (both
    seeded by ``config.seed``).

    Args:
        train: training maps (images and label paths; their costs are never used).
        test: held-out maps, scored after each epoch.
        config: sizes and hyper-parameters.
        epsilon: the Fenchel-Young loss's noise scale, or ``None`` for the blackbox
            baseline (with ``config.blackbox_lambda``).
        bar: advanced by one per step when given.

    Returns:
        The trained network, the test metrics after each epoch and the mean predicted
        test cost after each epoch.
    """
    import torch

    from ..torch import FenchelYoungLoss

    model = make_cost_network(config.channels, config.seed, *pixel_statistics(train.images))
    labels = torch.as_tensor(train.paths, dtype=torch.float32)
    if epsilon is not None:
        options: dict[str, Any] = {"grid": (train.grid, train.grid)}
        if config.perturbation == "additive":
            options["negative_costs"] = "clip"
        fy_loss = FenchelYoungLoss(
            SOLVER,
            epsilon=epsilon,
            num_samples=config.num_samples,
            perturbation=config.perturbation,
            seed=config.seed,
            n_jobs=config.n_jobs,
            solver_options=options,
        )

    def batch_loss(index: np.ndarray) -> torch.Tensor:
        rows = np.sort(index)  # the same batch, its images read in memory order
        costs = model(torch.from_numpy(train.images[rows]))
        target = labels[torch.as_tensor(rows)]
        if epsilon is not None:
            return fy_loss(costs, target)
        if config.blackbox_lambda is None:  # pragma: no cover - the config checks it
            raise ValueError("blackbox differentiation needs config.blackbox_lambda")
        paths = blackbox_shortest_path(costs, config.blackbox_lambda)
        return (paths * (1 - target) + (1 - paths) * target).sum() / len(rows)

    curve: list[PathMetrics] = []
    scale: list[float] = []

    def after_epoch(epoch: int) -> str:
        costs = predict_costs(model, test.images)
        curve.append(path_metrics(_solve(costs), test))
        scale.append(float(costs.mean()))
        return f"test optimal {curve[-1].optimal:.3f}, cost ratio {curve[-1].cost_ratio:.4f}"

    learning_rate = config.learning_rate if epsilon is not None else config.blackbox_learning_rate
    fit(
        model.parameters(),
        batch_loss,
        num_examples=len(train),
        epochs=config.epochs,
        batch_size=config.batch_size,
        learning_rate=learning_rate,
        seed=config.seed,
        schedule="cosine",
        after_epoch=after_epoch,
        bar=bar,
    )
    return model, tuple(curve), tuple(scale)


def run_shortest_path_experiment(
    config: ShortestPathConfig = ShortestPathConfig(),
    train: TerrainMaps | None = None,
    test: TerrainMaps | None = None,
    *,
    progress: bool = False,
) -> ShortestPathResult:
    """Generate the maps, train one network per ``epsilon`` and the baseline, score them.

    Args:
        config: sizes and hyper-parameters.
        train: training maps; by default ``config.train`` generated ``config.grid``-sized
            maps. Pass `.terrain.load_warcraft_maps` output to use the published
            data set.
        test: held-out maps; by default ``config.test`` generated ones (another seed).
        progress: show a progress bar over all training steps (tqdm if installed).

    Returns:
        A [`ShortestPathResult`][perturbopt.experiments.shortest_path.ShortestPathResult]; its config's ``grid``, ``train`` and ``test`` are
        those of the maps used.
    """
    start = time.perf_counter()
    if train is None:
        train = make_terrain_maps(config.train, grid=config.grid, seed=[config.seed, 0])
    if test is None:
        test = make_terrain_maps(config.test, grid=config.grid, seed=[config.seed, 1])
    if train.grid != test.grid:
        raise ValueError(
            f"train maps are {train.grid}x{train.grid} but test maps are {test.grid}x{test.grid}"
        )
    config = dataclasses.replace(config, grid=train.grid, train=len(train), test=len(test))
    data_seconds = time.perf_counter() - start
    plans: list[tuple[str, float | None]] = [
        (f"perturbed FY, eps={eps:g}", eps) for eps in config.epsilons
    ]
    if config.blackbox_lambda is not None:
        plans.append((f"blackbox, lambda={config.blackbox_lambda:g}", None))
    bar = progress_bar(
        len(plans) * config.epochs * config.steps_per_epoch, desc="shortest paths", enabled=progress
    )
    runs: list[ShortestPathRun] = []
    try:
        for label, epsilon in plans:
            tic = time.perf_counter()
            _, curve, scale = train_cost_network(train, test, config, epsilon=epsilon, bar=bar)
            runs.append(
                ShortestPathRun(
                    label=label,
                    epsilon=epsilon,
                    curve=curve,
                    cost_scale=scale,
                    seconds=time.perf_counter() - tic,
                )
            )
    finally:
        bar.close()
    return ShortestPathResult(
        config=config,
        data_name=train.name,
        runs=tuple(runs),
        data_seconds=data_seconds,
        seconds=time.perf_counter() - start,
    )


def format_shortest_path_table(result: ShortestPathResult) -> str:
    """The test metrics after the last epoch as a Markdown table, one row per run."""
    return markdown_table(
        [
            "method",
            "optimal paths",
            "exact paths",
            "cost ratio",
            "regret",
            "mean predicted cost",
            "train time (s)",
        ],
        [
            [
                run.label,
                f"{run.final.optimal:.3f}",
                f"{run.final.exact:.3f}",
                f"{run.final.cost_ratio:.4f}",
                f"{run.final.regret:.3f}",
                f"{run.cost_scale[-1]:.3g}",
                f"{run.seconds:.1f}",
            ]
            for run in result.runs
        ],
    )


def plot_cost_ratio_curves(result: ShortestPathResult, path: str | Path) -> Path:
    """Draw Fig. 5 (test cost ratio against epochs, one curve per run) and the share of
    optimal paths beside it, and write them as a PNG.

    Needs matplotlib (``pip install "perturbopt[examples]"``), imported only here.

    Args:
        result: the experiment's result.
        path: where to write the PNG; parent folders are created.

    Returns:
        The path written.
    """
    cfg = result.config
    with png_figure(path, ncols=2) as (fig, axes):
        ratio, optimal = axes[0]
        for number, run in enumerate(result.runs):
            epochs = np.arange(1, len(run.curve) + 1)
            style = {
                "color": f"C{number}",
                "ls": "-" if run.epsilon is not None else "--",
                "marker": "o" if run.epsilon is not None else "s",
                "ms": 3,
            }
            ratio.plot(epochs, [m.cost_ratio - 1 for m in run.curve], label=run.label, **style)
            optimal.plot(epochs, [m.optimal for m in run.curve], label=run.label, **style)
        ratio.set_yscale("log")
        ratio.set_ylabel("cost ratio - 1 (predicted / optimal path cost)")
        ratio.set_title("Test cost ratio (Fig. 5)")
        optimal.set_ylabel("share of optimal test paths")
        optimal.set_ylim(top=1.005)
        optimal.set_title("Optimal test paths")
        for ax in (ratio, optimal):
            ax.set_xlabel("epoch")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle(
            f"{result.data_name}: {cfg.train} train / {cfg.test} test maps, batch "
            f"{cfg.batch_size}, M={cfg.num_samples}, {cfg.perturbation} noise",
            fontsize=10,
        )
    return Path(path)


def plot_perturbed_paths(
    maps: TerrainMaps,
    path: str | Path,
    *,
    index: int = 0,
    epsilons: tuple[float, ...] = (0.5, 2.0, 8.0),
    num_samples: int = 1000,
    seed: int = 0,
) -> Path:
    """Draw Fig. 3: a map's image, its hidden costs, its shortest path and the
    perturbed shortest paths ``y_eps(c) = E[y*(c + eps Z)]`` of its true costs at each
    ``epsilon`` (additive noise, negative costs clipped), and write them as a PNG.

    Needs matplotlib (``pip install "perturbopt[examples]"``), imported only here.

    Args:
        maps: the maps.
        path: where to write the PNG; parent folders are created.
        index: which map.
        epsilons: the noise scales, one panel each.
        num_samples: perturbations per panel.
        seed: seeds the perturbations.

    Returns:
        The path written.
    """
    from .. import perturbed

    costs, grid = maps.costs[index], maps.grid
    smoothed = [
        perturbed(
            SOLVER,
            epsilon=eps,
            num_samples=num_samples,
            seed=seed,
            solver_options={"grid": (grid, grid), "negative_costs": "clip"},
        )(costs)
        for eps in epsilons
    ]
    panels = 3 + len(epsilons)
    extent = (-0.5, grid - 0.5, grid - 0.5, -0.5)
    with png_figure(path, ncols=panels, size=(2.6 * panels, 3.0)) as (_, axes):
        axes = axes[0]
        axes[0].imshow(maps.images[index], extent=extent)
        axes[0].set_title("terrain image")
        shown = axes[1].imshow(costs, cmap="viridis")
        axes[1].set_title("hidden costs")
        axes[1].figure.colorbar(shown, ax=axes[1], fraction=0.046)
        axes[2].imshow(maps.images[index], extent=extent)
        axes[2].imshow(
            np.ma.masked_equal(maps.paths[index], 0), cmap="autumn", alpha=0.8, vmin=0, vmax=1
        )
        axes[2].set_title("shortest path")
        for ax, eps, mean in zip(axes[3:], epsilons, smoothed, strict=True):
            ax.imshow(mean, cmap="magma", vmin=0, vmax=1)
            ax.set_title(f"perturbed path, eps={eps:g}")
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
    return Path(path)
