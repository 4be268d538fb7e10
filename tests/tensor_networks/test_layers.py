import math

import pytest
import torch

from geomlearn.tensor_networks import (CPTensor, FactorizedLinear, FactorizedSpectralConv, LowRankWeight, TRL,
                                       TTLinear, TTTensor, TuckerTensor)


def test_low_rank_weight_is_its_decomposition_with_the_requested_spread():
    torch.manual_seed(0)
    cp = LowRankWeight((6, 7, 8), 3, "cp", std=0.5)
    torch.testing.assert_close(cp.to_tensor(), CPTensor(torch.ones(3), list(cp.factors)).to_tensor())
    tucker = LowRankWeight((6, 7, 8), (2, 3, 2), "tucker", std=0.5)
    torch.testing.assert_close(tucker.to_tensor(), TuckerTensor(tucker.factors[0], list(tucker.factors[1:])).to_tensor())
    tt = LowRankWeight((6, 7, 8), 3, "tt", std=0.5)
    torch.testing.assert_close(tt.to_tensor(), TTTensor(list(tt.factors)).to_tensor())
    big = LowRankWeight((40, 50, 60), 20, "cp", std=0.5)
    assert 0.4 < float(big.to_tensor().detach().std()) < 0.6
    with pytest.raises(ValueError, match="factorization: expected one of"):
        LowRankWeight((3, 4), 2, "svd")


@pytest.mark.parametrize("factorization", ["cp", "tucker"])
def test_trl_is_a_linear_map_of_the_whole_tensor_and_dropout_keeps_its_expectation(factorization):
    torch.manual_seed(1)
    layer = TRL((3, 4, 5), 6, rank=3 if factorization == "cp" else (2, 3, 3, 4), factorization=factorization,
                dropout=0.3).double()
    x = torch.randn(7, 3, 4, 5, dtype=torch.float64)
    layer.eval()
    dense = layer.weight.to_tensor().reshape(60, 6)
    expected = x.reshape(7, 60) @ dense + layer.bias
    torch.testing.assert_close(layer(x), expected)
    layer.train()
    with torch.no_grad():
        draws = torch.stack([layer(x) for _ in range(1000)])
    assert float((draws - draws[0]).abs().max()) > 0                         # components were dropped
    # E[dropped weight] = weight: the Monte-Carlo mean within 5 standard errors of the eval output, everywhere.
    standard_error = draws.std(0) / len(draws) ** 0.5
    assert bool(((draws.mean(0) - expected.detach()).abs() < 5 * standard_error + 1e-12).all())
    with pytest.raises(ValueError, match=r"x: expected \[B, 3, 4, 5\]"):
        layer(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"dropout: expected a tensor-dropout probability in \[0, 1\), got 1.0"):
        TRL((3, 4, 5), 2, rank=3, factorization=factorization, dropout=1.0)


@pytest.mark.parametrize("factorization", ["cp", "tucker", "tt"])
def test_factorized_linear_equals_the_dense_product(factorization):
    torch.manual_seed(2)
    layer = FactorizedLinear((4, 6), (3, 5), rank=4 if factorization != "tucker" else (2, 3, 2, 3),
                             factorization=factorization).double()
    x = torch.randn(2, 9, 24, dtype=torch.float64)
    out = layer(x)
    assert out.shape == (2, 9, 15)
    torch.testing.assert_close(out, x @ layer.dense_weight() + layer.bias)


def test_tt_linear_weight_is_the_tt_matrix_and_holds_fewer_parameters():
    torch.manual_seed(3)
    layer = TTLinear((4, 8, 8), (4, 4, 8), rank=3, bias=False).double()
    cores = [c.reshape(c.shape[0], m, n, c.shape[2]) for c, m, n in zip(layer.weight.factors, (4, 8, 8), (4, 4, 8))]
    dense = torch.einsum("aimb,bjnc,ckpd->ijkmnp", *cores).reshape(256, 128)
    torch.testing.assert_close(layer.dense_weight(), dense)
    assert layer.weight.num_parameters == 1 * 16 * 3 + 3 * 32 * 3 + 3 * 64 * 1 < 256 * 128 / 50
    with pytest.raises(ValueError, match="a TT-matrix pairs the factors"):
        TTLinear((4, 8), (2, 2, 2), 2)


def dense_spectral_conv(x, weight, modes):
    """The FNO layer with the dense weight, frequency by frequency."""
    dims = len(modes)
    spectrum = torch.fft.rfftn(x, dim=tuple(range(2, dims + 2)))
    out = torch.zeros(x.shape[0], weight.shape[1], *spectrum.shape[2:], dtype=spectrum.dtype)
    positions = []
    for k, m in enumerate(modes):
        n = x.shape[2 + k]
        positions.append(list(range(m)) if k == dims - 1 else list(range(m)) + list(range(n - m, n)))
    import itertools
    for w_index, f_index in zip(itertools.product(*[range(len(p)) for p in positions]),
                                itertools.product(*positions)):
        out[(slice(None), slice(None), *f_index)] = spectrum[(slice(None), slice(None), *f_index)] @ \
            weight[(slice(None), slice(None), *w_index)]
    return torch.fft.irfftn(out, s=x.shape[2:], dim=tuple(range(2, dims + 2)))


@pytest.mark.parametrize("modes, size", [((4,), (16,)), ((3, 4), (10, 12))])
@pytest.mark.parametrize("factorization", ["cp", "tucker", "tt"])
def test_factorized_spectral_conv_equals_the_dense_fno_layer(modes, size, factorization):
    torch.manual_seed(4)
    layer = FactorizedSpectralConv(3, 5, modes, rank=0.5, factorization=factorization)
    x = torch.randn(2, 3, *size)
    out = layer(x)
    assert out.shape == (2, 5, *size) and out.dtype == torch.float32
    torch.testing.assert_close(out, dense_spectral_conv(x, layer.weight.to_tensor(), modes), atol=1e-5, rtol=1e-4)
    dense = 3 * 5 * math.prod(2 * m for m in modes[:-1]) * modes[-1]
    assert layer.weight.num_parameters <= dense


def test_spectral_conv_bad_input():
    layer = FactorizedSpectralConv(2, 2, (5, 3), rank=2)
    with pytest.raises(ValueError, match="x: dimension 2 of size 8 cannot hold 5 modes"):
        layer(torch.randn(1, 2, 8, 8))
    with pytest.raises(ValueError, match=r"x: expected \[B, 2, 2 spatial sizes\]"):
        layer(torch.randn(1, 2, 8))
