"""The quick examples run as documented."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_quickstart_runs(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(EXAMPLES / "quickstart.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "softmax(theta/eps)" in out
    final = out.strip().splitlines()[-1]
    assert float(final.split("[")[1].split()[2]) > 0.9  # item 2 became the likely solution


def test_smooth_ortools_model_learns(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("perturbopt_ortools")
    runpy.run_path(str(EXAMPLES / "smooth_ortools_model.py"), run_name="__main__")
    lines = capsys.readouterr().out.strip().splitlines()
    first, last = (float(line.rsplit(" ", 1)[1]) for line in (lines[0], lines[-1]))
    assert lines[0].startswith("epoch 0: test regret")
    assert last < 0.25 * first  # the regret of acting on the predicted values falls


def test_robust_solving_survives_hangs_and_crashes(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(EXAMPLES / "robust_solving.py"), run_name="__main__")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("hangs: SolverTimeoutError on sample")
    assert lines[1].startswith("crashes: SolverCrashError on sample")
    assert lines[2].startswith("behaves: y_eps = [[")
    assert lines[3].startswith("refused: this call would hold")
    assert lines[4] == "n_jobs=1 and n_jobs=2 bit-identical: True"


def test_generalized_maximizer_learns_start_times(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    runpy.run_path(str(EXAMPLES / "generalized_maximizer.py"), run_name="__main__")
    lines = capsys.readouterr().out.strip().splitlines()
    first, last = (float(line.rsplit(" ", 1)[1]) for line in (lines[0], lines[-1]))
    assert lines[0].startswith("epoch 0: test accuracy")
    assert last > 0.7 and last > first + 0.3  # trained on observed start times alone


def test_compare_methods_every_method_learns(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("perturbopt_scipy")
    namespace = runpy.run_path(str(EXAMPLES / "compare_methods.py"), run_name="example")
    namespace["main"]([])  # its defaults: 400 training maps, 5 epochs
    rows = capsys.readouterr().out.strip().splitlines()[1:]
    regret = {row[:22].strip(): float(row[22:].split("%")[0]) for row in rows}
    assert len(regret) == 15  # the untrained model and 14 methods
    untrained = regret.pop("(untrained)")
    for name, value in regret.items():
        assert value < 0.8 * untrained, (name, value, untrained)
