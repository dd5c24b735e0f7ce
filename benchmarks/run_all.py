"""Run every benchmark and write benchmarks/RESULTS.md.

Run: python benchmarks/run_all.py [--quick] [--only NAME]

``--quick`` is a smoke run (small sizes, one or two rounds): its numbers are not for
reporting. ``--only NAME`` runs one section and replaces just that section of an
existing RESULTS.md. The PyEPO comparison runs in its own venv, ``benchmarks/.env``
(see bench_pyepo.py for how to make it); without that venv the section says so.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bench_builtins
import bench_efficiency
import bench_hot_path
import bench_never_slower
import bench_parallel
import bench_scaling
import bench_solvers
import bench_threads
import bench_warm_start
import soak
from _timing import load, machine

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
FINDINGS = HERE / "FINDINGS.md"
PYEPO_PYTHON = HERE / ".env" / "bin" / "python"


@dataclass
class Section:
    """One benchmark: its title, the command that reproduces it, and how to run it."""

    title: str
    command: str
    run: Callable[[bool], list[str]]


def pyepo(quick: bool) -> list[str]:
    """bench_pyepo.py in benchmarks/.env, where PyEPO is installed."""
    if not PYEPO_PYTHON.exists():
        return ["Not run: benchmarks/.env is missing (see bench_pyepo.py to create it)."]
    command = [str(PYEPO_PYTHON), str(HERE / "bench_pyepo.py")] + (["--quick"] if quick else [])
    done = subprocess.run(command, cwd=HERE.parent, capture_output=True, text=True, check=False)
    if done.returncode:
        return ["Failed:", "", "```", done.stderr[-3000:], "```"]
    return done.stdout.rstrip().splitlines()


def soak_section(quick: bool) -> list[str]:
    """The fault-injection soak's report as a table."""
    report = soak.run_soak(60 if quick else 600)
    lines = ["| fault | outcomes |", "|---|---|"]
    for fault in soak.FAULTS:
        outcomes = report.outcomes.get(fault, {})
        lines.append(
            f"| {fault} | " + ", ".join(f"{k} x{v}" for k, v in sorted(outcomes.items())) + " |"
        )
    return (
        [
            (
                f"calls {report.calls}, faults injected {report.faults_injected}, wrong results "
                f"{report.wrong_results}, hangs {report.hangs}, orphan processes after shutdown "
                f"{report.orphans_after_shutdown}, resident memory {report.rss_first_100_mib} MiB "
                f"(first 100 calls) -> {report.rss_last_100_mib} MiB (last 100), "
                f"{report.seconds} s"
            ),
            "",
        ]
        + lines
        + [f"PROBLEM: {p}" for p in report.problems]
    )


SECTIONS = {
    "efficiency": Section(
        "Engine efficiency: n_jobs=2 against a raw serial loop",
        "python benchmarks/bench_efficiency.py",
        bench_efficiency.run,
    ),
    "builtins": Section(
        "Built-in solvers against their floor (drawing the noise) and torch",
        "python benchmarks/bench_builtins.py",
        lambda quick: bench_builtins.run(quick=quick),
    ),
    "hot_path": Section(
        "A call of small solves against the loop a user writes by hand",
        "python benchmarks/bench_hot_path.py",
        lambda quick: bench_hot_path.run(8 if quick else 25),
    ),
    "never_slower": Section(
        "n_jobs=2 against n_jobs=1 in a training loop, every solver",
        "python benchmarks/bench_never_slower.py",
        lambda quick: bench_never_slower.run(10 if quick else 40, 5 if quick else 20),
    ),
    "threads": Section(
        "Two threads against one, per shipped solver (releases_gil)",
        "python benchmarks/bench_threads.py",
        lambda quick: bench_threads.run(quiet_rounds=1 if quick else 5),
    ),
    "solvers": Section(
        "Per-solve time of every plugin solver",
        "python benchmarks/bench_solvers.py",
        lambda quick: bench_solvers.run(5 if quick else 30),
    ),
    "parallel": Section(
        "Two workers against one (engine against engine)",
        "python benchmarks/bench_parallel.py",
        lambda quick: bench_parallel.run(1 if quick else 3),
    ),
    "pyepo": Section(
        "Side by side with PyEPO (Fenchel-Young, shortest path 5x5)",
        "benchmarks/.env/bin/python benchmarks/bench_pyepo.py",
        pyepo,
    ),
    "warm_start": Section(
        "Warm starts: CP-SAT with and without the hint y*(theta)",
        "python benchmarks/bench_warm_start.py",
        bench_warm_start.run,
    ),
    "scaling": Section(
        "Scaling in M and B, and memory held for backward",
        "python benchmarks/bench_scaling.py",
        bench_scaling.run,
    ),
    "soak": Section("Fault-injection soak", "python benchmarks/soak.py", soak_section),
}


def render(name: str, section: Section, quick: bool) -> str:
    """The markdown of one section, between markers that --only finds again."""
    start = time.perf_counter()
    body = section.run(quick)
    minutes = (time.perf_counter() - start) / 60
    command = section.command + (" --quick" if quick else "")
    return "\n".join(
        [
            f"<!-- section: {name} -->",
            f"## {section.title}",
            "",
            f"Command: `{command}` ({minutes:.1f} min; {load()} at the end)",
            "",
        ]
        + body
        + [f"<!-- end: {name} -->", ""]
    )


def header(quick: bool) -> str:
    """The top of RESULTS.md: what made it, on which machine."""
    kind = "a --quick smoke run: not for reporting" if quick else "the full sizes"
    return "\n".join(
        [
            "# Benchmark results",
            "",
            f"Machine: {machine()}.",
            "",
            (
                f"Made by `python benchmarks/run_all.py{' --quick' if quick else ''}` ({kind}). "
                "Candidates are timed interleaved, round after round, and summarised by their "
                "medians; the machine is shared, so the load average is given per section. "
                "The last section, on the targets and proposals, is benchmarks/FINDINGS.md, "
                "written by hand from a full run."
            ),
            "",
        ]
    )


def replace_section(text: str, name: str, rendered: str) -> str:
    """``text`` with section ``name`` replaced by ``rendered`` (appended if absent)."""
    pattern = re.compile(rf"<!-- section: {name} -->.*?<!-- end: {name} -->\n?", re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _: rendered, text)
    return text.rstrip("\n") + "\n\n" + rendered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of everything")
    parser.add_argument("--only", choices=sorted(SECTIONS), help="run and replace one section")
    args = parser.parse_args()
    names = [args.only] if args.only else list(SECTIONS)
    text = RESULTS.read_text() if args.only and RESULTS.exists() else header(args.quick)
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        text = replace_section(text, name, render(name, SECTIONS[name], args.quick))
        RESULTS.write_text(text)
    if FINDINGS.exists():
        findings = FINDINGS.read_text().rstrip("\n")
        text = replace_section(
            text, "findings", f"<!-- section: findings -->\n{findings}\n<!-- end: findings -->\n"
        )
        RESULTS.write_text(text)
    print(f"wrote {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
