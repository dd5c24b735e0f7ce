"""The ``perturbopt`` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from perturbopt.cli import main


def test_solvers_lists_builtins_with_their_distribution(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solvers", "--noises"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    for name in ("argmax", "topk", "ranking", "sign"):
        assert lines[name][1:3] == ["perturbopt", "builtins"]
    assert "noise gaussian" in out and "noise gumbel" in out


def test_command_is_installed() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "perturbopt.cli", "solvers"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.splitlines()[0].split()[:3] == ["solver", "distribution", "plugin"]


def test_version_is_the_installed_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.metadata

    import perturbopt

    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    expected = importlib.metadata.version("perturbopt")
    assert capsys.readouterr().out.strip() == f"perturbopt {expected}"
    assert perturbopt.__version__ == expected


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([])
    assert caught.value.code == 2
    assert "solvers" in capsys.readouterr().err


# -- perturbopt demo ------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RANKING_ARGS = [
    "demo",
    "--train",
    "64",
    "--test",
    "32",
    "--epochs",
    "1",
    "--sigmas",
    "0",
    "--no-progress",
]
SHORTEST_PATH_ARGS = [
    "demo",
    "shortest-path",
    "--grid",
    "6",
    "--train",
    "64",
    "--test",
    "32",
    "--epochs",
    "1",
    "--epsilons",
    "0.5",
    "--no-progress",
]


def test_demo_help_lists_the_experiments_and_their_options(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # no line breaks inside the phrases checked
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "{ranking,classification,shortest-path}" in out
    for option in (
        "--train",
        "--test",
        "--n",
        "--d",
        "--epochs",
        "--epsilon",
        "--samples",
        "--sigmas",
        "--n-jobs",
        "--seed",
        "--output",
        "--batch-size",
        "--grid",
        "--epsilons",
        "--scale-lr",
        "--blackbox-lambda",
        "--no-blackbox",
    ):
        assert option in out
    # each option says which experiments it applies to, with their defaults
    assert "training epochs (default: ranking 10, classification 30, shortest-path 10)" in out
    assert "--grid GRID cells per side of the terrain maps (default: shortest-path 12)" in out


def test_demo_defaults_to_ranking(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    figure = tmp_path / "fig.png"
    assert main(RANKING_ARGS + ["--output", str(figure)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Learning to rank noisy data")
    assert "| sigma (variance) |" in out
    assert "perfect ranking" in out and "partial ranking" in out
    assert figure.read_bytes().startswith(PNG_SIGNATURE)


def test_demo_shortest_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    pytest.importorskip("perturbopt_scipy")
    figure = tmp_path / "sp.png"
    assert main(SHORTEST_PATH_ARGS + ["--output", str(figure)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Learning shortest paths on 6x6 terrain images")
    assert "| perturbed FY, eps=0.5 |" in out and "| blackbox, lambda=20 |" in out
    assert figure.read_bytes().startswith(PNG_SIGNATURE)
    assert main(SHORTEST_PATH_ARGS + ["--no-blackbox", "--output", str(figure)]) == 0
    assert "| blackbox" not in capsys.readouterr().out


def test_demo_classification(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    figure = tmp_path / "cl.png"
    assert (
        main(
            [
                "demo",
                "classification",
                "--epochs",
                "1",
                "--epsilons",
                "1",
                "--hidden",
                "8",
                "--no-progress",
                "--output",
                str(figure),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("Perturbed-max classification against cross-entropy")
    assert "| cross-entropy |" in out and "| perturbed FY, M=1000 |" in out
    assert figure.read_bytes().startswith(PNG_SIGNATURE)


def test_demo_without_matplotlib_still_prints_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    figure = tmp_path / "fig.png"
    assert main(RANKING_ARGS + ["--output", str(figure)]) == 0
    out = capsys.readouterr().out
    assert "| sigma (variance) |" in out
    assert "perturbopt[examples]" in out
    assert not figure.exists()


def test_demo_reports_bad_values_and_options_of_other_experiments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("torch")
    assert main(["demo", "--train", "0"]) == 2
    assert "RankingConfig.train must be an integer >= 1, got 0" in capsys.readouterr().err
    assert main(["demo", "classification", "--sigmas", "0.1"]) == 2
    assert (
        "perturbopt demo classification: --sigmas does not apply to this experiment "
        "(only to ranking)"
    ) in capsys.readouterr().err
    assert main(["demo", "ranking", "--no-blackbox"]) == 2
    assert "--no-blackbox applies to shortest-path only" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["demo", "sorting"])
    assert "invalid choice: 'sorting'" in capsys.readouterr().err


def test_demo_says_what_to_install(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    assert main(["demo", "shortest-path"]) == 1
    assert "needs torch: pip install 'perturbopt[torch]'" in capsys.readouterr().err
