import pytest
import torch
import torch_geometric.nn as pyg

from geomlearn.gnn import GCNConv
from geomlearn.sparse import SparseIndex

from .layer_checks import assert_matches_pyg, assert_permutation_equivariant, assert_rejects_bad_graphs, small_graph


@pytest.mark.parametrize("options", [{}, {"improved": True}, {"add_self_loops": False}, {"normalize": False},
                                     {"bias": False}])
@pytest.mark.parametrize("out_channels", [5, 20])
def test_matches_pyg(options, out_channels):
    x, edge_index = small_graph()
    weight = torch.rand(edge_index.shape[1], generator=torch.Generator().manual_seed(1))
    ones = torch.ones(edge_index.shape[1])
    # torch_geometric drops `improved` when it makes unit weights itself, so compare against explicit ones.
    assert_matches_pyg(GCNConv(12, out_channels, **options), pyg.GCNConv(12, out_channels, **options), x, edge_index,
                       ones)
    assert_matches_pyg(GCNConv(12, out_channels, **options), pyg.GCNConv(12, out_channels, **options), x, edge_index,
                       weight)
    if not options.get("improved"):
        assert_matches_pyg(GCNConv(12, out_channels, **options), pyg.GCNConv(12, out_channels, **options), x,
                           edge_index)


def test_self_loops_without_normalisation():
    # A + I applied as is (torch_geometric refuses add_self_loops=True with normalize=False).
    x, edge_index = small_graph()
    layer = GCNConv(12, 4, normalize=False, add_self_loops=True, bias=False).double()
    plain = GCNConv(12, 4, normalize=False, bias=False).double()
    plain.load_state_dict(layer.state_dict())
    x = x.double()
    without_loops = edge_index[:, edge_index[0] != edge_index[1]]
    torch.testing.assert_close(layer(x, edge_index), plain(x, without_loops) + layer.lin(x))


def test_matches_dense_formula():
    # X' = D^-1/2 (A + I) D^-1/2 X W^T on a graph without self loops or duplicates.
    edge_index = torch.tensor([[0, 1, 1, 2, 3], [1, 0, 2, 1, 2]])
    x = torch.randn(4, 3, dtype=torch.float64)
    layer = GCNConv(3, 2, bias=False).double()
    adjacency = torch.eye(4, dtype=torch.float64)
    adjacency[edge_index[1], edge_index[0]] = 1.0
    degree = adjacency.sum(1)
    expected = degree.rsqrt()[:, None] * adjacency * degree.rsqrt()[None, :] @ x @ layer.lin.weight.T
    torch.testing.assert_close(layer(x, edge_index), expected)


def test_cached_reuses_the_normalisation():
    x, edge_index = small_graph()
    layer = GCNConv(12, 4, cached=True)
    first = layer(x, edge_index)
    # The cached operator is used even when another graph is passed (transductive use, as in PyG).
    torch.testing.assert_close(layer(x, edge_index.flip(0)), first)
    layer.reset_parameters()
    assert layer._norm.value is None


def test_permutation_equivariant():
    x, edge_index = small_graph()
    assert_permutation_equivariant(GCNConv(12, 6), x, edge_index)


def test_bad_input():
    x, edge_index = small_graph()
    layer = GCNConv(12, 6)
    assert_rejects_bad_graphs(layer, x, edge_index)
    with pytest.raises(ValueError, match=r"edge_weight: expected a tensor of shape \[160\]"):
        layer(x, edge_index, torch.ones(7))
    with pytest.raises(TypeError, match="x: expected floating-point"):
        layer(torch.ones(30, 12, dtype=torch.long), edge_index)


def test_prebuilt_index_keeps_its_self_loop_graph():
    x, edge_index = small_graph()
    index = SparseIndex(edge_index, num_nodes=30)
    layer = GCNConv(12, 6)
    layer(x, index)
    looped, _, _ = index.with_self_loops()
    layer(x, index)
    assert index.with_self_loops()[0] is looped
