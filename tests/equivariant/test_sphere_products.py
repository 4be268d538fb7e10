import math

import numpy as np
import pytest
import torch
from e3nn import o3

from geomlearn.equivariant import CGTensorProduct, GauntTensorProduct, GridTensorProduct
from geomlearn.equivariant.testing import assert_equivariant

CASES = [
    ("2x0e + 2x1o + 2x2e", "0e + 1o + 2e", "2x0e + 2x1o + 2x2e + 2x3o + 2x4e"),     # features x edge harmonics
    ("3x1e + 3x3e", "3x0o + 3x1e + 3x2o", "3x0e + 3x2e + 3x3o + 3x5o"),            # channel-wise, odd parities
    ("0e + 1o + 2e + 3o", "0e + 1o + 2e + 3o", "0e + 1o + 2e + 3o + 4e + 5o + 6e"),  # Price of Freedom's case
]


def sphere_quadrature(n=24):
    nodes, weights = (torch.from_numpy(a) for a in np.polynomial.legendre.leggauss(n))
    phi = torch.arange(2 * n, dtype=torch.float64) * (math.pi / n)
    theta, phi = torch.meshgrid(torch.arccos(nodes), phi, indexing="ij")
    # e3nn's axes: y polar.
    points = torch.stack([torch.sin(theta) * torch.sin(phi), torch.cos(theta), torch.sin(theta) * torch.cos(phi)], -1)
    return points.reshape(-1, 3), (weights[:, None] * (math.pi / n)).expand(n, 2 * n).reshape(-1)


def gaunt_reference(irreps_in1, irreps_in2, irreps_out, x1, x2):
    """z = (1 / 4 pi) * integral of f1 f2 Y over the sphere, by dense quadrature with e3nn's harmonics."""
    points, weights = sphere_quadrature()

    def functions(irreps, x):
        irreps = o3.Irreps(irreps)
        channels = irreps[0].mul
        values = 0
        for (mul, ir), piece in zip(irreps, x.split([mul * ir.dim for mul, ir in irreps], dim=-1)):
            y = o3.spherical_harmonics(ir.l, points, True, normalization="component")      # [Q, 2l + 1]
            values = values + piece.reshape(-1, mul, ir.dim) @ y.T                          # [Z, C, Q]
        return values, channels

    (f1, c), (f2, _) = functions(irreps_in1, x1), functions(irreps_in2, x2)
    product = f1 * f2 * weights / (4 * math.pi)
    pieces = []
    for mul, ir in o3.Irreps(irreps_out):
        y = o3.spherical_harmonics(ir.l, points, True, normalization="component")
        pieces.append((product @ y).reshape(x1.shape[0], -1))
    return torch.cat(pieces, dim=1)


@pytest.mark.parametrize("cls", [GridTensorProduct, GauntTensorProduct])
@pytest.mark.parametrize("irreps", CASES)
def test_products_equal_the_gaunt_coefficient_reference(cls, irreps):
    torch.manual_seed(0)
    tp = cls(*irreps, internal_weights=False).double()
    x1 = torch.randn(6, tp.irreps_in1.dim, dtype=torch.float64)
    x2 = torch.randn(6, tp.irreps_in2.dim, dtype=torch.float64)
    ones = torch.ones(tp.weight_numel, dtype=torch.float64)
    torch.testing.assert_close(tp(x1, x2, ones), gaunt_reference(*irreps, x1, x2), atol=1e-12, rtol=0)


@pytest.mark.parametrize("irreps", CASES)
def test_grid_gaunt_and_fft_gaunt_agree_with_weights_and_are_equivariant(irreps):
    torch.manual_seed(1)
    grid = GridTensorProduct(*irreps).double()
    gaunt, fft = GauntTensorProduct(*irreps).double(), GauntTensorProduct(*irreps, use_fft=True).double()
    gaunt.load_state_dict(grid.state_dict()), fft.load_state_dict(grid.state_dict())
    x1 = torch.randn(6, grid.irreps_in1.dim, dtype=torch.float64)
    x2 = torch.randn(6, grid.irreps_in2.dim, dtype=torch.float64)
    torch.testing.assert_close(gaunt(x1, x2), grid(x1, x2), atol=1e-12, rtol=0)
    torch.testing.assert_close(fft(x1, x2), grid(x1, x2), atol=1e-12, rtol=0)
    for tp in (grid, gaunt):
        assert_equivariant(tp, (x1, x2), [tp.irreps_in1, tp.irreps_in2], tp.irreps_out)
        assert_equivariant(tp.float(), (x1.float(), x2.float()), [tp.irreps_in1, tp.irreps_in2], tp.irreps_out)


def test_gaunt_is_the_even_part_of_the_cg_product():
    # For l1 + l2 + l3 even the Gaunt coefficient is proportional to the Wigner 3j symbol, so with one copy
    # and one path per output degree the two products agree up to one factor per path.
    torch.manual_seed(2)
    grid = GridTensorProduct("1o", "2e", "1o + 3o", internal_weights=False).double()
    cg = CGTensorProduct("1o", "2e", "1o + 3o", internal_weights=False).double()
    x1, x2 = torch.randn(8, 3, dtype=torch.float64), torch.randn(8, 5, dtype=torch.float64)
    a = grid(x1, x2, torch.ones(grid.weight_numel, dtype=torch.float64))
    b = cg(x1, x2, torch.ones(cg.weight_numel, dtype=torch.float64))
    for piece in (slice(0, 3), slice(3, 10)):
        ratio = a[:, piece] / b[:, piece]
        torch.testing.assert_close(ratio, ratio[:1, :1].expand_as(ratio))


def test_per_sample_weights_and_gradients():
    torch.manual_seed(3)
    tp = GridTensorProduct("2x0e + 2x1o", "0e + 1o", "2x0e + 2x1o + 2x2e", shared_weights=False).double()
    x1 = torch.randn(4, tp.irreps_in1.dim, dtype=torch.float64, requires_grad=True)
    x2 = torch.randn(4, tp.irreps_in2.dim, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(4, tp.weight_numel, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(tp, (x1, x2, weight))
    one = GridTensorProduct("2x0e + 2x1o", "0e + 1o", "2x0e + 2x1o + 2x2e", internal_weights=False).double()
    torch.testing.assert_close(tp(x1, x2, weight)[1], one(x1[1:2], x2[1:2], weight[1])[0])


def test_bad_input():
    with pytest.raises(ValueError, match="irreps_in1: a product on the sphere needs the same number of copies"):
        GridTensorProduct("2x0e + 1x1o", "0e", "0e")
    with pytest.raises(ValueError, match="irreps_in1: a product on the sphere needs"):
        GauntTensorProduct("0e + 1e", "0e", "0e")                          # 1e is not a function's parity here
    with pytest.raises(ValueError, match="irreps_out: the product of"):
        GridTensorProduct("0e + 1o", "0e + 1o", "0o + 1e")
    with pytest.raises(ValueError, match=r"irreps_out: 1x1o \(output 0\) is not reached"):
        GridTensorProduct("1o", "1o", "1o")                                # 1 x 1 -> 1 is an odd coupling
