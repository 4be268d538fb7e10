"""RGATConv against torch_geometric's RGATConv: every attention mode and mechanism, decomposition and mod, with
state_dict, outputs, attention weights and input gradients; and the additive attention against a per-edge loop."""

import pytest
import torch
import torch_geometric.nn as pyg

from geomlearn.gnn import RGATConv
from geomlearn.sparse import SparseIndex

from .layer_checks import small_graph


def relational_graph(num_relations=4, seed=0):
    x, edge_index = small_graph(seed=seed, in_channels=8)
    edge_type = torch.randint(0, num_relations, (edge_index.shape[1],), generator=torch.Generator().manual_seed(seed))
    return x.double(), edge_index, edge_type


def randomise(module, seed=1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g, dtype=p.dtype))


def assert_matches(options, edge_attr=False, aggr=None):
    x, edge_index, edge_type = relational_graph()
    extra = dict(aggr=aggr) if aggr else {}
    torch.manual_seed(0)
    theirs = pyg.RGATConv(8, 6, 4, **options, **extra).double()
    randomise(theirs)
    ours = RGATConv(8, 6, 4, **options, **extra).double()
    ours.load_state_dict(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    attr = torch.randn(edge_index.shape[1], 3, dtype=torch.float64, generator=torch.Generator().manual_seed(4)) \
        if edge_attr else None
    x_theirs = x.clone().requires_grad_()
    expected, (their_edges, their_alpha) = theirs(x_theirs, edge_index, edge_type, attr, return_attention_weights=True)
    expected.square().sum().backward()
    for graph in (edge_index, SparseIndex(edge_index, num_nodes=30)):
        x_ours = x.clone().requires_grad_()
        out, (edges, alpha) = ours(x_ours, graph, edge_type, attr, return_attention_weights=True)
        torch.testing.assert_close(out, expected)
        torch.testing.assert_close(alpha, their_alpha)
        assert torch.equal(edges, their_edges)
        out.square().sum().backward()
        torch.testing.assert_close(x_ours.grad, x_theirs.grad)


@pytest.mark.parametrize("decomposition", [{}, {"num_bases": 3}, {"num_blocks": 2}])
@pytest.mark.parametrize("mechanism", ["across-relation", "within-relation"])
@pytest.mark.parametrize("heads, concat", [(1, True), (3, True), (2, False)])
def test_additive_attention_matches_pyg(decomposition, mechanism, heads, concat):
    assert_matches(dict(attention_mechanism=mechanism, heads=heads, concat=concat, **decomposition))


@pytest.mark.parametrize("dim, concat", [(1, True), (3, True), (2, False)])
@pytest.mark.parametrize("mechanism", ["across-relation", "within-relation"])
def test_multiplicative_attention_matches_pyg(dim, concat, mechanism):
    assert_matches(dict(attention_mode="multiplicative-self-attention", attention_mechanism=mechanism, heads=2,
                        dim=dim, concat=concat))


@pytest.mark.parametrize("mod", ["additive", "scaled", "f-additive", "f-scaled"])
@pytest.mark.parametrize("mode", ["additive-self-attention", "multiplicative-self-attention"])
@pytest.mark.parametrize("aggr", [None, "mean", "max"])
def test_mods_match_pyg(mod, mode, aggr):
    assert_matches(dict(mod=mod, attention_mode=mode, heads=2, dim=1 if mode.startswith("additive") else 2), aggr=aggr)


@pytest.mark.parametrize("mode", ["additive-self-attention", "multiplicative-self-attention"])
def test_edge_features_match_pyg(mode):
    assert_matches(dict(attention_mode=mode, heads=2, edge_dim=3), edge_attr=True)


def test_additive_attention_is_the_per_edge_formula():
    x, edge_index, edge_type = relational_graph()
    conv = RGATConv(8, 3, 4, bias=False).double()
    randomise(conv)
    src, dst = edge_index
    z_dst = torch.einsum("ei,eio->eo", x[dst], conv.weight[edge_type])
    z_src = torch.einsum("ei,eio->eo", x[src], conv.weight[edge_type])
    scores = torch.nn.functional.leaky_relu(z_dst @ conv.q + z_src @ conv.k, 0.2).squeeze(1)
    expected = torch.zeros(30, 3, dtype=torch.float64)
    for i in range(30):
        into = dst == i
        if into.any():
            expected[i] = (scores[into].softmax(0).unsqueeze(1) * z_src[into]).sum(0)
    torch.testing.assert_close(conv(x, edge_index, edge_type), expected)


def test_errors():
    x, edge_index, edge_type = relational_graph()
    with pytest.raises(ValueError, match="dim: the additive self-attention has one score per head"):
        RGATConv(8, 4, 4, dim=2)
    with pytest.raises(ValueError, match="mod: expected one of"):
        RGATConv(8, 4, 4, mod="softmax")
    with pytest.raises(ValueError, match="dropout: the attention dropout needs mod=None"):
        RGATConv(8, 4, 4, mod="scaled", dropout=0.5)
    with pytest.raises(ValueError, match="num_blocks: expected a divisor"):
        RGATConv(8, 5, 4, num_blocks=3)
    conv = RGATConv(8, 4, 4).double()
    with pytest.raises(ValueError, match=r"edge_type: expected relation types in \[0, 4\)"):
        conv(x, edge_index, edge_type + 1)
    with pytest.raises(ValueError, match="edge_attr: this RGATConv was built with edge_dim=None"):
        conv(x, edge_index, edge_type, torch.randn(edge_index.shape[1], 3, dtype=torch.float64))


def test_sparse_adjacency_values_are_the_edge_features_as_in_pyg():
    x, edge_index, edge_type = relational_graph()
    edge_index = torch.unique(edge_index, dim=1)
    order = torch.argsort(edge_index[1] * 30 + edge_index[0])              # the adjacency's coalesced order
    edge_index = edge_index[:, order]
    edge_type = torch.randint(0, 4, (edge_index.shape[1],), generator=torch.Generator().manual_seed(1))
    edge_attr = torch.randn(edge_index.shape[1], 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    adj_t = torch.sparse_coo_tensor(edge_index.flip(0), edge_attr, (30, 30, 3)).coalesce()
    conv = RGATConv(8, 4, 4, heads=2, edge_dim=3).double()
    torch.testing.assert_close(conv(x, adj_t, edge_type), conv(x, edge_index, edge_type, edge_attr))
