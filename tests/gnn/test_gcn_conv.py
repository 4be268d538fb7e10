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
    # improved=True weighs added loops 2 only on weighted edges: unit weights and none give different outputs.
    for args in ((ones,), (weight,), ()):
        assert_matches_pyg(GCNConv(12, out_channels, **options), pyg.GCNConv(12, out_channels, **options), x,
                           edge_index, *args)


def test_torch_geometric_s_options_after_construction():
    """flow, a batch of signals on one graph, cached switched on later: as torch_geometric's GCNConv."""
    x, edge_index = small_graph()
    theirs, ours = pyg.GCNConv(12, 6), GCNConv(12, 6)
    ours.load_state_dict(theirs.state_dict())
    for layer in (theirs, ours):
        layer.flow = "target_to_source"
    torch.testing.assert_close(ours(x, edge_index), theirs(x, edge_index))
    for layer in (theirs, ours):
        layer.flow = "source_to_target"
    batch = torch.randn(3, 30, 12)
    torch.testing.assert_close(ours(batch, edge_index), theirs(batch, edge_index))
    ours.cached = True
    first = ours(x, edge_index)
    assert ours._cached_edge_index is not None
    torch.testing.assert_close(ours(x, edge_index[:, :10]), first)     # the cached graph, whatever is passed
    with pytest.raises(ValueError, match="add_self_loops: GCNConv does not support adding self-loops"):
        GCNConv(12, 6, normalize=False, add_self_loops=True)


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
    assert layer._cached_edge_index is None


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
