import pytest
import torch
from torch_geometric.utils import coalesce, to_undirected

from geomlearn.sheaf import sheaf_laplacian
from geomlearn.sparse import SparseIndex


def undirected(num_nodes=8, num_edges=14, seed=0):
    g = torch.Generator().manual_seed(seed)
    pairs = torch.randint(0, num_nodes, (2, num_edges), generator=g)
    pairs = pairs[:, pairs[0] != pairs[1]]
    return SparseIndex(coalesce(to_undirected(pairs, num_nodes=num_nodes)), num_nodes=num_nodes)


def dense_from_definition(index, maps):
    """L from the definition, one undirected edge at a time."""
    n, d = index.num_dst, maps.shape[1]
    out = torch.zeros(n * d, n * d, dtype=maps.dtype)
    edges = {(int(u), int(v)): e for e, (u, v) in enumerate(index.edge_index.t().tolist())}
    for (u, v), e in edges.items():
        if u < v:
            fu, fv = maps[e], maps[edges[(v, u)]]                  # F_{u<e} on u -> v, F_{v<e} on v -> u
            su, sv = slice(u * d, (u + 1) * d), slice(v * d, (v + 1) * d)
            out[su, su] += fu.T @ fu
            out[sv, sv] += fv.T @ fv
            out[sv, su] -= fv.T @ fu
            out[su, sv] -= fu.T @ fv
    return out


def test_blocks_equal_the_dense_definition_and_apply_by_block_spmm():
    index = undirected()
    maps = torch.randn(index.num_edges, 3, 3, dtype=torch.float64)
    laplacian = sheaf_laplacian(index, maps, normalise=False)
    expected = dense_from_definition(index, maps)
    torch.testing.assert_close(laplacian.dense(), expected)
    x = torch.randn(8, 3, 5, dtype=torch.float64)
    torch.testing.assert_close(laplacian(x).reshape(24, 5), expected @ x.reshape(24, 5))


@pytest.mark.parametrize("normalise", [False, True])
def test_symmetric_and_positive_semidefinite(normalise):
    index = undirected(seed=1)
    dense = sheaf_laplacian(index, torch.randn(index.num_edges, 2, 2, dtype=torch.float64), normalise).dense()
    torch.testing.assert_close(dense, dense.T)
    assert torch.linalg.eigvalsh(dense).min() > -1e-10


def test_identity_sheaf_kernel_is_the_constant_signals():
    # Identity maps: L = (graph Laplacian) kron I_d; on a connected graph its kernel is d-dimensional, the
    # constant signals, and the normalised spectrum lies in [0, 2].
    index = undirected(num_nodes=6, num_edges=30, seed=2)
    maps = torch.eye(2, dtype=torch.float64).expand(index.num_edges, 2, 2)
    laplacian = sheaf_laplacian(index, maps, normalise=False)
    constant = torch.ones(6, 2, 1, dtype=torch.float64)
    torch.testing.assert_close(laplacian(constant), torch.zeros_like(constant))
    eigenvalues = torch.linalg.eigvalsh(sheaf_laplacian(index, maps).dense())
    assert (eigenvalues.abs() < 1e-9).sum() == 2 and eigenvalues.max() < 2 + 1e-9


def test_gradcheck_through_the_builder():
    index = undirected(num_nodes=5, num_edges=8, seed=3)
    maps = torch.randn(index.num_edges, 2, 2, dtype=torch.float64, requires_grad=True)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda m: sheaf_laplacian(index, m)(x), (maps,))


def test_bad_input():
    index = undirected()
    with pytest.raises(ValueError, match=r"maps: expected a tensor \[E, d, d\]"):
        sheaf_laplacian(index, torch.randn(index.num_edges, 2, 3))
    with pytest.raises(ValueError, match=r"maps: expected a tensor \[E, d, d\]"):
        sheaf_laplacian(index, torch.randn(index.num_edges, 0, 0))
    one_way = SparseIndex(torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    with pytest.raises(ValueError, match="edge 0 -> 1 has no reverse 1 -> 0"):
        sheaf_laplacian(one_way, torch.randn(2, 2, 2))
    twice = SparseIndex(torch.tensor([[0, 0, 1], [1, 1, 0]]), num_nodes=2)
    with pytest.raises(ValueError, match="edge 0 -> 1 appears more than once"):
        sheaf_laplacian(twice, torch.randn(3, 2, 2))
    laplacian = sheaf_laplacian(index, torch.randn(index.num_edges, 2, 2))
    with pytest.raises(ValueError, match=r"x: expected shape \[N, 2, C\]"):
        laplacian(torch.randn(8, 3, 4))
