"""GATv2Conv and TransformerConv against torch_geometric's layers of the same name (state_dict, outputs and input
gradients, for every graph input), their attention weights, and their own formulas."""

import math

import pytest
import torch
import torch_geometric.nn as pyg

from geomlearn.datasets import planetoid
from geomlearn.gnn import GATv2Conv, TransformerConv

from ..real_data import needs_data
from .layer_checks import (assert_matches_pyg, assert_permutation_equivariant, assert_rejects_bad_graphs, bipartite,
                           edge_features, small_graph)


@pytest.mark.parametrize("options", [{}, {"heads": 4}, {"heads": 3, "concat": False}, {"add_self_loops": False},
                                     {"heads": 2, "residual": True}, {"bias": False, "negative_slope": 0.1},
                                     {"heads": 2, "share_weights": True}])
def test_gatv2_matches_pyg(options):
    x, edge_index = small_graph()
    assert_matches_pyg(GATv2Conv(12, 6, **options), pyg.GATv2Conv(12, 6, **options), x, edge_index)


@pytest.mark.parametrize("fill_value", ["mean", 0.5])
def test_gatv2_edge_features_match_pyg(fill_value):
    x, edge_index = small_graph()
    options = dict(heads=2, edge_dim=3, fill_value=fill_value)
    assert_matches_pyg(GATv2Conv(12, 5, **options), pyg.GATv2Conv(12, 5, **options), x, edge_index,
                       edge_features(edge_index))


def test_gatv2_bipartite_matches_pyg():
    x, edge_index = bipartite()
    for options in ({"heads": 2, "add_self_loops": False}, {"heads": 2}):
        assert_matches_pyg(GATv2Conv((5, 3), 6, **options), pyg.GATv2Conv((5, 3), 6, **options), x, edge_index)


def test_gatv2_is_the_formula():
    """One head, no loops, on a tiny graph: the scores a^T LeakyReLU(W_s x_j + W_t x_i), softmaxed per target."""
    x, edge_index = small_graph(num_nodes=6, num_edges=14, in_channels=3)
    x = x.double()
    conv = GATv2Conv(3, 2, add_self_loops=False, negative_slope=0.3).double()
    source, target = conv.lin_l(x), conv.lin_r(x)
    expected = torch.zeros(6, 2, dtype=torch.float64)
    for i in range(6):
        incoming = edge_index[0][edge_index[1] == i]
        if len(incoming):
            scores = torch.stack([(torch.nn.functional.leaky_relu(source[j] + target[i], 0.3) * conv.att[0, 0]).sum()
                                  for j in incoming])
            expected[i] = (scores.softmax(0)[:, None] * source[incoming]).sum(0)
    torch.testing.assert_close(conv(x, edge_index), expected + conv.bias)


@pytest.mark.parametrize("options", [{}, {"heads": 3}, {"heads": 2, "concat": False}, {"root_weight": False},
                                     {"heads": 2, "beta": True}, {"heads": 2, "concat": False, "beta": True},
                                     {"bias": False}, {"heads": 2, "aggr": "mean"}])
def test_transformer_matches_pyg(options):
    x, edge_index = small_graph()
    torch.manual_seed(0)
    theirs = pyg.TransformerConv(12, 6, **options)
    assert_matches_pyg(TransformerConv(12, 6, **options), theirs, x, edge_index)
    assert repr(TransformerConv(12, 6, **options)) == repr(theirs)


@pytest.mark.parametrize("options", [{"heads": 2}, {"heads": 2, "aggr": "max"}, {"heads": 2, "concat": False}])
def test_transformer_edge_features_match_pyg(options):
    x, edge_index = small_graph()
    assert_matches_pyg(TransformerConv(12, 5, edge_dim=3, **options), pyg.TransformerConv(12, 5, edge_dim=3, **options),
                       x, edge_index, edge_features(edge_index))


def test_transformer_bipartite_and_attention_weights_match_pyg():
    x, edge_index = bipartite()
    assert_matches_pyg(TransformerConv((5, 3), 4, heads=2), pyg.TransformerConv((5, 3), 4, heads=2), x, edge_index)
    ours, theirs = TransformerConv((5, 3), 4, heads=2), pyg.TransformerConv((5, 3), 4, heads=2)
    ours.load_state_dict(theirs.state_dict())
    _, (our_edges, our_alpha) = ours(x, edge_index, return_attention_weights=False)    # any bool, as in PyG
    _, (their_edges, their_alpha) = theirs(x, edge_index, return_attention_weights=False)
    assert torch.equal(our_edges, their_edges)
    torch.testing.assert_close(our_alpha, their_alpha)
    torch.testing.assert_close(torch.zeros(4, 2).index_add_(0, our_edges[1], our_alpha),
                               (torch.bincount(edge_index[1], minlength=4) > 0).float()[:, None].expand(4, 2))


def test_transformer_is_scaled_dot_product_attention():
    """Dense check: one head, the softmax of q_i . k_j / sqrt(C) over the neighbours, masked dense attention."""
    x, edge_index = small_graph(num_nodes=7, num_edges=20, in_channels=4)
    edge_index = torch.unique(edge_index, dim=1)                        # a dense mask holds each edge once
    x = x.double()
    conv = TransformerConv(4, 3, root_weight=False).double()
    q, k, v = conv.lin_query(x), conv.lin_key(x), conv.lin_value(x)
    mask = torch.zeros(7, 7, dtype=torch.bool)
    mask[edge_index[1], edge_index[0]] = True
    scores = (q @ k.T / math.sqrt(3)).masked_fill(~mask, float("-inf"))
    attention = torch.nan_to_num(scores.softmax(1))                     # a node without neighbours gets 0
    torch.testing.assert_close(conv(x, edge_index), attention @ v)


@pytest.mark.parametrize("layer", ["GATv2Conv", "TransformerConv"])
def test_cora_matches_pyg(layer):
    needs_data("planetoid/Cora/raw")
    data = planetoid("Cora")
    ours, theirs = {"GATv2Conv": (GATv2Conv, pyg.GATv2Conv), "TransformerConv": (TransformerConv, pyg.TransformerConv)}[layer]
    torch.manual_seed(0)
    assert_matches_pyg(ours(data.num_features, 8, heads=2), theirs(data.num_features, 8, heads=2), data.x,
                       data.edge_index, atol=1e-4)


@pytest.mark.parametrize("layer", [GATv2Conv(12, 4, heads=2), TransformerConv(12, 4, heads=2)])
def test_properties_and_errors(layer):
    x, edge_index = small_graph()
    assert_permutation_equivariant(layer, x, edge_index)
    assert_rejects_bad_graphs(layer, x, edge_index)
    with pytest.raises(ValueError, match="edge_attr: this .* was built with edge_dim=None"):
        layer(x, edge_index, edge_features(edge_index))


def test_edge_feature_errors():
    x, edge_index = small_graph()
    for layer in (GATv2Conv(12, 4, edge_dim=3), TransformerConv(12, 4, edge_dim=3)):
        with pytest.raises(ValueError, match=r"edge_attr: expected 160 rows \(one per edge\), got \[159, 3\]"):
            layer(x, edge_index, edge_features(edge_index)[1:])
        with pytest.raises(ValueError, match=r"edge_attr: expected 3 features in the last dimension \(edge_dim\)"):
            layer(x, edge_index, edge_features(edge_index, width=2))
