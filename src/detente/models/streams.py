"""Per-replicate random streams, made only when used, and their uniforms drawn all at once.

Monte Carlo gives replicate ``r`` its own stream ``parent.spawn(R)[r]``
(:mod:`detente.sim.montecarlo`), so no number depends on chunks or executors. Made one by one,
a child ``SeedSequence`` and its ``Generator`` cost about 10–17 µs per replicate, paid even by
deterministic runs that never draw. Here:

* :class:`ReplicateStreams` is that list of children without the objects: a
  ``Sequence[SeedSequence]`` whose items are made on access (equal to ``parent.spawn(R)[r]``),
  sliced without making any, cheap to pickle;
* :meth:`ReplicateStreams.uniforms` gives a :class:`ReplicateUniforms`, which draws
  ``np.random.default_rng(streams[r]).random(shape)`` for many replicates in one set of array
  operations, bit for bit, and keeps each replicate's state so successive calls continue its
  stream;
* :class:`ReplicateGenerators` makes a replicate's ``Generator`` on first use only, for the
  draws not vectorised here (exponentials, other callers' plain lists of streams).

What :class:`ReplicateUniforms` reproduces (NumPy guarantees both streams for a fixed seed;
the constants are those of NumPy's ``SeedSequence`` and of ``PCG64``):

1. ``SeedSequence``'s entropy pool (M. E. O'Neill's ``seed_seq`` alternative): the entropy,
   zero-padded to the pool size when there is a spawn key, then the spawn key, as 32-bit words;
   each word hashed with a running multiplier and the pool words mixed pairwise. Only the last
   word, the replicate's index, differs between replicates, so the hashing runs on arrays over
   replicates in ``uint32`` arithmetic, the shared words as length-one arrays.
2. ``generate_state(4, uint64)``: eight 32-bit words hashed from the cycled pool, paired
   little-endian into four 64-bit words ``(s_hi, s_lo, q_hi, q_lo)``.
3. ``PCG64`` seeding: increment ``c = 2q + 1``, state ``M·(c + s) + c`` (mod 2**128), with
   ``M`` PCG's default 128-bit multiplier.
4. PCG64 (XSL RR 128/64): each draw steps ``x ← M·x + c`` and outputs
   ``rotr64(hi(x) ^ lo(x), hi(x) >> 58)``; ``random()`` is ``(u >> 11) · 2**-53``. The ``k``
   states after a replicate's current one are ``A_j·x + C_j·c`` (``A_j = M**j``,
   ``C_j = 1 + M + … + M**(j-1)``, precomputed per ``k``), so ``k`` draws of every replicate are
   one array expression. 128-bit products are taken on 64-bit halves in ``uint64`` arrays:
   the low halves wrap natively, the high half of a 64×64 product is assembled from its
   32-bit limbs.

The tests compare every step with NumPy's own generators (seeds, spawn depths, replicate ranges,
shapes, successive calls).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

F = NDArray[np.float64]
U32 = NDArray[np.uint32]
U64 = NDArray[np.uint64]

# NumPy's SeedSequence (numpy/random/bit_generator.pyx) and PCG64 (src/pcg64/pcg64.h).
_MASK32 = 0xFFFFFFFF
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_XSHIFT = 16
_PCG_MULT = (2549297995355413924 << 64) + 4865540595714422341
_LOW = np.uint64(_MASK32)
_BITS128 = (1 << 128) - 1

BLOCK_ELEMENTS = 1 << 14
"""Draws × replicates computed at once by :meth:`ReplicateUniforms.random` (each of its eight
work arrays then holds 128 KiB)."""


def _words(value: Any) -> list[int]:
    """``value`` as ``SeedSequence`` reads an entropy or spawn key: 32-bit words, lowest first,
    an integer taking as many words as it needs (at least one), a sequence its items' words."""
    if isinstance(value, (int, np.integer)):
        v = int(value)
        if v < 0:
            raise ValueError(f"seed entropy must be non-negative, got {v}")
        out = [v & _MASK32]
        v >>= 32
        while v:
            out.append(v & _MASK32)
            v >>= 32
        return out
    if isinstance(value, (list, tuple, range, np.ndarray)):
        words: list[int] = []
        for item in value:
            if not isinstance(item, (int, np.integer)):
                raise TypeError(f"seed entropy: expected integers, got {item!r}")
            words.extend(_words(item))
        return words
    raise TypeError(f"seed entropy: expected an integer or a sequence of them, got {value!r}")


class _Hash:
    """``SeedSequence``'s hash with its running multiplier (data-independent, so a Python int)."""

    def __init__(self, init: int, mult: int) -> None:
        self.const, self.mult = init, mult

    def __call__(self, value: U32) -> U32:
        mixed: U32 = value ^ np.uint32(self.const)
        self.const = (self.const * self.mult) & _MASK32
        mixed = mixed * np.uint32(self.const)
        out: U32 = mixed ^ (mixed >> np.uint32(_XSHIFT))
        return out


def _mix(x: U32, y: U32) -> U32:
    out = x * np.uint32(_MIX_L) - y * np.uint32(_MIX_R)
    mixed: U32 = out ^ (out >> np.uint32(_XSHIFT))
    return mixed


def _pool(words: Sequence[U32], pool_size: int) -> list[U32]:
    """``SeedSequence``'s entropy pool from ``words`` (each an array over replicates, or of
    length one where all replicates share it)."""
    hashmix = _Hash(_INIT_A, _MULT_A)
    zero = np.zeros(1, dtype=np.uint32)
    pool = [hashmix(words[i] if i < len(words) else zero) for i in range(pool_size)]
    for src in range(pool_size):
        for dst in range(pool_size):
            if src != dst:
                pool[dst] = _mix(pool[dst], hashmix(pool[src]))
    for src in range(pool_size, len(words)):
        for dst in range(pool_size):
            pool[dst] = _mix(pool[dst], hashmix(words[src]))
    return pool


def _state64(pool: Sequence[U32], n_words: int) -> list[U64]:
    """``generate_state(n_words, np.uint64)`` of each replicate's pool."""
    hashmix = _Hash(_INIT_B, _MULT_B)
    w32 = [hashmix(pool[i % len(pool)]).astype(np.uint64) for i in range(2 * n_words)]
    return [w32[2 * i] | (w32[2 * i + 1] << np.uint64(32)) for i in range(n_words)]


def _mul128(ah: U64, al: U64, bh: U64, bl: U64) -> tuple[U64, U64]:
    """``a·b mod 2**128`` on 64-bit halves ``(high, low)``, broadcasting."""
    a0, a1 = al & _LOW, al >> np.uint64(32)
    b0, b1 = bl & _LOW, bl >> np.uint64(32)
    w0 = a0 * b0
    t = a1 * b0 + (w0 >> np.uint64(32))
    w1 = (t & _LOW) + a0 * b1
    hi = a1 * b1 + (t >> np.uint64(32)) + (w1 >> np.uint64(32)) + ah * bl + al * bh
    return hi, al * bl


def _add128(ah: U64, al: U64, bh: U64, bl: U64) -> tuple[U64, U64]:
    lo = al + bl
    return ah + bh + (lo < al), lo


def _halves(values: Sequence[int]) -> tuple[U64, U64]:
    """128-bit integers as ``(high, low)`` columns ``[k, 1]``."""
    hi = np.array([v >> 64 for v in values], dtype=np.uint64)[:, None]
    lo = np.array([v & ((1 << 64) - 1) for v in values], dtype=np.uint64)[:, None]
    return hi, lo


@functools.lru_cache(maxsize=64)
def _jumps(count: int, stride: int = 1) -> tuple[tuple[U64, ...], tuple[U64, ...]]:
    """``A_j`` and ``C_j`` (``x_j = A_j·x_0 + C_j·c``) for ``j = stride, 2·stride, …,
    count·stride``, each as the :func:`_limbs` of a column ``[count, 1]``."""
    step_a, step_c = 1, 0
    for _ in range(stride):
        step_a, step_c = (step_a * _PCG_MULT) & _BITS128, (step_c * _PCG_MULT + 1) & _BITS128
    a, c = [], []
    mult, plus = 1, 0
    for _ in range(count):
        mult, plus = (step_a * mult) & _BITS128, (step_a * plus + step_c) & _BITS128
        a.append(mult)
        c.append(plus)
    return _limbs(*_halves(a)), _limbs(*_halves(c))


def _limbs(hi: U64, lo: U64) -> tuple[U64, U64, U64, U64]:
    return lo & _LOW, lo >> np.uint64(32), hi, lo


def _mul_into(
    hi: U64, lo: U64, a: Sequence[U64], b: Sequence[U64], w1: U64, w2: U64, w3: U64
) -> None:
    """``hi, lo = a·b mod 2**128`` for ``a, b`` given as :func:`_limbs`, into the work arrays
    (with a fresh temporary per operation, each of them new pages: about 3× slower, measured)."""
    a0, a1, ah, al = a
    b0, b1, bh, bl = b
    np.multiply(a0, b0, out=w1)
    np.right_shift(w1, np.uint64(32), out=w1)
    np.multiply(a1, b0, out=w2)
    np.add(w2, w1, out=w2)  # t
    np.bitwise_and(w2, _LOW, out=w1)
    np.multiply(a0, b1, out=w3)
    np.add(w1, w3, out=w1)  # w1
    np.right_shift(w1, np.uint64(32), out=w1)
    np.right_shift(w2, np.uint64(32), out=w2)
    np.multiply(a1, b1, out=hi)
    hi += w2
    hi += w1
    np.multiply(ah, bl, out=w1)
    hi += w1
    np.multiply(al, bh, out=w1)
    hi += w1
    np.multiply(al, bl, out=lo)


class ReplicateUniforms:
    """The ``PCG64`` generators of many replicates, drawn from together.

    ``random(shape, rows)`` gives what ``np.stack([g[r].random(shape) for r in rows])`` gives
    for the generators ``g[r] = np.random.default_rng(streams[r])`` of the streams it was
    made from (:meth:`ReplicateStreams.uniforms`), and advances those replicates' states
    alike, so successive calls continue each stream. Other draws (exponentials, integers)
    are not provided: use :class:`ReplicateGenerators` for those.

    Examples
    --------
    >>> parent = np.random.SeedSequence(7)
    >>> u = ReplicateStreams(parent, 0, 3).uniforms()
    >>> first = u.random(2)
    >>> bool((first[1] == np.random.default_rng(parent.spawn(3)[1]).random(2)).all())
    True
    >>> u.random(2, rows=np.array([1])).shape  # replicate 1 only: its 3rd and 4th draws
    (1, 2)
    """

    __slots__ = ("_hi", "_inc_hi", "_inc_lo", "_lo")

    def __init__(self, state: tuple[U64, U64], inc: tuple[U64, U64]) -> None:
        self._hi, self._lo = (np.array(v, dtype=np.uint64) for v in state)
        self._inc_hi, self._inc_lo = (np.array(v, dtype=np.uint64) for v in inc)

    @classmethod
    def seeded(cls, words: Sequence[U64]) -> ReplicateUniforms:
        """Generators seeded as ``PCG64`` seeds itself from ``generate_state(4, uint64)``."""
        s_hi, s_lo, q_hi, q_lo = words
        inc_hi = (q_hi << np.uint64(1)) | (q_lo >> np.uint64(63))
        inc_lo = (q_lo << np.uint64(1)) | np.uint64(1)
        m_hi, m_lo = (x[0] for x in _halves([_PCG_MULT]))
        # from state 0: one step (gives the increment), add the seed, one more step
        hi, lo = _add128(inc_hi, inc_lo, s_hi, s_lo)
        hi, lo = _add128(*_mul128(hi, lo, m_hi, m_lo), inc_hi, inc_lo)
        return cls((hi, lo), (inc_hi, inc_lo))

    def __len__(self) -> int:
        return int(self._hi.shape[0])

    def random(self, shape: int | tuple[int, ...], rows: NDArray[np.intp] | None = None) -> F:
        """Uniforms on ``[0, 1)`` of shape ``[len(rows), *shape]`` (all replicates if
        ``rows`` is None), replicate by replicate in ``Generator.random(shape)``'s order.

        ``rows`` must not repeat a replicate (its state advances once per call).
        """
        dims = (shape,) if isinstance(shape, int) else tuple(shape)
        k = math.prod(dims)
        if rows is None:
            sh, sl, ch, cl = self._hi, self._lo, self._inc_hi, self._inc_lo
        else:
            sh, sl = self._hi[rows], self._lo[rows]
            ch, cl = self._inc_hi[rows], self._inc_lo[rows]
        r_n = sh.shape[0]
        out = np.empty((r_n, k))
        if k == 0 or r_n == 0:
            return out.reshape(r_n, *dims)
        inc = _limbs(ch, cl)
        # Blocks of `step` draws × replicates, replicates along the fast axis (long inner
        # loops), small enough that the work arrays stay in cache. Draw t of block b is
        # A_t·y_b + C_t·c, y_b the state at the block's start: one 128-bit product per draw,
        # C_t·c (the same in every block) computed once.
        step = min(k, max(1, BLOCK_ELEMENTS // r_n))
        blocks = -(-k // step)
        starts = [(sh, sl)]
        if blocks > 1:
            a_b, c_b = _jumps(blocks - 1, step)
            y_hi, y_lo = _add128(*_mul128(a_b[2], a_b[3], sh, sl), *_mul128(c_b[2], c_b[3], ch, cl))
            starts += list(zip(y_hi, y_lo, strict=True))
        a_t, c_t = _jumps(step)
        work = np.empty((8, step * r_n), dtype=np.uint64)
        hi, lo, g_hi, g_lo, w1, w2, w3 = (w.reshape(step, r_n) for w in work[:7])
        carry = work[7].view(np.bool_)[: step * r_n].reshape(step, r_n)
        _mul_into(g_hi, g_lo, c_t, inc, w1, w2, w3)
        for b, (y_hi_b, y_lo_b) in enumerate(starts):
            j0, t = b * step, min(step, k - b * step)
            x_hi, x_lo, x, rot, shifted = hi[:t], lo[:t], w2[:t], w3[:t], w1[:t]
            _mul_into(x_hi, x_lo, [v[:t] for v in a_t], _limbs(y_hi_b, y_lo_b), shifted, x, rot)
            x_lo += g_lo[:t]
            np.less(x_lo, g_lo[:t], out=carry[:t])
            x_hi += g_hi[:t]
            x_hi += carry[:t]
            if b == blocks - 1:  # the replicates' states after their last draw
                sh, sl = x_hi[-1].copy(), x_lo[-1].copy()
            # XSL RR output, then 53 bits to [0, 1)
            np.bitwise_xor(x_hi, x_lo, out=x)
            np.right_shift(x_hi, np.uint64(58), out=rot)
            np.right_shift(x, rot, out=shifted)
            np.subtract(np.uint64(64), rot, out=rot)
            np.bitwise_and(rot, np.uint64(63), out=rot)
            np.left_shift(x, rot, out=x)
            x |= shifted
            x >>= np.uint64(11)
            np.multiply(x, 2.0**-53, out=out.T[j0 : j0 + t])
        if rows is None:
            self._hi, self._lo = sh, sl
        else:
            self._hi[rows], self._lo[rows] = sh, sl
        return out.reshape(r_n, *dims)


class ReplicateStreams(Sequence[np.random.SeedSequence]):
    """The children ``start`` to ``stop`` of a fresh ``parent``, made only when accessed.

    Item ``i`` is the ``SeedSequence`` that ``parent.spawn(stop)[start + i]`` gives (same
    entropy, spawn key and pool size, so the same stream); slicing with step 1 gives another
    :class:`ReplicateStreams` and makes nothing. :meth:`uniforms` draws from all of them at once.

    Parameters
    ----------
    parent
        A ``SeedSequence`` that has spawned no children (else its ``spawn`` would number them
        from there); its entropy must be an integer or a sequence of integers.
    start, stop
        The children's indices, ``0 <= start <= stop <= 2**32``.

    Examples
    --------
    >>> parent = np.random.SeedSequence(7)
    >>> streams = ReplicateStreams(parent, 0, 1000)
    >>> streams[5].spawn_key == parent.spawn(6)[5].spawn_key, len(streams[10:20])
    (True, 10)
    """

    __slots__ = ("entropy", "pool_size", "spawn_key", "start", "stop")

    def __init__(self, parent: np.random.SeedSequence, start: int, stop: int) -> None:
        if parent.n_children_spawned:
            raise ValueError(
                f"the parent stream has already spawned {parent.n_children_spawned} children"
            )
        if not 0 <= start <= stop <= 2**32:
            raise ValueError(f"replicates {start} to {stop}: need 0 <= start <= stop <= 2**32")
        _words(parent.entropy)  # fails here for entropy NumPy reads but these arrays do not
        self.entropy: Any = parent.entropy
        self.spawn_key: tuple[int, ...] = tuple(parent.spawn_key)
        self.pool_size: int = int(parent.pool_size)
        self.start, self.stop = int(start), int(stop)

    def __len__(self) -> int:
        return self.stop - self.start

    @overload
    def __getitem__(self, index: int) -> np.random.SeedSequence: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[np.random.SeedSequence]: ...

    def __getitem__(
        self, index: int | slice
    ) -> np.random.SeedSequence | Sequence[np.random.SeedSequence]:
        if isinstance(index, slice):
            lo, hi, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(lo, hi, step)]
            part = ReplicateStreams.__new__(ReplicateStreams)
            part.entropy, part.spawn_key, part.pool_size = (
                self.entropy,
                self.spawn_key,
                self.pool_size,
            )
            part.start, part.stop = self.start + lo, self.start + max(lo, hi)
            return part
        i = int(index)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"replicate {index} of {len(self)}")
        return np.random.SeedSequence(
            self.entropy, spawn_key=(*self.spawn_key, self.start + i), pool_size=self.pool_size
        )

    def __iter__(self) -> Iterator[np.random.SeedSequence]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReplicateStreams):
            return NotImplemented
        return _words(self.entropy) == _words(other.entropy) and (
            self.spawn_key,
            self.pool_size,
            self.start,
            self.stop,
        ) == (other.spawn_key, other.pool_size, other.start, other.stop)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"ReplicateStreams(entropy={self.entropy!r}, spawn_key={self.spawn_key!r},"
            f" replicates {self.start}..{self.stop})"
        )

    def uniforms(self) -> ReplicateUniforms:
        """Each replicate's ``default_rng(self[i])``, at the start of its stream, as one
        :class:`ReplicateUniforms` (no per-replicate Python work)."""
        run = _words(self.entropy)
        if len(run) < self.pool_size:  # NumPy pads when there is a spawn key, as here
            run += [0] * (self.pool_size - len(run))
        shared = run + _words(self.spawn_key)
        index = np.arange(self.start, self.stop, dtype=np.uint64).astype(np.uint32)
        words = [np.array([w], dtype=np.uint32) for w in shared] + [index]
        pool = [np.broadcast_to(p, index.shape) for p in _pool(words, self.pool_size)]
        return ReplicateUniforms.seeded(_state64(pool, 4))


class ReplicateGenerators(Sequence[np.random.Generator]):
    """``np.random.default_rng(streams[i])`` for each stream, made on first access and kept
    (so a replicate's stream continues from call to call); none is made for a run that never
    draws."""

    __slots__ = ("_made", "_streams")

    def __init__(self, streams: Sequence[np.random.SeedSequence]) -> None:
        self._streams = streams
        self._made: dict[int, np.random.Generator] = {}

    def __len__(self) -> int:
        return len(self._streams)

    @overload
    def __getitem__(self, index: int) -> np.random.Generator: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[np.random.Generator]: ...

    def __getitem__(
        self, index: int | slice
    ) -> np.random.Generator | Sequence[np.random.Generator]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = int(index)
        if i < 0:
            i += len(self)
        gen = self._made.get(i)
        if gen is None:
            gen = self._made[i] = np.random.default_rng(self._streams[i])
        return gen

    @property
    def made(self) -> int:
        """How many generators have been made so far."""
        return len(self._made)
