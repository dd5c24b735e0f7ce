"""The noise of one call, cut into blocks with streams of their own.

Rows. A call solves ``N = M x B`` problems. Row ``r = m * B + b`` is sample ``m`` of
batch item ``b``: ``theta[b] + eps * Z[m, b]`` (additive) or
``theta[b] * exp(eps * Z[m, b] - log E[e^{eps Z}])`` (multiplicative).

Blocks. The rows whose noise is drawn (all of them, or the first half with antithetic
pairs, whose second half is ``-Z``) are cut into blocks of ``R`` consecutive rows, ``R``
fixed by the instance's size alone (about ``BLOCK_ELEMENTS`` numbers a block). Block
``k`` has a stream of its own: the call's key seeds a PCG64 generator
(``SeedSequence(entropy, spawn_key=call_key)``), and block ``k`` starts ``k * 2**64``
draws into that stream (PCG64's jump-ahead, a counter-based scheme: no block consumes
2**64 draws, so blocks never overlap). So the noise is a pure function of the call's
key and of the problem's shape: any thread or process can draw any block, and the same
seed gives bit-identical noise whatever the number of workers, the backend or the
chunking.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._noise import sample_noise

__all__ = [
    "BLOCK_ELEMENTS",
    "NoiseKey",
    "NoisePlan",
    "OverflowFailure",
    "segments",
]

BLOCK_ELEMENTS = 12288
"""Numbers per noise block (96 KiB in float64). Small enough that a block, and every
temporary a vectorised solver makes of its size (an int64 argsort, say), stays under
glibc's 128 KiB mmap threshold: larger ones are mapped and unmapped on every use, and
the page faults cost more than the draw. Large enough that starting a block's stream
(about 1.5 us) costs little against drawing it (about 100 us)."""

_STREAM_STRIDE = 1 << 64
"""How far apart in a call's PCG64 stream two consecutive blocks start."""

_generators = threading.local()


@dataclass(frozen=True)
class NoiseKey:
    """The key of one call's noise: a `numpy.random.SeedSequence`'s entropy and
    spawn key, from which every block's stream is derived."""

    entropy: int | tuple[int, ...]
    spawn_key: tuple[int, ...] = ()

    @classmethod
    def from_seed_sequence(cls, sequence: np.random.SeedSequence) -> NoiseKey:
        entropy = sequence.entropy
        if not isinstance(entropy, int):
            entropy = tuple(int(e) for e in np.atleast_1d(entropy))  # type: ignore[arg-type]
        return cls(entropy, tuple(int(k) for k in sequence.spawn_key))

    def generator(self, block: int) -> np.random.Generator:
        """A generator at the start of block ``block``'s stream.

        The generator is this thread's own, reused: draw the block before asking for
        another one on the same thread.
        """
        cached = getattr(_generators, "cached", None)
        if cached is None or cached[0] != self:
            bit_generator = np.random.PCG64(
                np.random.SeedSequence(self.entropy, spawn_key=self.spawn_key)
            )
            cached = (self, bit_generator, np.random.Generator(bit_generator), bit_generator.state)
            _generators.cached = cached
        _, pcg, generator, start = cached
        pcg.state = start
        pcg.advance(block * _STREAM_STRIDE)
        return generator


@dataclass(frozen=True)
class NoisePlan:
    """How one call's noise is drawn and applied (pure data: it pickles to any worker).

    Attributes:
        noise: the distribution.
        key: the call's key.
        epsilon: the noise scale.
        shift: ``log E[e^{eps Z}]`` for multiplicative noise, ``None`` for additive.
        dtype: ``"float64"`` or ``"float32"``.
        antithetic: rows of the second half of the samples use ``-Z`` of the first half.
        num_samples: ``M``.
        batch_size: ``B``.
        instance_shape: ``s``.
    """

    noise: Any
    key: NoiseKey
    epsilon: float
    shift: float | None
    dtype: str
    antithetic: bool
    num_samples: int
    batch_size: int
    instance_shape: tuple[int, ...]

    @functools.cached_property
    def num_rows(self) -> int:
        """``M x B``."""
        return self.num_samples * self.batch_size

    @functools.cached_property
    def row_size(self) -> int:
        """Numbers per row, ``prod(s)``."""
        return math.prod(self.instance_shape)

    @functools.cached_property
    def block_rows(self) -> int:
        """``R``, the rows of a block; fixed by the instance's size alone."""
        return max(1, BLOCK_ELEMENTS // max(1, self.row_size))

    @functools.cached_property
    def drawn_rows(self) -> int:
        """Rows whose noise is drawn: all, or the first half with antithetic pairs."""
        return self.num_rows // 2 if self.antithetic else self.num_rows

    @functools.cached_property
    def blocks_per_half(self) -> int:
        """Blocks over the drawn rows."""
        return -(-self.drawn_rows // self.block_rows)

    @functools.cached_property
    def num_blocks(self) -> int:
        """All blocks, mirrored ones included."""
        return self.blocks_per_half * (2 if self.antithetic else 1)

    @property
    def multiplicative(self) -> bool:
        return self.shift is not None

    @functools.cached_property
    def np_dtype(self) -> type[np.floating[Any]]:
        return np.float32 if self.dtype == "float32" else np.float64

    def block_bounds(self, block: int) -> tuple[int, int]:
        """Rows ``[start, stop)`` of a block."""
        half = block >= self.blocks_per_half
        local = block - self.blocks_per_half if half else block
        start = local * self.block_rows
        stop = min(start + self.block_rows, self.drawn_rows)
        offset = self.drawn_rows if half else 0
        return start + offset, stop + offset

    def block_of(self, row: int) -> int:
        """The block that holds ``row``."""
        if row >= self.drawn_rows:
            return self.blocks_per_half + (row - self.drawn_rows) // self.block_rows
        return row // self.block_rows

    def draw_block(self, block: int, out: np.ndarray | None = None) -> np.ndarray:
        """The noise of a block, ``(rows, *s)`` in the plan's dtype (in ``out`` if given)."""
        start, stop = self.block_bounds(block)
        mirrored = block >= self.blocks_per_half
        source = block - self.blocks_per_half if mirrored else block
        z = sample_noise(
            self.noise,
            self.key.generator(source),
            (stop - start,) + self.instance_shape,
            self.np_dtype,
            out,
        )
        if mirrored:
            np.negative(z, out=z)
        return z

    def draw_rows(self, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
        """The noise of rows ``[start, stop)``, drawing every block they touch: in ``out``
        if given (``(stop - start, *s)`` in the plan's dtype, C-contiguous), else in a new
        array. Whole blocks are drawn in place; a thread keeps the last block it drew
        in part, for tasks that cut one block in pieces."""
        first, last = self.block_of(start), self.block_of(stop - 1)
        if out is None and first == last and (start, stop) == self.block_bounds(first):
            return self.draw_block(first)
        if out is None:
            out = np.empty((stop - start,) + self.instance_shape, dtype=self.np_dtype)
        for block in range(first, last + 1):
            block_start, block_stop = self.block_bounds(block)
            low, high = max(start, block_start), min(stop, block_stop)
            if (low, high) == (block_start, block_stop):
                self.draw_block(block, out[low - start : high - start])
                continue
            out[low - start : high - start] = self._kept_block(block)[
                low - block_start : high - block_start
            ]
        return out

    def _kept_block(self, block: int) -> np.ndarray:
        """Block ``block``'s noise, drawn once per thread while the thread asks for it."""
        kept = getattr(_generators, "block", None)
        # The block's rows depend on the drawn rows too: two calls with one key and
        # instance shape but other batch sizes have blocks of other lengths.
        identity = (self.key, self.block_rows, self.drawn_rows, self.noise, self.dtype, block)
        if kept is None or kept[0] != identity:
            kept = (identity, self.draw_block(block))
            _generators.block = kept
        return kept[1]

    def perturb(
        self, theta: np.ndarray, z: np.ndarray, start: int, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Turn the noise ``z`` of rows ``start, start + 1, ...`` into their perturbed
        inputs, in ``out`` (``z`` itself, in place, by default), and return them.

        Raises:
            OverflowFailure: a perturbed input is not finite, or (multiplicative noise)
                its factor ``exp(eps Z - log E[exp(eps Z)])`` or the input itself
                underflowed below the smallest normal number (the row is named).
        """
        theta = theta.astype(z.dtype, copy=False)
        try:
            # Underflow matters for the factor and product of multiplicative noise alone.
            under: Literal["ignore", "raise"] = "ignore" if self.shift is None else "raise"
            with np.errstate(over="raise", invalid="raise", under=under):
                out = self._apply(theta, z, start, out)
        except FloatingPointError:
            raise OverflowFailure(start + self._first_bad_row(theta, z.shape[0], start)) from None
        return out

    def _apply(
        self, theta: np.ndarray, z: np.ndarray, start: int, out: np.ndarray | None = None
    ) -> np.ndarray:
        """The arithmetic of `perturb` into ``out`` (``z`` by default), under the
        caller's ``errstate``."""
        out = z if out is None else out
        scale = z.dtype.type(self.epsilon)
        for rows, items in segments(start, z.shape[0], self.batch_size):
            piece = out[rows]
            if items is None:  # whole samples: (k, B, *s) against theta (B, *s)
                piece = piece.reshape((-1,) + theta.shape)
                target = theta
            else:
                target = theta[items]
            np.multiply(z[rows].reshape(piece.shape), scale, out=piece)
            if self.shift is None:
                piece += target
            else:
                piece -= z.dtype.type(self.shift)
                np.exp(piece, out=piece)
                piece *= target
        return out

    def _first_bad_row(self, theta: np.ndarray, count: int, start: int) -> int:
        """Redo the arithmetic of rows ``start .. start + count - 1`` without raising
        and find the first one that `_out_of_range` refuses."""
        with np.errstate(all="ignore"):
            z = self.draw_rows(start, start + count)
            self._apply(theta, z, start)
            bad = self._out_of_range(theta, z, start)
        return int(np.argmax(bad)) if bad.any() else 0

    def _out_of_range(self, theta: np.ndarray, values: np.ndarray, start: int) -> np.ndarray:
        """Per row: whether a perturbed input is not finite, or (multiplicative) whether
        its factor or its value fell below the smallest normal number."""
        flat = values.reshape(values.shape[0], -1)
        bad = ~np.isfinite(flat)
        if self.shift is not None:
            tiny = np.finfo(values.dtype).tiny
            rows = theta[np.arange(start, start + values.shape[0]) % self.batch_size]
            rows = rows.reshape(flat.shape).astype(values.dtype, copy=False)
            with np.errstate(all="ignore"):
                factor = np.abs(flat) / np.abs(rows)
            bad |= (np.abs(flat) < tiny) | (factor < tiny)
        return bad.any(axis=1)

    def exponent_range(self) -> tuple[float, float]:
        """``[log(smallest normal), log(largest finite)]`` of the plan's dtype: the range
        that ``eps Z - log E[exp(eps Z)]`` must stay within for multiplicative noise
        (about ``[-708.4, 709.8]`` in float64, ``[-87.3, 88.7]`` in float32)."""
        info = np.finfo(self.np_dtype)
        return float(np.log(info.tiny)), float(np.log(info.max))

    def describe_row(self, theta: np.ndarray, row: int) -> str:
        """What went wrong with the perturbed input of ``row`` (one that
        `perturb` refused), in words that end an error message."""
        z = self.draw_rows(row, row + 1)
        noise = z.astype(np.float64).reshape(-1)
        with np.errstate(all="ignore"):
            self._apply(theta.astype(z.dtype, copy=False), z, row)
        values = z.reshape(-1)
        base = theta[row % self.batch_size].reshape(-1)
        dtype = np.dtype(self.np_dtype).name
        if self.shift is None:
            element = int(np.argmax(~np.isfinite(values)))
            return (
                f"is not finite: theta{_index(element, theta.shape[1:])} + eps * Z = "
                f"{base[element]:.4g} + {self.epsilon:.4g} * {noise[element]:.4g} overflows "
                f"{dtype}; rescale theta or use a smaller epsilon"
            )
        low, high = self.exponent_range()
        exponent = self.epsilon * noise - self.shift
        bad = ~np.isfinite(values) | (exponent > high) | (exponent < low)
        bad |= np.abs(values) < np.finfo(self.np_dtype).tiny
        element = int(np.argmax(bad))
        where = f"theta{_index(element, theta.shape[1:])}"
        product = (
            f"{where} * exp(eps Z - log E[exp(eps Z)]) = "
            f"{base[element]:.4g} * exp({exponent[element]:.4g})"
        )
        advice = (
            f"multiplicative noise needs eps Z - log E[exp(eps Z)] (eps Z - eps^2/2 for "
            f"Gaussian noise) within [{low:.1f}, {high:.1f}] for {dtype}, and the perturbed "
            f"input at least {np.finfo(self.np_dtype).tiny:.3g} in magnitude; use a "
            f"smaller epsilon (epsilon={self.epsilon:g} shifts the exponent by "
            f"{-self.shift:.4g}), rescale theta, or use perturbation='additive'"
        )
        if not np.isfinite(values[element]) or exponent[element] > high:
            return f"is not finite: {product} overflows {dtype}; {advice}"
        tiny = np.finfo(self.np_dtype).tiny
        if abs(values[element]) < tiny:
            return (
                f"underflows: {product} = {values[element]:.4g} is below the smallest "
                f"normal {dtype} ({tiny:.3g}), so the solver would see 0 or a number with "
                f"lost precision; {advice}"
            )
        return (
            f"underflows: in {product}, the factor is below the smallest normal {dtype} "
            f"({tiny:.3g}), so the perturbed input has lost precision; {advice}"
        )


def _index(flat: int, shape: tuple[int, ...]) -> str:
    """``[i, j]`` of element ``flat`` of an instance of ``shape`` (``""`` for scalars)."""
    if not shape:
        return ""
    return "[" + ", ".join(str(int(i)) for i in np.unravel_index(flat, shape)) + "]"


def segments(start: int, count: int, batch: int) -> list[tuple[slice, slice | None]]:
    """Split rows ``start .. start + count - 1`` into pieces that line up with ``theta``:
    ``(rows, items)`` with ``items`` the batch items of a partial sample, or ``None`` for a
    run of whole samples."""
    pieces: list[tuple[slice, slice | None]] = []
    position, end = start, start + count
    head = (-start) % batch
    if head:
        stop = min(end, start + head)
        pieces.append((slice(0, stop - start), slice(start % batch, start % batch + stop - start)))
        position = stop
    whole = (end - position) // batch * batch
    if whole:
        pieces.append((slice(position - start, position - start + whole), None))
        position += whole
    if position < end:
        pieces.append((slice(position - start, end - start), slice(0, end - position)))
    return pieces


class OverflowFailure(Exception):
    """A perturbed input overflowed, or underflowed with multiplicative noise; ``row`` is
    the first such row of the call (`NoisePlan.describe_row` says what happened)."""

    def __init__(self, row: int) -> None:
        super().__init__(row)
        self.row = row
