"""Perturbed-max classification against cross-entropy (Berthet et al., 2020, Sect. 5.1
and Fig. 2), on scikit-learn's digits.

The paper trains a small convolutional network on CIFAR-10. CIFAR-10 cannot be
downloaded everywhere (nor quickly on two cores), so the default data here are
scikit-learn's 8x8 digits (1797 images, 10 classes, shipped with scikit-learn), and the
network is an MLP ``64 -> hidden -> 10``. The data come from one function,
[`load_digits_data`][perturbopt.experiments.classification.load_digits_data]; pass any other [`ClassificationData`][perturbopt.experiments.classification.ClassificationData] (e.g. from a
CIFAR-10 loader) to [`run_classification_experiment`][perturbopt.experiments.classification.run_classification_experiment] to run the same protocol on
it (the MLP flattens each input).

Losses compared, with the same network, initialisation, optimiser (Adam), minibatches
and epochs:

* the perturbed Fenchel-Young loss over the simplex, built-in ``"argmax"`` solver and
  Gaussian noise, ``L(theta; y) = F_eps(theta) - <theta, y>`` with one-hot ``y``, its
  gradient ``y_eps(theta) - y`` estimated with ``M`` perturbations per example
  (``M = 1`` and ``M = 1000`` by default);
* cross-entropy, i.e. the Fenchel-Young loss of the softmax (the Gumbel-noise limit).

The test accuracy is that of the hard prediction ``argmax theta``. A second part (the
analogue of Fig. 2, right) trains with the Fenchel-Young loss at each ``epsilon`` of a
grid and reports the final train and test Fenchel-Young loss at that ``epsilon``,
estimated with many perturbations. The loss leaves out the constant ``eps * Omega(y)``
(see [`perturbopt.torch.FenchelYoungLoss`][perturbopt.torch.FenchelYoungLoss]), so values at different ``epsilon``
measure fit at that smoothing, not one common quantity.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ._config import ExperimentConfig, Rule, each, integer, real
from ._plotting import png_figure
from ._tables import markdown_table
from ._training import fit
from ._util import Progress, progress_bar, torch_single_thread

if TYPE_CHECKING:
    import torch

__all__ = [
    "ClassificationConfig",
    "ClassificationData",
    "ClassificationResult",
    "EpsilonResult",
    "MethodResult",
    "accuracy",
    "fenchel_young_value",
    "format_classification_tables",
    "load_digits_data",
    "make_mlp",
    "plot_classification_results",
    "run_classification_experiment",
    "train_classifier",
]


@dataclass(frozen=True)
class ClassificationConfig(ExperimentConfig):
    """Sizes and hyper-parameters of the classification experiment.

    Attributes:
        epochs: passes over the training set, for every run.
        batch_size: examples per minibatch.
        hidden: width of the MLP's hidden layer.
        learning_rate: Adam's step size.
        epsilon: noise scale of the Fenchel-Young runs compared with cross-entropy.
        num_samples: the values of ``M`` compared with cross-entropy.
        epsilons: the grid of the loss-against-epsilon part.
        sweep_samples: ``M`` used to train at each ``epsilon`` of the grid.
        eval_samples: ``M`` used to estimate the reported Fenchel-Young losses.
        test_size: share of the digits held out for testing.
        seed: seeds the split, the initialisation, the shuffling and the perturbations.
        n_jobs: joblib workers for the perturbed solves (``None``: 1; the built-in
            argmax is vectorised, so 1 is the fastest here).
    """

    epochs: int = 30
    batch_size: int = 64
    hidden: int = 128
    learning_rate: float = 1e-3
    epsilon: float = 1.0
    num_samples: tuple[int, ...] = (1, 1000)
    epsilons: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
    sweep_samples: int = 10
    eval_samples: int = 1000
    test_size: float = 0.2
    seed: int = 0
    n_jobs: int | None = None

    _rules: ClassVar[Mapping[str, Rule]] = {
        **{
            name: integer(at_least=1)
            for name in ("epochs", "batch_size", "hidden", "sweep_samples", "eval_samples")
        },
        "num_samples": each(integer(at_least=1), what="values of M"),
        "learning_rate": real(above=0),
        "epsilon": real(above=0),
        "epsilons": each(real(above=0), what="noise scales"),
        "test_size": real(above=0, below=1),
        "seed": integer(at_least=0),
    }


@dataclass(frozen=True)
class ClassificationData:
    """A train/test split.

    Attributes:
        x_train: training inputs ``(N, ...)`` float32, flattened by the MLP.
        y_train: training labels ``(N,)`` int64 in ``0..num_classes - 1``.
        x_test: test inputs.
        y_test: test labels.
        num_classes: number of classes.
        name: shown in tables and figures.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    name: str


@dataclass(frozen=True)
class MethodResult:
    """One training run of the comparison.

    Attributes:
        label: ``"cross-entropy"`` or ``"perturbed FY, M=..."``.
        test_accuracy: test accuracy after each epoch, ``(epochs,)``.
        seconds: training wall time.
    """

    label: str
    test_accuracy: np.ndarray
    seconds: float

    @property
    def final_accuracy(self) -> float:
        """Test accuracy after the last epoch."""
        return float(self.test_accuracy[-1])


@dataclass(frozen=True)
class EpsilonResult:
    """One run of the epsilon grid: trained and evaluated at ``epsilon``.

    Attributes:
        epsilon: the noise scale.
        train_loss: final Fenchel-Young loss on the training set.
        test_loss: final Fenchel-Young loss on the test set.
        test_accuracy: final test accuracy.
    """

    epsilon: float
    train_loss: float
    test_loss: float
    test_accuracy: float


@dataclass(frozen=True)
class ClassificationResult:
    """Everything one run of the experiment measured.

    Attributes:
        config: the configuration that produced it.
        data_name: the data set's name.
        methods: the comparison runs, cross-entropy first.
        sweep: the epsilon grid, in ``config.epsilons`` order.
        seconds: wall time of the whole run.
    """

    config: ClassificationConfig
    data_name: str
    methods: tuple[MethodResult, ...]
    sweep: tuple[EpsilonResult, ...]
    seconds: float


def load_digits_data(test_size: float = 0.2, seed: int = 0) -> ClassificationData:
    """scikit-learn's digits, pixels scaled to ``[0, 1]``, split stratified by class.

    Args:
        test_size: share of the 1797 images held out.
        seed: seeds the split.

    Returns:
        The split, inputs ``(N, 64)``.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y
    )
    return ClassificationData(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        num_classes=10,
        name="digits (scikit-learn)",
    )


def make_mlp(num_features: int, hidden: int, num_classes: int, seed: int) -> torch.nn.Module:
    """``Flatten -> Linear(num_features, hidden) -> ReLU -> Linear(hidden, num_classes)``,
    initialised from ``seed`` without touching torch's global generator."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torch.nn.Sequential(
            torch.nn.Flatten(),
            torch.nn.Linear(num_features, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, num_classes),
        )


def accuracy(model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Share of examples whose hard prediction ``argmax theta`` is the label."""
    import torch

    with torch.no_grad():
        scores = model(torch.as_tensor(x))
    return float((scores.argmax(dim=1).numpy() == y).mean())


def fenchel_young_value(
    model: torch.nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epsilon: float,
    num_samples: int,
    num_classes: int,
    seed: int,
    chunk: int = 256,
) -> float:
    """Mean perturbed Fenchel-Young loss (argmax, Gaussian noise) of ``model`` on ``(x, y)``.

    Args:
        model: maps inputs to scores ``theta``.
        x: inputs.
        y: integer labels.
        epsilon: noise scale.
        num_samples: perturbations per example.
        num_classes: length of ``theta``.
        seed: seeds the perturbations (the same for every model compared).
        chunk: examples per solve, to bound memory.

    Returns:
        The mean loss over the examples.
    """
    import torch

    from ..torch import FenchelYoungLoss

    loss_fn = FenchelYoungLoss(
        "argmax",
        epsilon=epsilon,
        num_samples=num_samples,
        noise="gaussian",
        seed=seed,
        reduction="sum",
    )
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(y), chunk):
            scores = model(torch.as_tensor(x[start : start + chunk])).double()
            target = torch.nn.functional.one_hot(
                torch.as_tensor(y[start : start + chunk]), num_classes
            )
            total += float(loss_fn(scores, target))
    return total / len(y)


def train_classifier(
    data: ClassificationData,
    config: ClassificationConfig,
    *,
    num_samples: int | None,
    epsilon: float,
    bar: Progress | None = None,
) -> tuple[torch.nn.Module, np.ndarray]:
    """Train the MLP with cross-entropy or the perturbed Fenchel-Young loss.

    Every call starts from the same initialisation and sees the same minibatches
    (both seeded by ``config.seed``).

    Args:
        data: the split.
        config: sizes and hyper-parameters.
        num_samples: ``M`` for the Fenchel-Young loss, or ``None`` for cross-entropy.
        epsilon: the Fenchel-Young loss's noise scale (unused for cross-entropy).
        bar: advanced by one per step when given.

    Returns:
        The trained model and its test accuracy after each epoch.
    """
    import torch

    from ..torch import FenchelYoungLoss

    num_features = int(np.prod(data.x_train.shape[1:]))
    model = make_mlp(num_features, config.hidden, data.num_classes, config.seed)
    fy_loss = None
    if num_samples is not None:
        fy_loss = FenchelYoungLoss(
            "argmax",
            epsilon=epsilon,
            num_samples=num_samples,
            noise="gaussian",
            seed=config.seed,
            n_jobs=config.n_jobs,
        )
    x = torch.as_tensor(data.x_train)
    y = torch.as_tensor(data.y_train)
    curve = np.empty(config.epochs)

    def batch_loss(index: np.ndarray) -> torch.Tensor:
        rows = torch.as_tensor(index)
        scores = model(x[rows])
        if fy_loss is None:
            return torch.nn.functional.cross_entropy(scores, y[rows])
        return fy_loss(scores, torch.nn.functional.one_hot(y[rows], data.num_classes))

    def after_epoch(epoch: int) -> str:
        curve[epoch] = accuracy(model, data.x_test, data.y_test)
        return f"test accuracy {curve[epoch]:.3f}"

    fit(
        model.parameters(),
        batch_loss,
        num_examples=len(y),
        epochs=config.epochs,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        seed=config.seed,
        after_epoch=after_epoch,
        bar=bar,
    )
    return model, curve


def run_classification_experiment(
    config: ClassificationConfig = ClassificationConfig(),
    data: ClassificationData | None = None,
    *,
    progress: bool = False,
) -> ClassificationResult:
    """Run the comparison with cross-entropy and the epsilon grid.

    Args:
        config: sizes and hyper-parameters.
        data: the split; by default [`load_digits_data`][perturbopt.experiments.classification.load_digits_data] with ``config``'s
            ``test_size`` and ``seed``. Swap in another loader's output (e.g. CIFAR-10)
            here.
        progress: show a progress bar over all training steps (tqdm if installed).

    Returns:
        A [`ClassificationResult`][perturbopt.experiments.classification.ClassificationResult].
    """
    start = time.perf_counter()
    if data is None:
        data = load_digits_data(config.test_size, config.seed)
    steps = config.epochs * math.ceil(len(data.y_train) / config.batch_size)
    runs = 1 + len(config.num_samples) + len(config.epsilons)
    bar = progress_bar(runs * steps, desc="classification", enabled=progress)
    methods: list[MethodResult] = []
    sweep: list[EpsilonResult] = []
    try:
        with torch_single_thread():
            for num_samples in (None, *config.num_samples):
                tic = time.perf_counter()
                _, curve = train_classifier(
                    data, config, num_samples=num_samples, epsilon=config.epsilon, bar=bar
                )
                label = "cross-entropy" if num_samples is None else f"perturbed FY, M={num_samples}"
                methods.append(
                    MethodResult(
                        label=label, test_accuracy=curve, seconds=time.perf_counter() - tic
                    )
                )
            for epsilon in config.epsilons:
                model, curve = train_classifier(
                    data, config, num_samples=config.sweep_samples, epsilon=epsilon, bar=bar
                )
                values = [
                    fenchel_young_value(
                        model,
                        x,
                        y,
                        epsilon=epsilon,
                        num_samples=config.eval_samples,
                        num_classes=data.num_classes,
                        seed=config.seed + 1,
                    )
                    for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test))
                ]
                sweep.append(
                    EpsilonResult(
                        epsilon=epsilon,
                        train_loss=values[0],
                        test_loss=values[1],
                        test_accuracy=float(curve[-1]),
                    )
                )
    finally:
        bar.close()
    return ClassificationResult(
        config=config,
        data_name=data.name,
        methods=tuple(methods),
        sweep=tuple(sweep),
        seconds=time.perf_counter() - start,
    )


def format_classification_tables(result: ClassificationResult) -> str:
    """The two tables as Markdown: test accuracy per method, and the epsilon grid."""
    cfg = result.config
    methods = markdown_table(
        ["loss", "test accuracy", "best epoch's accuracy", "train time (s)"],
        [
            [m.label, f"{m.final_accuracy:.4f}", f"{m.test_accuracy.max():.4f}", f"{m.seconds:.1f}"]
            for m in result.methods
        ],
    )
    sweep = markdown_table(
        ["epsilon", "train FY loss", "test FY loss", "test accuracy"],
        [
            [
                f"{row.epsilon:g}",
                f"{row.train_loss:.4f}",
                f"{row.test_loss:.4f}",
                f"{row.test_accuracy:.4f}",
            ]
            for row in result.sweep
        ],
        align="rrrr",
    )
    return "\n".join(
        [
            (
                f"Test accuracy on {result.data_name} after {cfg.epochs} epochs "
                f"(epsilon={cfg.epsilon:g} for the perturbed FY losses):"
            ),
            "",
            methods,
            "",
            (
                f"Perturbed FY loss against epsilon (trained with M={cfg.sweep_samples}, losses "
                f"estimated with M={cfg.eval_samples}):"
            ),
            "",
            sweep,
        ]
    )


def plot_classification_results(result: ClassificationResult, path: str | Path) -> Path:
    """Draw the analogue of Fig. 2 (test accuracy per epoch for each loss; train and
    test Fenchel-Young loss against epsilon) and write it as a PNG.

    Needs matplotlib (``pip install "perturbopt[examples]"``), imported only here.

    Args:
        result: the experiment's result.
        path: where to write the PNG; parent folders are created.

    Returns:
        The path written.
    """
    cfg = result.config
    with png_figure(path, ncols=2) as (_, axes):
        left, right = axes[0]
        epochs = np.arange(1, cfg.epochs + 1)
        styles = ["k--", "C0-", "C3-", "C2-", "C4-"]
        for method, style in zip(result.methods, itertools.cycle(styles)):
            left.plot(
                epochs,
                method.test_accuracy,
                style,
                label=f"{method.label} ({method.final_accuracy:.3f})",
            )
        left.set_xlabel("epoch")
        left.set_ylabel("test accuracy")
        left.set_title(f"Test accuracy, {result.data_name}")
        left.grid(True, alpha=0.3)
        left.legend(loc="lower right", fontsize=8)
        eps = [row.epsilon for row in result.sweep]
        right.plot(eps, [row.train_loss for row in result.sweep], "o-", color="C0", label="train")
        right.plot(eps, [row.test_loss for row in result.sweep], "s--", color="C3", label="test")
        right.set_xscale("log")
        losses = [row.train_loss for row in result.sweep] + [row.test_loss for row in result.sweep]
        # Monte-Carlo estimates of a loss near 0 may dip below it: log scale only if positive
        if min(losses) > 0:
            right.set_yscale("log")
        else:
            right.set_yscale("symlog", linthresh=1e-3)
        right.set_xlabel("epsilon")
        right.set_ylabel("perturbed Fenchel-Young loss")
        right.set_title(f"Final FY loss vs epsilon (M={cfg.sweep_samples})")
        right.grid(True, which="both", alpha=0.3)
        right.legend(fontsize=8)
    return Path(path)
