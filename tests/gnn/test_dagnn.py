import pytest
import torch

from geomlearn.gnn import DAGNN, DAGNNPropagation

from .layer_checks import (assert_permutation_equivariant, assert_rejects_bad_graphs, dense_normalized_adjacency,
                           small_graph)


def test_propagation_against_dense_powers():
    x, edge_index = small_graph(in_channels=5)
    x = x.double()
    layer = DAGNNPropagation(5, K=4).double()
    a_hat = dense_normalized_adjacency(edge_index, 30)
    expected, h = torch.zeros_like(x), x
    for k in range(5):
        expected += torch.sigmoid(layer.proj(h)) * h
        h = a_hat @ h
    torch.testing.assert_close(layer(x, edge_index), expected)


def test_K_zero_is_the_mlp_scaled_by_its_retainment_score():
    x, edge_index = small_graph()
    model = DAGNN(12, 16, 4, K=0).eval()
    z = model.mlp(x)
    out = model(x, edge_index)
    torch.testing.assert_close(out, torch.sigmoid(model.prop.proj(z)) * z)
    assert torch.equal(out.argmax(1), z.argmax(1))         # a positive per-node scale: the MLP's predictions


def test_gradients_reach_every_parameter():
    x, edge_index = small_graph()
    model = DAGNN(12, 16, 4, K=3)
    model(x, edge_index).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_permutation_equivariant():
    x, edge_index = small_graph()
    assert_permutation_equivariant(DAGNN(12, 16, 4, K=5), x, edge_index)


def test_bad_input():
    x, edge_index = small_graph()
    assert_rejects_bad_graphs(DAGNN(12, 16, 4, K=2), x, edge_index)
    with pytest.raises(ValueError, match="K: expected an int >= 0"):
        DAGNNPropagation(4, K=-2)
