import pytest
import torch

from geomlearn.gnn import MessagePassing
from geomlearn.sparse import SparseIndex, spmm

from .layer_checks import small_graph


class WeightedSum(MessagePassing):
    """Default message: runs fused."""

    def forward(self, x, index, edge_weight=None):
        return self.propagate(index, x, edge_weight)


class EdgeMLP(MessagePassing):
    """A custom message of both ends and an edge feature, with an update that uses the targets."""

    def __init__(self, aggr="sum"):
        super().__init__(aggr=aggr)
        self.lin = torch.nn.Linear(2 * 4 + 1, 4)

    def forward(self, x, index, edge_attr):
        return self.propagate(index, x, edge_attr=edge_attr, scale=torch.arange(x.shape[0], dtype=x.dtype))

    def message(self, x_i, x_j, edge_attr, scale_j):
        return self.lin(torch.cat([x_i, x_j, edge_attr], dim=-1)) * scale_j.unsqueeze(-1)

    def update(self, aggregated, x):
        return aggregated + x


def test_default_message_is_fused_and_custom_message_is_not():
    assert WeightedSum().fused
    assert not EdgeMLP().fused
    assert not WeightedSum(aggr=torch.nn.Identity()).fused


@pytest.mark.parametrize("aggr", ["sum", "mean", "max", "min"])
def test_fused_and_gather_scatter_paths_agree(aggr):
    x, edge_index = small_graph(in_channels=4)
    index = SparseIndex(edge_index, num_nodes=30)
    weight = torch.rand(index.num_edges)

    class Unfused(WeightedSum):
        def message(self, x_j, edge_weight):
            return edge_weight.unsqueeze(-1) * x_j

    torch.testing.assert_close(WeightedSum(aggr)(x, index, weight), Unfused(aggr)(x, index, weight))
    torch.testing.assert_close(WeightedSum(aggr)(x, index, weight), spmm(index, x, weight, aggr))


def test_custom_message_against_a_loop_over_edges():
    x, edge_index = small_graph(in_channels=4)
    index = SparseIndex(edge_index, num_nodes=30)
    edge_attr = torch.randn(index.num_edges, 1)
    layer = EdgeMLP()
    expected = x.clone()
    for e, (j, i) in enumerate(edge_index.t().tolist()):
        expected[i] += layer.lin(torch.cat([x[i], x[j], edge_attr[e]])) * j
    torch.testing.assert_close(layer(x, index, edge_attr), expected, atol=1e-5, rtol=1e-5)


def test_module_aggregation_is_called():
    x, edge_index = small_graph(in_channels=4)
    index = SparseIndex(edge_index, num_nodes=30)

    class Count(torch.nn.Module):
        def forward(self, messages, index):
            return spmm(index, torch.ones(index.num_src, 1)).expand(-1, messages.shape[1])

    out = WeightedSum(aggr=Count())(x, index)
    torch.testing.assert_close(out[:, 0], index.in_degree().float())


def test_missing_message_argument_names_it():
    class NeedsSomething(MessagePassing):
        def message(self, x_j, something):
            return x_j

    x, edge_index = small_graph(in_channels=4)
    with pytest.raises(TypeError, match="parameter 'something' was not passed to propagate"):
        NeedsSomething().propagate(SparseIndex(edge_index, num_nodes=30), x)


def test_bad_aggregation():
    with pytest.raises(ValueError, match="aggr: expected one of"):
        MessagePassing(aggr="median")
    with pytest.raises(TypeError, match="aggr: expected a string or a torch.nn.Module"):
        MessagePassing(aggr=3)
