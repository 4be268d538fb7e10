import math

import pytest
import torch
from torch_geometric.utils import coalesce, to_undirected

from geomlearn.sheaf import connection_maps, local_pca_frames, procrustes_transports, sheaf_laplacian
from geomlearn.sheaf.connection import leading_right_singular_vectors
from geomlearn.sparse import SparseIndex


def knn_graph(points, k):
    distances = torch.cdist(points, points)
    distances.fill_diagonal_(float("inf"))
    neighbours = distances.topk(k, largest=False).indices
    edges = torch.stack([neighbours.reshape(-1), torch.arange(len(points)).repeat_interleave(k)])
    return SparseIndex(coalesce(to_undirected(edges, num_nodes=len(points))), num_nodes=len(points))


def random_isometry(rows, cols, seed):
    q, _ = torch.linalg.qr(torch.randn(rows, rows, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q[:, :cols]


def fibonacci_sphere(n):
    i = torch.arange(n, dtype=torch.float64) + 0.5
    polar, azimuth = torch.acos(1 - 2 * i / n), math.pi * (1 + 5 ** 0.5) * i
    return torch.stack([polar.sin() * azimuth.cos(), polar.sin() * azimuth.sin(), polar.cos()], dim=1)


def alignment_error(frames, transports, index):
    """|O_v T_vu - O_u| per edge u -> v."""
    return (frames[index.dst.long()] @ transports - frames[index.src.long()]).flatten(1).norm(dim=1)


def test_flat_manifold_frames_align_exactly():
    # Points on a 2-plane in R^6: every local frame spans the plane, so the Procrustes transport maps one
    # frame onto the other exactly.
    coords = torch.rand(120, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = coords @ random_isometry(6, 2, seed=1).T
    index = knn_graph(x, 6)
    frames = local_pca_frames(x, index, 2)
    torch.testing.assert_close(frames.transpose(1, 2) @ frames, torch.eye(2, dtype=torch.float64).expand(120, 2, 2))
    transports = procrustes_transports(frames, index)
    assert alignment_error(frames, transports, index).max() < 1e-8


def test_sphere_frames_are_tangent_and_procrustes_is_the_best_orthogonal_alignment():
    sphere = fibonacci_sphere(600)
    embed = random_isometry(5, 3, seed=2)
    x, normals = sphere @ embed.T, sphere @ embed.T                   # the normal at p is p itself
    index = knn_graph(x, 8)
    frames = local_pca_frames(x, index, 2)
    # Tangent: the frames are nearly orthogonal to the normal (first-order local PCA error ~ the spacing).
    assert (frames.transpose(1, 2) @ normals.unsqueeze(-1)).norm(dim=1).max() < 0.15
    transports = procrustes_transports(frames, index)
    best = alignment_error(frames, transports, index)
    # Neighbouring tangent planes of the unit sphere are tilted by the geodesic angle ~ the chord: the best
    # alignment of their frames is off by about that much (plus the frames' own tangent error).
    ratio = best / (x[index.dst.long()] - x[index.src.long()]).norm(dim=1)
    assert ratio.mean() < 1.2 and ratio.max() < 2.5
    g = torch.Generator().manual_seed(3)
    for _ in range(5):
        other, _ = torch.linalg.qr(torch.randn(index.num_edges, 2, 2, generator=g, dtype=torch.float64))
        assert bool((best <= alignment_error(frames, other, index) + 1e-12).all())


def test_connection_maps_give_the_connection_laplacian():
    x = fibonacci_sphere(80) @ random_isometry(4, 3, seed=4).T
    index = knn_graph(x, 5)
    maps = connection_maps(x, index, 2)
    transports = procrustes_transports(local_pca_frames(x, index, 2), index)
    laplacian = sheaf_laplacian(index, maps, normalise=False, orthogonal=True)
    torch.testing.assert_close(laplacian.off_diagonal, -transports)           # blocks -T_vu
    degree = index.in_degree().to(torch.float64)
    torch.testing.assert_close(laplacian.diagonal, degree[:, None].expand(-1, 2))


def test_isolated_and_low_degree_nodes_get_complete_frames():
    x = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    index = SparseIndex(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=6)   # 3..5 isolated, 0 and 2 degree 1
    frames = local_pca_frames(x, index, 3)
    torch.testing.assert_close(frames.transpose(1, 2) @ frames, torch.eye(3, dtype=torch.float64).expand(6, 3, 3))


def test_bad_input():
    x = torch.randn(6, 4)
    index = SparseIndex(torch.tensor([[0, 1], [1, 0]]), num_nodes=6)
    with pytest.raises(ValueError, match="d: expected a stalk dimension between 1 and the feature width 4, got 5"):
        connection_maps(x, index, 5)
    with pytest.raises(ValueError, match=r"x: expected floating-point node features \[6, C\], got \[5, 4\]"):
        connection_maps(x[:5], index, 2)
    with pytest.raises(ValueError, match="has no reverse"):
        connection_maps(x, SparseIndex(torch.tensor([[0], [1]]), num_nodes=6), 2)


@pytest.mark.parametrize("rows", [5, 40, 70])                          # fewer rows than columns, and more
def test_the_gram_route_gives_the_leading_right_singular_vectors_of_an_svd(rows):
    g = torch.Generator().manual_seed(rows)
    scales = torch.tensor([9.0, 3.0, 1.0, 9e-3, 3e-3] + [0.0] * 45)    # regulariser-sized directions among them
    matrix = torch.randn(4, rows, 50, generator=g) * scales[torch.randperm(50, generator=g)]
    exact = torch.linalg.svd(matrix.double(), full_matrices=False)[2][:, :5].transpose(1, 2)
    found = leading_right_singular_vectors(matrix, 5)
    assert found.dtype == torch.float32 and found.shape == (4, 50, 5)
    # the same directions up to sign: |<v_found, v_exact>| = 1 column by column
    cosines = (found.double() * exact).sum(dim=1).abs()
    torch.testing.assert_close(cosines, torch.ones(4, 5, dtype=torch.float64), atol=1e-5, rtol=0)
