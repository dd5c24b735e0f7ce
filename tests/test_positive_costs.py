"""Learning positive costs with the Fenchel-Young loss: multiplicative noise collapses
the cost network (the loss is 1-homogeneous and 0 at theta = 0), additive noise with
``scipy.grid_shortest_path``'s ``negative_costs="clip"`` learns, on the same maps,
network, seed and budget."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from perturbopt.experiments.shortest_path import (
    PathMetrics,
    ShortestPathConfig,
    make_cost_network,
    path_metrics,
    pixel_statistics,
    predict_costs,
    train_cost_network,
)
from perturbopt.experiments.terrain import TerrainMaps, make_terrain_maps, shortest_paths

torch = pytest.importorskip("torch")
pytest.importorskip("perturbopt_scipy")


@pytest.fixture(scope="module")
def maps() -> tuple[TerrainMaps, TerrainMaps]:
    return (
        make_terrain_maps(1000, grid=12, seed=[7, 0]),
        make_terrain_maps(300, grid=12, seed=[7, 1]),
    )


def untrained(maps: tuple[TerrainMaps, TerrainMaps]) -> tuple[PathMetrics, float]:
    train, test = maps
    model = make_cost_network(32, 0, *pixel_statistics(train.images))
    costs = predict_costs(model, test.images)
    return path_metrics(shortest_paths(costs), test), float(costs.mean())


def train(
    maps: tuple[TerrainMaps, TerrainMaps], perturbation: str
) -> tuple[PathMetrics, tuple[float, ...]]:
    config = ShortestPathConfig(
        train=1000, test=300, epochs=3, epsilons=(0.5,), perturbation=perturbation, seed=0
    )  # type: ignore[arg-type]
    with warnings.catch_warnings():  # a warning about multiplicative noise is welcome here
        warnings.simplefilter("ignore")
        _, curve, scale = train_cost_network(*maps, config, epsilon=0.5)
    return curve[-1], scale


def test_multiplicative_noise_collapses_the_costs(maps: tuple[TerrainMaps, TerrainMaps]) -> None:
    start, start_scale = untrained(maps)
    final, scale = train(maps, "multiplicative")
    assert 0.3 < start_scale < 3.0  # softplus of small outputs
    assert scale[-1] < 1e-4 * start_scale  # theta -> 0
    assert all(later < earlier for earlier, later in itertools.pairwise(scale))
    # the paths are no better than an untrained network's (9 % optimal on these maps)
    assert start.optimal < 0.2
    assert final.optimal <= start.optimal + 0.05


def test_additive_noise_with_clipping_learns_on_the_same_case(
    maps: tuple[TerrainMaps, TerrainMaps],
) -> None:
    start, start_scale = untrained(maps)
    final, scale = train(maps, "additive")
    assert scale[-1] > start_scale  # no collapse: the costs grow to the noise's scale
    assert final.optimal >= 0.85  # SE of a share near 0.9 on 300 maps: 0.017
    assert final.optimal >= start.optimal + 0.6
    assert final.cost_ratio <= 1.01


def test_clip_is_what_makes_additive_noise_possible() -> None:
    """Without the clip, additive noise on costs near 0 reaches Dijkstra's refusal."""
    from perturbopt.torch import FenchelYoungLoss

    theta = torch.full((2, 5, 5), 0.2, requires_grad=True)
    target = torch.as_tensor(np.stack([np.eye(5), np.eye(5)]))
    refusing = FenchelYoungLoss(
        "scipy.grid_shortest_path",
        epsilon=1.0,
        num_samples=1,
        seed=0,
        solver_options={"grid": (5, 5), "negative_costs": "error"},
    )
    with pytest.raises(Exception, match="negative_costs='clip'"):
        refusing(theta, target)
    clipping = FenchelYoungLoss(
        "scipy.grid_shortest_path",
        epsilon=1.0,
        num_samples=1,
        seed=0,
        solver_options={"grid": (5, 5)},  # negative_costs="clip" is the default
    )
    clipping(theta, target).backward()
    assert theta.grad is not None and torch.isfinite(theta.grad).all()
