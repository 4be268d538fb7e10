import pytest
import torch

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
    out = aggregation(m, index)
    torch.testing.assert_close(out[0:1], node0)
    torch.testing.assert_close(out[1], m[5])
    assert out[2:].abs().sum() == 0                                 # no incoming edges


def test_as_the_aggregation_of_a_layer():
    x, edge_index = small_graph()
    layer = SAGEConv(12, 8, aggr=LCMAggregation(12, 12))
    assert not layer.fused
    out = layer(x, edge_index)
    out.sum().backward()
    assert out.shape == (30, 8) and layer.aggr.gru.weight_hh.grad is not None
    assert_permutation_equivariant(layer, x, edge_index)


def test_bad_input():
    with pytest.raises(ValueError, match="project: in_channels"):
        LCMAggregation(3, 4, project=False)
    with pytest.raises(ValueError, match=r"messages: expected shape \[E, 3\]"):
        LCMAggregation(3, 3)(torch.ones(4, 5), SparseIndex(torch.tensor([[0], [1]]), num_nodes=2))
