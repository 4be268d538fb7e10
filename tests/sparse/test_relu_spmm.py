import pytest
import torch

from geomlearn.sparse import IndexModifiedError, SparseIndex, relu_spmm
from geomlearn.sparse import reference as ref

from .backends import BACKENDS, assert_gradient_of_each_input_alone, assert_gradients, running_on
from .graphs import awkward_graphs, random_graph

GRAPHS = awkward_graphs()


def _inputs(index, width, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(index.num_src, width, dtype=torch.float64, generator=g),
            torch.randn(index.num_edges, width, dtype=torch.float64, generator=g))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_matches_reference_and_a_loop_over_edges(graph, backend):
    index = GRAPHS[graph]
    x, edge = _inputs(index, 5, seed=0)
    with running_on(backend) as device:
        out = relu_spmm(index.to(device), x.to(device), edge.to(device)).cpu()
    torch.testing.assert_close(out, ref.relu_spmm(index, x, edge))
    expected = torch.zeros(index.num_dst, 5, dtype=torch.float64)
    for e, (j, i) in enumerate(index.edge_index.t().tolist()):
        expected[i] += (x[j] + edge[e]).clamp(min=0)
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("graph", ["random", "hub", "bipartite", "duplicates", "isolated"])
def test_gradients(graph, backend):
    index = GRAPHS[graph]
    with running_on(backend) as device:
        moved = index.to(device)
        inputs = tuple(t.to(device).requires_grad_() for t in _inputs(index, 3, seed=1))
        assert_gradients(backend, device, lambda x, f: relu_spmm(moved, x, f), inputs)


def test_gradients_match_the_reference_for_each_input_alone():
    index = GRAPHS["hub"]
    assert_gradient_of_each_input_alone(lambda *inputs: relu_spmm(index, *inputs),
                                        lambda *inputs: ref.relu_spmm(index, *inputs),
                                        _inputs(index, 4, seed=2), torch.randn(index.num_dst, 4, dtype=torch.float64))


def test_zero_edge_terms_give_the_sum_of_rectified_sources():
    index = random_graph(7, 5, 25, seed=3)
    x, _ = _inputs(index, 3, seed=4)
    torch.testing.assert_close(relu_spmm(index, x, torch.zeros(25, 3, dtype=torch.float64)),
                               ref.spmm(index, x.relu()))


def test_bad_input():
    index = SparseIndex(torch.tensor([[0, 1], [1, 2]]), num_nodes=(2, 3))
    x, edge = torch.randn(2, 4), torch.randn(2, 4)
    with pytest.raises(ValueError, match=r"x: expected 2 rows \(one per source node\)"):
        relu_spmm(index, torch.randn(3, 4), edge)
    with pytest.raises(ValueError, match=r"edge: expected shape \[2, 4\] \(one row per edge, the width of x\), got "
                                         r"\[2, 3\]"):
        relu_spmm(index, x, torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"x: expected shape \[num_src, C\], got \[2, 4, 1\]"):
        relu_spmm(index, x[..., None], edge)
    with pytest.raises(TypeError, match=r"edge: expected dtype torch.float32 \(the dtype of x\)"):
        relu_spmm(index, x, edge.double())


def test_the_op_refuses_indices_out_of_range():
    index = random_graph(5, 4, 12, seed=6)
    csr = index.csr()
    x, edge = torch.randn(5, 3), torch.randn(12, 3)
    bad = csr.eid.clone()
    bad[0] = 12
    with pytest.raises(IndexModifiedError, match="eid"):
        torch.ops.geomlearn.relu_spmm(csr.ptr, csr.idx, bad, csr.ptr, csr.idx, csr.eid, x, edge)
