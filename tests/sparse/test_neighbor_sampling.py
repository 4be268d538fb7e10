"""Neighbour sampling: the structure of the sampled subgraph, the law of the draws, determinism and bad input."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from geomlearn.sparse import SparseIndex, sample_neighbors, spmm

from .backends import BACKENDS, running_on
from .graphs import random_graph


def in_edges(index: SparseIndex) -> dict[int, list[int]]:
    """``{node: [edge ids into it]}``, from the edge list."""
    out: dict[int, list[int]] = {v: [] for v in range(index.num_dst)}
    for e, target in enumerate(index.dst.tolist()):
        out[target].append(e)
    return out


def assert_consistent(index: SparseIndex, seeds: torch.Tensor, fanouts, sample, replace=False, weight=None) -> None:
    """Every property of a sample that does not depend on the draws, checked from the edge list."""
    node, edge, local = sample.node, sample.edge, sample.edge_index
    assert torch.equal(node[: len(seeds)], seeds) and len(set(node.tolist())) == len(node)
    assert sum(sample.num_sampled_nodes) == len(node) and sum(sample.num_sampled_edges) == len(edge)
    # local edges name the global ones
    assert torch.equal(node[local[0]], index.src[edge].long()) and torch.equal(node[local[1]], index.dst[edge].long())
    incoming = in_edges(index)
    firsts = [0] + torch.tensor(sample.num_sampled_nodes).cumsum(0).tolist()
    start = 0
    for hop, (fanout, drawn) in enumerate(zip(fanouts, sample.num_sampled_edges)):
        targets, edges = local[1, start:start + drawn], edge[start:start + drawn]
        frontier = range(firsts[hop], firsts[hop + 1])
        assert bool(((targets >= firsts[hop]) & (targets < firsts[hop + 1])).all())
        assert bool((targets[1:] >= targets[:-1]).all())                    # grouped by target, in frontier order
        for v in frontier:
            mine = edges[targets == v].tolist()
            candidates = incoming[int(node[v])]
            if weight is not None:
                candidates = [e for e in candidates if weight[e] > 0]
            if fanout < 0:
                assert sorted(mine) == sorted(candidates)
            elif replace:
                assert len(mine) == (fanout if candidates else 0) and set(mine) <= set(candidates)
            else:
                assert len(mine) == min(fanout, len(candidates)) and len(set(mine)) == len(mine)
                assert set(mine) <= set(candidates)
        # this hop's new nodes: its sources not seen before, in order of first appearance
        seen = set(node[: firsts[hop + 1]].tolist())
        new = []
        for source in node[local[0, start:start + drawn]].tolist():
            if source not in seen and source not in new:
                new.append(source)
        assert node[firsts[hop + 1]: firsts[hop + 2]].tolist() == new
        start += drawn


def test_a_hand_checked_sample():
    # Edges into 0: 1 -> 0 (e0), 2 -> 0 (e1), 3 -> 0 (e2); into 1: 0 -> 1 (e3), 2 -> 1 (e4).
    index = SparseIndex(torch.tensor([[1, 2, 3, 0, 2], [0, 0, 0, 1, 1]]), num_nodes=4)
    sample = sample_neighbors(index, torch.tensor([0]), [-1, -1])
    assert sample.node.tolist() == [0, 1, 2, 3] and sample.num_sampled_nodes == [1, 3, 0]
    assert sample.edge.tolist() == [0, 1, 2, 3, 4] and sample.num_sampled_edges == [3, 2]
    assert sample.edge_index.tolist() == [[1, 2, 3, 0, 2], [0, 0, 0, 1, 1]]
    first, both = sample.hops
    assert first.shape == (1, 4) and first.csr().ptr.tolist() == [0, 3]          # layer 2: into the seed only
    assert both.shape == (4, 4) and both.csr().ptr.tolist() == [0, 3, 5, 5, 5]   # layer 1: every sampled edge


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=st.data(), replace=st.booleans(), weighted=st.booleans())
def test_every_sample_is_a_consistent_subgraph(backend, data, replace, weighted):
    num_nodes = data.draw(st.integers(1, 12))
    index = random_graph(num_nodes, num_nodes, data.draw(st.integers(0, 50)), seed=data.draw(st.integers(0, 99)))
    seeds = torch.tensor(data.draw(st.lists(st.integers(0, num_nodes - 1), min_size=1, max_size=num_nodes,
                                            unique=True)))
    fanouts = data.draw(st.lists(st.integers(-1, 4), min_size=1, max_size=3))
    weight = None
    if weighted:
        weight = torch.rand(index.num_edges, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        weight[::3] = 0.0
    with running_on(backend):
        sample = sample_neighbors(index, seeds, fanouts, replace=replace, weight=weight,
                                  generator=torch.Generator().manual_seed(data.draw(st.integers(0, 2**31))))
    assert_consistent(index, seeds, fanouts, sample, replace, weight)


def test_the_blocks_are_the_csr_the_index_would_build():
    index = random_graph(40, 40, 300, seed=3)
    sample = sample_neighbors(index, torch.arange(5), [4, 3, 2], generator=torch.Generator().manual_seed(0))
    for block in sample.hops:
        rebuilt = SparseIndex(block.edge_index, num_nodes=(block.num_src, block.num_dst))
        assert torch.equal(block.csr().ptr, rebuilt.csr().ptr) and torch.equal(block.csr().idx, rebuilt.csr().idx)
        assert torch.equal(block.csr().eid.long(), torch.arange(block.num_edges))   # already in CSR order
    # a two-layer mean aggregation over the blocks equals the same over the subgraph's edges
    x = torch.randn(len(sample.node), 3)
    full = SparseIndex(sample.edge_index, num_nodes=len(sample.node))
    layer = spmm(sample.hops[1], x[: sample.hops[1].num_src], reduce="mean")
    torch.testing.assert_close(layer, spmm(full, x, reduce="mean")[: sample.hops[1].num_dst])


def _star_graph(stars: int, degree: int) -> SparseIndex:
    """``stars`` targets, each with its own ``degree`` sources: one call draws ``stars`` independent samples."""
    sources = torch.arange(stars * degree) + stars
    targets = torch.arange(stars).repeat_interleave(degree)
    return SparseIndex(torch.stack([sources, targets]), num_nodes=stars * (degree + 1))


@pytest.mark.parametrize("backend", BACKENDS)
def test_uniform_draws_take_each_in_edge_with_probability_fanout_over_degree(backend):
    stars, degree, fanout = 20_000, 10, 3
    with running_on(backend):
        sample = sample_neighbors(_star_graph(stars, degree), torch.arange(stars), [fanout],
                                  generator=torch.Generator().manual_seed(0))
    frequencies = torch.bincount(sample.edge % degree, minlength=degree).double()
    expected = stars * fanout / degree                                 # 6,000 each
    spread = math.sqrt(stars * (fanout / degree) * (1 - fanout / degree))
    assert bool(((frequencies - expected).abs() < 5 * spread).all()), frequencies
    chi2 = float(((frequencies - expected) ** 2 / expected).sum())
    assert chi2 < 35.0                                                  # 9 dof: p < 1e-4 above this


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("replace", [False, True])
def test_weighted_draws_follow_the_weights(replace, backend):
    stars, degree = 20_000, 4
    weights = torch.tensor([0.0, 1.0, 2.0, 5.0], dtype=torch.float64)
    index = _star_graph(stars, degree)
    weight = weights.repeat(stars)
    with running_on(backend):
        sample = sample_neighbors(index, torch.arange(stars), [1 if not replace else 3], replace=replace,
                                  weight=weight, generator=torch.Generator().manual_seed(2))
    frequencies = torch.bincount(sample.edge % degree, minlength=degree).double()
    draws = frequencies.sum()
    assert frequencies[0] == 0                                         # weight 0: never
    probability = weights / weights.sum()
    spread = (draws * probability * (1 - probability)).sqrt()
    assert bool(((frequencies - draws * probability).abs() <= 5 * spread + 1e-9).all()), frequencies
    # without replacement, a target of three positive in-edges and fanout 5 keeps those three
    with running_on(backend):
        every = sample_neighbors(index, torch.arange(3), [5], weight=weight)
    assert sorted((every.edge % degree).tolist()) == [1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_the_same_generator_seed_gives_the_same_sample_whatever_the_threads():
    index = random_graph(300, 300, 3000, seed=5)
    seeds = torch.arange(0, 300, 7)
    samples = []
    for threads in (1, 2):
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            samples.append(sample_neighbors(index, seeds, [5, 3], generator=torch.Generator().manual_seed(11)))
        finally:
            torch.set_num_threads(previous)
    assert torch.equal(samples[0].edge, samples[1].edge) and torch.equal(samples[0].node, samples[1].node)
    other = sample_neighbors(index, seeds, [5, 3], generator=torch.Generator().manual_seed(12))
    assert not torch.equal(other.edge, samples[0].edge)
    torch.manual_seed(3)                                                # no generator: torch's global one
    first = sample_neighbors(index, seeds, [5, 3])
    torch.manual_seed(3)
    assert torch.equal(sample_neighbors(index, seeds, [5, 3]).edge, first.edge)


@pytest.mark.parametrize("call, error, message", [
    (lambda i: sample_neighbors(i, torch.tensor([0, 9]), [2]), ValueError, r"seeds: expected node ids in 0..5"),
    (lambda i: sample_neighbors(i, torch.tensor([1, 1]), [2]), ValueError, r"seeds: expected distinct node ids, "
                                                                           r"got 1 repeated"),
    (lambda i: sample_neighbors(i, torch.tensor([0.0]), [2]), TypeError, r"seeds: expected a 1-D integer tensor"),
    (lambda i: sample_neighbors(i, torch.tensor([0]), []), ValueError, r"fanouts: expected a non-empty list"),
    (lambda i: sample_neighbors(i, torch.tensor([0]), [2, -3]), ValueError, r"fanouts: expected .* got \[2, -3\]"),
    (lambda i: sample_neighbors(i, torch.tensor([0]), [2.5]), ValueError, r"fanouts: expected"),
    (lambda i: sample_neighbors(i, torch.tensor([0]), [2], weight=torch.ones(3)), ValueError,
     r"weight: expected a floating-point tensor \[8\]"),
    (lambda i: sample_neighbors(i, torch.tensor([0]), [2], weight=-torch.ones(8)), ValueError,
     r"weight: expected finite weights >= 0"),
    (lambda i: sample_neighbors(i, torch.tensor([0]), [2], generator=3), TypeError, r"generator: expected a "
                                                                                    r"torch.Generator"),
    (lambda i: sample_neighbors(SparseIndex(torch.tensor([[0], [1]]), num_nodes=(1, 2)), torch.tensor([0]), [1]),
     ValueError, r"index: neighbour sampling walks one node set"),
])
def test_bad_input_is_refused_by_name(call, error, message):
    index = random_graph(6, 6, 8, seed=1)
    with pytest.raises(error, match=message):
        call(index)
    assert sample_neighbors(index, torch.tensor([1]), [2]).node[0] == 1      # the node map was left clean


def test_a_layout_written_behind_the_version_counter_is_an_error_not_a_wild_read():
    from tests.isolated import outcomes

    results = outcomes("""
        import torch
        from geomlearn.sparse import SparseIndex, sample_neighbors

        def corrupt(part, value):
            index = SparseIndex(torch.tensor([[1, 2, 0, 2], [0, 0, 1, 1]]), num_nodes=3)
            getattr(index.csr(), part).numpy()[1] = value
            return sample_neighbors(index, torch.tensor([0, 1]), [2, 2]).node.tolist()

        outcome("idx", lambda: corrupt("idx", 10**8))
        outcome("eid", lambda: corrupt("eid", -7))
        outcome("ptr", lambda: corrupt("ptr", 10**6))
    """)
    for part, (kind, message) in results.items():
        assert kind == "IndexModifiedError" and "sample_neighbors:" in message, (part, kind, message)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_in_edge_gives_the_same_subgraph_on_both_backends(backend):
    index = random_graph(50, 50, 400, seed=9)
    expected = sample_neighbors(index, torch.tensor([3, 17, 41]), [-1, -1])
    with running_on(backend):
        sample = sample_neighbors(index, torch.tensor([3, 17, 41]), [-1, -1])
    for got, want in zip(sample[:3], expected[:3]):
        assert torch.equal(got, want)
    assert sample.num_sampled_nodes == expected.num_sampled_nodes
