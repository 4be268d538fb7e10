import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from geomlearn.sparse import SparseIndex, spmm
from geomlearn.sparse import reference as ref

from .backends import BACKENDS, assert_gradients, running_on
from .graphs import awkward_graphs, dense_adjacency, dense_edge_mask, random_graph

GRAPHS = awkward_graphs()
REDUCTIONS = ["sum", "mean", "max", "min"]


def dense_spmm(index, x, weight, reduce):
    """The same product computed densely: ``A @ x`` for sum / mean, a masked max over all edges otherwise."""
    if reduce in ("sum", "mean"):
        out = dense_adjacency(index, weight) @ x.flatten(1)
        if reduce == "mean":
            out = out / index.in_degree().clamp(min=1).unsqueeze(1)
        return out.reshape(index.num_dst, *x.shape[1:])
    w = torch.ones(index.num_edges, dtype=x.dtype) if weight is None else weight
    messages = (w.unsqueeze(1) * x[index.src.long()].flatten(1)).unsqueeze(0)
    mask = dense_edge_mask(index).unsqueeze(2)
    fill = float("-inf") if reduce == "max" else float("inf")
    picked = torch.where(mask, messages, fill)
    picked = torch.cat([picked, torch.full((index.num_dst, 1, picked.shape[2]), fill, dtype=x.dtype)], 1)  # a column for edgeless graphs
    out = picked.amax(1) if reduce == "max" else picked.amin(1)
    out = torch.where(mask.any(1), out, 0.0)
    return out.reshape(index.num_dst, *x.shape[1:])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_spmm_matches_reference_and_dense(graph, weighted, reduce, backend):
    index = GRAPHS[graph]
    g = torch.Generator().manual_seed(3)
    x = torch.randn(index.num_src, 4, dtype=torch.float64, generator=g)
    weight = torch.rand(index.num_edges, dtype=torch.float64, generator=g) + 0.5 if weighted else None
    expected_ref = ref.spmm(index, x, weight, reduce)
    expected_dense = dense_spmm(index, x, weight, reduce)
    with running_on(backend) as device:
        out = spmm(index.to(device), x.to(device), None if weight is None else weight.to(device), reduce)
    assert out.shape == (index.num_dst, 4)
    torch.testing.assert_close(out.cpu(), expected_ref)
    torch.testing.assert_close(out.cpu(), expected_dense)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_spmm_multihead_and_float32(reduce, backend):
    index = random_graph(15, 11, 60, seed=4)
    g = torch.Generator().manual_seed(5)
    x = torch.randn(15, 3, 5, generator=g)
    weight = torch.rand(60, 3, generator=g)
    with running_on(backend) as device:
        out = spmm(index.to(device), x.to(device), weight.to(device), reduce)
    assert out.dtype == torch.float32 and out.shape == (11, 3, 5)
    expected = torch.stack([ref.spmm(index, x[:, h], weight[:, h], reduce) for h in range(3)], 1)
    torch.testing.assert_close(out.cpu(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("graph", ["random", "hub", "bipartite", "isolated"])
def test_spmm_gradcheck(graph, reduce, backend):
    index = GRAPHS[graph]
    g = torch.Generator().manual_seed(6)
    with running_on(backend) as device:
        x = torch.randn(index.num_src, 2, 3, dtype=torch.float64, generator=g).to(device).requires_grad_()
        weight = (torch.rand(index.num_edges, 2, dtype=torch.float64, generator=g) + 0.5).to(device).requires_grad_()
        moved = index.to(device)
        assert_gradients(backend, device, lambda a, b: spmm(moved, a, b, reduce), (x, weight))


@settings(max_examples=30, deadline=None)
@given(
    num_src=st.integers(0, 12),
    num_dst=st.integers(1, 12),
    num_edges=st.integers(0, 60),
    trailing=st.lists(st.integers(1, 4), min_size=0, max_size=2),
    reduce=st.sampled_from(REDUCTIONS),
    seed=st.integers(0, 2**16),
)
def test_spmm_hypothesis_shapes(num_src, num_dst, num_edges, trailing, reduce, seed):
    num_edges = num_edges if num_src else 0
    index = random_graph(num_src, num_dst, num_edges, seed=seed)
    x = torch.randn(num_src, *trailing, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    weight = torch.rand(num_edges, dtype=torch.float64)
    out = spmm(index, x, weight, reduce)
    assert out.shape == (num_dst, *trailing)
    torch.testing.assert_close(out, ref.spmm(index, x, weight, reduce))


def test_spmm_is_deterministic_on_cpu():
    index = random_graph(300, 300, 5000, seed=7)
    x = torch.randn(300, 32, requires_grad=True)
    weight = torch.rand(5000, requires_grad=True)
    runs = []
    for _ in range(2):
        out = spmm(index, x, weight, "sum")
        gx, gw = torch.autograd.grad(out.square().sum(), (x, weight))
        runs.append((out, gx, gw))
    for first, second in zip(*runs):
        assert torch.equal(first, second)


def test_spmm_bad_input():
    index = SparseIndex(torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    x = torch.randn(3, 4)
    with pytest.raises(TypeError, match="index: expected a geomlearn.sparse.SparseIndex"):
        spmm(torch.tensor([[0, 1], [1, 2]]), x)
    with pytest.raises(ValueError, match=r"x: expected 3 rows \(one per source node\), got shape \[2, 4\]"):
        spmm(index, torch.randn(2, 4))
    with pytest.raises(TypeError, match="x: expected a floating-point tensor, got dtype torch.int64"):
        spmm(index, torch.ones(3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="reduce: expected one of .* got 'prod'"):
        spmm(index, x, reduce="prod")
    with pytest.raises(ValueError, match=r"weight: expected 2 rows \(one per edge\), got shape \[3\]"):
        spmm(index, x, torch.ones(3))
    with pytest.raises(TypeError, match="weight: expected dtype torch.float32 .* got torch.float64"):
        spmm(index, x, torch.ones(2, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"x: a weight of shape \[2, 2\] has 2 heads"):
        spmm(index, x, torch.ones(2, 2))
    with pytest.raises(ValueError, match=r"weight: expected shape \[E\] or \[E, H\]"):
        spmm(index, torch.randn(3, 1, 4), torch.ones(2, 1, 1))
    for half in (torch.float16, torch.bfloat16):
        with pytest.raises(TypeError, match=rf"x: expected float32 or float64 on the CPU .* got {half}"):
            spmm(index, x.to(half))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reduce", ["max", "min"])
def test_a_nan_propagates_through_max_and_min_wherever_it_sits_in_a_row(reduce, backend):
    # Node 0 receives from 1, 2, 3 (in that edge order); a NaN on the first, a middle or the last edge, as torch.amax.
    index = SparseIndex(torch.tensor([[1, 2, 3, 0], [0, 0, 0, 1]]), num_nodes=4)
    for nan_row in (1, 2, 3):
        x = torch.tensor([[5.0, 1.0], [2.0, -1.0], [3.0, 0.0], [-4.0, 2.0]])
        x[nan_row, 0] = float("nan")
        peak = x[1:].amax(0) if reduce == "max" else x[1:].amin(0)
        expected = torch.stack([peak, x[0], torch.zeros(2), torch.zeros(2)])       # nodes 2 and 3 receive nothing
        with running_on(backend) as device:
            out = spmm(index.to(device), x.to(device), reduce=reduce).cpu()
        torch.testing.assert_close(out, expected, equal_nan=True)
        torch.testing.assert_close(out, ref.spmm(index, x, None, reduce), equal_nan=True)
        assert out[0, 0].isnan() and not out[0, 1].isnan()


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_max_and_min_are_twice_differentiable(reduce):
    index = random_graph(7, 5, 20, seed=6)
    g = torch.Generator().manual_seed(7)
    x = torch.randn(7, 2, 3, dtype=torch.float64, generator=g, requires_grad=True)
    weight = torch.rand(20, 2, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda a, w: spmm(index, a, w, reduce), (x, weight))
    assert torch.autograd.gradgradcheck(lambda a: spmm(index, a, None, reduce), (x,))
