"""geomlearn's MessagePassing runs torch_geometric-style subclasses unchanged.

Each layer below is written once, against a base class given as an argument, and built twice: on
torch_geometric's ``MessagePassing`` (the reference) and on geomlearn's. The two share parameters and must
agree on outputs and on input gradients.
"""

import pytest
import torch
import torch.nn.functional as F
import torch_geometric.nn as pyg
from torch_geometric.utils import add_self_loops, degree, softmax

from geomlearn.gnn import MessagePassing
from geomlearn.sparse import SparseIndex, spmm

from .layer_checks import small_graph


def edge_conv(base):
    """PyG's tutorial EdgeConv: a message of both ends, max aggregation."""
    class EdgeConv(base):
        def __init__(self):
            super().__init__(aggr="max")
            self.mlp = torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.ReLU(), torch.nn.Linear(6, 6))

        def forward(self, x, edge_index):
            return self.propagate(edge_index, x=x)

        def message(self, x_i, x_j):
            return self.mlp(torch.cat([x_i, x_j - x_i], dim=1))
    return EdgeConv


def tutorial_gcn(base):
    """PyG's tutorial GCN: a per-edge weight times x_j, which geomlearn runs as one fused spmm."""
    class GCN(base):
        def __init__(self, aggr="add"):
            super().__init__(aggr=aggr)
            self.lin = torch.nn.Linear(4, 5, bias=False)

        def forward(self, x, edge_index):
            edge_index, _ = add_self_loops(edge_index, num_nodes=x.size(0))
            x = self.lin(x)
            row, col = edge_index
            deg = degree(col, x.size(0), dtype=x.dtype)
            norm = deg.pow(-0.5)[row] * deg.pow(-0.5)[col]
            return self.propagate(edge_index, x=x, norm=norm)

        def message(self, x_j, norm):
            return norm.view(-1, 1) * x_j
    return GCN


def reversed_flow(base):
    class Reversed(base):
        def __init__(self):
            super().__init__(aggr="mean", flow="target_to_source")
            self.lin = torch.nn.Linear(8, 5)

        def forward(self, x, edge_index):
            return self.propagate(edge_index, x=x)

        def message(self, x_i, x_j):
            return self.lin(torch.cat([x_i, x_j], dim=-1))
    return Reversed


def bipartite_with_update(base):
    """Sources only (x_dst None) with an explicit size, and an update that reads the target features."""
    class Bipartite(base):
        def __init__(self):
            super().__init__(aggr="sum")
            self.lin = torch.nn.Linear(4, 4)

        def forward(self, x, edge_index, size):
            return self.propagate(edge_index, x=(x, None), size=size, scale=torch.arange(size[1], dtype=x.dtype))

        def message(self, x_j, index, size_i, dim_size):
            assert size_i == dim_size
            return self.lin(x_j) * (index.to(x_j.dtype) + 1).unsqueeze(-1)

        def update(self, inputs, scale):
            return inputs * scale.unsqueeze(-1)
    return Bipartite


def multi_aggregation(base):
    class Multi(base):
        def __init__(self):
            super().__init__(aggr=["mean", "max", "std"])

        def forward(self, x, edge_index):
            return self.propagate(edge_index, x=x)
    return Multi


def fused_multi_aggregation(base):
    class FusedMulti(base):
        def __init__(self):
            super().__init__(aggr=["sum", "min", "mean"])

        def forward(self, x, edge_index, edge_weight):
            return self.propagate(edge_index, x=x, edge_weight=edge_weight)

        def message(self, x_j, edge_weight):
            return x_j * edge_weight.unsqueeze(-1)
    return FusedMulti


def lstm_aggregation(base):
    class LSTM(base):
        def __init__(self):
            super().__init__(aggr="lstm", aggr_kwargs={"in_channels": 4, "out_channels": 3})

        def forward(self, x, edge_index):
            return self.propagate(edge_index, x=x)
    return LSTM


def batched_static_graph(base):
    """Features [B, N, C] with node_dim=-2: one graph, a batch of signals."""
    class Static(base):
        def __init__(self):
            super().__init__(aggr="mean", node_dim=-2)

        def forward(self, x, edge_index, edge_weight):
            return self.propagate(edge_index, x=x, edge_weight=edge_weight)

        def message(self, x_j, edge_weight):
            return edge_weight.view(-1, 1) * x_j
    return Static


def attention_with_edge_updater(base):
    """PyG's GATConv pattern: edge_updater computes per-edge attention, propagate uses it, node_dim=0."""
    class Attention(base):
        def __init__(self):
            super().__init__(aggr="add", node_dim=0)
            self.lin = torch.nn.Linear(4, 2 * 3, bias=False)
            self.att = torch.nn.Parameter(torch.randn(1, 2, 3))

        def forward(self, x, edge_index):
            h = self.lin(x).view(-1, 2, 3)
            score = (h * self.att).sum(-1)
            alpha = self.edge_updater(edge_index, alpha=(score, score))
            return self.propagate(edge_index, x=h, alpha=alpha).reshape(-1, 6)

        def edge_update(self, alpha_j, alpha_i, index, size_i):
            return softmax(F.leaky_relu(alpha_j + alpha_i, 0.2), index, num_nodes=size_i)

        def message(self, x_j, alpha):
            return alpha.unsqueeze(-1) * x_j
    return Attention


def decomposed(base):
    class Decomposed(base):
        def __init__(self):
            super().__init__(aggr="sum", decomposed_layers=2)

        def forward(self, x, edge_index):
            return self.propagate(edge_index, x=x)

        def message(self, x_j, x_i):
            return x_j * torch.sigmoid(x_i)
    return Decomposed


def sparse_adjacency(base):
    """message_and_aggregate on a torch.sparse adj_t, as PyG calls it."""
    class Sparse(base):
        def __init__(self):
            super().__init__(aggr="add")

        def forward(self, x, adj_t):
            return self.propagate(adj_t, x=x)

        def message_and_aggregate(self, adj_t, x):
            return torch.sparse.mm(adj_t, x)
    return Sparse


def graph(num_nodes=12, num_edges=40, seed=0, sorted_by_target=False):
    g = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, num_nodes, (2, num_edges), generator=g)
    if sorted_by_target:
        edge_index = edge_index[:, torch.argsort(edge_index[1], stable=True)]
    return edge_index, g


def both(make):
    theirs = make(pyg.MessagePassing)()
    ours = make(MessagePassing)()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def assert_same(ours, theirs, *inputs):
    leaves = [t for t in inputs if isinstance(t, torch.Tensor) and t.is_floating_point()]
    for t in leaves:
        t.requires_grad_(True)
    expected, actual = theirs(*inputs), ours(*inputs)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)
    cotangent = torch.randn_like(expected)
    grads_theirs = torch.autograd.grad(expected, leaves, cotangent, allow_unused=True)
    grads_ours = torch.autograd.grad(actual, leaves, cotangent, allow_unused=True)
    for a, b in zip(grads_ours, grads_theirs):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("make", [edge_conv, reversed_flow, decomposed])
def test_node_features_only(make):
    edge_index, g = graph()
    x = torch.randn(12, 4, generator=g)
    assert_same(*both(make), x, edge_index)


@pytest.mark.parametrize("aggr", ["add", "mean", "max", "min"])
def test_tutorial_gcn_matches_and_runs_fused(aggr):
    edge_index, g = graph()
    theirs, ours = tutorial_gcn(pyg.MessagePassing)(aggr), tutorial_gcn(MessagePassing)(aggr)
    ours.load_state_dict(theirs.state_dict())
    assert ours.fused
    assert_same(ours, theirs, torch.randn(12, 4, generator=g), edge_index)


def test_bipartite_sources_with_size_and_update():
    edge_index = torch.stack([torch.randint(0, 9, (30,)), torch.randint(0, 5, (30,))])
    assert_same(*both(bipartite_with_update), torch.randn(9, 4), edge_index, (9, 5))


@pytest.mark.parametrize("make", [multi_aggregation, lstm_aggregation])
def test_aggregation_modules(make):
    edge_index, g = graph(sorted_by_target=True)        # LSTMAggregation needs targets in order
    assert_same(*both(make), torch.randn(12, 4, generator=g), edge_index)


def test_concatenated_built_in_reductions_run_fused():
    edge_index, g = graph()
    ours, theirs = both(fused_multi_aggregation)
    assert ours.reductions == ("sum", "min", "mean") and ours.fused
    assert_same(ours, theirs, torch.randn(12, 4, generator=g), edge_index, torch.rand(40, generator=g))


def test_batched_features_on_one_graph():
    edge_index, g = graph()
    assert_same(*both(batched_static_graph), torch.randn(3, 12, 4, generator=g), edge_index,
                torch.rand(40, generator=g))


def test_edge_updater_and_per_head_weights():
    edge_index, g = graph()
    ours, theirs = both(attention_with_edge_updater)
    assert ours.fused
    assert_same(ours, theirs, torch.randn(12, 4, generator=g), edge_index)


def test_message_and_aggregate_on_a_sparse_adjacency():
    edge_index, g = graph()
    adj_t = torch.sparse_coo_tensor(edge_index.flip(0), torch.rand(40, generator=g), (12, 12),
                                    check_invariants=True).coalesce()
    x = torch.randn(12, 4, generator=g)
    ours, theirs = both(sparse_adjacency)
    torch.testing.assert_close(ours(x, adj_t), theirs(x, adj_t))


def test_a_sparse_adjacency_gives_its_values_as_edge_weights():
    edge_index, g = graph()
    values = torch.rand(40, generator=g)
    adj_t = torch.sparse_coo_tensor(edge_index.flip(0), values, (12, 12), check_invariants=True).coalesce()
    x = torch.randn(12, 4, generator=g)
    ours, theirs = both(lambda base: fused_multi_aggregation(base))
    torch.testing.assert_close(ours(x, adj_t, None), theirs(x, adj_t, None), atol=1e-5, rtol=1e-5)


def test_a_sparse_index_is_taken_as_edge_index():
    x, edge_index = small_graph(in_channels=4)
    ours, theirs = both(edge_conv)
    torch.testing.assert_close(ours(x, SparseIndex(edge_index, num_nodes=30)), theirs(x, edge_index))


def test_weighted_message_forms_and_what_is_not_fused():
    class Scaled(MessagePassing):
        def message(self, x_j, w):
            return x_j * w.unsqueeze(-1) * 2            # an extra factor: not a plain weighted message

    class Branchy(MessagePassing):
        def message(self, x_j, w):
            return x_j if w.sum() > 0 else -x_j          # control flow on a tensor: fx cannot follow

    class Default(MessagePassing):
        pass

    assert Default().fused and not Scaled().fused and not Branchy().fused
    assert not Default(aggr="std").fused
    edge_index, g = graph()
    x, w = torch.randn(12, 4, generator=g), torch.rand(40, generator=g)
    index = SparseIndex(edge_index, num_nodes=12)
    torch.testing.assert_close(Scaled().propagate(edge_index, x=x, w=w), 2 * spmm(index, x, w))
    torch.testing.assert_close(Branchy().propagate(edge_index, x=x, w=w), spmm(index, x))


def test_a_changed_attribute_is_traced_again():
    class Switch(MessagePassing):
        def __init__(self):
            super().__init__()
            self.weighted = True

        def message(self, x_j, w):
            return w.view(-1, 1) * x_j if self.weighted else x_j

    edge_index, g = graph()
    x, w = torch.randn(12, 4, generator=g), torch.rand(40, generator=g)
    index = SparseIndex(edge_index, num_nodes=12)
    layer = Switch()
    torch.testing.assert_close(layer.propagate(edge_index, x=x, w=w), spmm(index, x, w))
    layer.weighted = False
    torch.testing.assert_close(layer.propagate(edge_index, x=x, w=w), spmm(index, x))


def test_errors_name_the_argument():
    class NeedsSomething(MessagePassing):
        def message(self, x_j, something):
            return x_j

    edge_index, g = graph()
    x = torch.randn(12, 4, generator=g)
    with pytest.raises(TypeError, match="parameter 'something' was not passed to propagate"):
        NeedsSomething().propagate(edge_index, x=x)
    with pytest.raises(ValueError, match="flow: expected one of"):
        MessagePassing(flow="both")
    with pytest.raises(ValueError, match="aggr: "):
        MessagePassing(aggr="median-of-medians")
    with pytest.raises(TypeError, match="aggr: expected a name"):
        MessagePassing(aggr=3)
    with pytest.raises(ValueError, match=r"edge_index: expected shape \[2, E\]"):
        MessagePassing().propagate(edge_index.t(), x=x)
    with pytest.raises(TypeError, match="edge_index: expected an integer tensor"):
        MessagePassing().propagate(edge_index.float(), x=x)
    with pytest.raises(ValueError, match="size: expected a pair \\(N, M\\), got 12"):
        MessagePassing().propagate(edge_index, size=12, x=x)
    with pytest.raises(ValueError, match="edge_index: source index 12"):
        MessagePassing().propagate(torch.tensor([[12], [0]]), x=x)
    with pytest.raises(ValueError, match="x: the graph has 12 source nodes but a node tensor has 5"):
        MessagePassing().propagate(SparseIndex(edge_index, num_nodes=12), x=x[:5])


def test_repr_is_torch_geometric_s():
    class Conv(MessagePassing):
        def __init__(self):
            super().__init__()
            self.in_channels, self.out_channels = 16, 32

    assert repr(Conv()) == "Conv(16, 32)"


def test_hooks_see_and_replace_what_torch_geometric_s_do():
    """The propagate, message and aggregate hooks get PyG's arguments; a message hook turns the fused path off so
    that it sees the messages."""
    edge_index, g = graph()
    x = torch.randn(12, 4, generator=g)
    calls = {}
    for base in (pyg.MessagePassing, MessagePassing):
        layer = tutorial_gcn(base)()
        seen = []
        layer.register_propagate_forward_pre_hook(lambda m, inputs: seen.append(("propagate_pre", sorted(inputs[2]))))
        layer.register_message_forward_pre_hook(lambda m, inputs: seen.append(("message_pre", sorted(inputs[0]))))
        layer.register_message_forward_hook(lambda m, inputs, out: seen.append(("message", tuple(out.shape))))
        layer.register_aggregate_forward_pre_hook(lambda m, inputs: seen.append(("aggregate_pre", sorted(inputs[0]))))
        handle = layer.register_propagate_forward_hook(lambda m, inputs, out: 2 * out)
        torch.manual_seed(0)
        layer.lin.reset_parameters()
        doubled = layer(x, edge_index)
        handle.remove()
        calls[base] = (seen, doubled, layer(x, edge_index))
    theirs, ours = calls[pyg.MessagePassing], calls[MessagePassing]
    assert ours[0] == theirs[0]
    torch.testing.assert_close(ours[1], theirs[1])
    torch.testing.assert_close(ours[1], 2 * ours[2])
