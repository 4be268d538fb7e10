import pytest
import torch
from e3nn import o3

from geomlearn.equivariant import irreps_D, wigner_D
from geomlearn.equivariant.testing import random_orthogonal


def test_equal_to_e3nn():
    torch.manual_seed(0)
    matrices = random_orthogonal(6)                                      # rotations and reflections
    irreps = "2x0e + 1o + 1e + 2x2o + 3e + 4o"
    # e3nn goes through Euler angles with float32 generators: agreement to ~1e-6.
    torch.testing.assert_close(irreps_D(irreps, matrices), o3.Irreps(irreps).D_from_matrix(matrices),
                               atol=1e-5, rtol=0)


@pytest.mark.parametrize("l", [1, 3, 8, 12])
def test_a_representation_of_orthogonal_matrices(l):
    g = torch.Generator().manual_seed(l)
    a, b = random_orthogonal(2, reflections=False, generator=g)
    eye = torch.eye(2 * l + 1, dtype=torch.float64)
    torch.testing.assert_close(wigner_D(l, a @ b), wigner_D(l, a) @ wigner_D(l, b), atol=1e-12, rtol=0)
    torch.testing.assert_close(wigner_D(l, a) @ wigner_D(l, a).T, eye, atol=1e-12, rtol=0)
    torch.testing.assert_close(wigner_D(l, torch.eye(3, dtype=torch.float64)), eye, atol=1e-12, rtol=0)
    # -I acts on degree-l harmonics by (-1)^l; an odd-parity irrep of the same degree picks up another -1.
    minus = -torch.eye(3, dtype=torch.float64)
    torch.testing.assert_close(wigner_D(l, minus), (-1) ** l * eye, atol=1e-12, rtol=0)
    for parity, sign in (("e", 1.0), ("o", -1.0)):
        torch.testing.assert_close(irreps_D(f"{l}{parity}", minus), sign * eye, atol=1e-12, rtol=0)


def test_batched_and_differentiable():
    matrices = random_orthogonal(5).requires_grad_()
    d = wigner_D(4, matrices)
    assert d.shape == (5, 9, 9)
    d.sum().backward()
    assert torch.isfinite(matrices.grad).all()


def test_bad_input():
    with pytest.raises(ValueError, match=r"matrix: expected floating-point orthogonal matrices \[..., 3, 3\]"):
        wigner_D(2, torch.randn(4, 3))
    with pytest.raises(ValueError, match="irreps: expected e3nn irreps"):
        irreps_D("2x1q", torch.eye(3))

