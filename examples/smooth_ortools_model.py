"""Smooth your own OR-Tools model: learn knapsack item values from features.

A CP-SAT knapsack (pick items maximising value under a weight capacity) becomes a
differentiable layer in a few lines; a linear model ``theta = W x`` is trained with the
Fenchel-Young loss to predict item values whose optimal selection matches the labels.
The data come from a planted linear map; the regret (value lost by acting on the
predicted values, as a fraction of the best value) goes down as it learns.

Run: ``python examples/smooth_ortools_model.py`` (about 30 s on 2 cores).
"""

from __future__ import annotations

import numpy as np
import torch
from ortools.sat.python import cp_model

import perturbopt
from perturbopt.torch import FenchelYoungLoss

NUM_ITEMS, NUM_FEATURES, NUM_TRAIN, NUM_TEST = 12, 5, 160, 40
rng = np.random.default_rng(0)
weights = rng.integers(1, 10, size=NUM_ITEMS)

# --- your own model, made differentiable (the few lines this example is about) ----------
model = cp_model.CpModel()
take = [model.new_bool_var(f"take{i}") for i in range(NUM_ITEMS)]
model.add(sum(int(w) * t for w, t in zip(weights, take, strict=True)) <= int(weights.sum() // 3))
options = {"model": model, "variables": take}
loss_fn = FenchelYoungLoss(
    "ortools.cp_sat", solver_options=options, epsilon=0.5, num_samples=4, n_jobs=2, seed=0
)
# ------------------------------------------------------------------------------------------

solver = perturbopt.get_solver("ortools.cp_sat", **options)  # the hard argmax, for labels

# Planted data: features -> true values through a linear map; labels = optimal selections.
planted = rng.normal(size=(NUM_ITEMS, NUM_FEATURES))
features = rng.normal(size=(NUM_TRAIN + NUM_TEST, NUM_FEATURES))
values = features @ planted.T + 0.1 * rng.normal(size=(NUM_TRAIN + NUM_TEST, NUM_ITEMS))
labels = np.stack([solver.solve(v) for v in values])
x_train, x_test = torch.tensor(features[:NUM_TRAIN]), torch.tensor(features[NUM_TRAIN:])
y_train = torch.tensor(labels[:NUM_TRAIN])


def regret(linear: torch.nn.Linear) -> float:
    """Mean over test instances of (best true value - true value of the chosen items) / best."""
    with torch.no_grad():
        predicted = linear(x_test).numpy()
    lost = []
    for theta, true_values, best in zip(
        predicted, values[NUM_TRAIN:], labels[NUM_TRAIN:], strict=True
    ):
        optimum = true_values @ best
        lost.append((optimum - true_values @ solver.solve(theta)) / abs(optimum))
    return float(np.mean(lost))


linear = torch.nn.Linear(NUM_FEATURES, NUM_ITEMS, bias=False, dtype=torch.float64)
optimizer = torch.optim.Adam(linear.parameters(), lr=0.05)
print(f"epoch 0: test regret {regret(linear):.3f}")
for epoch in range(1, 7):
    total = 0.0
    for batch in torch.randperm(NUM_TRAIN, generator=torch.Generator().manual_seed(epoch)).split(
        20
    ):
        optimizer.zero_grad()
        loss = loss_fn(linear(x_train[batch]), y_train[batch])
        loss.backward()  # gradient wrt theta: y_eps(theta) - y_true, no Jacobian needed
        optimizer.step()
        total += loss.item() * len(batch)
    print(f"epoch {epoch}: train loss {total / NUM_TRAIN:.3f}, test regret {regret(linear):.3f}")
