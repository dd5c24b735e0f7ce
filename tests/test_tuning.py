"""Calls run where they were measured fastest, the calling thread alone included."""

from __future__ import annotations

import numpy as np

import perturbopt
from perturbopt._engine.tuning import EXPLORE_EVERY, Tuner


def test_a_preferred_mode_good_enough_is_kept_without_trying_the_others() -> None:
    times = Tuner()
    times.record_probe(0.02, 10)  # the calling thread: 2 ms a row
    seen = []
    for _ in range(3 * EXPLORE_EVERY):
        mode = times.pick(["threads", "processes", "inline"])
        seen.append(mode)
        times.record_call(mode, 0.001, 1)  # threads: 1 ms a row, twice as fast
    assert set(seen) == {"threads"}


def test_every_mode_is_tried_then_the_fastest_is_kept_and_the_others_rechecked() -> None:
    times = Tuner()
    modes = ["threads", "processes", "inline"]
    seen = []
    for _ in range(3 * EXPLORE_EVERY):
        mode = times.pick(modes)
        seen.append(mode)
        # nothing much faster than the calling thread: keep checking the others
        times.record_call(mode, {"threads": 2.4, "processes": 2.0, "inline": 2.5}[mode], 1)
    # each parallel mode's first call is not measured; then each mode is measured twice
    assert seen[:8] == ["threads", "threads", "processes", "processes", "inline"] + modes
    settled = seen[8:]
    assert settled.count("processes") > 2 * EXPLORE_EVERY  # the fastest
    assert "threads" in settled and "inline" in settled  # the others, now and then


def test_one_disturbed_call_does_not_condemn_a_mode() -> None:
    times = Tuner()
    modes = ["threads", "inline"]
    # threads: an unmeasured start, one call slowed down by other work, then a fair one
    measured = {"threads": iter([1.0, 5.0, 1.0]), "inline": iter([1.5])}
    seen = []
    for _ in range(4):
        mode = times.pick(modes)
        seen.append(mode)
        times.record_call(mode, next(measured[mode]), 1)
    assert seen == ["threads", "threads", "inline", "threads"]
    assert [times.pick(modes) for _ in range(2 * EXPLORE_EVERY)] == ["threads"] * 2 * EXPLORE_EVERY


def test_a_first_parallel_call_is_not_measured_but_an_inline_one_is() -> None:
    times = Tuner()
    times.record_call("threads", 10.0, 1)
    times.record_call("inline", 1.0, 1)
    assert (
        "threads" not in times.wall_seconds_per_row and times.wall_seconds_per_row["inline"] == 1.0
    )


class SlowOnThreads:
    """argmax that says it releases the GIL but holds it in a pure Python loop."""

    sense = "max"
    name = "slow-on-threads"
    releases_gil = True

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        best = 0
        for i, value in enumerate(theta.tolist()):
            for _ in range(200):
                pass
            if value > theta[best]:
                best = i
        y = np.zeros(theta.shape)
        y[best] = 1.0
        return y


def test_a_solver_that_does_not_gain_from_workers_ends_up_in_the_calling_thread() -> None:
    theta = np.random.default_rng(0).normal(size=(8, 50))
    po = perturbopt.perturbed(SlowOnThreads(), num_samples=40, seed=0, n_jobs=2)
    reference = perturbopt.perturbed(SlowOnThreads(), num_samples=40, seed=0, n_jobs=1)
    for _ in range(12):
        assert po.solve(theta).samples.tobytes() == reference.solve(theta).samples.tobytes()
    times = po._spec.tuner.wall_seconds_per_row
    assert set(times) >= {"threads", "inline"}
