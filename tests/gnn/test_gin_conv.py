import pytest
import torch
import torch_geometric.nn as pyg

from geomlearn.gnn import GINConv

from .layer_checks import assert_matches_pyg, assert_permutation_equivariant, assert_rejects_bad_graphs, small_graph


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU(), torch.nn.Linear(16, 8))


@pytest.mark.parametrize("options", [{}, {"eps": 0.4}, {"eps": -0.2, "train_eps": True}])
def test_matches_pyg(options):
    x, edge_index = small_graph()
    assert_matches_pyg(GINConv(mlp(), **options), pyg.GINConv(mlp(), **options), x, edge_index)


def test_hand_checked_sum():
    # Path 0 -> 1 -> 2 with identity nn: x'_i = (1 + eps) x_i + sum of in-neighbours.
    x = torch.tensor([[1.0], [10.0], [100.0]])
    layer = GINConv(torch.nn.Identity(), eps=0.5)
    out = layer(x, torch.tensor([[0, 1], [1, 2]]))
    torch.testing.assert_close(out, torch.tensor([[1.5], [16.0], [160.0]]))


def test_train_eps_gets_a_gradient_and_resets():
    x, edge_index = small_graph()
    layer = GINConv(mlp(), eps=0.1, train_eps=True)
    layer(x, edge_index).sum().backward()
    assert layer.eps.grad is not None and layer.eps.grad.abs().item() > 0
    layer.eps.data.fill_(3.0)
    layer.reset_parameters()
    assert layer.eps.item() == pytest.approx(0.1)


def test_permutation_equivariant():
    x, edge_index = small_graph()
    assert_permutation_equivariant(GINConv(mlp()), x, edge_index)


def test_bad_input():
    x, edge_index = small_graph()
    assert_rejects_bad_graphs(GINConv(mlp()), x, edge_index, width=False)
