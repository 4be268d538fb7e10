import pytest
import torch

from geomlearn.sparse import IndexModifiedError, SparseIndex, edge_matrix_spmm
from geomlearn.sparse import reference as ref

from .backends import BACKENDS, assert_gradient_of_each_input_alone, assert_gradients, running_on
from .graphs import awkward_graphs, random_graph

GRAPHS = awkward_graphs()


def _inputs(index, width_in, width_out, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(index.num_src, width_in, dtype=torch.float64, generator=g),
            torch.randn(index.num_edges, width_in, width_out, dtype=torch.float64, generator=g))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("widths", [(3, 5), (6, 2)])
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_matches_reference_and_a_loop_over_edges(graph, widths, backend):
    index = GRAPHS[graph]
    x, weight = _inputs(index, *widths, seed=0)
    with running_on(backend) as device:
        out = edge_matrix_spmm(index.to(device), x.to(device), weight.to(device)).cpu()
    torch.testing.assert_close(out, ref.edge_matrix_spmm(index, x, weight))
    expected = torch.zeros(index.num_dst, widths[1], dtype=torch.float64)
    for e, (j, i) in enumerate(index.edge_index.t().tolist()):
        expected[i] += x[j] @ weight[e]
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("graph", ["random", "hub", "bipartite", "duplicates", "isolated"])
def test_gradients(graph, backend):
    index = GRAPHS[graph]
    with running_on(backend) as device:
        moved = index.to(device)
        inputs = tuple(t.to(device).requires_grad_() for t in _inputs(index, 3, 2, seed=1))
        assert_gradients(backend, device, lambda x, w: edge_matrix_spmm(moved, x, w), inputs)


def test_gradients_match_the_reference_for_each_input_alone():
    index = GRAPHS["hub"]
    assert_gradient_of_each_input_alone(lambda *inputs: edge_matrix_spmm(index, *inputs),
                                        lambda *inputs: ref.edge_matrix_spmm(index, *inputs),
                                        _inputs(index, 4, 3, seed=2),
                                        torch.randn(index.num_dst, 3, dtype=torch.float64))


def test_one_shared_matrix_is_a_sum_then_a_product():
    # W_e = W for every edge: out = (A x) W.
    index = random_graph(7, 5, 25, seed=3)
    x, _ = _inputs(index, 4, 3, seed=4)
    shared = torch.randn(4, 3, dtype=torch.float64)
    torch.testing.assert_close(edge_matrix_spmm(index, x, shared.expand(25, 4, 3)), ref.spmm(index, x) @ shared)


def test_bad_input():
    index = SparseIndex(torch.tensor([[0, 1], [1, 2]]), num_nodes=(2, 3))
    x, weight = torch.randn(2, 4), torch.randn(2, 4, 3)
    with pytest.raises(ValueError, match=r"x: expected 2 rows \(one per source node\)"):
        edge_matrix_spmm(index, torch.randn(3, 4), weight)
    with pytest.raises(ValueError, match=r"weight: expected shape \[2, 4, out\] \(one \[in, out\] matrix per edge\), "
                                         r"got \[2, 5, 3\]"):
        edge_matrix_spmm(index, x, torch.randn(2, 5, 3))
    with pytest.raises(ValueError, match=r"x: expected shape \[num_src, in\], got \[2, 4, 1\]"):
        edge_matrix_spmm(index, x[..., None], weight)
    with pytest.raises(TypeError, match=r"weight: expected dtype torch.float32 \(the dtype of x\)"):
        edge_matrix_spmm(index, x, weight.double())


def test_the_op_refuses_indices_out_of_range():
    index = random_graph(5, 4, 12, seed=6)
    csr = index.csr()
    x, weight = torch.randn(5, 3), torch.randn(12, 3, 2)
    bad = csr.eid.clone()
    bad[0] = 12
    with pytest.raises(IndexModifiedError, match="eid"):
        torch.ops.geomlearn.edge_matrix_spmm(csr.ptr, csr.idx, bad, csr.ptr, csr.idx, csr.eid, x, weight)
