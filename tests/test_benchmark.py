"""``perturbopt benchmark`` and perturbopt.experiments.benchmark: the method table, the
regret, reproducibility from the seed, the results files.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("perturbopt_scipy")

import perturbopt
from perturbopt.cli import main
from perturbopt.experiments._methods import METHODS
from perturbopt.experiments.benchmark import (
    BenchmarkConfig,
    _regret_function,
    format_benchmark_table,
    parse_seeds,
    run_benchmark,
    write_benchmark_results,
)

TINY = {"train": 96, "test": 48, "grid": 3, "epochs": 2, "batch_size": 16}


class ArgMin:
    sense = "min"

    def solve(self, theta: np.ndarray, *, hint: object = None) -> np.ndarray:
        return (np.arange(theta.size) == np.argmin(theta)).astype(np.int8)


def test_the_benchmark_measures_pyepo_normalised_regret_for_either_sense() -> None:
    regret = _regret_function(ArgMin())
    c = np.array([[1.0, 3.0], [2.0, 1.0]])
    z = c.min(axis=1)
    assert regret(c, c, z) == 0.0
    # the first prediction picks cost 3 instead of 1: regret 2 over |1| + |1|
    assert regret(np.array([[3.0, 1.0], [2.0, 1.0]]), c, z) == 1.0
    maximiser = _regret_function(perturbopt.get_solver("argmax"))
    assert maximiser(-c, c, c.max(axis=1)) == pytest.approx((2 + 1) / 5)


def test_fenchel_young_learns_and_a_seed_reproduces_its_run() -> None:
    config = BenchmarkConfig(methods=("fy", "2s"), seeds=(3,), **{**TINY, "train": 320})
    first, again = run_benchmark(config, progress=False), run_benchmark(config, progress=False)
    fy = first.runs[0]
    assert fy.method == "fy" and fy.regret < 0.5 * fy.initial_regret
    assert [r.regret for r in first.runs] == [r.regret for r in again.runs]
    # both methods of a seed start from the same weights
    assert first.runs[0].initial_regret == first.runs[1].initial_regret
    other = run_benchmark(
        BenchmarkConfig(methods=("fy",), seeds=(4,), **{**TINY, "train": 320}), progress=False
    )
    assert other.runs[0].regret != fy.regret


def test_the_curve_and_the_knapsack_sense() -> None:
    config = BenchmarkConfig(
        problem="knapsack",
        methods=("fy", "dpo"),
        seeds=(0,),
        train=64,
        test=32,
        num_items=8,
        dim=1,
        epochs=2,
        batch_size=16,
        eval_every=1,
    )
    result = run_benchmark(config, progress=False)
    for run in result.runs:
        assert len(run.curve) == 3 and run.curve[0] == (0.0, run.initial_regret)
        assert run.curve[-1] == (run.train_seconds, run.regret)
        assert 0 <= run.regret <= 1 and run.steps == 2 * 4
    fy = result.runs[0]
    assert fy.regret < fy.initial_regret  # a maximisation problem learns too


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_runs_one_epoch_and_its_seed_reproduces_it(name: str) -> None:
    config = BenchmarkConfig(methods=(name,), seeds=(0,), **{**TINY, "epochs": 1})
    (run,) = run_benchmark(config, progress=False).runs
    assert np.isfinite(run.regret) and run.regret >= 0 and run.train_seconds > 0
    (again,) = run_benchmark(config, progress=False).runs
    assert again.regret == run.regret


def test_results_files_and_table(tmp_path: Path) -> None:
    result = run_benchmark(
        BenchmarkConfig(methods=("2s", "fy"), seeds=(0, 1), **TINY), progress=False
    )
    json_path, csv_path = write_benchmark_results(result, tmp_path / "out" / "bench")
    document = json.loads(json_path.read_text())
    assert document["config"]["seeds"] == [0, 1] and len(document["runs"]) == 4
    assert set(document["summary"]) == {"2s", "fy"}
    rows = list(csv.DictReader(csv_path.open()))
    assert [(r["method"], r["seed"]) for r in rows] == [
        ("2s", "0"),
        ("fy", "0"),
        ("2s", "1"),
        ("fy", "1"),
    ]
    assert float(rows[1]["regret"]) == result.runs[1].regret
    table = format_benchmark_table(result)
    assert table.splitlines()[2].startswith("| 2s | ") and " ± " in table


def test_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "bench"
    argv = ["benchmark", "--methods", "fy", "--seeds", "2", "--train", "64", "--test", "32"]
    argv += ["--grid", "3", "--epochs", "1", "--no-progress", "--output", str(output)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| fy | " in out and "results written to" in out
    assert output.with_suffix(".json").exists() and output.with_suffix(".csv").exists()
    pytest.importorskip("matplotlib")
    assert output.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--methods", "fy,magic"], "unknown: magic"),
        (["--methods", "fy", "--seeds", "two"], "--seeds takes a count"),
        (["--methods", "fy", "--seeds", "0"], "--seeds takes a count >= 1"),
        (["--methods", "fy", "--noise-width", "1.5"], "noise_width must be in [0, 1)"),
        (["--methods", "fy", "--epochs", "0"], "epochs must be >= 1"),
        (["--methods", "fy", "--problem", "tsp", "--nodes", "2"], "num_nodes must be"),
    ],
)
def test_bad_arguments(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["benchmark", "--no-progress", "--train", "8", "--test", "8", *argv])
    assert code in (1, 2)
    assert message in capsys.readouterr().err


def test_seeds() -> None:
    assert parse_seeds("3") == (0, 1, 2)
    assert parse_seeds("4,7") == (4, 7)
    assert parse_seeds("5,") == (5,)
    with pytest.raises(ValueError, match="distinct"):
        BenchmarkConfig(seeds=(1, 1))
    with pytest.raises(ValueError, match="problem must be one of"):
        BenchmarkConfig(problem="portfolio")
