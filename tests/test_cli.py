"""The ``perturbopt`` command."""

from __future__ import annotations

import subprocess
import sys

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
    out = subprocess.run([sys.executable, "-m", "perturbopt.cli", "solvers"], capture_output=True,
                         text=True, check=True).stdout
    assert out.splitlines()[0].split()[:3] == ["solver", "distribution", "plugin"]


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([])
    assert caught.value.code == 2
    assert "solvers" in capsys.readouterr().err
