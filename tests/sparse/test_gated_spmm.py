import pytest
import torch

from geomlearn.sparse import IndexModifiedError, SparseIndex, gated_spmm
from geomlearn.sparse import reference as ref

from .backends import BACKENDS, assert_gradient_of_each_input_alone, assert_gradients, running_on
from .graphs import awkward_graphs, dense_adjacency, random_graph

GRAPHS = awkward_graphs()


def _inputs(index, width, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(index.num_dst, width, dtype=torch.float64, generator=g),
            torch.randn(index.num_src, width, dtype=torch.float64, generator=g),
            torch.randn(index.num_src, width, dtype=torch.float64, generator=g))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_matches_reference_and_a_dense_sum(graph, backend):
    index = GRAPHS[graph]
    key, query, value = _inputs(index, 5, seed=0)
    with running_on(backend) as device:
        out = gated_spmm(index.to(device), key.to(device), query.to(device), value.to(device)).cpu()
    torch.testing.assert_close(out, ref.gated_spmm(index, key, query, value))
    # Dense: out_i = sum_j A_ij sigmoid(k_i + q_j) v_j, with A counting duplicate edges.
    gates = torch.sigmoid(key[:, None, :] + query[None, :, :])                   # [num_dst, num_src, C]
    dense = torch.einsum("ij,ijc,jc->ic", dense_adjacency(index), gates, value)
    torch.testing.assert_close(out, dense)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("graph", ["random", "hub", "bipartite", "duplicates", "isolated"])
def test_gradients(graph, backend):
    index = GRAPHS[graph]
    with running_on(backend) as device:
        moved = index.to(device)
        inputs = tuple(t.to(device).requires_grad_() for t in _inputs(index, 3, seed=1))
        assert_gradients(backend, device, lambda k, q, v: gated_spmm(moved, k, q, v), inputs)


def test_gradients_match_the_reference_for_each_input_alone():
    index = GRAPHS["random"]
    assert_gradient_of_each_input_alone(lambda *inputs: gated_spmm(index, *inputs),
                                        lambda *inputs: ref.gated_spmm(index, *inputs),
                                        _inputs(index, 4, seed=2), torch.randn(index.num_dst, 4, dtype=torch.float64))


def test_saturated_gates_pass_or_block_the_values():
    # Gates of +-inf logits are exactly 1 and 0 (no NaN from exp overflow): the sum of the values, or nothing.
    index = random_graph(6, 5, 20, seed=3)
    _, query, value = _inputs(index, 3, seed=4)
    ones = torch.ones(index.num_dst, 3, dtype=torch.float64)
    torch.testing.assert_close(gated_spmm(index, 1e4 * ones, query, value), ref.spmm(index, value))
    torch.testing.assert_close(gated_spmm(index, -1e4 * ones, query, value), torch.zeros(5, 3, dtype=torch.float64))


def test_bad_input():
    index = SparseIndex(torch.tensor([[0, 1], [1, 2]]), num_nodes=(2, 3))
    key, query, value = torch.randn(3, 4), torch.randn(2, 4), torch.randn(2, 4)
    with pytest.raises(ValueError, match=r"key: expected 3 rows \(one per target node\)"):
        gated_spmm(index, torch.randn(2, 4), query, value)
    with pytest.raises(ValueError, match=r"query: expected 2 rows \(one per source node\)"):
        gated_spmm(index, key, torch.randn(3, 4), value)
    with pytest.raises(ValueError, match=r"value: expected shape \[2, 4\] \(the width of key\), got \[2, 5\]"):
        gated_spmm(index, key, query, torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"key: expected shape \[num_dst, C\], got \[3, 4, 1\]"):
        gated_spmm(index, key[..., None], query, value)
    with pytest.raises(TypeError, match=r"value: expected dtype torch.float32 \(the dtype of key\)"):
        gated_spmm(index, key, query, value.double())


def test_the_op_refuses_indices_out_of_range():
    index = random_graph(5, 4, 12, seed=6)
    csr = index.csr()
    key, query, value = torch.randn(4, 3), torch.randn(5, 3), torch.randn(5, 3)
    bad = csr.idx.clone()
    bad[-1] = 7
    with pytest.raises(IndexModifiedError, match="idx"):
        torch.ops.geomlearn.gated_spmm(csr.ptr, bad, csr.ptr, csr.idx, key, query, value)
