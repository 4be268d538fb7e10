import pytest
import torch
import torch_geometric.nn as pyg

from geomlearn.gnn import GATConv

from .layer_checks import assert_matches_pyg, assert_permutation_equivariant, assert_rejects_bad_graphs, small_graph


@pytest.mark.parametrize("options", [{}, {"heads": 4}, {"heads": 3, "concat": False}, {"add_self_loops": False},
                                     {"heads": 2, "residual": True}, {"bias": False, "negative_slope": 0.1}])
def test_matches_pyg(options):
    x, edge_index = small_graph()
    assert_matches_pyg(GATConv(12, 6, **options), pyg.GATConv(12, 6, **options), x, edge_index)


@pytest.mark.parametrize("fill_value", ["mean", 0.5])
def test_edge_features_match_pyg(fill_value):
    x, edge_index = small_graph()
    edge_attr = torch.randn(edge_index.shape[1], 3, generator=torch.Generator().manual_seed(2))
    assert_matches_pyg(GATConv(12, 5, heads=2, edge_dim=3, fill_value=fill_value),
                       pyg.GATConv(12, 5, heads=2, edge_dim=3, fill_value=fill_value), x, edge_index, edge_attr)


def test_separate_source_and_target_maps_match_pyg():
    g = torch.Generator().manual_seed(5)
    x_src, x_dst = torch.randn(9, 5, generator=g), torch.randn(4, 3, generator=g)
    edge_index = torch.stack([torch.randint(0, 9, (25,), generator=g), torch.randint(0, 4, (25,), generator=g)])
    options = {"heads": 2, "add_self_loops": False}
    assert_matches_pyg(GATConv((5, 3), 6, **options), pyg.GATConv((5, 3), 6, **options), (x_src, x_dst), edge_index)


# PyG's mean fill of loop features fails with more targets than sources (it scatters every edge into
# min(N_src, N_dst) rows), so that case is compared without edge features only.
@pytest.mark.parametrize("sizes, edge_dim", [((9, 4), None), ((4, 9), None), ((9, 4), 3)])
def test_bipartite_self_loops_match_pyg(sizes, edge_dim):
    """With the default add_self_loops=True, PyG joins the first min(N_src, N_dst) nodes by loops."""
    g = torch.Generator().manual_seed(6)
    x_src, x_dst = torch.randn(sizes[0], 5, generator=g), torch.randn(sizes[1], 5, generator=g)
    edge_index = torch.stack([torch.randint(0, sizes[0], (25,), generator=g),
                              torch.randint(0, sizes[1], (25,), generator=g)])
    extra = () if edge_dim is None else (torch.randn(25, edge_dim, generator=g),)
    options = {"heads": 2, "edge_dim": edge_dim}
    assert_matches_pyg(GATConv((5, 5), 6, **options), pyg.GATConv((5, 5), 6, **options), (x_src, x_dst), edge_index,
                       *extra)


def test_attention_weights_match_pyg_and_sum_to_one():
    x, edge_index = small_graph()
    ours, theirs = GATConv(12, 4, heads=2), pyg.GATConv(12, 4, heads=2)
    ours.load_state_dict(theirs.state_dict())
    _, (our_edges, our_alpha) = ours(x, edge_index, return_attention_weights=True)
    _, (their_edges, their_alpha) = theirs(x, edge_index, return_attention_weights=True)
    resort = torch.argsort(their_edges[1], stable=True)                # ours come sorted by target
    assert torch.equal(our_edges, their_edges[:, resort])
    torch.testing.assert_close(our_alpha, their_alpha[resort])
    per_target = torch.zeros(30, 2).index_add_(0, our_edges[1], our_alpha)
    torch.testing.assert_close(per_target, torch.ones(30, 2))


def test_dropout_only_in_training():
    x, edge_index = small_graph()
    layer = GATConv(12, 4, heads=2, dropout=0.5)
    layer.eval()
    torch.testing.assert_close(layer(x, edge_index), layer(x, edge_index))
    layer.train()
    torch.manual_seed(0)
    assert not torch.allclose(layer(x, edge_index), layer.eval()(x, edge_index))


def test_permutation_equivariant():
    x, edge_index = small_graph()
    assert_permutation_equivariant(GATConv(12, 6, heads=3), x, edge_index)


def test_bad_input():
    x, edge_index = small_graph()
    layer = GATConv(12, 6, heads=2)
    assert_rejects_bad_graphs(layer, x, edge_index)
    with pytest.raises(ValueError, match="edge_attr: this GATConv was built with edge_dim=None"):
        layer(x, edge_index, torch.randn(edge_index.shape[1], 3))
    with pytest.raises(ValueError, match="edge_attr: expected 160 rows"):
        GATConv(12, 6, edge_dim=3)(x, edge_index, torch.randn(7, 3))
    with pytest.raises(ValueError, match="fill_value: expected 'mean' or a finite number"):
        GATConv(12, 6, fill_value="max")

