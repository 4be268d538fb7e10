import pytest
import torch
from torch_geometric.utils import to_dense_adj

from geomlearn.gnn import PDFConv
from geomlearn.gnn.pdf import SpectralBasis, matrix_functions

from .layer_checks import assert_permutation_equivariant, assert_rejects_bad_graphs, small_graph


def cycle(n: int, offset: int = 0) -> torch.Tensor:
    """The undirected cycle C_n: a graph whose spectrum repeats (cos(2 pi k / n) twice for most k)."""
    nodes = torch.arange(n)
    ring = torch.stack([nodes, (nodes + 1) % n]) + offset
    return torch.cat([ring, ring.flip(0)], dim=1)


def gcn_matrix(edge_index, n, eps):
    adjacency = to_dense_adj(edge_index, max_num_nodes=n)[0].double() + eps * torch.eye(n, dtype=torch.float64)
    inv_sqrt = adjacency.sum(1).rsqrt()
    return inv_sqrt[:, None] * adjacency * inv_sqrt[None, :]


def test_monomial_basis_is_a_polynomial_filter_with_its_gradient():
    # phi_k(M) = M^k, and the Daleckii-Krein backward equals autograd through the explicit powers,
    # on a cycle whose eigenvalues repeat (eigh's own backward would divide by zero there).
    eps = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(4, 6, 6, dtype=torch.float64)
    spectral = matrix_functions(gcn_matrix(cycle(6), 6, eps)[None], SpectralBasis("monomial", 4))[0]
    (spectral * weights).sum().backward()
    grad_spectral = eps.grad.clone()
    eps.grad = None
    m = gcn_matrix(cycle(6), 6, eps)
    powers = torch.stack([torch.linalg.matrix_power(m, k) for k in range(4)])
    (powers * weights).sum().backward()
    torch.testing.assert_close(spectral, powers.detach())
    torch.testing.assert_close(grad_spectral, eps.grad)


def test_gaussian_basis_passes_gradcheck_on_a_degenerate_spectrum():
    basis = SpectralBasis("gaussian", 5)
    assert torch.autograd.gradcheck(lambda e: matrix_functions(gcn_matrix(cycle(8), 8, e)[None], basis),
                                    (torch.tensor(1.3, dtype=torch.float64, requires_grad=True),))


def test_layer_against_a_dense_spectral_computation():
    edge_index = cycle(7)
    x = torch.randn(7, 3, dtype=torch.float64)
    layer = PDFConv(3, 2, num_basis=4, epsilon=0.5).double()
    lam, u = torch.linalg.eigh(gcn_matrix(edge_index, 7, torch.tensor(0.5, dtype=torch.float64)))
    phi = layer.basis.value(lam)
    expected = sum(u @ torch.diag(phi[:, k]) @ u.T @ x @ layer.weight[k] for k in range(4)) + layer.bias
    torch.testing.assert_close(layer(x, edge_index), expected)


def test_a_batch_equals_its_graphs_one_by_one():
    layer = PDFConv(3, 2, num_basis=3).double()
    x = torch.randn(11, 3, dtype=torch.float64)
    edge_index = torch.cat([cycle(5), cycle(6, offset=5)], dim=1)
    batch = torch.tensor([0] * 5 + [1] * 6)
    together = layer(x, edge_index, batch)
    torch.testing.assert_close(together[:5], layer(x[:5], cycle(5)))
    torch.testing.assert_close(together[5:], layer(x[5:], cycle(6)))


def test_epsilon_learns_and_the_layer_is_permutation_equivariant():
    x, edge_index = small_graph(num_nodes=12, num_edges=40)
    layer = PDFConv(12, 4)
    layer(x, edge_index).square().sum().backward()
    assert layer.epsilon_raw.grad is not None and torch.isfinite(layer.epsilon_raw.grad)
    assert_permutation_equivariant(layer, x, edge_index, atol=1e-4)
    assert "epsilon_raw" in dict(PDFConv(3, 2, learn_epsilon=False).named_buffers())


def test_bad_input():
    x, edge_index = small_graph()
    assert_rejects_bad_graphs(PDFConv(12, 4), x, edge_index)
    with pytest.raises(ValueError, match="basis: expected 'monomial' or 'gaussian'"):
        PDFConv(12, 4, basis="chebyshev")
    with pytest.raises(ValueError, match="epsilon: expected a finite number > 0"):
        PDFConv(12, 4, epsilon=0.0)
    with pytest.raises(ValueError, match=r"batch: expected shape \[30\]"):
        PDFConv(12, 4)(x, edge_index, torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="batch: expected graph ids sorted"):
        PDFConv(12, 4)(x, edge_index, torch.arange(30).flip(0))
