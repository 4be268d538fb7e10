"""SGConv, GCN2Conv and GraphConv against torch_geometric's layers of the same name: state_dict, outputs and input
gradients on awkward graphs and on Cora, and their own properties."""

import pytest
import torch
import torch_geometric.nn as pyg

from geomlearn.datasets import planetoid
from geomlearn.gnn import GCN2Conv, GINEConv, GraphConv, SGConv
from geomlearn.sparse import SparseIndex

from ..real_data import needs_data
from .layer_checks import (assert_matches_pyg, assert_permutation_equivariant, assert_rejects_bad_graphs,
                           dense_normalized_adjacency, small_graph)


def edge_weights(edge_index):
    return torch.rand(edge_index.shape[1], generator=torch.Generator().manual_seed(1)) + 0.1


@pytest.mark.parametrize("options", [dict(K=1), dict(K=3, bias=False), dict(K=2, add_self_loops=False)])
@pytest.mark.parametrize("out_channels", [4, 20])          # narrower (projected first) and wider than the input
def test_sgconv_matches_pyg(options, out_channels):
    x, edge_index = small_graph()
    torch.manual_seed(0)
    theirs = pyg.SGConv(12, out_channels, **options)
    assert_matches_pyg(SGConv(12, out_channels, **options), theirs, x, edge_index)
    assert_matches_pyg(SGConv(12, out_channels, **options), theirs, x, edge_index, edge_weights(edge_index))
    assert repr(SGConv(12, out_channels, **options)) == repr(theirs)


def test_sgconv_equals_the_dense_power_and_caches_the_propagated_features():
    x, edge_index = small_graph()
    x = x.double()
    a_hat = dense_normalized_adjacency(edge_index, 30)
    conv = SGConv(12, 5, K=3, cached=True).double()
    expected = torch.linalg.matrix_power(a_hat, 3) @ x @ conv.lin.weight.T + conv.lin.bias
    torch.testing.assert_close(conv(x, edge_index), expected)
    torch.testing.assert_close(conv._cached_x, torch.linalg.matrix_power(a_hat, 3) @ x)
    # The cache serves later calls whatever they pass (torch_geometric's transductive contract), until reset.
    torch.testing.assert_close(conv(torch.zeros_like(x), edge_index), expected)
    conv.reset_parameters()
    assert conv._cached_x is None


@pytest.mark.parametrize("options", [dict(alpha=0.1), dict(alpha=0.2, theta=0.5, layer=3),
                                     dict(alpha=0.3, theta=1.0, layer=2, shared_weights=False),
                                     dict(alpha=0.1, add_self_loops=False), dict(alpha=0.1, normalize=False)])
@pytest.mark.parametrize("weighted", [False, True])
def test_gcn2conv_matches_pyg(options, weighted):
    x, edge_index = small_graph(in_channels=16)
    x_0 = torch.randn(35, 16, generator=torch.Generator().manual_seed(2))        # longer than x, as torch_geometric
    args = (edge_weights(edge_index),) if weighted else ()
    theirs = pyg.GCN2Conv(16, **options)
    ours = GCN2Conv(16, **options)
    ours.load_state_dict(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    graphs = {"edge_index": edge_index, "SparseIndex": SparseIndex(edge_index, num_nodes=30)}
    expected_inputs = [x.clone().requires_grad_(), x_0.clone().requires_grad_()]
    expected = theirs(expected_inputs[0], expected_inputs[1], edge_index, *args)
    expected.square().sum().backward()
    for kind, graph in graphs.items():
        inputs = [x.clone().requires_grad_(), x_0.clone().requires_grad_()]
        out = ours(inputs[0], inputs[1], graph, *args)
        torch.testing.assert_close(out, expected, msg=lambda m: f"{kind}: {m}")
        out.square().sum().backward()
        for mine, reference in zip(inputs, expected_inputs):
            torch.testing.assert_close(mine.grad, reference.grad, atol=1e-4, rtol=1e-4)


def test_gcn2conv_is_the_formula():
    x, edge_index = small_graph(in_channels=8)
    x, x_0 = x.double(), torch.randn(30, 8, dtype=torch.float64)
    conv = GCN2Conv(8, alpha=0.25, theta=0.5, layer=4).double()
    p_hat = dense_normalized_adjacency(edge_index, 30)
    beta = torch.log(torch.tensor(0.5 / 4 + 1, dtype=torch.float64))
    support = 0.75 * p_hat @ x + 0.25 * x_0
    expected = support @ ((1 - beta) * torch.eye(8, dtype=torch.float64) + beta * conv.weight1)
    torch.testing.assert_close(conv(x, x_0, edge_index), expected)


@pytest.mark.parametrize("aggr", ["add", "mean", "max"])
@pytest.mark.parametrize("out_channels", [4, 20])
def test_graphconv_matches_pyg(aggr, out_channels):
    x, edge_index = small_graph()
    theirs = pyg.GraphConv(12, out_channels, aggr=aggr)
    assert_matches_pyg(GraphConv(12, out_channels, aggr=aggr), theirs, x, edge_index)
    assert_matches_pyg(GraphConv(12, out_channels, aggr=aggr), theirs, x, edge_index, edge_weights(edge_index))
    assert repr(GraphConv(12, out_channels, aggr=aggr)) == repr(theirs)


def test_graphconv_bipartite_matches_pyg():
    g = torch.Generator().manual_seed(4)
    x_src, x_dst = torch.randn(9, 6, generator=g), torch.randn(5, 3, generator=g)
    edge_index = torch.stack([torch.randint(0, 9, (40,), generator=g), torch.randint(0, 5, (40,), generator=g)])
    theirs = pyg.GraphConv((6, 3), 7)
    ours = GraphConv((6, 3), 7)
    ours.load_state_dict(theirs.state_dict())
    torch.testing.assert_close(ours((x_src, x_dst), edge_index), theirs((x_src, x_dst), edge_index))
    torch.testing.assert_close(ours((x_src, None), edge_index, size=(9, 5)),
                               theirs((x_src, None), edge_index, size=(9, 5)))


def test_layers_match_pyg_on_cora():
    needs_data("planetoid/Cora/raw")
    data = planetoid("Cora")
    torch.manual_seed(0)
    for ours, theirs in ((SGConv(data.num_features, 7, K=2), pyg.SGConv(data.num_features, 7, K=2)),
                         (GraphConv(data.num_features, 16, aggr="mean"), pyg.GraphConv(data.num_features, 16,
                                                                                     aggr="mean"))):
        assert_matches_pyg(ours, theirs, data.x, data.edge_index, atol=1e-4)
    hidden = torch.randn(data.num_nodes, 64, generator=torch.Generator().manual_seed(5))
    theirs, ours = pyg.GCN2Conv(64, alpha=0.1, theta=0.5, layer=1), GCN2Conv(64, alpha=0.1, theta=0.5, layer=1)
    ours.load_state_dict(theirs.state_dict())
    torch.testing.assert_close(ours(hidden, hidden, data.edge_index), theirs(hidden, hidden, data.edge_index),
                               atol=1e-4, rtol=1e-4)


def test_permutation_equivariant_and_bad_input():
    x, edge_index = small_graph()
    for layer in (SGConv(12, 4, K=2), GraphConv(12, 4)):
        assert_permutation_equivariant(layer, x, edge_index)
        assert_rejects_bad_graphs(layer, x, edge_index)
    with pytest.raises(ValueError, match="K: expected an int >= 0"):
        SGConv(12, 4, K=-1)
    with pytest.raises(ValueError, match="theta, layer: give both"):
        GCN2Conv(8, alpha=0.1, theta=0.5)
    with pytest.raises(ValueError, match="layer: expected an int >= 1"):
        GCN2Conv(8, alpha=0.1, theta=0.5, layer=0)
    with pytest.raises(ValueError, match=r"x_0: expected at least the 30 nodes of x"):
        GCN2Conv(12, alpha=0.1)(x, x[:10], edge_index)
    with pytest.raises(ValueError, match=r"x_0: expected 12 features in the last dimension \(channels\)"):
        GCN2Conv(12, alpha=0.1)(x, x[:, :5], edge_index)


def gine_networks(in_channels=12, out_channels=8):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(in_channels, 16), torch.nn.ReLU(), torch.nn.Linear(16, out_channels))


@pytest.mark.parametrize("edge_dim", [None, 5])
@pytest.mark.parametrize("train_eps", [False, True])
def test_gineconv_matches_pyg(edge_dim, train_eps):
    x, edge_index = small_graph()
    edge_attr = torch.randn(edge_index.shape[1], edge_dim or 12, generator=torch.Generator().manual_seed(6))
    theirs = pyg.GINEConv(gine_networks(), eps=0.3, train_eps=train_eps, edge_dim=edge_dim)
    ours = GINEConv(gine_networks(), eps=0.3, train_eps=train_eps, edge_dim=edge_dim)
    ours.load_state_dict(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    for graph in (edge_index, SparseIndex(edge_index, num_nodes=30)):
        inputs = [x.clone().requires_grad_(), edge_attr.clone().requires_grad_()]
        reference = [x.clone().requires_grad_(), edge_attr.clone().requires_grad_()]
        out, expected = ours(inputs[0], graph, inputs[1]), theirs(reference[0], edge_index, reference[1])
        torch.testing.assert_close(out, expected)
        out.square().sum().backward()
        expected.square().sum().backward()
        for mine, theirs_grad in zip(inputs, reference):
            torch.testing.assert_close(mine.grad, theirs_grad.grad)
    g = torch.Generator().manual_seed(7)
    x_src = torch.randn(9, 12, generator=g)
    bipartite = torch.stack([torch.randint(0, 9, (25,), generator=g), torch.randint(0, 4, (25,), generator=g)])
    attr = torch.randn(25, edge_dim or 12, generator=g)
    torch.testing.assert_close(ours((x_src, x_src[:4]), bipartite, attr), theirs((x_src, x_src[:4]), bipartite, attr))


@pytest.mark.parametrize("aggr", ["mean", "max"])
def test_gineconv_with_another_aggregation_matches_pyg(aggr):
    # The sum runs fused (relu_spmm); other aggregations reduce the per-edge messages.
    x, edge_index = small_graph()
    edge_attr = torch.randn(edge_index.shape[1], 5, generator=torch.Generator().manual_seed(8))
    theirs = pyg.GINEConv(gine_networks(), edge_dim=5, aggr=aggr)
    ours = GINEConv(gine_networks(), edge_dim=5, aggr=aggr)
    ours.load_state_dict(theirs.state_dict())
    torch.testing.assert_close(ours(x, edge_index, edge_attr), theirs(x, edge_index, edge_attr))


def test_gineconv_is_the_formula_and_checks_edge_features():
    x, edge_index = small_graph(num_nodes=6, num_edges=14, in_channels=3)
    edge_attr = torch.randn(14, 3)
    conv = GINEConv(torch.nn.Identity(), eps=0.5)
    expected = 1.5 * x
    for (j, i), e in zip(edge_index.T.tolist(), edge_attr):
        expected[i] += torch.relu(x[j] + e)
    torch.testing.assert_close(conv(x, edge_index, edge_attr), expected)
    with pytest.raises(ValueError, match=r"edge_attr: expected edge features \[14, ...\], one row per edge, got None"):
        conv(x, edge_index)
    with pytest.raises(ValueError, match=r"edge_attr: expected the node features' size 3 .* got 2"):
        conv(x, edge_index, edge_attr[:, :2])
    with pytest.raises(ValueError, match="nn: with edge_dim, expected a module with in_features"):
        GINEConv(torch.nn.ReLU(), edge_dim=4)
