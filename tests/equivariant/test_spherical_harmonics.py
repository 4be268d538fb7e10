import math

import numpy as np
import pytest
import torch
from e3nn import o3

from geomlearn.equivariant import SphericalHarmonics, spherical_harmonics, wigner_D_from_matrix
from geomlearn.equivariant.testing import random_orthogonal


@pytest.mark.parametrize("normalization", ["component", "norm", "integral"])
@pytest.mark.parametrize("normalize", [True, False])
def test_equal_to_e3nn_up_to_its_largest_degree(normalization, normalize):
    torch.manual_seed(0)
    vectors = torch.randn(40, 3, dtype=torch.float64)
    degrees = list(range(12))
    ours = spherical_harmonics(degrees, vectors, normalize, normalization)
    expected = o3.spherical_harmonics(degrees, vectors, normalize, normalization=normalization)
    torch.testing.assert_close(ours, expected, rtol=1e-12, atol=1e-12)


def test_orthonormal_on_the_sphere_beyond_e3nn():
    # Gauss-Legendre in cos(theta) x uniform in phi integrates polynomials of degree <= 2 * 15 exactly.
    nodes, weights = (torch.from_numpy(a) for a in np.polynomial.legendre.leggauss(16))
    phi = torch.arange(32, dtype=torch.float64) * 2 * math.pi / 32
    cos, p = torch.meshgrid(nodes, phi, indexing="ij")
    sin = (1 - cos ** 2).sqrt()
    points = torch.stack([sin * torch.cos(p), sin * torch.sin(p), cos], dim=-1).reshape(-1, 3)
    w = (weights[:, None] * torch.full_like(phi, 2 * math.pi / 32)[None, :]).reshape(-1)
    y = spherical_harmonics(list(range(14)), points, normalization="integral")       # degrees 0..13
    gram = y.T @ (w[:, None] * y)
    torch.testing.assert_close(gram, torch.eye(y.shape[1], dtype=torch.float64), atol=1e-11, rtol=0)


@pytest.mark.parametrize("l", [0, 1, 5, 12, 14])
def test_equivariance_and_parity(l):
    torch.manual_seed(l)
    vectors = torch.randn(30, 3, dtype=torch.float64)
    rotations = random_orthogonal(4, reflections=False)
    for rotation in rotations:
        rotated = spherical_harmonics(l, vectors @ rotation.T)
        torch.testing.assert_close(rotated, spherical_harmonics(l, vectors) @ wigner_D_from_matrix(l, rotation).T,
                                   atol=1e-11, rtol=0)
    torch.testing.assert_close(spherical_harmonics(l, -vectors), (-1) ** l * spherical_harmonics(l, vectors))


def test_polynomials_scale_with_the_norm_and_component_norms():
    torch.manual_seed(1)
    vectors = torch.randn(20, 3, dtype=torch.float64)
    scale = vectors.norm(dim=1, keepdim=True)
    for l in (0, 3, 13):
        y = spherical_harmonics(l, vectors, normalize=True, normalization="component")
        polynomials = spherical_harmonics(l, vectors, normalize=False, normalization="component")
        torch.testing.assert_close(polynomials, scale ** l * y)
        torch.testing.assert_close(y.square().sum(1), torch.full((20,), 2.0 * l + 1, dtype=torch.float64))


def test_float32_high_degree_and_gradients_are_finite():
    vectors = torch.randn(100, 3, requires_grad=True)
    y = spherical_harmonics(list(range(13)), vectors)
    torch.testing.assert_close(y.double(), spherical_harmonics(list(range(13)), vectors.detach().double()),
                               atol=1e-3, rtol=1e-4, check_dtype=False)
    y.square().sum().backward()
    assert torch.isfinite(vectors.grad).all()


def test_bad_input():
    with pytest.raises(ValueError, match="l: expected a degree >= 0"):
        spherical_harmonics(-1, torch.randn(3, 3))
    with pytest.raises(ValueError, match="normalization: expected one of"):
        spherical_harmonics(1, torch.randn(3, 3), normalization="unit")
    with pytest.raises(ValueError, match=r"x: expected floating-point vectors \[..., 3\], got \[3, 2\]"):
        spherical_harmonics(1, torch.randn(3, 2))
    with pytest.raises(ValueError, match="l: the harmonics of degree 1 of a vector with parity -1 have parity -1"):
        spherical_harmonics("0e + 1e", torch.randn(3, 3))


@pytest.mark.parametrize("l", [3, [4, 1, 2, 3, 3, 1, 0], "0e + 1o + 2e", o3.Irreps("1x0e + 4x1o + 3x2e")])
def test_e3nn_s_call_and_default_normalization(l):
    """e3nn's function: degrees as an int, a list, Irreps or a string (multiplicities repeat), "integral" by
    default, any leading shape."""
    vectors = torch.randn(2, 1, 2, 3, dtype=torch.float64)
    expected = o3.spherical_harmonics(l, vectors, True)
    torch.testing.assert_close(spherical_harmonics(l, vectors, True), expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(spherical_harmonics(l, vectors), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("irreps_in", [None, "1e"])
@pytest.mark.parametrize("normalization", ["integral", "component"])
def test_the_module_matches_e3nn_s(irreps_in, normalization):
    irreps = "0e + 1o + 3o" if irreps_in is None else "0e + 1e + 3e"
    ours = SphericalHarmonics(irreps, True, normalization, irreps_in=irreps_in)
    theirs = o3.SphericalHarmonics(irreps, True, normalization, irreps_in=irreps_in)
    assert ours.irreps_out == theirs.irreps_out and ours.irreps_in == theirs.irreps_in
    vectors = torch.randn(11, 3)
    torch.testing.assert_close(ours(vectors), theirs(vectors))
    with pytest.raises(ValueError, match="irreps_in: expected '1o' or '1e'"):
        SphericalHarmonics(irreps, True, irreps_in="1e + 3o")


@pytest.mark.parametrize("normalization", ["component", "norm", "integral"])
def test_the_zero_vector_gives_e3nns_values_and_a_zero_gradient(normalization):
    zero = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    degrees = list(range(5))
    ours = spherical_harmonics(degrees, zero, True, normalization)
    torch.testing.assert_close(ours, o3.spherical_harmonics(degrees, zero, True, normalization=normalization))
    assert ours[:, 1:].abs().max() == 0 and ours[0, 0] > 0          # only l = 0 survives, e.g. not -1.118 at l = 2
    (grad,) = torch.autograd.grad(ours.sum(), zero)
    assert torch.equal(grad, torch.zeros_like(grad))
    # Next to the zero vector the harmonics are the direction's, whatever its length.
    tiny = torch.tensor([[0.0, 1e-100, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(spherical_harmonics(degrees, tiny), spherical_harmonics(degrees, tiny * 1e100))
