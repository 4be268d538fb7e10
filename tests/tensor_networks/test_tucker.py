import pytest
import torch

from geomlearn.tensor_networks import TuckerTensor, tucker

from .planted import planted_tucker


@pytest.mark.parametrize("method", ["hosvd", "hooi"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_exact_multilinear_rank_is_recovered(method, dtype):
    x = planted_tucker((10, 12, 9, 5), (3, 4, 2, 2), seed=1, dtype=dtype).to_tensor()
    result = tucker(x, (3, 4, 2, 2), method=method)
    assert result.rank == (3, 4, 2, 2) and result.relative_error(x) < 1e-12
    for factor in result.factors:      # orthonormal columns
        torch.testing.assert_close(factor.t().conj() @ factor, torch.eye(factor.shape[1], dtype=dtype))


def test_hooi_error_decreases_and_beats_hosvd_on_noise():
    g = torch.Generator().manual_seed(2)
    x = planted_tucker((10, 11, 12), (3, 3, 3), seed=2).to_tensor()
    x = x + 0.3 * x.std() * torch.randn(x.shape, generator=g, dtype=torch.float64)
    hosvd, hooi = tucker(x, 3, method="hosvd"), tucker(x, 3, n_iter_max=20, tol=0)
    assert all(later <= earlier + 1e-12 for earlier, later in zip(hooi.errors, hooi.errors[1:]))
    assert hooi.relative_error(x) <= hosvd.relative_error(x) + 1e-12
    assert abs(hooi.errors[-1] - hooi.relative_error(x)) < 1e-10


def test_mask_completes_a_low_rank_tensor():
    x = planted_tucker((10, 12, 9), (2, 3, 2), seed=3).to_tensor()
    mask = torch.rand(x.shape, generator=torch.Generator().manual_seed(0)) < 0.6
    garbage = torch.where(mask, x, torch.full_like(x, 1e3))
    result = tucker(garbage, (2, 3, 2), mask=mask, n_iter_max=1000, tol=1e-15)
    assert result.relative_error(x) < 1e-6


def test_unpacks_and_bad_input():
    x = planted_tucker((5, 6, 7), (2, 2, 2)).to_tensor()
    core, factors = tucker(x, 2)
    torch.testing.assert_close(TuckerTensor(core, factors).to_tensor(), x)
    with pytest.raises(ValueError, match="rank: mode 0 has size 5, so its Tucker rank is at most 5; got 6"):
        tucker(x, (6, 2, 2))
    with pytest.raises(ValueError, match="method: expected one of"):
        tucker(x, 2, method="als")


@pytest.mark.parametrize("method", ["hosvd", "hooi"])
def test_a_multilinear_rank_no_tensor_has_is_refused_not_shrunk(method):
    # mode 1's unfolding of a [2, R, 1] core has at most 2 columns: rank 3 cannot be reached, and a factor of 2
    # columns returned for a requested 3 would be a silent change of rank
    x = torch.randn(5, 6, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=r"rank: no tensor has multilinear rank \[2, 3, 1\]: mode 1's rank 3 exceeds"):
        tucker(x, [2, 3, 1], method=method)
    core, factors = tucker(x, [2, 2, 1], method=method)                    # the bound itself is reachable
    assert core.shape == (2, 2, 1) and [f.shape[1] for f in factors] == [2, 2, 1]


def test_sparse_observed_entries_complete_the_tensor_and_agree_with_the_mask_path():
    x = planted_tucker((30, 32, 28), (2, 3, 2), seed=4).to_tensor()
    mask = torch.rand(x.shape, generator=torch.Generator().manual_seed(1)) < 0.1
    indices = mask.nonzero().t()
    sparse = torch.sparse_coo_tensor(indices, x[mask], x.shape).coalesce()
    from_sparse = tucker(sparse, (2, 3, 2), n_iter_max=200, tol=1e-15, random_state=0)
    from_mask = tucker(torch.where(mask, x, torch.zeros_like(x)), (2, 3, 2), mask=mask, n_iter_max=2000, tol=1e-15)
    assert from_sparse.relative_error(x) < 1e-8
    torch.testing.assert_close(from_sparse.to_tensor(), from_mask.to_tensor(), atol=1e-5 * x.abs().max(), rtol=0)
    with pytest.raises(ValueError, match="tensor: a sparse tensor holds its observed entries itself"):
        tucker(sparse, 2, method="hosvd")


def _tensorly():
    tl = pytest.importorskip("tensorly")
    from tensorly.decomposition import tucker as tensorly_tucker

    tl.set_backend("numpy")
    return tl, tensorly_tucker


def test_tensorly_s_arguments_and_returns():
    """TensorLy's positional order (rank, fixed_factors, n_iter_max, init, return_errors, svd, tol), its (core,
    factors) pair as init and its (tucker_tensor, errors) return, with the same fit as TensorLy's from that start."""
    tl, tensorly_tucker = _tensorly()
    g = torch.Generator().manual_seed(3)
    x = planted_tucker((8, 9, 10), (3, 4, 2), seed=3).to_tensor() + 0.05 * torch.randn(8, 9, 10, generator=g,
                                                                                         dtype=torch.float64)
    start = tucker(x, (3, 4, 2), n_iter_max=0)
    ours, errors = tucker(x, (3, 4, 2), None, 5, (start.core, start.factors), True, "truncated_svd", 0.0)
    assert errors == ours.errors and len(errors) == 5
    theirs = tensorly_tucker(x.numpy(), (3, 4, 2), n_iter_max=5, tol=0.0,
                             init=(start.core.numpy(), [f.numpy() for f in start.factors]))
    torch.testing.assert_close(ours.to_tensor(), torch.from_numpy(tl.tucker_to_tensor(theirs)), rtol=1e-8,
                               atol=1e-8)


def test_fixed_factors_stay_and_the_fit_is_at_least_tensorly_s():
    """A deliberate difference: HOOI updates each free factor against the tensor projected on every other factor,
    the fixed ones included (the model that is returned); TensorLy leaves the fixed modes out of those projections,
    which fits a different model than it returns."""
    tl, tensorly_tucker = _tensorly()
    x = planted_tucker((7, 8, 9), (3, 3, 3), seed=5).to_tensor()
    g = torch.Generator().manual_seed(1)
    noisy = x + 0.1 * torch.randn(x.shape, generator=g, dtype=torch.float64)
    start = tucker(noisy, 3, n_iter_max=0, init="random", random_state=2)
    ours = tucker(noisy, 3, fixed_factors=[1], init=start, n_iter_max=4, tol=0.0)
    assert torch.equal(ours.factors[1], start.factors[1])
    assert not torch.equal(ours.factors[0], start.factors[0])
    theirs = tensorly_tucker(noisy.numpy(), 3, fixed_factors=[1], n_iter_max=4, tol=0.0,
                             init=(start.core.numpy(), [f.numpy() for f in start.factors]))
    theirs_error = float(torch.linalg.vector_norm(noisy - torch.from_numpy(tl.tucker_to_tensor(theirs))) /
                         torch.linalg.vector_norm(noisy))
    assert ours.relative_error(noisy) <= theirs_error
    with pytest.raises(ValueError, match="fixed_factors: got \\[1\\] but no Tucker tensor"):
        tucker(noisy, 3, fixed_factors=[1])


def test_rank_none_keeps_the_largest_multilinear_rank():
    x = torch.randn(3, 4, 20, dtype=torch.float64)
    with pytest.warns(UserWarning, match=r"rank: None keeps the largest multilinear rank .* \[3, 4, 12\]"):
        full = tucker(x, None, n_iter_max=2)
    assert full.rank == (3, 4, 12) and full.relative_error(x) < 1e-12
    with pytest.raises(ValueError, match="svd: expected one of"):
        tucker(x, 2, svd="qr")
