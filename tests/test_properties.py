"""Property-based tests of the public API: for random shapes, batch axes, noise types,
scales, sample counts, noises, perturbations, baselines and worker counts, every call
either satisfies its invariants or raises a documented error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import perturbopt

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SOLVERS = ["argmax", "topk", "ranking", "sign"]


@st.composite
def problems(draw: st.DrawFn) -> dict:
    """A solver, a theta with up to two batch axes, and the options of one call."""
    solver = draw(st.sampled_from(SOLVERS))
    d = draw(st.integers(2, 7))
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    perturbation = draw(st.sampled_from(["additive", "multiplicative"]))
    noise = draw(st.sampled_from(["gaussian", "gumbel"]))
    epsilon = draw(st.floats(0.05, 3.0))
    antithetic = noise == "gaussian" and draw(st.booleans())
    samples = draw(st.integers(1, 12)) * (2 if antithetic else 1)
    elements = st.floats(0.1, 4.0) if perturbation == "multiplicative" else st.floats(-4.0, 4.0)
    theta = np.asarray(
        draw(
            st.lists(elements, min_size=d * int(np.prod(batch)), max_size=d * int(np.prod(batch)))
        ),
        dtype=np.float64,
    ).reshape(batch + (d,))
    options = {
        "epsilon": epsilon,
        "num_samples": samples,
        "noise": noise,
        "perturbation": perturbation,
        "antithetic": antithetic,
        "dtype": draw(st.sampled_from(["float64", "float32"])),
        "keep_noise": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**32)),
    }
    if solver == "topk":
        options["solver_options"] = {"k": draw(st.integers(1, d))}
    return {
        "solver": solver,
        "theta": theta,
        "options": options,
        "baseline": draw(st.sampled_from(["none", "loo", "control"])),
    }


def _in_polytope(solver: str, mean: np.ndarray, options: dict) -> None:
    d = mean.shape[-1]
    if solver == "argmax":
        assert np.all(mean >= 0) and np.allclose(mean.sum(axis=-1), 1.0)
    elif solver == "topk":
        k = options["solver_options"]["k"]
        assert np.all((mean >= 0) & (mean <= 1)) and np.allclose(mean.sum(axis=-1), k)
    elif solver == "ranking":
        assert np.all((mean >= 1) & (mean <= d))
        assert np.allclose(mean.sum(axis=-1), d * (d + 1) / 2)
    else:
        assert np.all(np.abs(mean) <= 1)


def _perturbed_or_documented_error(problem: dict, n_jobs: int) -> perturbopt.Perturbed | None:
    options = problem["options"]
    try:
        return perturbopt.perturbed(problem["solver"], n_jobs=n_jobs, **options)
    except ValueError as error:  # documented: multiplicative Gumbel needs epsilon < 1
        assert options["noise"] == "gumbel" and options["epsilon"] >= 1
        assert "epsilon < 1" in str(error)
        return None


@SETTINGS
@given(problems())
def test_every_call_keeps_its_invariants(problem: dict) -> None:
    po = _perturbed_or_documented_error(problem, 1)
    if po is None:
        return
    theta = problem["theta"]
    result = po.solve(theta)
    shape = theta.shape
    assert result.mean.shape == shape
    assert result.samples.shape == (po.num_samples,) + shape
    assert np.shape(result.value) == shape[:-1]
    _in_polytope(problem["solver"], result.mean, problem["options"])
    g = np.random.default_rng(0).normal(size=shape)
    vjp = result.vjp(g, baseline=problem["baseline"])
    jacobian = result.jacobian(baseline=problem["baseline"])
    np.testing.assert_allclose(
        vjp, np.einsum("...ij,...i->...j", jacobian, g), rtol=1e-7, atol=1e-9
    )
    assert np.all(np.isfinite(vjp))


@SETTINGS
@given(problems())
def test_results_are_bit_identical_for_any_number_of_workers(problem: dict) -> None:
    serial = _perturbed_or_documented_error(problem, 1)
    parallel = _perturbed_or_documented_error(problem, 2)
    if serial is None or parallel is None:
        return
    theta = problem["theta"]
    a, b = serial.solve(theta), parallel.solve(theta)
    assert a.samples.tobytes() == b.samples.tobytes()
    assert a.sample_values.tobytes() == b.sample_values.tobytes()
    g = np.ones(theta.shape)
    assert (
        a.vjp(g, baseline=problem["baseline"]).tobytes()
        == b.vjp(g, baseline=problem["baseline"]).tobytes()
    )


@SETTINGS
@given(problems())
def test_the_torch_layer_is_the_numpy_estimate(problem: dict) -> None:
    torch = pytest.importorskip("torch")
    from perturbopt.torch import PerturbedOptimizer

    po = _perturbed_or_documented_error(problem, 1)
    assume(po is not None)
    layer = PerturbedOptimizer(
        problem["solver"], baseline=problem["baseline"], **problem["options"]
    )
    theta_np = problem["theta"]
    theta = torch.tensor(theta_np, requires_grad=True)
    out = layer(theta, seed=11)
    g = np.random.default_rng(1).normal(size=theta_np.shape)
    out.backward(torch.tensor(g))
    expected = po.solve(theta_np, seed=11)
    np.testing.assert_array_equal(out.detach().numpy(), expected.mean)
    np.testing.assert_allclose(
        theta.grad.numpy(), expected.vjp(g, baseline=problem["baseline"]), rtol=1e-12, atol=1e-12
    )


@SETTINGS
@given(
    st.one_of(
        st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=2), st.booleans(), st.none()
    ),
    st.sampled_from(["epsilon", "num_samples", "n_jobs", "timeout", "keep_noise"]),
)
def test_any_option_value_is_accepted_or_refused_by_name(value: object, name: str) -> None:
    try:
        perturbopt.perturbed("argmax", **{name: value})
    except (TypeError, ValueError) as error:
        assert name in str(error)
