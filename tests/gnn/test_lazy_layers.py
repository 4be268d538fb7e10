"""``in_channels=-1``: the torch_geometric drop-ins size themselves from their first input, as torch_geometric's
layers do, and then load a torch_geometric layer's state dict and match it."""

import pytest
import torch
import torch_geometric.nn as pyg

from geomlearn.gnn import DAGNN, GATConv, GCNConv, SAGEConv, TANGNNConv

from .layer_checks import assert_matches_pyg, small_graph

LAYERS = {
    "GCNConv": (GCNConv, pyg.GCNConv, {}),
    "GCNConv widening": (GCNConv, pyg.GCNConv, {"out_channels": 20}),
    "SAGEConv": (SAGEConv, pyg.SAGEConv, {}),
    "SAGEConv max": (SAGEConv, pyg.SAGEConv, {"aggr": "max"}),
    "GATConv": (GATConv, pyg.GATConv, {"heads": 2}),
    "GATConv residual": (GATConv, pyg.GATConv, {"heads": 2, "residual": True}),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_a_lazy_layer_matches_torch_geometrics_lazy_layer(name):
    ours_cls, theirs_cls, options = LAYERS[name]
    options = dict({"out_channels": 6}, **options)
    x, edge_index = small_graph()
    torch.manual_seed(0)
    theirs = theirs_cls(-1, **options)
    theirs(x, edge_index)                                  # sizes itself, as ours will
    ours = ours_cls(-1, **options)
    assert_matches_pyg(ours, theirs, x, edge_index)
    assert ours(x, edge_index).shape == theirs(x, edge_index).shape
    with pytest.raises(ValueError, match=r"x: expected 12 features in the last dimension \(in_channels\)"):
        ours(torch.cat([x, x], dim=1), edge_index)         # sized now: another width is refused


def test_lazy_bipartite_sizes_and_other_lazy_layers():
    g = torch.Generator().manual_seed(4)
    x_src, x_dst = torch.randn(9, 5, generator=g), torch.randn(4, 3, generator=g)
    edge_index = torch.stack([torch.randint(0, 9, (25,), generator=g), torch.randint(0, 4, (25,), generator=g)])
    for layer in (SAGEConv((-1, -1), 6), GATConv((-1, 3), 6, add_self_loops=False)):
        assert layer((x_src, x_dst), edge_index).shape == (4, 6)
        with pytest.raises(ValueError, match=r"x_dst: expected 3 features"):
            layer((x_src, torch.randn(4, 5)), edge_index)
    x, edge_index = small_graph()
    assert DAGNN(-1, 8, 3, K=2)(x, edge_index).shape == (30, 3)
    assert TANGNNConv(-1, 8, top_m=3)(x, edge_index).shape == (30, 8)


@pytest.mark.parametrize("build, message", [
    (lambda: GCNConv(0, 4), r"in_channels: expected an int >= 1 or -1 \(lazy"),
    (lambda: GCNConv(4, -1), r"out_channels: expected an int >= 1, got -1"),
    (lambda: SAGEConv((4, 0), 4), r"in_channels: expected an int >= 1 or -1 .*, or a pair of them, got \(4, 0\)"),
    (lambda: SAGEConv(-1, 4, project=True), r"in_channels: 'SAGEConv' does not support lazy initialization"),
    (lambda: GATConv(4, 4, heads=0), r"heads: expected an int >= 1, got 0"),
    (lambda: GATConv(4, 4, dropout=1.5), r"dropout: expected a dropout probability in \[0, 1\], got 1.5"),
    (lambda: GATConv(4, 4, negative_slope=float("nan")), r"negative_slope: expected a finite number, got nan"),
    (lambda: GATConv(4, 4, edge_dim=0), r"edge_dim: expected None or an int >= 1, got 0"),
    (lambda: DAGNN(4, 0, 3, K=2), r"hidden_channels: expected an int >= 1, got 0"),
    (lambda: DAGNN(4, 8, 3, K=2, dropout=1.5), r"dropout: expected a dropout probability"),
    (lambda: TANGNNConv(4, 8, heads=0), r"heads: expected an int >= 1, got 0"),
    (lambda: TANGNNConv(4, 8, top_m=0), r"top_m: expected an int >= 1, got 0"),
])
def test_constructor_arguments_are_checked_by_name(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_edge_features_of_another_width_are_refused():
    x, edge_index = small_graph()
    layer = GATConv(12, 4, edge_dim=3)
    with pytest.raises(ValueError, match=r"edge_attr: expected 3 features in the last dimension \(edge_dim\), got "
                                         r"shape \[160, 2\]"):
        layer(x, edge_index, torch.randn(160, 2))
