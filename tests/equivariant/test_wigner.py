import pytest
import torch
from e3nn import o3

from geomlearn.equivariant import irreps_D, wigner_D, wigner_D_from_matrix
from geomlearn.equivariant.testing import random_orthogonal


def test_equal_to_e3nn():
    torch.manual_seed(0)
    matrices = random_orthogonal(6)                                      # rotations and reflections
    irreps = "2x0e + 1o + 1e + 2x2o + 3e + 4o"
    # e3nn goes through Euler angles with float32 generators: agreement to ~1e-6.
    torch.testing.assert_close(irreps_D(irreps, matrices), o3.Irreps(irreps).D_from_matrix(matrices),
                               atol=1e-5, rtol=0)


@pytest.mark.parametrize("l", [0, 1, 2, 5])
def test_euler_angles_as_e3nn(l):
    """e3nn's wigner_D(l, alpha, beta, gamma), angles broadcasting against each other (e3nn's own values pass
    through float32 generators: agreement to ~1e-6)."""
    alpha, beta, gamma = o3.rand_angles(7, dtype=torch.float64)
    torch.testing.assert_close(wigner_D(l, alpha, beta, gamma), o3.wigner_D(l, alpha, beta, gamma), atol=1e-5, rtol=0)
    expected = o3.wigner_D(l, alpha[0], beta[2], torch.tensor(0.3, dtype=torch.float64))
    torch.testing.assert_close(wigner_D(l, alpha[:1], beta, 0.3)[2], expected, atol=1e-5, rtol=0)
    # Euler angles compose as e3nn's rotations: D(R_y(a) R_x(b) R_y(c)) = D_y(a) D_x(b) D_y(c).
    composed = wigner_D(l, alpha, 0.0, 0.0) @ wigner_D(l, 0.0, beta, 0.0) @ wigner_D(l, 0.0, 0.0, gamma)
    torch.testing.assert_close(wigner_D(l, alpha, beta, gamma), composed, atol=1e-10, rtol=0)


def test_a_matrix_still_works_with_a_deprecation_warning():
    matrix = o3.rand_matrix(3, dtype=torch.float64)
    with pytest.warns(DeprecationWarning, match="use wigner_D_from_matrix"):
        old = wigner_D(2, matrix)
    torch.testing.assert_close(old, wigner_D_from_matrix(2, matrix))
    with pytest.raises(TypeError, match="expected Euler angles"):
        wigner_D(2, torch.tensor(0.5))


@pytest.mark.parametrize("l", [1, 3, 8, 12])
def test_a_representation_of_orthogonal_matrices(l):
    g = torch.Generator().manual_seed(l)
    a, b = random_orthogonal(2, reflections=False, generator=g)
    eye = torch.eye(2 * l + 1, dtype=torch.float64)
    torch.testing.assert_close(wigner_D_from_matrix(l, a @ b), wigner_D_from_matrix(l, a) @ wigner_D_from_matrix(l, b), atol=1e-12, rtol=0)
    torch.testing.assert_close(wigner_D_from_matrix(l, a) @ wigner_D_from_matrix(l, a).T, eye, atol=1e-12, rtol=0)
    torch.testing.assert_close(wigner_D_from_matrix(l, torch.eye(3, dtype=torch.float64)), eye, atol=1e-12, rtol=0)
    # -I acts on degree-l harmonics by (-1)^l; an odd-parity irrep of the same degree picks up another -1.
    minus = -torch.eye(3, dtype=torch.float64)
    torch.testing.assert_close(wigner_D_from_matrix(l, minus), (-1) ** l * eye, atol=1e-12, rtol=0)
    for parity, sign in (("e", 1.0), ("o", -1.0)):
        torch.testing.assert_close(irreps_D(f"{l}{parity}", minus), sign * eye, atol=1e-12, rtol=0)


def test_batched_and_differentiable():
    matrices = random_orthogonal(5).requires_grad_()
    d = wigner_D_from_matrix(4, matrices)
    assert d.shape == (5, 9, 9)
    d.sum().backward()
    assert torch.isfinite(matrices.grad).all()


def test_bad_input():
    with pytest.raises(ValueError, match=r"matrix: expected floating-point orthogonal matrices \[..., 3, 3\]"):
        wigner_D_from_matrix(2, torch.randn(4, 3))
    with pytest.raises(ValueError, match="irreps: expected e3nn irreps"):
        irreps_D("2x1q", torch.eye(3))

