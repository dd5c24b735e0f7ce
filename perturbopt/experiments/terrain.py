"""Warcraft-like terrain maps for the shortest-path experiment (Berthet et al., 2020,
Sect. 5.3; Vlastelica et al., 2019), generated or loaded from the published files.

A map is a ``k x k`` grid of terrain cells. Each terrain type has the cost of
Vlastelica et al.'s data set:

=========  ====
terrain    cost
=========  ====
road       0.8
grass      1.2
forest     5.3
water      7.7
mountain   9.2
=========  ====

The label of a map is the cheapest 8-connected path from the top-left to the
bottom-right cell, a path costing the sum of the costs of the cells it visits (both ends
included): ``y* = argmin_{y in Y} <y, c>``, computed by the ``scipy.grid_shortest_path``
solver (plugin ``perturbopt-scipy``). A learner sees only the RGB image, ``8 k x 8 k``
pixels made of one textured ``8 x 8`` tile per cell, and must learn the tile -> cost map
from pixels.

Generation ([`make_terrain_maps`][perturbopt.experiments.terrain.make_terrain_maps]) is deterministic from a seed and vectorised over
maps. Terrain is spatially coherent: two smoothed Gaussian fields per map, an elevation
(water below, mountains above) and a vegetation (forest or grass in between), plus one
or two winding roads. Tiles come from a fixed skin of textures (four variants per
terrain type, the same for every seed) with per-pixel noise.

[`load_warcraft_maps`][perturbopt.experiments.terrain.load_warcraft_maps] reads the published data set instead: a folder such as
``warcraft_shortest_path_oneskin/12x12`` holding ``{split}_maps.npy`` (``N x 8k x 8k x
3`` uint8 images), ``{split}_vertex_weights.npy`` (``N x k x k`` costs) and
``{split}_shortest_paths.npy`` (``N x k x k`` 0/1 paths), for ``split`` in
``train``, ``val`` and ``test``; a split stored in parts (``{split}_maps_part0.npy``,
``_part1``, ...) is joined.

Example:
    >>> from perturbopt.experiments.terrain import make_terrain_maps
    >>> maps = make_terrain_maps(3, grid=12, seed=0)
    >>> maps.images.shape, maps.costs.shape, maps.paths.shape
    ((3, 96, 96, 3), (3, 12, 12), (3, 12, 12))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "TERRAIN_COSTS",
    "TERRAIN_NAMES",
    "TILE",
    "TerrainMaps",
    "load_warcraft_maps",
    "make_terrain_maps",
    "path_costs",
    "shortest_paths",
    "terrain_skin",
]

TERRAIN_NAMES: tuple[str, ...] = ("road", "grass", "forest", "water", "mountain")
"""The terrain types, in the order of their index in `TerrainMaps.terrain`."""

TERRAIN_COSTS: tuple[float, ...] = (0.8, 1.2, 5.3, 7.7, 9.2)
"""The cost of entering a cell of each terrain type (Vlastelica et al., 2019)."""

TILE = 8
"""Pixels per side of one cell's tile."""

_SKIN_SEED = 2020
_VARIANTS = 4
_PIXEL_NOISE = 12  # per-pixel noise, uniform on -12..12 (of 255)
_CHUNK = 1024  # maps rendered at a time, to bound memory


@dataclass(frozen=True)
class TerrainMaps:
    """A set of maps with their hidden costs and shortest paths.

    Attributes:
        images: ``(N, 8k, 8k, 3)`` uint8 RGB images.
        costs: ``(N, k, k)`` float64 cell costs (the "vertex weights").
        paths: ``(N, k, k)`` int8 0/1 shortest paths from the top-left to the
            bottom-right cell.
        terrain: ``(N, k, k)`` int8 terrain type index into [`TERRAIN_NAMES`][perturbopt.experiments.terrain.TERRAIN_NAMES], or
            ``None`` for loaded maps.
        name: a short description, shown in tables and figures.
    """

    images: np.ndarray
    costs: np.ndarray
    paths: np.ndarray
    terrain: np.ndarray | None
    name: str

    def __post_init__(self) -> None:
        count, grid = self.costs.shape[0], self.costs.shape[1:]
        if self.costs.ndim != 3 or grid[0] != grid[1]:
            raise ValueError(f"costs must be (N, k, k), got shape {self.costs.shape}")
        if self.images.shape != (count, TILE * grid[0], TILE * grid[1], 3):
            raise ValueError(
                f"images must be (N, {TILE}k, {TILE}k, 3) = "
                f"{(count, TILE * grid[0], TILE * grid[1], 3)} for costs of shape "
                f"{self.costs.shape}, got {self.images.shape}"
            )
        if self.paths.shape != self.costs.shape:
            raise ValueError(
                f"paths must have the shape of costs {self.costs.shape}, got {self.paths.shape}"
            )

    @property
    def grid(self) -> int:
        """``k``, the number of cells per side."""
        return int(self.costs.shape[1])

    def __len__(self) -> int:
        return int(self.costs.shape[0])

    def subset(self, index: slice | np.ndarray) -> TerrainMaps:
        """The maps at ``index`` (a slice or an index array)."""
        return TerrainMaps(
            images=self.images[index],
            costs=self.costs[index],
            paths=self.paths[index],
            terrain=None if self.terrain is None else self.terrain[index],
            name=self.name,
        )


def shortest_paths(costs: np.ndarray) -> np.ndarray:
    """The cheapest 8-connected top-left to bottom-right path of each map.

    Args:
        costs: ``(N, k, k)`` non-negative cell costs.

    Returns:
        ``(N, k, k)`` int8 0/1 paths, from ``scipy.grid_shortest_path``'s ``solve_batch``.

    Raises:
        perturbopt.UnknownNameError: the ``perturbopt-scipy`` plugin is not installed.
    """
    from .. import get_solver

    costs = np.asarray(costs, dtype=np.float64)
    solver = get_solver("scipy.grid_shortest_path", grid=costs.shape[1:])
    return np.asarray(solver.solve_batch(costs), dtype=np.int8)


def path_costs(paths: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """``<y, c>`` per map: the total cost of each path.

    Args:
        paths: ``(N, k, k)`` 0/1 paths.
        costs: ``(N, k, k)`` cell costs.

    Returns:
        ``(N,)`` float64.
    """
    return np.einsum(
        "nij,nij->n", np.asarray(paths, dtype=np.float64), np.asarray(costs, dtype=np.float64)
    )


def terrain_skin() -> np.ndarray:
    """The fixed tile textures, ``(5, 4, 8, 8, 3)`` uint8: four variants per terrain type.

    Each type has its own base colour and pattern (grass blades, tree crowns, water
    waves, mountain peaks, a road with kerbs); the variants differ by their details.
    The skin is the same for every seed, as a game's tile set is.
    """
    rng = np.random.default_rng(_SKIN_SEED)
    i, j = np.mgrid[0:TILE, 0:TILE]
    skin = np.empty((len(TERRAIN_NAMES), _VARIANTS, TILE, TILE, 3))
    for v in range(_VARIANTS):
        shade = rng.normal(0.0, 8.0, size=(TILE, TILE, 1))
        # road: sand with darker kerbs on two sides
        road = np.array([196.0, 168.0, 118.0]) + shade
        road[np.minimum(i, j) == 0] -= 45.0
        # grass: green with a few darker blades
        grass = np.array([92.0, 156.0, 64.0]) + shade
        grass[rng.random((TILE, TILE)) < 0.2] -= np.array([30.0, 45.0, 20.0])
        # forest: dark green with two or three round tree crowns
        forest = np.array([40.0, 96.0, 44.0]) + shade
        for _ in range(2 + v % 2):
            ci, cj = rng.uniform(1.5, 5.5, size=2)
            forest[(i - ci) ** 2 + (j - cj) ** 2 < 2.6] = np.array([22.0, 64.0, 26.0])
        # water: blue with lighter wave rows
        water = np.array([46.0, 92.0, 178.0]) + shade
        water[(i + v) % 3 == 0] += np.array([30.0, 40.0, 40.0])
        # mountain: grey-brown with a light peak
        mountain = np.array([118.0, 106.0, 96.0]) + shade
        peak = rng.integers(2, 6)
        mountain[(TILE - 1 - i) >= 2 * np.abs(j - peak)] += np.array([60.0, 60.0, 64.0])
        for t, tile in enumerate((road, grass, forest, water, mountain)):
            skin[t, v] = tile
    return np.clip(np.rint(skin), 0, 255).astype(np.uint8)


def make_terrain_maps(
    num_maps: int, *, grid: int = 12, seed: int | Sequence[int] = 0
) -> TerrainMaps:
    """Generate ``num_maps`` Warcraft-like maps of ``grid x grid`` cells.

    Per map, with ``G`` a Gaussian filter of width 1.5 cells and fields standardised
    per map: elevation ``e = std(G * N(0, 1))`` and vegetation ``g = std(G * N(0, 1))``;
    a cell is water where ``e < -0.9``, mountain where ``e > 1.0``, else forest where
    ``g > 0.35``, else grass; then one road crosses the map from the left to the right
    edge and, on half the maps, a second from the top to the bottom edge, each a walk
    that moves at most one cell sideways per step (8-connected, so a path can follow
    it). Tiles are [`terrain_skin`][perturbopt.experiments.terrain.terrain_skin] variants drawn per cell, plus uniform per-pixel
    noise of +-12.

    Args:
        num_maps: ``N``.
        grid: ``k``, cells per side (the published data sets have 12, 18, 24 and 30).
        seed: seeds everything (an integer or a sequence of them, as for
            ``numpy.random.default_rng``); the same seed gives the same maps.

    Returns:
        The maps, their costs and their shortest paths ([`shortest_paths`][perturbopt.experiments.terrain.shortest_paths]).
    """
    from scipy.ndimage import gaussian_filter

    if not isinstance(num_maps, (int, np.integer)) or num_maps < 1:
        raise ValueError(f"num_maps must be an integer >= 1, got {num_maps!r}")
    if not isinstance(grid, (int, np.integer)) or grid < 2:
        raise ValueError(f"grid must be an integer >= 2 (cells per side), got {grid!r}")
    rng = np.random.default_rng(seed)
    fields = gaussian_filter(
        rng.standard_normal((2, num_maps, grid, grid)), sigma=(0, 0, 1.5, 1.5), mode="reflect"
    )
    fields -= fields.mean(axis=(2, 3), keepdims=True)
    fields /= fields.std(axis=(2, 3), keepdims=True)
    elevation, vegetation = fields
    terrain = np.where(vegetation > 0.35, 2, 1).astype(np.int8)
    terrain[elevation < -0.9] = 3
    terrain[elevation > 1.0] = 4
    maps = np.arange(num_maps)[:, None]
    across = np.arange(grid)[None, :]
    for road, share in ((0, 1.0), (1, 0.5)):
        steps = rng.integers(-1, 2, size=(num_maps, grid)) * (rng.random((num_maps, grid)) < 0.4)
        steps[:, 0] = 0
        walk = np.clip(
            rng.integers(1, grid - 1, size=(num_maps, 1)) + np.cumsum(steps, 1), 0, grid - 1
        )
        drawn = rng.random(num_maps) < share
        rows, cols = (walk, across) if road == 0 else (across, walk)
        keep = np.broadcast_to(drawn[:, None], walk.shape)
        m, r, c = np.broadcast_arrays(maps, rows, cols)
        terrain[m[keep], r[keep], c[keep]] = 0
    costs = np.asarray(TERRAIN_COSTS)[terrain]
    variants = rng.integers(0, _VARIANTS, size=terrain.shape)
    images = _render(terrain, variants, rng)
    return TerrainMaps(
        images=images,
        costs=costs,
        paths=shortest_paths(costs),
        terrain=terrain,
        name=f"generated {grid}x{grid} terrain",
    )


def _render(terrain: np.ndarray, variants: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The RGB images of the maps: one skin tile per cell plus per-pixel noise."""
    skin = terrain_skin().astype(np.int16)
    count, grid = terrain.shape[0], terrain.shape[1]
    side = TILE * grid
    images = np.empty((count, side, side, 3), dtype=np.uint8)
    for start in range(0, count, _CHUNK):
        part = slice(start, start + _CHUNK)
        tiles = skin[terrain[part], variants[part]]  # (n, k, k, 8, 8, 3)
        pixels = tiles.transpose(0, 1, 3, 2, 4, 5).reshape(-1, side, side, 3)
        pixels += rng.integers(-_PIXEL_NOISE, _PIXEL_NOISE + 1, size=pixels.shape, dtype=np.int16)
        images[part] = np.clip(pixels, 0, 255)
    return images


def load_warcraft_maps(
    folder: str | Path, split: str = "train", *, limit: int | None = None
) -> TerrainMaps:
    """Read one split of the published Warcraft shortest-path data set, and check it.

    Images may be stored as integers in ``0..255`` or as floats: floats whose values all
    lie in ``[0, 1]`` are taken as fractions of 255 (``round(255 x)``), floats that reach
    above 1 as values in ``0..255`` (rounded); a float file in the ``0..255`` scale with
    a map whose pixels all lie in ``(0, 1]`` mixes both scales and is refused.
    Costs must be finite and non-negative, and each path must be an 8-connected set of
    cells joining the top-left to the bottom-right cell whose cost is the least possible
    for its map's costs (any of several tied optima is accepted).

    Args:
        folder: the folder of one map size, e.g. ``warcraft_shortest_path_oneskin/12x12``.
        split: ``"train"``, ``"val"`` or ``"test"``.
        limit: keep the first ``limit`` maps only (the files are memory-mapped, so the
            rest is never read).

    Returns:
        The maps: images as uint8, costs as float64, paths as int8; ``terrain`` is
        ``None``.

    Raises:
        FileNotFoundError: a file of the split is missing (the message lists what the
            folder holds).
        ValueError: the arrays do not fit together (shapes, or paths that are not 0/1),
            or hold what the data set cannot: pixel values that are not finite or outside
            ``0..255`` (or mixed scales), NaN, infinite or negative costs, or a path that
            is not a path or is not optimal for its costs. The message names the file,
            the map and the cell.
        perturbopt.UnknownNameError: the ``perturbopt-scipy`` plugin, which checks that
            the paths are optimal, is not installed.
    """
    folder = Path(folder)
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    (images, image_files), (costs, cost_files), (paths, path_files) = (
        _load_array(folder, f"{split}_{kind}", limit)
        for kind in ("maps", "vertex_weights", "shortest_paths")
    )
    if len({len(images), len(costs), len(paths)}) != 1:
        raise ValueError(
            f"the files of split {split!r} hold different numbers of maps: "
            f"{len(images)} maps, {len(costs)} vertex weights, "
            f"{len(paths)} shortest paths"
        )
    images = _as_uint8_images(images, image_files)
    costs = _checked_costs(costs, cost_files)
    if not np.isin(paths, (0, 1)).all():
        bad = _first(~np.isin(paths, (0, 1)))
        raise ValueError(
            f"{split}_shortest_paths must hold 0/1 path indicators; "
            f"{_where(path_files, bad)} is {paths[bad]}"
        )
    maps = TerrainMaps(
        images=images,
        costs=costs,
        paths=paths.astype(np.int8),
        terrain=None,
        name=f"Warcraft {folder.name} {split}",
    )
    _check_paths(maps.paths, maps.costs, path_files)
    return maps


_Files = list[tuple[Path, int]]
"""The files an array was read from, with the number of maps each gave, in order."""


def _where(files: _Files, index: tuple[int, ...]) -> str:
    """``"name.npy[i, j, k]"`` for element ``index`` of an array joined from ``files``
    (the map's index within its part file, and within the split when they differ)."""
    first, rest = index[0], index[1:]
    local = first
    for path, count in files:
        if local < count:
            place = ", ".join(str(int(i)) for i in (local, *rest))
            split_note = f" (map {first} of the split)" if local != first else ""
            return f"{path.name}[{place}]{split_note}"
        local -= count
    raise IndexError(index)  # pragma: no cover - the index comes from the joined array


def _first(mask: np.ndarray) -> tuple[int, ...]:
    """The index of the first ``True`` of ``mask``."""
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _as_uint8_images(images: np.ndarray, files: _Files) -> np.ndarray:
    """The images as uint8, from integers in 0..255 or floats in [0, 1] or 0..255."""
    if images.dtype == np.uint8:
        return images
    name = files[0][0].name
    if images.dtype.kind == "f":
        finite = np.isfinite(images)
        if not finite.all():
            bad = _first(~finite)
            raise ValueError(
                f"{_where(files, bad)} is {images[bad]}: pixel values must be finite; "
                "check the file (or the conversion that wrote it)"
            )
    elif images.dtype.kind not in "iub":
        raise ValueError(
            f"{name} holds {images.dtype} values; images must be uint8 (or integers in "
            "0..255, or floats in [0, 1] or 0..255)"
        )
    low, high = images.min(), images.max()
    if low < 0 or high > 255:
        bad = _first((images < 0) | (images > 255))
        raise ValueError(
            f"{name} must hold pixel values in 0..255 (or floats in [0, 1]), got the range "
            f"{low}..{high}; {_where(files, bad)} is {images[bad]}"
        )
    if images.dtype.kind != "f":
        return images.astype(np.uint8)
    if high <= 1:  # fractions of 255
        return np.rint(np.asarray(images, dtype=np.float64) * 255).astype(np.uint8)
    peaks = images.reshape(len(images), -1).max(axis=1)
    mixed = (peaks > 0) & (peaks <= 1)
    if mixed.any():
        dark = int(np.argmax(mixed))
        raise ValueError(
            f"{name} mixes pixel scales: its values reach {high} (0..255), but all of "
            f"{_where(files, (dark,))} lie in [0, 1] (peak {peaks[dark]}), which would "
            "turn black; convert every image to uint8 in 0..255 (or floats in [0, 1]) "
            "and save the file again"
        )
    return np.rint(images).astype(np.uint8)


def _checked_costs(costs: np.ndarray, files: _Files) -> np.ndarray:
    """The costs as float64, refused unless finite and non-negative."""
    if costs.dtype.kind not in "fiub":
        raise ValueError(f"{files[0][0].name} holds {costs.dtype} values; costs must be numbers")
    costs = np.asarray(costs, dtype=np.float64)
    finite = np.isfinite(costs)
    if not finite.all():
        bad = _first(~finite)
        raise ValueError(
            f"{_where(files, bad)} is {costs[bad]}: cell costs must be finite; fix or drop "
            f"map {bad[0]}"
        )
    if (costs < 0).any():
        bad = _first(costs < 0)
        raise ValueError(
            f"{_where(files, bad)} is {costs[bad]}: cell costs must be non-negative (a "
            f"shortest path with negative costs is not defined); fix or drop map {bad[0]}"
        )
    return costs


_EIGHT = np.ones((3, 3), dtype=bool)
"""8-connectivity, for `scipy.ndimage.label`."""


def _check_paths(paths: np.ndarray, costs: np.ndarray, files: _Files) -> None:
    """Refuse a path that does not join the corners or is not optimal (up to ties)."""
    from scipy import ndimage

    if len(paths) == 0:
        return
    for index, path in enumerate(paths):
        labels, _ = ndimage.label(path, structure=_EIGHT)
        if not path[0, 0] or labels[0, 0] != labels[-1, -1]:
            raise ValueError(
                f"{_where(files, (index,))} is not a path from the top-left to the "
                f"bottom-right cell (its cells must be 8-connected and include both "
                f"corners); fix or drop map {index}"
            )
    given = path_costs(paths, costs)
    best = path_costs(shortest_paths(costs), costs)
    worse = given > best + 1e-9 * np.maximum(1.0, np.abs(best))
    if worse.any():
        index = int(np.argmax(worse))
        raise ValueError(
            f"{_where(files, (index,))} is not a shortest path for its costs: it costs "
            f"{given[index]:.6g}, the cheapest path {best[index]:.6g}; the paths and "
            f"vertex weights do not belong together (check the file order and the "
            f"split), or fix or drop map {index}"
        )


def _load_array(folder: Path, stem: str, limit: int | None) -> tuple[np.ndarray, _Files]:
    """``folder/stem.npy``, or the parts ``stem_part0.npy``, ... joined; the first
    ``limit`` rows; and the files read with the rows each gave."""
    whole = folder / f"{stem}.npy"
    parts = [whole] if whole.exists() else []
    while not parts or parts[0] != whole:
        part = folder / f"{stem}_part{len(parts)}.npy"
        if not part.exists():
            break
        parts.append(part)
    if not parts:
        held = sorted(p.name for p in folder.glob("*.npy")) if folder.is_dir() else []
        raise FileNotFoundError(
            f"no {stem}.npy (nor {stem}_part0.npy) in {folder}; it holds {held or 'no .npy files'}"
        )
    loaded = []
    files: _Files = []
    remaining = limit
    for path in parts:
        array = np.load(path, mmap_mode="r")
        if remaining is not None:
            array = array[:remaining]
            remaining -= len(array)
        loaded.append(np.asarray(array))
        files.append((path, len(array)))
        if remaining == 0:
            break
    return (loaded[0] if len(loaded) == 1 else np.concatenate(loaded)), files
