"""The torch layers: PerturbedOptimizer, PerturbedOptimum, their functional forms.

Statistical checks use fixed seeds and tolerances of a few Monte-Carlo standard
errors, computed from the same samples the layer used.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy.special import logsumexp, softmax
from scipy.stats import norm

torch = pytest.importorskip("torch")

import perturbopt
from perturbopt.torch import (
    PerturbedOptimizer,
    PerturbedOptimum,
    perturbed_optimizer,
    perturbed_optimum,
)

Z_TOL = 5.0  # standard errors allowed in statistical checks
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def vjp_terms(result: perturbopt.PerturbedResult, g: np.ndarray) -> np.ndarray:
    """Per-sample terms ``(<y_l, g> - b_l) grad nu(Z_l) / eps`` of the leave-one-out VJP
    for one unbatched additive instance, ``(M, d)``: their mean is the VJP, their
    spread gives its standard error."""
    samples = result.samples.astype(np.float64)
    inner = samples @ g
    m = inner.shape[0]
    loo = (inner.sum() - inner) / (m - 1)
    return (inner - loo)[:, None] * result.plan.noise.score(result.noise) / result.epsilon


def standard_error(terms: np.ndarray) -> np.ndarray:
    return terms.std(axis=0, ddof=1) / np.sqrt(terms.shape[0])


# -- agreement with the numpy core --------------------------------------------------


@pytest.mark.parametrize("baseline", ["none", "loo", "control"])
def test_forward_and_gradient_equal_the_numpy_estimators(baseline):
    rng = np.random.default_rng(1)
    theta_np, g_np = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    options = {"epsilon": 0.5, "num_samples": 40, "seed": 0, "n_jobs": 1}
    layer = PerturbedOptimizer("argmax", baseline=baseline, **options)
    theta = torch.tensor(theta_np, requires_grad=True)
    out = layer(theta)
    out.backward(torch.tensor(g_np))

    expected = perturbopt.perturbed("argmax", **options).solve(theta_np)
    np.testing.assert_array_equal(out.detach().numpy(), expected.mean)
    np.testing.assert_allclose(
        theta.grad.numpy(), expected.vjp(g_np, baseline=baseline), rtol=1e-12, atol=1e-14
    )
    assert np.abs(theta.grad.numpy()).max() > 0


def test_released_noise_gives_the_same_gradient_holding_only_the_solutions():
    rng = np.random.default_rng(2)
    theta_np, g_np = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    grads = []
    for keep_noise in (True, False):
        layer = PerturbedOptimizer(
            "argmax", epsilon=0.5, num_samples=40, seed=0, keep_noise=keep_noise
        )
        theta = torch.tensor(theta_np, requires_grad=True)
        out = layer(theta)
        held = out.grad_fn.result.noise_cache  # what the graph keeps for backward
        assert (held is None) == (not keep_noise)
        out.backward(torch.tensor(g_np))
        grads.append(theta.grad.numpy().tobytes())
    assert grads[0] == grads[1]


def test_backward_calls_no_solver():
    calls = []

    def argmax(t):
        calls.append(1)
        return np.eye(t.shape[-1])[np.argmax(t)]

    layer = PerturbedOptimizer(argmax, num_samples=7, seed=0, n_jobs=1)
    theta = torch.randn(4, requires_grad=True)
    out = layer(theta)
    solved = len(calls)
    out[1].backward()
    assert solved == 7 and len(calls) == solved


def test_functional_form_matches_the_module():
    theta_np = np.array([[0.2, -1.0, 0.5], [1.0, 0.0, 0.3]])
    layer = PerturbedOptimizer("sign", epsilon=0.8, num_samples=30, seed=3, n_jobs=1)
    po = perturbopt.perturbed("sign", epsilon=0.8, num_samples=30, seed=3, n_jobs=1)
    a = torch.tensor(theta_np, requires_grad=True)
    b = torch.tensor(theta_np, requires_grad=True)
    layer(a).pow(2).sum().backward()
    perturbed_optimizer(b, po).pow(2).sum().backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=0)


def test_unbatched_and_multidimensional_instances_keep_their_shape():
    layer = PerturbedOptimizer("argmax", num_samples=10, seed=0, n_jobs=1)
    assert layer(torch.randn(6)).shape == (6,)
    grid = PerturbedOptimizer(
        lambda t: (t > 0).astype(float), ndim=2, num_samples=10, seed=0, n_jobs=1
    )
    theta = torch.randn(3, 2, 4, requires_grad=True)
    out = grid(theta)
    assert out.shape == (3, 2, 4)
    out.sum().backward()
    assert theta.grad.shape == (3, 2, 4)


def test_n_jobs_2_gives_bit_identical_values_and_gradients():
    theta_np = np.random.default_rng(2).normal(size=(4, 6))
    grads = []
    for n_jobs in (1, 2):
        layer = PerturbedOptimizer(
            "topk", solver_options={"k": 2}, epsilon=0.5, num_samples=20, seed=5, n_jobs=n_jobs
        )
        theta = torch.tensor(theta_np, requires_grad=True)
        out = layer(theta)
        out[:, 0].sum().backward()
        grads.append((out.detach(), theta.grad))
    torch.testing.assert_close(grads[0][0], grads[1][0], rtol=0, atol=0)
    torch.testing.assert_close(grads[0][1], grads[1][1], rtol=0, atol=0)


# -- closed forms --------------------------------------------------------------------


def test_gumbel_argmax_matches_softmax_and_its_jacobian():
    eps, m = 0.7, 100_000
    theta_np = np.array([0.5, -0.3, 1.2, 0.0, 0.8])
    g_np = np.array([1.0, -2.0, 0.5, 0.0, 1.5])
    options = {"epsilon": eps, "num_samples": m, "noise": "gumbel", "seed": 11, "n_jobs": 1}
    layer = PerturbedOptimizer("argmax", **options)
    theta = torch.tensor(theta_np, requires_grad=True)
    y = layer(theta)
    (grad,) = torch.autograd.grad(y, theta, torch.tensor(g_np))

    p = softmax(theta_np / eps)
    mean_se = np.sqrt(p * (1 - p) / m)
    np.testing.assert_array_less(np.abs(y.detach().numpy() - p), Z_TOL * mean_se)

    exact = (p * g_np - p * (p @ g_np)) / eps  # J^T g, J = (diag(p) - p p^T) / eps
    terms = vjp_terms(perturbopt.perturbed("argmax", **options).solve(theta_np), g_np)
    np.testing.assert_allclose(terms.mean(axis=0), grad.numpy(), rtol=1e-10, atol=1e-12)
    se = standard_error(terms)
    assert Z_TOL * se.max() < 0.1 * np.abs(exact).max()  # the check has teeth
    np.testing.assert_array_less(np.abs(grad.numpy() - exact), Z_TOL * se)


def test_gaussian_sign_matches_normal_cdf_and_its_derivative():
    eps, m = 0.8, 50_000
    theta_np = np.array([-1.0, -0.3, 0.1, 0.4, 1.5])
    g_np = np.array([0.5, 1.0, -1.0, 2.0, 1.0])
    options = {"epsilon": eps, "num_samples": m, "seed": 12, "n_jobs": 1}
    layer = PerturbedOptimizer("sign", **options)
    theta = torch.tensor(theta_np, requires_grad=True)
    y = layer(theta)
    (grad,) = torch.autograd.grad(y, theta, torch.tensor(g_np))

    mean = 2 * norm.cdf(theta_np / eps) - 1
    np.testing.assert_array_less(
        np.abs(y.detach().numpy() - mean), Z_TOL * np.sqrt((1 - mean**2) / m)
    )

    exact = g_np * 2 * norm.pdf(theta_np / eps) / eps  # the Jacobian is diagonal
    terms = vjp_terms(perturbopt.perturbed("sign", **options).solve(theta_np), g_np)
    np.testing.assert_allclose(terms.mean(axis=0), grad.numpy(), rtol=1e-10, atol=1e-12)
    se = standard_error(terms)
    assert Z_TOL * se.max() < 0.1 * np.abs(exact).max()
    np.testing.assert_array_less(np.abs(grad.numpy() - exact), Z_TOL * se)


@pytest.mark.parametrize("batched", [False, True])
def test_perturbed_optimum_with_gumbel_argmax_is_a_shifted_logsumexp(batched):
    eps, m = 0.5, 20_000
    theta_np = np.array([[0.3, -0.2, 1.0, 0.6], [2.0, 0.0, -1.0, 1.9]])
    if not batched:
        theta_np = theta_np[0]
    options = {"epsilon": eps, "num_samples": m, "noise": "gumbel", "seed": 4, "n_jobs": 1}
    fmax = PerturbedOptimum("argmax", **options)
    theta = torch.tensor(theta_np, requires_grad=True)
    value = fmax(theta)
    assert value.shape == ((2,) if batched else ())

    reference = perturbopt.perturbed("argmax", **options).solve(theta_np)
    exact = eps * logsumexp(theta_np / eps, axis=-1) + eps * np.euler_gamma
    np.testing.assert_array_less(
        np.abs(value.detach().numpy() - exact), Z_TOL * np.asarray(reference.value_stderr)
    )
    np.testing.assert_allclose(value.detach().numpy(), reference.value, rtol=1e-12)

    value.sum().backward()  # gradient of F_eps is y_eps = softmax(theta / eps)
    np.testing.assert_array_equal(theta.grad.numpy(), reference.value_grad)
    np.testing.assert_array_less(
        np.abs(theta.grad.numpy() - softmax(theta_np / eps, axis=-1)),
        Z_TOL * reference.stderr + 1e-12,
    )


def test_perturbed_optimum_gradient_is_scaled_by_the_upstream_gradient():
    theta_np = np.array([[0.3, -0.2, 1.0], [2.0, 0.0, -1.0]])
    po = perturbopt.perturbed("argmax", num_samples=50, seed=9, n_jobs=1)
    reference = perturbopt.perturbed("argmax", num_samples=50, seed=9, n_jobs=1).solve(theta_np)
    theta = torch.tensor(theta_np, requires_grad=True)
    perturbed_optimum(theta, po).backward(torch.tensor([2.0, -3.0], dtype=torch.float64))
    expected = reference.mean * np.array([[2.0], [-3.0]])
    np.testing.assert_allclose(theta.grad.numpy(), expected, rtol=1e-12)


def test_perturbed_optimum_multiplicative_gradient_is_value_grad():
    theta_np = np.array([0.5, 1.5, 1.0, 2.0])
    options = {
        "epsilon": 0.3,
        "num_samples": 30,
        "perturbation": "multiplicative",
        "seed": 1,
        "n_jobs": 1,
    }
    reference = perturbopt.perturbed("argmax", **options).solve(theta_np)
    theta = torch.tensor(theta_np, requires_grad=True)
    PerturbedOptimum("argmax", **options)(theta).backward()
    np.testing.assert_allclose(theta.grad.numpy(), reference.value_grad, rtol=1e-12)
    assert not np.allclose(reference.value_grad, reference.mean)  # a different formula


# -- dtypes, devices, modes -------------------------------------------------------------


def test_float32_is_kept_and_matches_float64():
    theta_np = np.random.default_rng(3).normal(size=(2, 5))
    outs = {}
    for dtype in (torch.float32, torch.float64):
        layer = PerturbedOptimizer("argmax", num_samples=30, seed=0, n_jobs=1)
        theta = torch.tensor(theta_np, dtype=dtype, requires_grad=True)
        out = layer(theta)
        out[:, 1].sum().backward()
        assert out.dtype == dtype and theta.grad.dtype == dtype
        outs[dtype] = (out.detach().double(), theta.grad.double())
    torch.testing.assert_close(outs[torch.float32][0], outs[torch.float64][0], rtol=0, atol=1e-7)
    torch.testing.assert_close(outs[torch.float32][1], outs[torch.float64][1], rtol=1e-5, atol=1e-5)
    fmax = PerturbedOptimum("argmax", num_samples=5, seed=0, n_jobs=1)
    assert fmax(torch.tensor(theta_np, dtype=torch.float32)).dtype == torch.float32


def test_no_grad_gives_values_without_a_graph():
    theta_np = np.array([0.1, 0.9, 0.3])
    theta = torch.tensor(theta_np, requires_grad=True)
    layer = PerturbedOptimizer("argmax", num_samples=20, seed=0, n_jobs=1)
    fmax = PerturbedOptimum("argmax", num_samples=20, seed=0, n_jobs=1)
    with torch.no_grad():
        out, value = layer(theta), fmax(theta)
    assert not out.requires_grad and out.grad_fn is None
    assert not value.requires_grad
    reference = perturbopt.perturbed("argmax", num_samples=20, seed=0, n_jobs=1).solve(theta_np)
    np.testing.assert_array_equal(out.numpy(), reference.mean)
    assert value.item() == pytest.approx(reference.value, rel=1e-12)


def test_input_without_requires_grad_gives_an_output_without_grad():
    out = PerturbedOptimizer("argmax", num_samples=5, seed=0, n_jobs=1)(torch.randn(3))
    assert not out.requires_grad


def test_hard_at_eval_returns_the_unperturbed_solution_in_eval_mode_only():
    theta = torch.tensor([[0.1, 0.9, 0.3], [2.0, -1.0, 1.9]], requires_grad=True)
    hard = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    layer = PerturbedOptimizer(
        "argmax", epsilon=1.0, num_samples=50, seed=0, n_jobs=1, hard_at_eval=True
    )
    soft = layer(theta)
    assert not torch.equal(soft.detach(), hard)  # training mode: perturbed mean
    layer.eval()
    out = layer(theta)
    torch.testing.assert_close(out, hard, rtol=0, atol=0)
    assert out.dtype == theta.dtype and not out.requires_grad
    layer.train()
    assert layer(theta).requires_grad

    plain = PerturbedOptimizer("argmax", num_samples=50, seed=0, n_jobs=1).eval()
    assert not torch.equal(plain(theta).detach(), hard)  # hard_at_eval off: still soft


@cuda
def test_cuda_device_is_kept():
    theta = torch.randn(3, 4, device="cuda", requires_grad=True)
    layer = PerturbedOptimizer("argmax", num_samples=10, seed=0, n_jobs=1)
    out = layer(theta)
    assert out.device == theta.device and out.dtype == theta.dtype
    out[:, 0].sum().backward()
    assert theta.grad.device == theta.device
    cpu = PerturbedOptimizer("argmax", num_samples=10, seed=0, n_jobs=1)(theta.detach().cpu())
    torch.testing.assert_close(out.detach().cpu(), cpu)

    theta.grad = None
    value = PerturbedOptimum("argmax", num_samples=10, seed=0, n_jobs=1)(theta)
    assert value.device == theta.device
    value.sum().backward()
    assert theta.grad.device == theta.device

    layer = PerturbedOptimizer("argmax", num_samples=10, seed=0, n_jobs=1, hard_at_eval=True)
    assert layer.eval()(theta).device == theta.device


# -- errors ----------------------------------------------------------------------------


def test_non_tensor_theta_is_refused():
    layer = PerturbedOptimizer("argmax", num_samples=5, n_jobs=1)
    with pytest.raises(TypeError, match=r"theta must be a torch.Tensor, got ndarray"):
        layer(np.zeros(3))


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
def test_integer_and_bool_theta_are_refused(dtype):
    layer = PerturbedOptimizer("argmax", num_samples=5, n_jobs=1)
    with pytest.raises(
        TypeError,
        match=rf"theta must be a floating-point tensor, got dtype "
        rf"{dtype}.*theta.float\(\)",
    ):
        layer(torch.zeros(3, dtype=dtype))
    with pytest.raises(TypeError, match="floating-point"):
        PerturbedOptimum("argmax", num_samples=5, n_jobs=1)(torch.zeros(3, dtype=dtype))


def test_complex_theta_is_refused():
    with pytest.raises(
        TypeError,
        match=r"theta must be a real floating-point tensor, got "
        r"dtype torch.complex64",
    ):
        PerturbedOptimizer("argmax", num_samples=5, n_jobs=1)(torch.zeros(3, dtype=torch.complex64))


def test_solver_is_never_called_on_invalid_input():
    calls = []
    layer = PerturbedOptimizer(lambda t: calls.append(1) or np.sign(t), num_samples=5, n_jobs=1)
    with pytest.raises(TypeError):
        layer(torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"theta contains NaN at theta\[1\]"):
        layer(torch.tensor([0.0, float("nan"), 1.0]))
    with pytest.raises(ValueError, match=r"theta has shape \(\)"):
        layer(torch.tensor(1.0))
    assert calls == []


def test_bad_baseline_is_refused_at_construction():
    with pytest.raises(
        ValueError,
        match=r"baseline must be one of 'none', 'loo', 'control', "
        r"got 'mean'",
    ):
        PerturbedOptimizer("argmax", baseline="mean")
    with pytest.raises(ValueError, match="baseline must be"):
        perturbed_optimizer(torch.zeros(3), perturbopt.perturbed("argmax"), baseline="LOO")


def test_functional_forms_take_a_solver_with_options_or_a_perturbed_object():
    theta = torch.tensor([[0.1, 0.9, 0.3]], dtype=torch.float64)
    options = {"epsilon": 0.5, "num_samples": 50, "seed": 3}
    built = perturbed_optimizer(theta, "argmax", **options)
    ready = perturbed_optimizer(theta, perturbopt.perturbed("argmax", **options))
    assert torch.equal(built, ready)
    with pytest.raises(TypeError, match="got a ready Perturbed object and options"):
        perturbed_optimum(theta, perturbopt.perturbed("argmax"), epsilon=2.0)
    with pytest.raises(TypeError, match="unknown option 'epsilonn'; did you mean 'epsilon'"):
        perturbed_optimizer(theta, "argmax", epsilonn=2.0)


def test_modules_take_a_perturbed_object_too():
    po = perturbopt.perturbed("argmax", epsilon=0.5, num_samples=50, seed=3)
    assert PerturbedOptimizer(po).perturbed is po
    with pytest.raises(
        TypeError, match="PerturbedOptimum got a ready Perturbed object and options"
    ):
        PerturbedOptimum(po, num_samples=3)


def test_the_names_removed_in_0_3_are_gone():
    import perturbopt.torch as pt

    assert not hasattr(pt, "PerturbedMax") and not hasattr(pt, "perturbed_max")


def test_options_reach_the_core_engine():
    layer = PerturbedOptimizer(
        "topk",
        epsilon=0.25,
        num_samples=8,
        noise="gaussian",
        antithetic=True,
        solver_options={"k": 3},
        n_jobs=1,
    )
    assert layer.perturbed.epsilon == 0.25 and layer.perturbed.num_samples == 8
    assert layer.perturbed.antithetic and layer.perturbed.solver.k == 3
    assert "epsilon=0.25" in repr(layer) and "baseline='loo'" in repr(layer)
    with pytest.raises(ValueError, match="antithetic pairs need a symmetric noise"):
        PerturbedOptimum("argmax", noise="gumbel", antithetic=True)
    assert list(layer.parameters()) == []


# -- optional dependency ---------------------------------------------------------------


def _run(code: str) -> subprocess.CompletedProcess:
    # installed plugins are not perturbopt's core: leave them out
    env = {**os.environ, "PERTURBOPT_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=env,
    )


def test_importing_perturbopt_does_not_import_torch():
    done = _run(
        "import sys, perturbopt; perturbopt.perturbed('argmax', seed=0)([1.0, 2.0]); "
        "print('torch' in sys.modules)"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_perturbopt_torch_without_torch_says_what_to_install():
    done = _run(
        "import sys; sys.modules['torch'] = None\n"
        "try:\n    import perturbopt.torch\n"
        "except ImportError as error:\n    print(error)\n"
    )
    assert done.returncode == 0, done.stderr
    assert "pip install perturbopt[torch]" in done.stdout


# -- an empty batch ------------------------------------------------------------------------


def _never_called(theta: np.ndarray) -> np.ndarray:
    raise AssertionError("an empty batch must not call the solver")


@pytest.mark.parametrize("shape", [(0, 4), (2, 0, 4), (0, 3, 4)])
def test_an_empty_batch_gives_an_empty_result_and_a_zero_gradient(shape):
    # torch modules return an empty result for B = 0; the layers used to refuse it.
    theta = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    layer = PerturbedOptimizer(_never_called, num_samples=5)
    y = layer(theta)
    assert y.shape == theta.shape and y.dtype == theta.dtype and y.requires_grad
    y.sum().backward()
    assert theta.grad is not None and theta.grad.shape == theta.shape
    theta.grad = None
    value = PerturbedOptimum(_never_called, num_samples=5)(theta)
    assert value.shape == shape[:-1]
    value.sum().backward()
    assert theta.grad is not None and theta.grad.shape == theta.shape
    layer.eval()
    layer.hard_at_eval = True
    assert layer(theta).shape == theta.shape


@pytest.mark.parametrize(("reduction", "expected"), [("sum", 0.0), ("mean", float("nan"))])
def test_the_fenchel_young_loss_of_an_empty_batch_is_reduced_as_torch_does(reduction, expected):
    from perturbopt.torch import FenchelYoungLoss

    theta = torch.zeros(0, 3, requires_grad=True)
    y = torch.zeros(0, 3, dtype=torch.int64)
    loss_fn = FenchelYoungLoss(_never_called, reduction=reduction)
    loss = loss_fn(theta, y)
    reference = torch.nn.functional.mse_loss(theta, y.float(), reduction=reduction)
    assert loss.shape == reference.shape == ()
    np.testing.assert_equal(loss.item(), expected)
    loss.backward()
    assert theta.grad is not None and theta.grad.shape == (0, 3)
    none = FenchelYoungLoss(_never_called, reduction="none")(theta, y)
    assert none.shape == (0,)


def test_an_empty_batch_of_instances_of_the_wrong_shape_is_still_an_error():
    pytest.importorskip("perturbopt_scipy")
    layer = PerturbedOptimizer("scipy.assignment", solver_options={"shape": (3, 3)})
    with pytest.raises(ValueError, match=r"theta has shape \(0, 3, 4\).*instances of shape"):
        layer(torch.zeros(0, 3, 4))
