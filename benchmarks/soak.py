"""Fault-injection soak: hundreds of calls with random faults, each checked against the
clean run.

Every call draws a configuration (``n_jobs`` 1 or 2, a seed, a batch) and a fault that
the solver commits on the rows whose perturbed first entry exceeds a threshold: it
raises, returns NaN, hangs past the timeout, kills its process (with ``isolate=True``),
writes into its input, or the caller gets a SIGINT in the middle of the call; or the
call is made in a child forked while another thread is inside a call on the same
object ("fork"), or by four threads sharing the object ("threads"; the solver keeps
scratch state in its instance, as OR-Tools and NetworkX adapters do). Each call must
return exactly the clean run's result, or the documented error naming a row that
really committed the fault, within its time bound. The report counts wrong results
and hangs (both must be 0), the worker processes left behind, and the growth of the
resident memory from the first to the last 100 calls.

Run::

    python benchmarks/soak.py                 # 600 calls, about two minutes
    python benchmarks/soak.py --calls 60 --json
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import cloudpickle
import numpy as np

import perturbopt

cloudpickle.register_pickle_by_value(sys.modules[__name__])

FAULTS = ("none", "raise", "nan", "hang", "kill", "mutate", "interrupt", "fork", "threads")
THRESHOLD = 1.6
"""A row commits the fault when its perturbed first entry exceeds this."""
TIMEOUT = 0.4
"""Seconds a solve may take in calls with a timeout."""
CALL_BOUND = 20.0
"""Seconds any call may take before it counts as a hang."""


class FaultySolver:
    """argmax that commits ``fault`` on rows whose first entry exceeds ``THRESHOLD``."""

    sense = "max"
    name = "faulty"

    def __init__(self, fault: str, pause: float = 0.0) -> None:
        self.fault = fault
        self.pause = pause
        self.scratch: np.ndarray | None = None

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        if self.pause:
            time.sleep(self.pause)
        self.scratch = theta.copy()  # scratch state: two threads in one instance mix
        time.sleep(0)
        y = np.zeros(theta.shape)
        y[int(np.argmax(self.scratch))] = 1.0
        if theta[0] <= THRESHOLD:
            return y
        if self.fault == "raise":
            raise ValueError("injected failure")
        if self.fault == "nan":
            y[0] = np.nan
        elif self.fault == "hang":
            time.sleep(1000)
        elif self.fault == "kill":
            os._exit(9)
        elif self.fault == "mutate":
            theta[0] = -1e9
        return y


EXPECTED = {
    "raise": perturbopt.SolverError,
    "nan": perturbopt.SolverContractError,
    "hang": perturbopt.SolverTimeoutError,
    "kill": perturbopt.SolverCrashError,
    "mutate": perturbopt.SolverError,
}


@dataclass
class Report:
    """What the soak saw."""

    calls: int = 0
    faults_injected: int = 0
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)
    wrong_results: int = 0
    hangs: int = 0
    orphans_after_shutdown: int = 0
    rss_first_100_mib: float = 0.0
    rss_last_100_mib: float = 0.0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def _rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _children() -> int:
    me = str(os.getpid())
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read()
        except OSError:
            continue
        if fields[1] == me and b"perturbopt._engine.worker" in command and fields[0] != "Z":
            count += 1
    return count


def _faulty_rows(clean: perturbopt.PerturbedResult, theta: np.ndarray) -> set[tuple[int, int]]:
    """``(sample, batch item)`` of the rows whose perturbed first entry exceeds THRESHOLD."""
    perturbed = theta[None, :, 0] + clean.epsilon * clean.noise[:, :, 0]
    return {(int(m), int(b)) for m, b in zip(*np.nonzero(perturbed > THRESHOLD), strict=True)}


def _same(result: perturbopt.PerturbedResult, clean: perturbopt.PerturbedResult) -> bool:
    return (
        result.samples.tobytes() == clean.samples.tobytes()
        and result.sample_values.tobytes() == clean.sample_values.tobytes()
    )


def _in_forked_child(
    po: perturbopt.Perturbed, theta: np.ndarray, seed: int, clean: perturbopt.PerturbedResult
) -> str:
    """Fork while another thread is inside a call on ``po``; the child solves with
    ``seed``. ``"clean result"``, ``"wrong"`` or ``"hang"``."""
    busy = threading.Thread(target=lambda: [po.solve(theta) for _ in range(3)])
    busy.start()
    time.sleep(0.002)
    pid = os.fork()
    if pid == 0:
        try:
            same = _same(po.solve(theta, seed=seed), clean)
        except BaseException:  # noqa: BLE001 - any failure is a wrong result
            same = False
        os._exit(0 if same else 1)
    busy.join()
    deadline = time.monotonic() + CALL_BOUND
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return "clean result" if os.waitstatus_to_exitcode(status) == 0 else "wrong"
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return "hang"


def _in_threads(
    po: perturbopt.Perturbed, theta: np.ndarray, seed: int, clean: perturbopt.PerturbedResult
) -> str:
    """Four threads call ``po`` at once with ``seed``: ``"clean result"`` or ``"wrong"``."""
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: po.solve(theta, seed=seed), range(4)))
    return "clean result" if all(_same(r, clean) for r in results) else "wrong"


def run_soak(calls: int, seed: int = 0) -> Report:
    """Run the soak and return its report."""
    # SIGINT must raise KeyboardInterrupt even where the soak was started with SIGINT
    # ignored (a background job of a shell).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return _soak(calls, seed)
    finally:
        signal.signal(signal.SIGINT, previous)


def _soak(calls: int, seed: int) -> Report:
    rng = np.random.default_rng(seed)
    report = Report()
    rss: list[float] = []
    started = time.perf_counter()
    for call in range(calls):
        fault = str(rng.choice(FAULTS))
        n_jobs = int(rng.choice([1, 2]))
        theta = rng.normal(0.0, 0.5, size=(int(rng.integers(1, 4)), 4))
        options = {
            "epsilon": 1.0,
            "num_samples": int(rng.integers(8, 40)),
            "seed": int(rng.integers(2**31)),
            "n_jobs": n_jobs,
        }
        if fault == "hang" or rng.random() < 0.2:
            options["timeout"] = TIMEOUT
        if fault == "kill" or rng.random() < 0.1:
            options["isolate"] = True
        clean = perturbopt.perturbed(FaultySolver("none"), **options).solve(theta)
        if fault in ("fork", "threads"):
            shared = perturbopt.perturbed(FaultySolver("none"), **options)
            run = _in_forked_child if fault == "fork" else _in_threads
            outcome = run(shared, theta, int(options["seed"]), clean)
            report.faults_injected += 1
            if outcome != "clean result":
                report.wrong_results += outcome == "wrong"
                report.hangs += outcome == "hang"
                report.problems.append(f"call {call}: fault {fault}: {outcome}")
            table = report.outcomes.setdefault(fault, {})
            table[outcome] = table.get(outcome, 0) + 1
            report.calls += 1
            rss.append(_rss_mib())
            continue
        faulty = _faulty_rows(clean, theta)
        pause = 0.003 if fault == "interrupt" else 0.0
        po = perturbopt.perturbed(FaultySolver(fault, pause), **options)
        timer = None
        if fault == "interrupt":
            timer = threading.Timer(
                float(rng.uniform(0.0, 0.05)), lambda: os.kill(os.getpid(), signal.SIGINT)
            )
        committed = fault not in ("none", "interrupt") and bool(faulty)
        report.faults_injected += committed or fault == "interrupt"
        outcome = "clean result"
        began = time.perf_counter()
        try:
            if timer is not None:
                timer.start()  # inside the try: on a busy machine it may fire at once
            result = po.solve(theta)
            if committed:
                report.wrong_results += 1
                report.problems.append(f"call {call}: fault {fault} gave a result")
            elif not _same(result, clean):
                report.wrong_results += 1
                report.problems.append(f"call {call}: fault {fault}: a different result")
        except KeyboardInterrupt:
            outcome = "KeyboardInterrupt"
            if fault != "interrupt":
                report.wrong_results += 1
                report.problems.append(f"call {call}: an interrupt nobody sent")
        except perturbopt.SolverError as error:
            outcome = type(error).__name__
            expected = EXPECTED.get(fault)
            located = (error.sample, error.batch_item if error.batch_item is not None else 0)
            if (
                expected is None
                or not committed
                or type(error) is not expected
                or located not in faulty
            ):
                report.wrong_results += 1
                report.problems.append(f"call {call}: fault {fault} raised {error!r}")
        finally:
            if timer is not None:
                timer.cancel()
        try:  # a SIGINT that arrived after the call returned
            time.sleep(0)
        except KeyboardInterrupt:
            pass
        seconds = time.perf_counter() - began
        if seconds > CALL_BOUND:
            report.hangs += 1
            report.problems.append(f"call {call}: fault {fault} took {seconds:.1f} s")
        table = report.outcomes.setdefault(fault, {})
        table[outcome] = table.get(outcome, 0) + 1
        report.calls += 1
        rss.append(_rss_mib())
    perturbopt.shutdown_pools()
    report.orphans_after_shutdown = _children()
    window = min(100, len(rss))
    report.rss_first_100_mib = round(float(np.mean(rss[:window])), 1)
    report.rss_last_100_mib = round(float(np.mean(rss[-window:])), 1)
    report.seconds = round(time.perf_counter() - started, 1)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    # A hang must not hang the soak: dump every thread and exit if a call runs away.
    faulthandler.dump_traceback_later(CALL_BOUND * args.calls, exit=True)
    report = run_soak(args.calls, args.seed)
    faulthandler.cancel_dump_traceback_later()
    if args.json:
        print(json.dumps(asdict(report)))
        return
    print(
        f"calls {report.calls}, faults injected {report.faults_injected}, "
        f"wrong results {report.wrong_results}, hangs {report.hangs}, orphans after "
        f"shutdown {report.orphans_after_shutdown}, resident memory "
        f"{report.rss_first_100_mib} MiB (first 100 calls) -> {report.rss_last_100_mib} "
        f"MiB (last 100), {report.seconds} s"
    )
    print("| fault | outcomes |\n|---|---|")
    for fault in FAULTS:
        outcomes = report.outcomes.get(fault, {})
        print(f"| {fault} | " + ", ".join(f"{k} x{v}" for k, v in sorted(outcomes.items())) + " |")
    for problem in report.problems:
        print("PROBLEM:", problem)


if __name__ == "__main__":
    main()
