"""sim.model.streams: named streams that depend only on (seed, name), replication
seeds that depend only on (root, replication), and blocks that hand out the
same numbers as drawing directly."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config.distributions import Gamma
from sim.model import streams as S
from sim.model.streams import STREAMS, GumbelBlock, SpecBlock, Streams, UniformBlock, replication_seed, stream

seeds = st.integers(0, 2**63 - 1)


@settings(max_examples=25, deadline=None)
@given(seeds)
def test_same_seed_and_name_give_the_same_draws(seed):
    assert np.array_equal(stream(seed, "cases").random(50), stream(seed, "cases").random(50))
    a, b = Streams(seed), Streams(seed)
    for name in STREAMS:
        assert np.array_equal(getattr(a, name).random(10), getattr(b, name).random(10))


def test_every_stream_differs_from_every_other_and_from_other_seeds():
    draws = {name: stream(7, name).random(1000) for name in STREAMS}
    names = list(draws)
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            assert not np.array_equal(draws[x], draws[y])
            assert abs(np.corrcoef(draws[x], draws[y])[0, 1]) < 0.1   # independent, not shifted copies
        assert not np.array_equal(draws[x], stream(8, x).random(1000))


def test_a_new_stream_shifts_no_other(monkeypatch):
    before = {name: getattr(Streams(11), name).random(20) for name in STREAMS}
    monkeypatch.setattr(S, "STREAMS", ("new_first",) + STREAMS + ("new_last",))
    after = Streams(11)
    assert hasattr(after, "new_first") and hasattr(after, "new_last")
    for name in STREAMS:
        assert np.array_equal(getattr(after, name).random(20), before[name]), name


def test_using_one_stream_does_not_move_another():
    a, b = Streams(3), Streams(3)
    a.choices.random(10_000)
    assert np.array_equal(a.assessment.random(5), b.assessment.random(5))
    assert np.array_equal(a.block("cases", 0).random(5), b.block("cases", 0).random(5))


def test_replication_seed_depends_only_on_root_and_replication():
    seq = [replication_seed(1, r) for r in range(50)]
    assert seq == [replication_seed(1, r) for r in range(50)]            # deterministic
    assert [replication_seed(1, r) for r in reversed(range(50))] == seq[::-1]   # no hidden state
    assert len(set(seq)) == 50
    assert all(0 <= s < 2**32 for s in seq)
    assert [replication_seed(2, r) for r in range(50)] != seq
    assert replication_seed(1, 3) == replication_seed(np.int64(1), np.int64(3))


def test_uniform_block_equals_direct_draws_across_block_edges():
    block = UniformBlock(stream(5, "assessment"), block=7)
    got = [block() for _ in range(30)]
    want = stream(5, "assessment").random(35)[:30]
    assert got == want.tolist()


def test_spec_block_equals_the_quantile_of_direct_uniforms():
    dist = Gamma(dist="gamma", mean=10.0, cv=0.5)
    block = SpecBlock(dist, stream(5, "assessment"), block=6)
    got = np.array([block() for _ in range(20)])
    rng = stream(5, "assessment")
    want = np.concatenate([dist.ppf(rng.random(6)) for _ in range(4)])[:20]
    assert np.array_equal(got, want)


def test_gumbel_block_slices_its_blocks_and_starts_a_new_one_when_short():
    block = GumbelBlock(stream(9, "choices"), block=10)
    rng = stream(9, "choices")
    first, second, third = rng.gumbel(size=10), rng.gumbel(size=10), rng.gumbel(size=25)
    assert np.array_equal(block(4), first[:4])
    assert np.array_equal(block(6), first[4:10])
    assert np.array_equal(block(3), second[:3])
    assert np.array_equal(block(25), third)          # longer than a block: one of its own size


@pytest.mark.parametrize("sizes", [[4, 6, 3, 8], [25, 2], [10, 10, 1]])
def test_gumbel_block_matches_a_reference_slicer(sizes):
    blk = 10
    block = GumbelBlock(stream(9, "choices"), block=blk)
    rng = stream(9, "choices")
    buf, i, want = np.empty(0), 0, []
    for k in sizes:
        if i + k > len(buf):
            buf, i = rng.gumbel(size=max(blk, k)), 0
        want.append(buf[i:i + k])
        i += k
    for k, w in zip(sizes, want):
        got = block(k)
        assert len(got) == k and np.array_equal(got, w)
