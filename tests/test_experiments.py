"""Tests of the paper's experiments (perturbopt.experiments) and of ``perturbopt demo``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import perturbopt
from perturbopt.cli import build_parser, main
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
        np.testing.assert_array_equal(np.sort(labels, axis=1),
                                      np.broadcast_to(np.arange(1, 8), (20, 7)))


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
    with pytest.raises(ValueError, match="variances"):
        RankingConfig(sigmas=(-0.1,))
    with pytest.raises(ValueError, match="train"):
        RankingConfig(train=0)


def test_table_lists_every_sigma() -> None:
    pytest.importorskip("torch")
    config = RankingConfig(train=8, test=4, n=5, d=3, epochs=1, sigmas=(0.0, 0.5))
    table = format_ranking_table(run_ranking_experiment(config))
    assert table.splitlines()[0].startswith("| sigma (variance) |")
    assert len(table.splitlines()) == 4


# -- learning ---------------------------------------------------------------------------

def test_ranking_model_learns_on_noiseless_data() -> None:
    pytest.importorskip("torch")
    config = RankingConfig(train=64, test=32, n=20, d=5, epochs=5, batch_size=8,
                           sigmas=(0.0,), seed=1)
    direction = hidden_direction(config.d, config.seed)
    train = make_ranking_data(config.train, n=config.n, direction=direction, sigma=0.0, seed=2)
    test = make_ranking_data(config.test, n=config.n, direction=direction, sigma=0.0, seed=3)
    weight = train_ranking_model(train, config)
    _, partial = evaluate_ranking_model(weight, test)
    assert partial > 0.5  # chance is 1 / n = 0.05
    cosine = weight @ direction / np.linalg.norm(weight)
    assert cosine > 0.99


def test_evaluation_is_perfect_for_the_hidden_direction() -> None:
    direction = hidden_direction(4, 0)
    data = make_ranking_data(10, n=30, direction=direction, sigma=0.3, seed=5)
    assert evaluate_ranking_model(2.5 * direction, data) == (1.0, 1.0)
    assert isinstance(data, RankingData)


# -- the demo ---------------------------------------------------------------------------

DEMO_ARGS = ["demo", "--train", "64", "--test", "32", "--epochs", "1", "--sigmas", "0",
             "--no-progress"]


def test_demo_help_lists_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["demo", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--train", "--test", "--n", "--d", "--epochs", "--epsilon", "--samples",
                   "--sigmas", "--n-jobs", "--seed", "--output", "--batch-size"):
        assert option in out


def test_demo_runs_and_writes_the_figure(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    figure = tmp_path / "fig.png"
    assert main(DEMO_ARGS + ["--output", str(figure)]) == 0
    out = capsys.readouterr().out
    assert "| sigma (variance) |" in out
    assert "perfect ranking" in out and "partial ranking" in out
    assert figure.read_bytes().startswith(PNG_SIGNATURE)


def test_demo_without_matplotlib_still_prints_the_table(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    figure = tmp_path / "fig.png"
    assert main(DEMO_ARGS + ["--output", str(figure)]) == 0
    out = capsys.readouterr().out
    assert "| sigma (variance) |" in out
    assert "perturbopt[examples]" in out
    assert not figure.exists()


def test_demo_reports_bad_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    assert main(["demo", "--train", "0"]) == 2
    assert "train must be >= 1" in capsys.readouterr().err


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
    data = ClassificationData(x_train=inputs[:100], y_train=labels[:100], x_test=inputs[100:],
                              y_test=labels[100:], num_classes=3, name="blobs")
    config = ClassificationConfig(epochs=15, batch_size=16, hidden=16, learning_rate=0.01,
                                  num_samples=(1, 50), epsilons=(0.1, 1.0), eval_samples=20)
    result = run_classification_experiment(config, data)
    assert [m.label for m in result.methods] == ["cross-entropy", "perturbed FY, M=1",
                                                 "perturbed FY, M=50"]
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
