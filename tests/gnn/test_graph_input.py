import pytest
import torch
from torch_geometric.data import Data

from geomlearn.gnn import as_sparse_index
from geomlearn.sparse import SparseIndex
from geomlearn.sparse.graph_input import adjacency_edges


def test_three_kinds_give_the_same_graph():
    edge_index = torch.tensor([[0, 1, 2], [1, 2, 0]])
    weight = torch.tensor([0.5, 1.0, 2.0])
    from_tensor, w1 = as_sparse_index(edge_index, 4, edge_weight=weight)
    prebuilt = SparseIndex(edge_index, num_nodes=4)
    from_index, _ = as_sparse_index(prebuilt, 4)
    from_data, w3 = as_sparse_index(Data(edge_index=edge_index, edge_weight=weight, num_nodes=4), 4)
    assert from_index is prebuilt
    for index in (from_tensor, from_data):
        assert torch.equal(index.edge_index, prebuilt.edge_index) and index.shape == (4, 4)
    assert w1 is weight and w3 is weight


def test_bipartite_sizes():
    index, _ = as_sparse_index(torch.tensor([[0, 5], [1, 0]]), 6, 2)
    assert index.shape == (2, 6)


def test_errors_name_the_argument():
    edge_index = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="x: the graph has 5 source and 5 target nodes, but the features have 3"):
        as_sparse_index(SparseIndex(edge_index, num_nodes=5), 3)
    with pytest.raises(ValueError, match=r"edge_weight: expected a tensor of shape \[2\]"):
        as_sparse_index(edge_index, 3, edge_weight=torch.ones(2, 1))
    with pytest.raises(TypeError, match="edge_index: expected an edge_index tensor"):
        as_sparse_index(None, 3)
    with pytest.raises(ValueError, match="edge_index: source index 7"):
        as_sparse_index(torch.tensor([[7], [0]]), 3)


def test_a_sparse_adjacency_is_read_transposed_with_its_values_as_weights():
    edge_index = torch.tensor([[0, 2, 3], [1, 1, 0]])
    weight = torch.tensor([0.5, 2.0, 3.0])
    adj_t = torch.sparse_coo_tensor(edge_index.flip(0), weight, (2, 4), check_invariants=True)   # [targets, sources]
    index, values = as_sparse_index(adj_t, 4, 2)
    got = sorted(zip(map(tuple, index.edge_index.t().tolist()), values.tolist()))
    assert got == sorted(zip(map(tuple, edge_index.t().tolist()), weight.tolist()))
    with pytest.raises(ValueError, match="edge_weight: a sparse adjacency carries its weights"):
        as_sparse_index(adj_t, 4, 2, edge_weight=weight)
    hybrid = torch.sparse_coo_tensor(edge_index.flip(0), torch.ones(3, 2), (2, 4, 2), check_invariants=True)
    with pytest.raises(ValueError, match=r"edge_index: expected a 2-D sparse adjacency, got shape \[2, 4, 2\]"):
        as_sparse_index(hybrid, 4, 2)
    cube = torch.sparse_coo_tensor(torch.zeros(3, 1, dtype=torch.long), torch.ones(1), (2, 2, 2),
                                   check_invariants=True)
    with pytest.raises(ValueError, match="edge_index: expected a sparse adjacency with 2 sparse dimensions, got 3"):
        adjacency_edges(cube)
