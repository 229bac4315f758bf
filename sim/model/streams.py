"""Named random-number streams, one family per replication.

Each stream is spawned from ``SeedSequence(seed)`` with a spawn key derived from
its *name*, so adding a stream never shifts another one, and no stream depends
on the regime. There is no global random state anywhere in the package.

Streams whose draws must not depend on the simulation horizon (the referral
times and latent attributes of youths new to care) are drawn in yearly blocks,
block ``k`` from its own child stream :func:`block_stream` keyed by
(seed, name, k), so a longer run only adds blocks and never moves a draw of an
earlier one.
"""
from __future__ import annotations

import zlib

import numpy as np

STREAMS = (
    "world",        # providers, expertise, catalogue, contracted set, collectives
    "rereferrals",  # latent attributes of re-referrals
    "assessment",   # assessment and re-indication durations
    "choices",      # family choice of provider
    "initial",      # resampling of a preloaded initial state (sim.model.initial)
)

#: streams drawn in yearly blocks (:func:`block_stream`), never as one sequence
BLOCK_STREAMS = (
    "arrivals",     # referral times of youths new to care
    "cases",        # latent attributes of first referrals
)


def stream(seed: int, name: str, *block: int) -> np.random.Generator:
    """The generator of stream ``name`` for replication seed ``seed`` (with
    ``block``: of that block of it, see :func:`block_stream`)."""
    key = zlib.crc32(name.encode())
    return np.random.default_rng(np.random.SeedSequence(entropy=int(seed), spawn_key=(key, *block)))


def block_stream(seed: int, name: str, k: int) -> np.random.Generator:
    """The generator of block ``k`` (0, 1, ...) of stream ``name`` for seed ``seed``.

    Spawned from ``SeedSequence(seed, spawn_key=(crc32(name), k))``: it depends
    on nothing but (seed, name, k), and it is the ``k``-th child that
    ``SeedSequence.spawn`` would give the seed sequence of ``stream(seed, name)``,
    whose own draws it leaves untouched.
    """
    if k < 0:
        raise ValueError(f"block number: got {k}; expected k >= 0")
    return stream(seed, name, int(k))


class Streams:
    """All named streams of one replication."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        for name in STREAMS:
            setattr(self, name, stream(self.seed, name))

    def block(self, name: str, k: int) -> np.random.Generator:
        """A fresh generator for block ``k`` of stream ``name`` (see :func:`block_stream`);
        every call starts it anew, and it moves no other stream."""
        return block_stream(self.seed, name, k)


class UniformBlock:
    """Hands out standard uniforms one at a time, drawn in numpy blocks.

    Per-event ``rng.random()`` calls cost about a microsecond each; block draws
    amortise that and give the same sequence for the same seed.
    """

    __slots__ = ("_rng", "_block", "_buf", "_i")

    def __init__(self, rng: np.random.Generator, block: int = 4096):
        self._rng = rng
        self._block = block
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        i = self._i
        if i >= len(self._buf):
            self._buf = self._rng.random(self._block).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]


class SpecBlock:
    """Draws of one distribution spec handed out one at a time, made in blocks."""

    __slots__ = ("_dist", "_rng", "_block", "_buf", "_i")

    def __init__(self, dist, rng: np.random.Generator, block: int = 2048):
        self._dist, self._rng, self._block = dist, rng, block
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        i = self._i
        if i >= len(self._buf):
            self._buf = self._dist.ppf(self._rng.random(self._block)).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]


class GumbelBlock:
    """Standard Gumbel vectors of any length, sliced from numpy blocks."""

    __slots__ = ("_rng", "_block", "_buf", "_i")

    def __init__(self, rng: np.random.Generator, block: int = 16384):
        self._rng, self._block = rng, block
        self._buf = np.empty(0)
        self._i = 0

    def __call__(self, k: int) -> np.ndarray:
        i = self._i
        if i + k > len(self._buf):
            self._buf = self._rng.gumbel(size=max(self._block, k))
            i = 0
        self._i = i + k
        return self._buf[i:i + k]


def replication_seed(root: int, replication: int) -> int:
    """Seed of replication ``replication`` under root seed ``root`` (depends on nothing else)."""
    ss = np.random.SeedSequence(entropy=int(root), spawn_key=(zlib.crc32(b"replication"), int(replication)))
    return int(ss.generate_state(1, dtype=np.uint32)[0])
