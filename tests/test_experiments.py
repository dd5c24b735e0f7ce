"""Tests of the paper's ranking and classification experiments and of the parts every
experiment shares (config validation, training loop, figure and table helpers)."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

import perturbopt
from perturbopt.experiments._config import (
    ExperimentConfig,
    Rule,
    each,
    integer,
    one_of,
    optional,
    real,
)
from perturbopt.experiments._plotting import png_figure
from perturbopt.experiments._tables import markdown_table
from perturbopt.experiments._training import fit
from perturbopt.experiments.ranking import (
    RankingConfig,
    RankingData,
    evaluate_ranking_model,
    format_ranking_table,
    hidden_direction,
    make_ranking_data,
    partial_ranking_accuracy,
    perfect_ranking_accuracy,
    ranks,
    run_ranking_experiment,
    train_ranking_model,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# -- data -------------------------------------------------------------------------------


def test_hidden_direction_is_unit_and_seeded() -> None:
    w0 = hidden_direction(9, seed=3)
    assert w0.shape == (9,)
    assert np.linalg.norm(w0) == pytest.approx(1.0)
    np.testing.assert_array_equal(w0, hidden_direction(9, seed=3))


@pytest.mark.parametrize("sigma", [0.0, 0.1])
def test_labels_are_rank_vectors(sigma: float) -> None:
    data = make_ranking_data(20, n=7, direction=hidden_direction(3, 0), sigma=sigma, seed=1)
    assert data.features.shape == (20, 7, 3)
    assert data.labels.shape == data.clean_labels.shape == (20, 7)
    for labels in (data.labels, data.clean_labels):
        np.testing.assert_array_equal(
            np.sort(labels, axis=1), np.broadcast_to(np.arange(1, 8), (20, 7))
        )


def test_labels_follow_the_ranking_solver() -> None:
    """``y_i`` is the rank of score ``i`` in increasing order: ``argmax <y, s>`` over
    permutations of ``1..n``, as the built-in ``"ranking"`` solver computes it."""
    direction = hidden_direction(4, 0)
    data = make_ranking_data(15, n=6, direction=direction, sigma=0.0, seed=2)
    np.testing.assert_allclose(data.scores, data.features @ direction)
    np.testing.assert_array_equal(data.labels, data.clean_labels)
    solver = perturbopt.perturbed("ranking", num_samples=1)
    np.testing.assert_array_equal(data.labels, solver.hard(data.scores))
    np.testing.assert_array_equal(data.labels, np.argsort(np.argsort(data.scores, 1), 1) + 1)
    top = np.argmax(data.scores, axis=1)
    assert (data.labels[np.arange(15), top] == 6).all()
    np.testing.assert_array_equal(ranks(np.array([0.3, -1.0, 2.0])), [2, 1, 3])


def test_noise_scrambles_labels_on_common_features() -> None:
    direction = hidden_direction(5, 0)
    clean = make_ranking_data(30, n=50, direction=direction, sigma=0.0, seed=4)
    noisy = make_ranking_data(30, n=50, direction=direction, sigma=0.5, seed=4)
    np.testing.assert_array_equal(clean.features, noisy.features)
    np.testing.assert_array_equal(clean.clean_labels, noisy.clean_labels)
    assert partial_ranking_accuracy(noisy.labels, noisy.clean_labels) < 0.5
    with pytest.raises(ValueError, match="variance"):
        make_ranking_data(2, n=3, direction=direction, sigma=-1.0, seed=0)


# -- metrics ----------------------------------------------------------------------------


def test_metrics_on_hand_made_cases() -> None:
    true = np.array([[1, 2, 3, 4], [4, 3, 2, 1]])
    assert perfect_ranking_accuracy(true, true) == 1.0
    assert partial_ranking_accuracy(true, true) == 1.0
    one_swap = np.array([[2, 1, 3, 4], [4, 3, 2, 1]])
    assert perfect_ranking_accuracy(one_swap, true) == 0.5
    assert partial_ranking_accuracy(one_swap, true) == 0.75
    reversed_ = true[:, ::-1]
    assert perfect_ranking_accuracy(reversed_, true) == 0.0
    assert partial_ranking_accuracy(reversed_, true) == 0.0
    with pytest.raises(ValueError, match="both be"):
        partial_ranking_accuracy(true, true[:, :3])


def test_config_rejects_bad_values() -> None:
    with pytest.raises(
        ValueError,
        match=r"RankingConfig.sigmas must be noise variances: "
        r"a non-empty tuple, each item a finite number >= 0",
    ):
        RankingConfig(sigmas=(-0.1,))
    with pytest.raises(ValueError, match="RankingConfig.train must be an integer >= 1, got 0"):
        RankingConfig(train=0)
    with pytest.raises(ValueError, match="scale_learning_rate must be a finite number > 0"):
        RankingConfig(scale_learning_rate=float("inf"))


def test_table_lists_every_sigma() -> None:
    pytest.importorskip("torch")
    config = RankingConfig(train=8, test=4, n=5, d=3, epochs=1, sigmas=(0.0, 0.5))
    table = format_ranking_table(run_ranking_experiment(config))
    assert table.splitlines()[0].startswith("| sigma (variance) |")
    assert len(table.splitlines()) == 4


# -- learning ---------------------------------------------------------------------------


def test_ranking_model_learns_on_noiseless_data() -> None:
    pytest.importorskip("torch")
    config = RankingConfig(
        train=64, test=32, n=20, d=5, epochs=5, batch_size=8, sigmas=(0.0,), seed=1
    )
    direction = hidden_direction(config.d, config.seed)
    train = make_ranking_data(config.train, n=config.n, direction=direction, sigma=0.0, seed=2)
    test = make_ranking_data(config.test, n=config.n, direction=direction, sigma=0.0, seed=3)
    weight = train_ranking_model(train, config)
    _, partial = evaluate_ranking_model(weight, test)
    assert partial > 0.5  # chance is 1 / n = 0.05
    cosine = weight @ direction / np.linalg.norm(weight)
    assert cosine > 0.99


def test_clean_labels_give_perfect_rankings_after_ten_epochs() -> None:
    """The paper's result: with sigma = 0 the model generalises after 10 epochs. The
    default configuration ranks >= 90 % of the test instances right in all 100
    positions, on average over three seeds (0.906, 0.942, 0.905 measured)."""
    pytest.importorskip("torch")
    perfect = [
        run_ranking_experiment(RankingConfig(sigmas=(0.0,), seed=seed)).rows[0].perfect
        for seed in (0, 1, 2)
    ]
    assert np.mean(perfect) >= 0.9, perfect


def test_accuracy_falls_with_the_label_noise() -> None:
    """Perfect and partial accuracy do not increase with sigma (a tolerance of 0.02
    for seed noise; the measured gaps are far larger) and the model learns the scale
    the noise calls for, |w| / eps near 1 / sqrt(sigma)."""
    pytest.importorskip("torch")
    sigmas = (0.0, 0.01, 0.1, 1.0)
    result = run_ranking_experiment(RankingConfig(sigmas=sigmas))
    for attr in ("perfect", "partial"):
        values = [getattr(row, attr) for row in result.rows]
        assert all(b <= a + 0.02 for a, b in itertools.pairwise(values)), (attr, values)
    assert result.rows[0].perfect > result.rows[-1].perfect + 0.5
    for sigma in sigmas[1:]:
        scale = np.linalg.norm(result.weights[sigma]) / result.config.epsilon
        assert scale == pytest.approx(1 / np.sqrt(sigma), rel=0.1)


def test_evaluation_is_perfect_for_the_hidden_direction() -> None:
    direction = hidden_direction(4, 0)
    data = make_ranking_data(10, n=30, direction=direction, sigma=0.3, seed=5)
    assert evaluate_ranking_model(2.5 * direction, data) == (1.0, 1.0)
    assert isinstance(data, RankingData)


# -- classification ---------------------------------------------------------------------


def test_classification_runs_on_swapped_in_data(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from perturbopt.experiments.classification import (
        ClassificationConfig,
        ClassificationData,
        format_classification_tables,
        run_classification_experiment,
    )

    rng = np.random.default_rng(0)
    centres = 3.0 * rng.standard_normal((3, 2, 2))
    labels = rng.integers(0, 3, 150)
    inputs = (centres[labels] + 0.3 * rng.standard_normal((150, 2, 2))).astype(np.float32)
    data = ClassificationData(
        x_train=inputs[:100],
        y_train=labels[:100],
        x_test=inputs[100:],
        y_test=labels[100:],
        num_classes=3,
        name="blobs",
    )
    config = ClassificationConfig(
        epochs=15,
        batch_size=16,
        hidden=16,
        learning_rate=0.01,
        num_samples=(1, 50),
        epsilons=(0.1, 1.0),
        eval_samples=20,
    )
    result = run_classification_experiment(config, data)
    assert [m.label for m in result.methods] == [
        "cross-entropy",
        "perturbed FY, M=1",
        "perturbed FY, M=50",
    ]
    for method in result.methods:
        assert method.test_accuracy.shape == (15,)
        assert method.final_accuracy > 0.8  # separable blobs; chance is 1/3
    assert [row.epsilon for row in result.sweep] == [0.1, 1.0]
    # >= 0 in expectation only: a Monte-Carlo estimate may dip slightly below
    assert all(row.train_loss > -0.1 and row.test_loss > -0.1 for row in result.sweep)
    tables = format_classification_tables(result)
    assert "| perturbed FY, M=50 |" in tables and "| 0.1 |" in tables
    pytest.importorskip("matplotlib")
    from perturbopt.experiments.classification import plot_classification_results

    path = plot_classification_results(result, tmp_path / "sub" / "fig2.png")
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_digits_loader_is_a_stratified_split() -> None:
    pytest.importorskip("sklearn")
    from perturbopt.experiments.classification import load_digits_data

    data = load_digits_data(test_size=0.2, seed=0)
    assert data.x_train.shape[1:] == (64,) and data.x_train.dtype == np.float32
    assert len(data.y_train) + len(data.y_test) == 1797
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert set(np.unique(data.y_test)) == set(range(10))


# -- what the experiments share -----------------------------------------------------------


@dataclass(frozen=True)
class Toy(ExperimentConfig):
    size: int = 3
    rate: float = 0.5
    scales: tuple[float, ...] = (1.0,)
    workers: int | None = None
    mode: str = "fast"
    _rules: ClassVar[Mapping[str, Rule]] = {
        "size": integer(at_least=2),
        "rate": real(above=0, below=1),
        "scales": each(real(at_least=0), what="scales"),
        "workers": optional(integer(at_least=1)),
        "mode": one_of("fast", "slow"),
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("size", 1, "Toy.size must be an integer >= 2, got 1"),
        ("size", 2.0, "Toy.size must be an integer >= 2, got 2.0"),
        ("size", True, "Toy.size must be an integer >= 2, got True"),
        ("rate", 1.0, "Toy.rate must be a finite number > 0 and < 1, got 1.0"),
        ("rate", float("nan"), "Toy.rate must be a finite number > 0 and < 1, got nan"),
        (
            "scales",
            (),
            (
                "Toy.scales must be scales: a non-empty tuple, each item a finite "
                "number >= 0, got ()"
            ),
        ),
        ("scales", [1.0], "Toy.scales must be scales"),
        ("workers", 0, "Toy.workers must be None or an integer >= 1, got 0"),
        ("mode", "quick", "Toy.mode must be one of 'fast', 'slow', got 'quick'"),
    ],
)
def test_one_validation_names_the_field_and_the_rule(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Toy(**{field: value})  # type: ignore[arg-type]
    Toy(workers=None)
    Toy(workers=2, scales=(0.0, 3.0), mode="slow")


def test_fit_minimises_with_seeded_batches_and_a_cosine_decay() -> None:
    torch = pytest.importorskip("torch")
    target = torch.linspace(-1.0, 1.0, 10, dtype=torch.float64)
    weight = torch.zeros(10, dtype=torch.float64, requires_grad=True)
    offset = torch.zeros((), dtype=torch.float64, requires_grad=True)
    seen: list[np.ndarray] = []
    epochs: list[int] = []

    def batch_loss(index: np.ndarray) -> Any:
        seen.append(index.copy())
        rows = torch.as_tensor(index)
        return ((weight[rows] + offset - target[rows]) ** 2).mean()

    def after_epoch(epoch: int) -> str:
        epochs.append(epoch)
        return ""

    before = torch.get_num_threads()
    groups: list[dict[str, Any]] = [{"params": [weight]}, {"params": [offset], "lr": 0.0}]
    losses = fit(
        groups,
        batch_loss,
        num_examples=10,
        epochs=30,
        batch_size=4,
        learning_rate=0.1,
        seed=5,
        schedule="cosine",
        after_epoch=after_epoch,
    )
    assert torch.get_num_threads() == before
    assert losses.shape == (30,) and losses[-1] < 1e-3 * losses[0]
    assert offset.item() == 0.0  # its group's own step size, 0
    assert epochs == list(range(30))
    assert [len(i) for i in seen[:3]] == [4, 4, 2]
    np.testing.assert_array_equal(np.sort(np.concatenate(seen[:3])), np.arange(10))
    order = np.random.default_rng(5).permutation(10)
    np.testing.assert_array_equal(np.concatenate(seen[:3]), order)


def test_figures_leave_pyplot_and_the_backend_alone(tmp_path: Path) -> None:
    """Drawing builds a matplotlib Figure directly: pyplot is never imported and
    matplotlib.use never called, whatever backend the user chose."""
    pytest.importorskip("matplotlib")
    script = textwrap.dedent(f"""
        import sys
        import matplotlib
        matplotlib.use("svg")
        def refuse(*args, **kwargs):
            raise AssertionError("matplotlib.use called")
        matplotlib.use = refuse
        from perturbopt.experiments._plotting import png_figure
        with png_figure({str(tmp_path / "a" / "b.png")!r}, ncols=2) as (fig, axes):
            axes[0, 1].plot([0, 1], [1, 0])
        assert axes.shape == (1, 2)
        assert "matplotlib.pyplot" not in sys.modules
        assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
    """)
    subprocess.run([sys.executable, "-c", script], check=True)
    assert (tmp_path / "a" / "b.png").read_bytes().startswith(PNG_SIGNATURE)


def test_no_figure_is_written_when_drawing_fails(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    with pytest.raises(ZeroDivisionError), png_figure(tmp_path / "x.png"):
        1 / 0  # noqa: B018
    assert not (tmp_path / "x.png").exists()


def test_markdown_table() -> None:
    assert markdown_table(["a", "b"], [["1", "2"], ["3", "4"]], align="rl").splitlines() == [
        "| a | b |",
        "|---:|---|",
        "| 1 | 2 |",
        "| 3 | 4 |",
    ]
    with pytest.raises(ValueError, match="a row has 1 cells for 2 columns"):
        markdown_table(["a", "b"], [["1"]])
    with pytest.raises(ValueError, match="align needs one 'l' or 'r' per column"):
        markdown_table(["a", "b"], [], align="c")
