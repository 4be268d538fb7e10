import pytest
import torch

from geomlearn.tensor_networks import t_product, t_transpose, tsvd


def circular_product(a, b):
    """The t-product by its definition: tubes multiplied by circular convolution."""
    n3 = a.shape[2]
    out = torch.zeros(a.shape[0], b.shape[1], n3, dtype=torch.promote_types(a.dtype, b.dtype))
    for k in range(n3):
        for j in range(n3):
            out[:, :, k] += a[:, :, j] @ b[:, :, (k - j) % n3]
    return out


@pytest.mark.parametrize("n3", [5, 6])
def test_t_product_and_t_transpose_by_definition(n3):
    g = torch.Generator().manual_seed(n3)
    a = torch.randn(4, 3, n3, generator=g, dtype=torch.float64)
    b = torch.randn(3, 5, n3, generator=g, dtype=torch.float64)
    torch.testing.assert_close(t_product(a, b), circular_product(a, b))
    # (A * B)^T = B^T * A^T
    torch.testing.assert_close(t_transpose(t_product(a, b)), t_product(t_transpose(b), t_transpose(a)))


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
@pytest.mark.parametrize("n3", [4, 7])
def test_planted_tubal_rank_is_recovered_with_orthogonal_factors(dtype, n3):
    g = torch.Generator().manual_seed(1)
    a = torch.randn(8, 3, n3, generator=g, dtype=torch.float64).to(dtype)
    b = torch.randn(3, 7, n3, generator=g, dtype=torch.float64).to(dtype)
    x = t_product(a, b)
    result = tsvd(x, 3)
    assert result.u.dtype == dtype and result.relative_error(x) < 1e-12
    identity = torch.zeros(3, 3, n3, dtype=dtype)
    identity[:, :, 0] = torch.eye(3)
    torch.testing.assert_close(t_product(t_transpose(result.u), result.u), identity)     # U^T * U = I


def test_truncation_error_equals_the_discarded_fourier_singular_values():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(6, 5, 4, generator=g, dtype=torch.float64)
    s = torch.linalg.svdvals(torch.fft.fft(x, dim=2).permute(2, 0, 1))          # [n3, 5]
    expected = ((s[:, 2:] ** 2).sum() / (s ** 2).sum()) ** 0.5                # Parseval across the slices
    assert abs(tsvd(x, 2).errors[0] - float(expected)) < 1e-12


def test_mask_completes_and_bad_input():
    g = torch.Generator().manual_seed(3)
    x = t_product(torch.randn(20, 2, 6, generator=g, dtype=torch.float64),
                  torch.randn(2, 18, 6, generator=g, dtype=torch.float64))
    mask = torch.rand(x.shape, generator=g) < 0.6
    result = tsvd(torch.where(mask, x, torch.zeros_like(x)), 2, mask=mask, n_iter_max=500, tol=1e-15)
    assert result.relative_error(x) < 1e-6
    with pytest.raises(ValueError, match=r"rank: expected a tubal rank in \[1, 18\]"):
        tsvd(x, 19)
    with pytest.raises(ValueError, match="tensor: expected a third-order tensor"):
        tsvd(torch.randn(3, 4, 5, 6), 2)
