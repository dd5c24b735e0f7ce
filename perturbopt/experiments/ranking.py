"""Learning to rank noisy data with a perturbed Fenchel-Young loss (Berthet et al., 2020,
Sect. 5.2 and Fig. 4).

The task. Each instance is ``n`` feature vectors ``X_1, ..., X_n`` in ``R^d`` (standard
Gaussian) and a hidden unit direction ``w0`` (fixed by the seed). The clean scores are the
projections ``<w0, X_i>``, standard Gaussian as well, so ``sigma`` below is measured
against a unit scale. A training label is the vector of ranks of the noisy scores
``<w0, X_i> + sqrt(sigma) * N(0, 1)``: ``sigma`` is the noise *variance*, as in the paper.
Ranks follow the built-in ``"ranking"`` solver: ``y_i`` is the rank of score ``i`` in
increasing order, ``n`` for the largest and ``1`` for the smallest, i.e.
``y = argmax <y, s>`` over the permutations of ``(1, ..., n)``, the vertices of the
permutahedron.

The model is linear, ``theta = X w`` with ``w`` in ``R^d`` (``theta`` in ``R^n`` per
instance), trained with the perturbed Fenchel-Young loss over the permutahedron,
``L(theta; y) = F_eps(theta) - <theta, y>``, whose gradient ``y_eps(theta) - y`` is
estimated from a few perturbations per step (doubly stochastic: minibatches and Monte
Carlo), with Adam.

Scale and direction are trained apart: ``w = exp(rho) v / |v|``. The loss depends on
``w`` through ``w / eps`` alone (``y_eps(theta) = y_1(theta / eps)``), and the scale it
wants depends on the label noise: ``|w| / eps`` near ``1 / sqrt(sigma)`` for noisy
labels, growing without bound for clean ones. Adam's steps on the log-scale ``rho`` are
relative changes of ``|w|``, the same at every scale, so one step size serves every
``sigma`` (and ``eps`` only sets the starting scale ``|w| = eps``). Trained directly,
``w`` moves by about the learning rate per step, i.e. ``lr / eps`` in units of
``w / eps``: too slow for clean labels or too jittery for noisy ones.

Evaluation. On the test set the prediction is the hard ranking ``y*(theta)`` of the
learned scores, compared with the ranks of the *clean* scores ``<w0, X_i>`` (the noiseless
ranks), as in the paper:

* perfect ranking accuracy: the share of test instances whose predicted rank vector
  equals the clean rank vector in all ``n`` positions;
* partial ranking accuracy: the share of positions ``(instance, i)`` where the predicted
  rank of item ``i`` equals its clean rank (the mean over instances of the share of
  correct positions; chance level is ``1 / n``).

Example:
    >>> from perturbopt.experiments.ranking import (RankingConfig, format_ranking_table,
    ...                                           run_ranking_experiment)
    >>> result = run_ranking_experiment(RankingConfig(train=64, test=32, epochs=1,
    ...                                               sigmas=(0.0,)))
    >>> print(format_ranking_table(result))  # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .. import get_solver
from ._config import ExperimentConfig, Rule, each, integer, real
from ._plotting import png_figure
from ._tables import markdown_table
from ._training import fit
from ._util import Progress, progress_bar

__all__ = [
    "RankingConfig",
    "RankingData",
    "RankingResult",
    "RankingRow",
    "evaluate_ranking_model",
    "format_ranking_table",
    "hidden_direction",
    "make_ranking_data",
    "partial_ranking_accuracy",
    "perfect_ranking_accuracy",
    "plot_ranking_results",
    "ranks",
    "run_ranking_experiment",
    "train_ranking_model",
]


@dataclass(frozen=True)
class RankingConfig(ExperimentConfig):
    """Sizes and hyper-parameters of the ranking experiment.

    Attributes:
        train: number of training instances.
        test: number of test instances.
        n: items per instance (length of a rank vector).
        d: feature dimension.
        sigmas: the label-noise variances to run, one model each.
        epochs: passes over the training set.
        batch_size: instances per minibatch.
        epsilon: scale of the Gaussian perturbation in the Fenchel-Young loss; the
            model starts at ``|w| = epsilon``.
        num_samples: perturbations per instance and step (``M``).
        learning_rate: Adam's initial step size for the direction ``v`` (cosine decay
            to 0).
        scale_learning_rate: Adam's initial step size for the log-scale ``rho`` (cosine
            decay to 0): a step changes ``|w|`` by a factor up to ``exp(step)``.
        seed: seeds the direction ``w0``, the data, the shuffling and the perturbations.
        n_jobs: joblib workers for the perturbed solves (``None``: 1; the built-in
            ranking solver is vectorised, so 1 is the fastest here).
    """

    train: int = 3840
    test: int = 960
    n: int = 100
    d: int = 9
    sigmas: tuple[float, ...] = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
    epochs: int = 10
    batch_size: int = 32
    epsilon: float = 1.0
    num_samples: int = 4
    learning_rate: float = 1.0
    scale_learning_rate: float = 0.5
    seed: int = 0
    n_jobs: int | None = None

    _rules: ClassVar[Mapping[str, Rule]] = {
        **{
            name: integer(at_least=1)
            for name in ("train", "test", "n", "d", "epochs", "batch_size", "num_samples")
        },
        "sigmas": each(real(at_least=0), what="noise variances"),
        "epsilon": real(above=0),
        "learning_rate": real(above=0),
        "scale_learning_rate": real(above=0),
        "seed": integer(at_least=0),
    }

    @property
    def steps_per_epoch(self) -> int:
        """Minibatches per epoch (the last one may be smaller)."""
        return math.ceil(self.train / self.batch_size)


@dataclass(frozen=True)
class RankingData:
    """A set of ranking instances.

    Attributes:
        features: ``X``, ``(N, n, d)`` float64.
        scores: the clean scores ``<w0, X_i>``, ``(N, n)``.
        labels: ranks of the noisy scores, ``(N, n)`` int64 with values ``1..n``.
        clean_labels: ranks of the clean scores, ``(N, n)`` int64.
    """

    features: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    clean_labels: np.ndarray


@dataclass(frozen=True)
class RankingRow:
    """Test results of the model trained at one noise level.

    Attributes:
        sigma: label-noise variance.
        perfect: perfect ranking accuracy against the clean test ranks.
        partial: partial ranking accuracy against the clean test ranks.
        label_partial: partial accuracy of the noisy *training labels* against their own
            clean ranks: how much the noise scrambles what the model learns from.
        seconds: training wall time.
    """

    sigma: float
    perfect: float
    partial: float
    label_partial: float
    seconds: float


@dataclass(frozen=True)
class RankingResult:
    """All rows of one run of the experiment.

    Attributes:
        config: the configuration that produced it.
        rows: one row per noise level, in ``config.sigmas`` order.
        seconds: wall time of the whole run.
        weights: the learned ``w`` per noise level.
    """

    config: RankingConfig
    rows: tuple[RankingRow, ...]
    seconds: float
    weights: dict[float, np.ndarray] = field(default_factory=dict, repr=False)


def ranks(scores: np.ndarray) -> np.ndarray:
    """Ranks in increasing order along the last axis, by the built-in ``"ranking"`` solver.

    Args:
        scores: ``(..., n)`` real scores.

    Returns:
        ``(..., n)`` int64: ``n`` for the largest score, ``1`` for the smallest; ties
        keep index order.
    """
    scores = np.asarray(scores, dtype=np.float64)
    flat = scores.reshape(-1, scores.shape[-1])
    return get_solver("ranking").solve_batch(flat).astype(np.int64).reshape(scores.shape)


def hidden_direction(d: int, seed: int) -> np.ndarray:
    """The hidden unit direction ``w0`` in ``R^d``, a normalised Gaussian draw from ``seed``."""
    w0 = np.random.default_rng(seed).standard_normal(d)
    return w0 / np.linalg.norm(w0)


def make_ranking_data(
    num_instances: int, *, n: int, direction: np.ndarray, sigma: float, seed: int
) -> RankingData:
    """Draw ranking instances with labels from noisy projections.

    The features are drawn first and the noise second from one generator, so the same
    ``seed`` gives the same features (and the same standard-normal noise, rescaled) at
    every ``sigma``: the noise levels are compared on common random numbers.

    Args:
        num_instances: ``N``, the number of instances.
        n: items per instance.
        direction: ``w0``, ``(d,)``.
        sigma: noise variance added to the scores before ranking (std ``sqrt(sigma)``).
        seed: seeds the features and the noise.

    Returns:
        The [`RankingData`][perturbopt.experiments.ranking.RankingData].
    """
    if sigma < 0:
        raise ValueError(f"sigma is a variance and must be >= 0, got {sigma}")
    direction = np.asarray(direction, dtype=np.float64)
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((num_instances, n, direction.shape[0]))
    scores = features @ direction
    noisy = scores + math.sqrt(sigma) * rng.standard_normal(scores.shape)
    return RankingData(
        features=features, scores=scores, labels=ranks(noisy), clean_labels=ranks(scores)
    )


def perfect_ranking_accuracy(predicted: np.ndarray, true: np.ndarray) -> float:
    """Share of instances (rows) whose whole rank vector is right.

    Args:
        predicted: ``(N, n)`` predicted ranks.
        true: ``(N, n)`` reference ranks.
    """
    predicted, true = _check_pair(predicted, true)
    return float(np.mean(np.all(predicted == true, axis=-1)))


def partial_ranking_accuracy(predicted: np.ndarray, true: np.ndarray) -> float:
    """Share of positions whose rank is right, averaged over instances.

    Args:
        predicted: ``(N, n)`` predicted ranks.
        true: ``(N, n)`` reference ranks.
    """
    predicted, true = _check_pair(predicted, true)
    return float(np.mean(predicted == true))


def _check_pair(predicted: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    predicted, true = np.asarray(predicted), np.asarray(true)
    if predicted.shape != true.shape or predicted.ndim != 2:
        raise ValueError(
            f"predicted and true ranks must both be (N, n); got {predicted.shape} and {true.shape}"
        )
    return predicted, true


def train_ranking_model(
    data: RankingData, config: RankingConfig, *, bar: Progress | None = None
) -> np.ndarray:
    """Fit ``w = exp(rho) v / |v|`` in ``theta = X w`` with the perturbed Fenchel-Young loss.

    ``rho`` starts at ``log(epsilon)`` and ``v`` at a random unit vector drawn from the
    seed (independently of ``w0``). Each step draws ``config.num_samples`` Gaussian
    perturbations of scale ``config.epsilon`` per instance of a minibatch; the gradient
    ``y_eps(theta) - y`` goes through ``X`` to ``rho`` and ``v``; Adam updates them, its
    step sizes decaying from ``config.learning_rate`` (``v``) and
    ``config.scale_learning_rate`` (``rho``) to zero on a cosine schedule (the
    accuracies are very sensitive to the direction of ``w``, and a constant step leaves
    it jittering).

    Args:
        data: training instances (their noisy ``labels`` are the targets).
        config: sizes and hyper-parameters.
        bar: advanced by one per step when given.

    Returns:
        The learned ``w``, ``(d,)`` float64.
    """
    import torch

    from ..torch import FenchelYoungLoss

    features = torch.as_tensor(data.features, dtype=torch.float64)
    labels = torch.as_tensor(data.labels, dtype=torch.float64)
    start = np.random.default_rng([config.seed, 1]).standard_normal(features.shape[-1])
    direction = torch.tensor(start / np.linalg.norm(start), requires_grad=True)
    log_scale = torch.tensor(math.log(config.epsilon), dtype=torch.float64, requires_grad=True)
    loss_fn = FenchelYoungLoss(
        "ranking",
        epsilon=config.epsilon,
        num_samples=config.num_samples,
        noise="gaussian",
        seed=config.seed,
        n_jobs=config.n_jobs,
    )

    def weight() -> torch.Tensor:
        return torch.exp(log_scale) * direction / direction.norm()

    def batch_loss(index: np.ndarray) -> torch.Tensor:
        rows = torch.as_tensor(index)
        return loss_fn(features[rows] @ weight(), labels[rows])

    groups: list[dict[str, Any]] = [
        {"params": [direction]},
        {"params": [log_scale], "lr": config.scale_learning_rate},
    ]
    fit(
        groups,
        batch_loss,
        num_examples=features.shape[0],
        epochs=config.epochs,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        seed=config.seed,
        schedule="cosine",
        bar=bar,
    )
    with torch.no_grad():
        return weight().numpy().copy()


def evaluate_ranking_model(weight: np.ndarray, data: RankingData) -> tuple[float, float]:
    """Perfect and partial ranking accuracy of the hard ranking of ``X w``, against the
    clean ranks of ``data``.

    Args:
        weight: ``w``, ``(d,)``.
        data: test instances.

    Returns:
        ``(perfect, partial)``.
    """
    predicted = ranks(data.features @ np.asarray(weight, dtype=np.float64))
    return (
        perfect_ranking_accuracy(predicted, data.clean_labels),
        partial_ranking_accuracy(predicted, data.clean_labels),
    )


def run_ranking_experiment(
    config: RankingConfig = RankingConfig(), *, progress: bool = False
) -> RankingResult:
    """Train and test one model per noise level of ``config.sigmas``.

    All noise levels share ``w0``, the training and test features, and the
    standard-normal label noise (rescaled by ``sqrt(sigma)``).

    Args:
        config: sizes and hyper-parameters.
        progress: show a progress bar over all training steps (tqdm if installed).

    Returns:
        A [`RankingResult`][perturbopt.experiments.ranking.RankingResult] with one [`RankingRow`][perturbopt.experiments.ranking.RankingRow] per ``sigma``.
    """
    start = time.perf_counter()
    direction = hidden_direction(config.d, config.seed)
    test = make_ranking_data(
        config.test, n=config.n, direction=direction, sigma=0.0, seed=config.seed + 2
    )
    bar = progress_bar(
        len(config.sigmas) * config.epochs * config.steps_per_epoch,
        desc="ranking",
        enabled=progress,
    )
    rows: list[RankingRow] = []
    weights: dict[float, np.ndarray] = {}
    try:
        for sigma in config.sigmas:
            train = make_ranking_data(
                config.train, n=config.n, direction=direction, sigma=sigma, seed=config.seed + 1
            )
            tic = time.perf_counter()
            weight = train_ranking_model(train, config, bar=bar)
            seconds = time.perf_counter() - tic
            perfect, partial = evaluate_ranking_model(weight, test)
            rows.append(
                RankingRow(
                    sigma=sigma,
                    perfect=perfect,
                    partial=partial,
                    label_partial=partial_ranking_accuracy(train.labels, train.clean_labels),
                    seconds=seconds,
                )
            )
            weights[sigma] = weight
    finally:
        bar.close()
    return RankingResult(
        config=config, rows=tuple(rows), seconds=time.perf_counter() - start, weights=weights
    )


def format_ranking_table(result: RankingResult) -> str:
    """The test accuracies as a Markdown table, one row per noise level."""
    return markdown_table(
        [
            "sigma (variance)",
            "noise std",
            "perfect ranking",
            "partial ranking",
            "noisy train labels, partial",
            "train time (s)",
        ],
        [
            [
                f"{row.sigma:g}",
                f"{math.sqrt(row.sigma):.3g}",
                f"{row.perfect:.3f}",
                f"{row.partial:.3f}",
                f"{row.label_partial:.3f}",
                f"{row.seconds:.1f}",
            ]
            for row in result.rows
        ],
        align="rrrrrr",
    )


def plot_ranking_results(result: RankingResult, path: str | Path) -> Path:
    """Draw the two panels of Fig. 4 (perfect and partial ranking accuracy against
    ``sigma``) and write them as a PNG.

    Needs matplotlib (``pip install "perturbopt[examples]"``), imported only here.

    Args:
        result: the experiment's result.
        path: where to write the PNG; parent folders are created.

    Returns:
        The path written.
    """
    sigmas = [row.sigma for row in result.rows]
    positive = [s for s in sigmas if s > 0]
    cfg = result.config
    with png_figure(path, ncols=2) as (fig, axes):
        panels = (("perfect", "Perfect ranking accuracy"), ("partial", "Partial ranking accuracy"))
        for ax, (attr, title) in zip(axes[0], panels, strict=True):
            ax.plot(
                sigmas,
                [getattr(row, attr) for row in result.rows],
                "o-",
                color="C0",
                label=f"perturbed FY loss (M={cfg.num_samples}, eps={cfg.epsilon:g})",
            )
            if attr == "partial":
                ax.plot(
                    sigmas,
                    [row.label_partial for row in result.rows],
                    "s--",
                    color="C1",
                    label="noisy training labels",
                )
                ax.axhline(1 / cfg.n, color="grey", lw=0.8, ls=":", label=f"chance (1/{cfg.n})")
            if positive:
                ax.set_xscale("symlog", linthresh=min(positive))
                ax.set_xlim(min(sigmas) - 0.3 * min(positive), 1.5 * max(sigmas))
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel("label noise variance sigma (symmetric log scale)")
            ax.set_title(title)
            ax.grid(True, alpha=0.3)
            ax.legend(loc="lower left", fontsize=8)
        fig.suptitle(
            f"Learning to rank noisy data (n={cfg.n}, d={cfg.d}, {cfg.train} train "
            f"/ {cfg.test} test, {cfg.epochs} epochs); test accuracy vs clean ranks",
            fontsize=10,
        )
    return Path(path)
