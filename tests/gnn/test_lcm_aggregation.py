import pytest
import torch
import torch_geometric.nn as pyg
import torch_geometric.nn.aggr as pyg_aggr

from geomlearn.gnn import LCMAggregation, SAGEConv
from geomlearn.sparse import SparseIndex

from .layer_checks import assert_permutation_equivariant, small_graph


def test_operator_is_commutative():
    aggregation = LCMAggregation(4, 4)
    a, b = torch.randn(10, 4), torch.randn(10, 4)
    torch.testing.assert_close(aggregation.combine(a, b), aggregation.combine(b, a))


def test_against_an_explicit_balanced_tree():
    index = SparseIndex(torch.tensor([[1, 2, 3, 4, 5, 0], [0, 0, 0, 0, 0, 1]]), num_nodes=6)
    aggregation = LCMAggregation(3, 3, project=False)
    m = torch.randn(6, 3)
    f = aggregation.combine
    node0 = f(f(f(m[0:1], m[1:2]), f(m[2:3], m[3:4])), m[4:5])   # 5 values: ((12)(34))5
    out = aggregation(m, index.dst, dim_size=6)
    torch.testing.assert_close(out[0:1], node0)
    torch.testing.assert_close(out[1], m[5])
    assert out[2:].abs().sum() == 0                                 # no incoming edges


def test_as_the_aggregation_of_a_layer():
    x, edge_index = small_graph()
    layer = SAGEConv(12, 8, aggr=LCMAggregation(12, 12))
    assert not layer.fused
    out = layer(x, edge_index)
    out.sum().backward()
    assert out.shape == (30, 8) and layer.aggr_module.gru_cell.weight_hh.grad is not None
    assert_permutation_equivariant(layer, x, edge_index)


def test_bad_input():
    with pytest.raises(ValueError, match="project: in_channels"):
        LCMAggregation(3, 4, project=False)
    with pytest.raises(ValueError, match=r"x: expected shape \[E, 3\]"):
        LCMAggregation(3, 3)(torch.ones(4, 5), torch.tensor([0, 0, 1, 1]))
    with pytest.raises(ValueError, match="index: target 5 at position 3 is out of range for 2 targets"):
        LCMAggregation(3, 3)(torch.ones(4, 3), torch.tensor([0, 0, 1, 5]), dim_size=2)


@pytest.mark.parametrize("degree", [4, 5])
def test_matches_pyg_where_no_padding_enters_its_tree(degree):
    """Every target with the same number of messages: PyG's zero padding is empty, the trees are the same."""
    theirs = pyg_aggr.LCMAggregation(6, 4)
    ours = LCMAggregation(6, 4)
    ours.load_state_dict(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    x = torch.randn(7 * degree, 6, requires_grad=True)
    index = torch.arange(7).repeat_interleave(degree)
    expected = theirs(x, index, dim_size=7)
    torch.testing.assert_close(ours(x, index, dim_size=7), expected)
    grad_ours, = torch.autograd.grad(ours(x, index, dim_size=7).sum(), x)
    grad_theirs, = torch.autograd.grad(expected.sum(), x)
    torch.testing.assert_close(grad_ours, grad_theirs)


def test_serves_as_the_aggregation_of_a_torch_geometric_layer():
    x, edge_index = small_graph()
    layer = pyg.SAGEConv(12, 8, aggr=LCMAggregation(12, 12))
    edge_index = edge_index[:, torch.argsort(edge_index[1], stable=True)]
    assert layer(x, edge_index).shape == (30, 8)
