"""The terrain maps of the shortest-path experiment: generation (deterministic, coherent,
labelled with optimal paths, tiles that tell their terrain) and the loader of the
published Warcraft files."""

from __future__ import annotations

import itertools
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from perturbopt.experiments.terrain import (
    TERRAIN_COSTS,
    TERRAIN_NAMES,
    TILE,
    TerrainMaps,
    load_warcraft_maps,
    make_terrain_maps,
    path_costs,
    shortest_paths,
    terrain_skin,
)

pytest.importorskip("perturbopt_scipy")


@pytest.fixture(scope="module")
def maps() -> TerrainMaps:
    return make_terrain_maps(200, grid=12, seed=3)


def terrain_of(maps: TerrainMaps) -> np.ndarray:
    assert maps.terrain is not None  # generated maps know their terrain
    return maps.terrain


def test_maps_are_deterministic_from_the_seed(maps: TerrainMaps) -> None:
    again = make_terrain_maps(200, grid=12, seed=3)
    for name in ("images", "costs", "paths", "terrain"):
        np.testing.assert_array_equal(getattr(maps, name), getattr(again, name))
    other = make_terrain_maps(200, grid=12, seed=4)
    assert not np.array_equal(terrain_of(maps), terrain_of(other))


def test_shapes_types_and_costs(maps: TerrainMaps) -> None:
    assert maps.images.shape == (200, 96, 96, 3) and maps.images.dtype == np.uint8
    assert maps.costs.shape == maps.paths.shape == (200, 12, 12)
    assert maps.paths.dtype == np.int8 and maps.grid == 12 and len(maps) == 200
    terrain = terrain_of(maps)
    np.testing.assert_array_equal(maps.costs, np.asarray(TERRAIN_COSTS)[terrain])
    shares = np.bincount(terrain.ravel(), minlength=5) / terrain.size
    assert shares.min() > 0.03, dict(
        zip(TERRAIN_NAMES, shares, strict=True)
    )  # every terrain occurs
    roads = np.sum(terrain == 0, axis=(1, 2))
    assert (roads >= 12).all()  # a road crosses every map
    assert maps.subset(slice(5, 9)).costs.shape == (4, 12, 12)


def test_terrain_is_spatially_coherent(maps: TerrainMaps) -> None:
    """Horizontal neighbours share their terrain far more often than independent cells
    with the same terrain shares would (``sum_t p_t^2``)."""
    terrain = terrain_of(maps)
    same = np.mean(terrain[:, :, 1:] == terrain[:, :, :-1])
    shares = np.bincount(terrain.ravel()) / terrain.size
    independent = np.sum(shares**2)
    assert independent < 0.3
    assert same > independent + 0.3


def test_labels_are_optimal_paths_against_networkx() -> None:
    small = make_terrain_maps(8, grid=6, seed=0)
    for costs, path in zip(small.costs, small.paths, strict=True):
        graph = nx.DiGraph()
        for i, j, di, dj in itertools.product(range(6), range(6), (-1, 0, 1), (-1, 0, 1)):
            if (di or dj) and 0 <= i + di < 6 and 0 <= j + dj < 6:
                graph.add_edge((i, j), (i + di, j + dj), weight=costs[i + di, j + dj])
        best = costs[0, 0] + nx.dijkstra_path_length(graph, (0, 0), (5, 5))
        assert np.sum(path * costs) == pytest.approx(best)
    np.testing.assert_array_equal(shortest_paths(small.costs), small.paths)
    np.testing.assert_allclose(
        path_costs(small.paths, small.costs), (small.paths * small.costs).sum(axis=(1, 2))
    )


def test_each_tile_shows_its_terrain(maps: TerrainMaps) -> None:
    """The nearest skin colour (mean over the tile's pixels) names every cell's terrain:
    the tile -> cost map can be learned from the pixels."""
    tiles = maps.images.reshape(200, 12, TILE, 12, TILE, 3).mean(axis=(2, 4))
    skin_means = terrain_skin().reshape(5, -1, TILE * TILE, 3).mean(axis=(1, 2))
    distance = np.linalg.norm(tiles[..., None, :] - skin_means, axis=-1)
    np.testing.assert_array_equal(distance.argmin(axis=-1), terrain_of(maps))


def test_generator_refuses_bad_sizes() -> None:
    with pytest.raises(ValueError, match="num_maps must be an integer >= 1"):
        make_terrain_maps(0)
    with pytest.raises(ValueError, match="grid must be an integer >= 2"):
        make_terrain_maps(3, grid=1)


# -- the published files ------------------------------------------------------------------


def write_split(folder: Path, split: str, maps: TerrainMaps, *, parts: int = 1) -> None:
    """Write ``maps`` in the published layout: uint8 images, float vertex weights and
    float 0/1 paths, whole or in parts."""
    arrays = {
        "maps": maps.images,
        "vertex_weights": maps.costs.astype(np.float32),
        "shortest_paths": maps.paths.astype(np.float32),
    }
    for kind, array in arrays.items():
        if parts == 1:
            np.save(folder / f"{split}_{kind}.npy", array)
        else:
            for number, piece in enumerate(np.array_split(array, parts)):
                np.save(folder / f"{split}_{kind}_part{number}.npy", piece)


def test_loader_reads_the_published_layout(tmp_path: Path) -> None:
    source = make_terrain_maps(10, grid=12, seed=1)
    folder = tmp_path / "warcraft_shortest_path_oneskin" / "12x12"
    folder.mkdir(parents=True)
    write_split(folder, "train", source)
    write_split(folder, "test", source.subset(slice(0, 4)), parts=2)
    train = load_warcraft_maps(folder, "train")
    np.testing.assert_array_equal(train.images, source.images)
    np.testing.assert_array_equal(train.costs, source.costs.astype(np.float32))
    np.testing.assert_array_equal(train.paths, source.paths)
    assert train.costs.dtype == np.float64 and train.paths.dtype == np.int8
    assert train.terrain is None and train.name == "Warcraft 12x12 train"
    test = load_warcraft_maps(folder, "test")  # two parts, joined
    np.testing.assert_array_equal(test.images, source.images[:4])
    first = load_warcraft_maps(folder, "train", limit=3)
    assert len(first) == 3
    np.testing.assert_array_equal(first.paths, source.paths[:3])
    assert len(load_warcraft_maps(folder, "test", limit=3)) == 3  # across the parts


def test_loader_says_what_is_wrong(tmp_path: Path) -> None:
    source = make_terrain_maps(4, grid=6, seed=2)
    write_split(tmp_path, "train", source)
    with pytest.raises(FileNotFoundError, match=r"no val_maps\.npy.*train_maps\.npy"):
        load_warcraft_maps(tmp_path, "val")
    with pytest.raises(ValueError, match="split must be 'train', 'val' or 'test'"):
        load_warcraft_maps(tmp_path, "dev")
    np.save(tmp_path / "train_shortest_paths.npy", source.paths[:3].astype(np.float32))
    with pytest.raises(
        ValueError, match="different numbers of maps: 4 maps, 4 vertex weights, 3 shortest paths"
    ):
        load_warcraft_maps(tmp_path, "train")
    np.save(tmp_path / "train_shortest_paths.npy", 2 * source.paths.astype(np.float32))
    with pytest.raises(ValueError, match="0/1 path indicators"):
        load_warcraft_maps(tmp_path, "train")
    np.save(tmp_path / "train_shortest_paths.npy", source.paths)
    np.save(tmp_path / "train_maps.npy", source.images[:, :40])
    with pytest.raises(ValueError, match=r"images must be \(N, 8k, 8k, 3\)"):
        load_warcraft_maps(tmp_path, "train")


# -- what the loader refuses, and what it converts -----------------------------------------


@pytest.fixture
def split_folder(tmp_path: Path) -> tuple[Path, TerrainMaps]:
    source = make_terrain_maps(5, grid=6, seed=4)
    write_split(tmp_path, "train", source)
    return tmp_path, source


def test_float_images_in_0_1_are_scaled_to_0_255_not_turned_black(
    split_folder: tuple[Path, TerrainMaps],
) -> None:
    folder, source = split_folder
    np.save(folder / "train_maps.npy", source.images.astype(np.float32) / 255)
    loaded = load_warcraft_maps(folder, "train")
    assert loaded.images.dtype == np.uint8
    np.testing.assert_array_equal(loaded.images, source.images)
    np.save(folder / "train_maps.npy", source.images.astype(np.float64))  # floats in 0..255
    np.testing.assert_array_equal(load_warcraft_maps(folder, "train").images, source.images)


def test_images_out_of_range_not_finite_or_of_mixed_scales_are_refused(
    split_folder: tuple[Path, TerrainMaps],
) -> None:
    folder, source = split_folder
    images = source.images.astype(np.float32)
    images[2, 3, 4, 1] = np.nan
    np.save(folder / "train_maps.npy", images)
    with pytest.raises(ValueError, match=r"train_maps\.npy\[2, 3, 4, 1\] is nan.*finite"):
        load_warcraft_maps(folder, "train")
    images[2, 3, 4, 1] = 300.0
    np.save(folder / "train_maps.npy", images)
    with pytest.raises(ValueError, match=r"0\.\.255.*train_maps\.npy\[2, 3, 4, 1\] is 300"):
        load_warcraft_maps(folder, "train")
    integers = source.images.astype(np.int16)
    integers[0, 1, 2, 0] = -1
    np.save(folder / "train_maps.npy", integers)
    with pytest.raises(ValueError, match=r"pixel values in 0\.\.255.*npy\[0, 1, 2, 0\] is -1"):
        load_warcraft_maps(folder, "train")
    mixed = source.images.astype(np.float32)
    mixed[3] /= 255  # one map in [0, 1], the others in 0..255
    np.save(folder / "train_maps.npy", mixed)
    with pytest.raises(ValueError, match=r"mixes pixel scales.*train_maps\.npy\[3\]"):
        load_warcraft_maps(folder, "train")


@pytest.mark.parametrize(
    ("bad", "words"),
    [(np.nan, "is nan.*finite"), (np.inf, "is inf.*finite"), (-1.0, "is -1.0.*non-negative")],
)
def test_costs_that_are_not_finite_or_negative_are_refused(
    split_folder: tuple[Path, TerrainMaps], bad: float, words: str
) -> None:
    folder, source = split_folder
    costs = source.costs.astype(np.float32)
    costs[3, 2, 5] = bad
    np.save(folder / "train_vertex_weights.npy", costs)
    with pytest.raises(ValueError, match=rf"train_vertex_weights\.npy\[3, 2, 5\] {words}.*map 3"):
        load_warcraft_maps(folder, "train")


def test_a_bad_cost_in_a_part_file_names_the_part_and_the_map_of_the_split(
    tmp_path: Path,
) -> None:
    source = make_terrain_maps(6, grid=6, seed=4)
    write_split(tmp_path, "test", source, parts=2)
    costs = np.load(tmp_path / "test_vertex_weights_part1.npy")
    costs[1, 0, 0] = np.nan
    np.save(tmp_path / "test_vertex_weights_part1.npy", costs)
    with pytest.raises(
        ValueError, match=r"test_vertex_weights_part1\.npy\[1, 0, 0\] \(map 4 of the split\)"
    ):
        load_warcraft_maps(tmp_path, "test")


def test_paths_that_are_not_optimal_for_their_costs_are_refused(
    split_folder: tuple[Path, TerrainMaps],
) -> None:
    folder, source = split_folder
    swapped = source.paths.copy()
    order = [0, 1, 3, 2, 4]  # maps 2 and 3 swap paths
    assert not np.array_equal(swapped[2], swapped[3])
    np.save(folder / "train_shortest_paths.npy", swapped[order].astype(np.float32))
    with pytest.raises(ValueError, match=r"train_shortest_paths\.npy\[2\] is not a shortest path"):
        load_warcraft_maps(folder, "train")
    broken = source.paths.copy()
    broken[1, -1, -1] = 0  # no longer reaches the bottom-right cell
    np.save(folder / "train_shortest_paths.npy", broken.astype(np.float32))
    with pytest.raises(ValueError, match=r"train_shortest_paths\.npy\[1\] is not a path from"):
        load_warcraft_maps(folder, "train")


def test_any_of_tied_optimal_paths_is_accepted(tmp_path: Path) -> None:
    # 3 x 3 unit costs with an expensive centre: over the top-right or the bottom-left,
    # both cost 4, and the solver picks one of them.
    costs = np.ones((2, 3, 3))
    costs[:, 1, 1] = 5.0
    paths = np.zeros((2, 3, 3), dtype=np.int8)
    paths[0, 0, 0] = paths[0, 0, 1] = paths[0, 1, 2] = paths[0, 2, 2] = 1
    paths[1, 0, 0] = paths[1, 1, 0] = paths[1, 2, 1] = paths[1, 2, 2] = 1
    assert (path_costs(shortest_paths(costs), costs) == 4).all()
    images = np.zeros((2, 3 * TILE, 3 * TILE, 3), dtype=np.uint8)
    write_split(tmp_path, "val", TerrainMaps(images, costs, paths, None, "tied"))
    np.testing.assert_array_equal(load_warcraft_maps(tmp_path, "val").paths, paths)
