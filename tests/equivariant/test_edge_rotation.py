import torch
from e3nn import o3

from geomlearn.equivariant import spherical_harmonics, wigner_D_from_matrix
from geomlearn.equivariant.edge_rotation import EdgeRotation


def test_edge_harmonics_land_on_the_polar_axis_and_the_rotation_inverts():
    torch.manual_seed(0)
    irreps = o3.Irreps("0e + 1o + 2e + 3o + 4e")
    vectors = torch.randn(50, 3, dtype=torch.float64)
    vectors[0] = torch.tensor([0.0, 2.0, 0.0])                     # on the polar axis: any azimuth is right
    vectors[1] = torch.tensor([0.0, -1.0, 0.0])
    rotation = EdgeRotation(irreps, vectors)
    harmonics = spherical_harmonics(list(range(5)), vectors, normalization="component").unsqueeze(1)    # [E, 1, 25]
    polar = spherical_harmonics(list(range(5)), torch.tensor([[0.0, 1.0, 0.0]], dtype=torch.float64),
                                normalization="component")
    torch.testing.assert_close(rotation.to_edge(harmonics), polar.expand(50, 1, 25), atol=1e-12, rtol=0)
    x = torch.randn(50, 3, 25, dtype=torch.float64)
    torch.testing.assert_close(rotation.from_edge(rotation.to_edge(x)), x, atol=1e-12, rtol=0)


def test_equals_the_wigner_matrix_of_the_edge_frame():
    torch.manual_seed(1)
    vectors = torch.randn(6, 3, dtype=torch.float64)
    rotation = EdgeRotation(o3.Irreps("3o"), vectors)
    x = torch.randn(6, 2, 7, dtype=torch.float64)
    for e in range(6):
        a, b = float(rotation.alpha[e]), float(rotation.beta[e])
        c, s = torch.cos(torch.tensor(-a, dtype=torch.float64)), torch.sin(torch.tensor(-a, dtype=torch.float64))
        about_y = torch.tensor([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=torch.float64)
        c, s = torch.cos(torch.tensor(-b, dtype=torch.float64)), torch.sin(torch.tensor(-b, dtype=torch.float64))
        about_x = torch.tensor([[1, 0, 0], [0, c, -s], [0, s, c]], dtype=torch.float64)
        d = wigner_D_from_matrix(3, about_x @ about_y)
        torch.testing.assert_close(rotation.to_edge(x)[e], x[e] @ d.T, atol=1e-12, rtol=0)
