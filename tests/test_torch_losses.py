"""The Fenchel-Young loss: values, gradients, reductions, validation, training."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import perturbopt
from perturbopt.torch import FenchelYoungLoss, fenchel_young_loss

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def one_hot_argmin(t: np.ndarray) -> np.ndarray:
    return np.eye(t.shape[-1])[np.argmin(t)]


THETA = np.array([[0.3, -1.2, 0.8, 0.1], [1.5, 0.2, -0.4, 1.4], [0.0, 0.0, 0.5, -2.0]])
LABELS = np.array([[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]], dtype=float)


def test_max_sense_value_and_gradient():
    options = {"epsilon": 0.7, "num_samples": 25, "seed": 0, "n_jobs": 1}
    reference = perturbopt.perturbed("argmax", **options).solve(THETA)
    theta = torch.tensor(THETA, requires_grad=True)
    loss = FenchelYoungLoss("argmax", reduction="none", **options)(theta, torch.tensor(LABELS))
    np.testing.assert_allclose(
        loss.detach().numpy(), reference.value - (THETA * LABELS).sum(axis=1), rtol=1e-12
    )
    loss.sum().backward()
    np.testing.assert_allclose(theta.grad.numpy(), reference.mean - LABELS, rtol=1e-12, atol=1e-15)


def test_min_sense_value_and_gradient():
    options = {"epsilon": 0.7, "num_samples": 25, "seed": 1, "n_jobs": 1}
    solver = perturbopt.as_solver(one_hot_argmin, sense="min")
    reference = perturbopt.perturbed(solver, **options).solve(THETA)
    costs = torch.tensor(THETA, requires_grad=True)
    loss = FenchelYoungLoss(solver, reduction="none", **options)(costs, torch.tensor(LABELS))
    np.testing.assert_allclose(
        loss.detach().numpy(), (THETA * LABELS).sum(axis=1) - reference.value, rtol=1e-12
    )
    loss.sum().backward()
    np.testing.assert_allclose(costs.grad.numpy(), LABELS - reference.mean, rtol=1e-12, atol=1e-15)
    # the loss is small where y is the argmin of c and large where it is not
    cheapest = torch.tensor(np.eye(4)[THETA.argmin(axis=1)])
    fy = FenchelYoungLoss(solver, reduction="none", **options)
    assert (fy(costs, cheapest) < fy(costs, torch.tensor(LABELS))).all()


def test_plain_function_with_sense_min_uses_the_min_formula():
    options = {"epsilon": 0.5, "num_samples": 10, "seed": 2, "n_jobs": 1}
    reference = perturbopt.perturbed(one_hot_argmin, sense="min", **options).solve(THETA[0])
    theta = torch.tensor(THETA[0], requires_grad=True)
    loss = FenchelYoungLoss(one_hot_argmin, sense="min", **options)(theta, torch.tensor(LABELS[0]))
    assert loss.shape == ()
    assert loss.item() == pytest.approx(THETA[0] @ LABELS[0] - reference.value, rel=1e-12)
    loss.backward()
    np.testing.assert_allclose(theta.grad.numpy(), LABELS[0] - reference.mean, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_reductions(reduction):
    options = {"epsilon": 1.0, "num_samples": 15, "seed": 3, "n_jobs": 1}
    reference = perturbopt.perturbed("argmax", **options).solve(THETA)
    per_item = reference.value - (THETA * LABELS).sum(axis=1)
    expected = {"none": per_item, "mean": per_item.mean(), "sum": per_item.sum()}[reduction]
    scale = {"none": 1.0, "mean": 1 / 3, "sum": 1.0}[reduction]

    theta = torch.tensor(THETA, requires_grad=True)
    loss = FenchelYoungLoss("argmax", reduction=reduction, **options)(theta, torch.tensor(LABELS))
    assert loss.shape == ((3,) if reduction == "none" else ())
    np.testing.assert_allclose(loss.detach().numpy(), expected, rtol=1e-12)
    loss.backward(torch.ones_like(loss))
    np.testing.assert_allclose(
        theta.grad.numpy(), scale * (reference.mean - LABELS), rtol=1e-12, atol=1e-15
    )


def test_unbatched_input_gives_a_scalar_for_every_reduction():
    for reduction in ("none", "mean", "sum"):
        loss_fn = FenchelYoungLoss("argmax", num_samples=5, seed=0, n_jobs=1, reduction=reduction)
        assert loss_fn(torch.tensor(THETA[0]), torch.tensor(LABELS[0])).shape == ()


def test_functional_form_matches_the_module():
    options = {"epsilon": 0.5, "num_samples": 10, "seed": 4, "n_jobs": 1}
    a = torch.tensor(THETA, requires_grad=True)
    b = torch.tensor(THETA, requires_grad=True)
    FenchelYoungLoss("sign", reduction="sum", **options)(a, torch.tensor(np.sign(THETA))).backward()
    po = perturbopt.perturbed("sign", **options)
    fenchel_young_loss(b, torch.tensor(np.sign(THETA)), po, reduction="sum").backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=0)


def test_multiplicative_gradient_is_value_grad_minus_y():
    costs_np = np.abs(THETA) + 0.5
    options = {
        "epsilon": 0.3,
        "num_samples": 20,
        "seed": 5,
        "n_jobs": 1,
        "perturbation": "multiplicative",
    }
    solver = perturbopt.as_solver(one_hot_argmin, sense="min")
    reference = perturbopt.perturbed(solver, **options).solve(costs_np)
    costs = torch.tensor(costs_np, requires_grad=True)
    with pytest.warns(UserWarning, match="1-homogeneous in theta and zero at theta = 0"):
        loss_fn = FenchelYoungLoss(solver, reduction="sum", **options)
    loss_fn(costs, torch.tensor(LABELS)).backward()
    np.testing.assert_allclose(
        costs.grad.numpy(), LABELS - reference.value_grad, rtol=1e-12, atol=1e-15
    )


def test_integer_and_bool_labels_are_cast_to_theta_dtype():
    losses = []
    for y in (
        torch.tensor(LABELS),
        torch.tensor(LABELS, dtype=torch.int8),
        torch.tensor(LABELS, dtype=torch.bool),
    ):
        loss_fn = FenchelYoungLoss("argmax", num_samples=10, seed=6, n_jobs=1)
        theta = torch.tensor(THETA, dtype=torch.float32, requires_grad=True)
        loss = loss_fn(theta, y)
        loss.backward()
        assert loss.dtype == torch.float32 and theta.grad.dtype == torch.float32
        losses.append((loss.detach(), theta.grad))
    for loss, grad in losses[1:]:
        torch.testing.assert_close(loss, losses[0][0], rtol=0, atol=0)
        torch.testing.assert_close(grad, losses[0][1], rtol=0, atol=0)


def test_gradients_flow_to_theta_only_and_no_grad_works():
    theta = torch.tensor(THETA, requires_grad=True)
    y = torch.tensor(LABELS)
    loss_fn = FenchelYoungLoss("argmax", num_samples=10, seed=7, n_jobs=1)
    loss_fn(theta, y).backward()
    assert y.grad is None and theta.grad is not None
    with torch.no_grad():
        value = loss_fn(theta, y)
    assert not value.requires_grad and value.grad_fn is None and torch.isfinite(value)


@cuda
def test_cuda_device_is_kept():
    theta = torch.tensor(THETA, device="cuda", dtype=torch.float32, requires_grad=True)
    y = torch.tensor(LABELS, device="cuda")
    loss = FenchelYoungLoss("argmax", num_samples=10, seed=0, n_jobs=1)(theta, y)
    assert loss.device == theta.device and loss.dtype == torch.float32
    loss.backward()
    assert theta.grad.device == theta.device
    cpu = FenchelYoungLoss("argmax", num_samples=10, seed=0, n_jobs=1)(
        theta.detach().cpu(), y.cpu()
    )
    torch.testing.assert_close(loss.detach().cpu(), cpu)


# -- errors ----------------------------------------------------------------------------


@pytest.fixture
def loss_fn():
    return FenchelYoungLoss("argmax", num_samples=5, seed=0, n_jobs=1)


def test_mismatched_shapes_are_refused(loss_fn):
    with pytest.raises(ValueError, match=r"y has shape \(3, 3\) but theta has shape \(3, 4\)"):
        loss_fn(torch.zeros(3, 4), torch.zeros(3, 3))
    with pytest.raises(ValueError, match=r"y has shape \(4,\) but theta has shape \(3, 4\)"):
        loss_fn(torch.zeros(3, 4), torch.zeros(4))


def test_integer_theta_is_refused(loss_fn):
    with pytest.raises(
        TypeError,
        match=r"theta must be a floating-point tensor, got dtype "
        r"torch.int64",
    ):
        loss_fn(torch.zeros(3, 4, dtype=torch.int64), torch.zeros(3, 4))


def test_labels_requiring_grad_are_refused(loss_fn):
    with pytest.raises(ValueError, match=r"y requires grad, but labels must not.*y.detach\(\)"):
        loss_fn(torch.zeros(3, 4), torch.zeros(3, 4, requires_grad=True))


def test_labels_on_another_device_are_refused(loss_fn):
    with pytest.raises(
        ValueError,
        match=r"y is on device meta but theta is on cpu; move the "
        r"label with y.to\(theta.device\)",
    ):
        loss_fn(torch.zeros(3, 4), torch.zeros(3, 4, device="meta"))


def test_bad_labels_are_refused(loss_fn):
    with pytest.raises(TypeError, match=r"y must be a torch.Tensor, got list"):
        loss_fn(torch.zeros(2), [0.0, 1.0])
    with pytest.raises(TypeError, match=r"y must be a real tensor"):
        loss_fn(torch.zeros(2), torch.zeros(2, dtype=torch.complex64))
    with pytest.raises(ValueError, match=r"y contains inf at y\[1, 0\]"):
        loss_fn(torch.zeros(2, 2), torch.tensor([[0.0, 1.0], [float("inf"), 0.0]]))


def test_wrong_reduction_is_refused():
    with pytest.raises(ValueError, match=r"reduction must be 'none', 'mean' or 'sum', got 'avg'"):
        FenchelYoungLoss("argmax", reduction="avg")
    with pytest.raises(ValueError, match=r"reduction must be"):
        fenchel_young_loss(
            torch.zeros(2), torch.zeros(2), perturbopt.perturbed("argmax"), reduction=None
        )


# -- learning --------------------------------------------------------------------------


def test_training_a_linear_model_recovers_a_planted_map():
    """Doubly stochastic training (fresh minibatch, one perturbation per step)."""
    p, k = 6, 4
    g = torch.Generator().manual_seed(0)
    w_true = torch.randn(k, p, generator=g, dtype=torch.float64)
    w_true -= w_true.mean(dim=0)  # argmax ignores a shift shared by all classes

    def labels(x):
        return torch.nn.functional.one_hot((x @ w_true.T).argmax(dim=1), k)

    model = torch.nn.Linear(p, k, bias=False).double()
    torch.nn.init.zeros_(model.weight)
    loss_fn = FenchelYoungLoss("argmax", epsilon=1.0, num_samples=1, seed=0, n_jobs=1)
    eval_fn = FenchelYoungLoss("argmax", epsilon=1.0, num_samples=200, seed=1, n_jobs=1)
    x_test = torch.randn(500, p, generator=g, dtype=torch.float64)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    with torch.no_grad():
        before = eval_fn(model(x_test), labels(x_test)).item()
    for _ in range(300):
        x = torch.randn(32, p, generator=g, dtype=torch.float64)
        loss = loss_fn(model(x), labels(x))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        after = eval_fn(model(x_test), labels(x_test)).item()
        w = model.weight - model.weight.mean(dim=0)
        cosine = torch.nn.functional.cosine_similarity(w.flatten(), w_true.flatten(), dim=0)
        accuracy = (x_test @ w.T).argmax(dim=1) == (x_test @ w_true.T).argmax(dim=1)
    assert after < 0.25 * before
    assert cosine > 0.95
    assert accuracy.double().mean() > 0.9
