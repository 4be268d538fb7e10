import pytest
import torch
import torch_geometric.nn as pyg

from geomlearn.gnn import APPNP

from .layer_checks import (assert_matches_pyg, assert_permutation_equivariant, assert_rejects_bad_graphs,
                           dense_normalized_adjacency, small_graph)


@pytest.mark.parametrize("options", [{"K": 10, "alpha": 0.1}, {"K": 3, "alpha": 0.5, "add_self_loops": False},
                                     {"K": 2, "alpha": 0.2, "normalize": False}])
def test_matches_pyg(options):
    x, edge_index = small_graph()
    weight = torch.rand(edge_index.shape[1], generator=torch.Generator().manual_seed(1)) / 4
    assert_matches_pyg(APPNP(**options), pyg.APPNP(**options), x, edge_index)
    assert_matches_pyg(APPNP(**options), pyg.APPNP(**options), x, edge_index, weight)


def test_converges_to_personalised_pagerank():
    # The fixed point of X <- (1 - a) Â X + a X0 is a (I - (1 - a) Â)^-1 X0.
    x, edge_index = small_graph()
    x = x.double()
    a_hat = dense_normalized_adjacency(edge_index, 30)
    expected = 0.3 * torch.linalg.solve(torch.eye(30, dtype=torch.float64) - 0.7 * a_hat, x)
    torch.testing.assert_close(APPNP(K=200, alpha=0.3)(x, edge_index), expected)


def test_permutation_equivariant():
    x, edge_index = small_graph()
    assert_permutation_equivariant(APPNP(K=5, alpha=0.1), x, edge_index)


def test_bad_input():
    x, edge_index = small_graph()
    assert_rejects_bad_graphs(APPNP(K=2, alpha=0.1), x, edge_index, width=False)
    with pytest.raises(ValueError, match="K: expected an int >= 0"):
        APPNP(K=-1, alpha=0.1)
    with pytest.raises(ValueError, match=r"alpha: expected a number in \[0, 1\]"):
        APPNP(K=2, alpha=1.5)
