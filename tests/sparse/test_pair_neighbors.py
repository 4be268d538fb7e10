import pytest
import torch

from geomlearn.sparse import SparseIndex, pair_neighbors

from .graphs import dense_adjacency, random_graph


def test_against_dense_row_products():
    index = random_graph(25, 25, 120, seed=4)
    adjacency = dense_adjacency(index) > 0                          # A[i, u]: u is a neighbour of i
    pairs = torch.randint(0, 25, (2, 40), generator=torch.Generator().manual_seed(0))
    result = pair_neighbors(index, pairs)
    expected = [(p, u, bool(adjacency[b, u])) for p, (a, b) in enumerate(pairs.t().tolist())
                for u in adjacency[a].nonzero()[:, 0].tolist()]
    got = list(zip(result.pair.tolist(), result.node.tolist(), result.shared.tolist()))
    assert got == expected
    common = result.index(25, 40, result.shared)
    assert common.shape == (40, 25)
    counts = torch.zeros(40).index_add_(0, common.dst.long(), torch.ones(common.num_edges))
    torch.testing.assert_close(counts, (adjacency[pairs[0]] & adjacency[pairs[1]]).sum(1).float())


def test_duplicates_count_once_and_empty_inputs():
    index = SparseIndex(torch.tensor([[1, 1, 2], [0, 0, 0]]), num_nodes=3)
    result = pair_neighbors(index, torch.tensor([[0], [0]]))
    assert result.node.tolist() == [1, 2] and result.shared.tolist() == [True, True]
    empty = pair_neighbors(SparseIndex(torch.empty(2, 0, dtype=torch.long), num_nodes=3), torch.tensor([[0], [1]]))
    assert empty.pair.numel() == 0


def test_bad_input():
    index = SparseIndex(torch.tensor([[0], [1]]), num_nodes=3)
    with pytest.raises(ValueError, match=r"pairs: expected an integer tensor of shape \[2, B\]"):
        pair_neighbors(index, torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="pairs: node ids must lie in 0..2"):
        pair_neighbors(index, torch.tensor([[0], [3]]))
    with pytest.raises(ValueError, match="index: pair neighbourhoods need a square graph"):
        pair_neighbors(SparseIndex(torch.tensor([[0], [1]]), num_nodes=(1, 2)), torch.tensor([[0], [0]]))
