"""A short run of the fault-injection soak (``benchmarks/soak.py``): random faults at
``n_jobs`` 1 and 2 give the clean result or the documented error, never a wrong
number or a hang, and leave no process behind."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

SOAK = Path(__file__).resolve().parents[1] / "benchmarks" / "soak.py"


def _workers_of(parent: int) -> list[str]:
    """Worker processes started by ``parent`` (their command line names it), wherever
    they were reparented."""
    out = subprocess.run(
        ["ps", "-ww", "-e", "-o", "args="], capture_output=True, text=True, check=False
    ).stdout
    return [
        line
        for line in out.splitlines()
        if "perturbopt._engine.worker" in line and f", {parent})" in line
    ]


def test_short_soak_has_no_wrong_result_no_hang_and_no_orphan() -> None:
    soak = subprocess.Popen(
        [sys.executable, str(SOAK), "--calls", "60", "--seed", "1", "--json"],
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = soak.communicate(timeout=600)
    assert soak.returncode == 0
    report = json.loads(out.strip().splitlines()[-1])
    assert report["calls"] == 60 and report["faults_injected"] > 20
    assert report["wrong_results"] == 0, report["problems"]
    assert report["hangs"] == 0
    assert report["orphans_after_shutdown"] == 0
    time.sleep(0.5)
    assert _workers_of(soak.pid) == []
