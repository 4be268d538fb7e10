import pytest
import torch

from geomlearn.tensor_networks import CPTensor, cp

from .planted import planted_cp


@pytest.mark.parametrize("shape", [(10, 12, 14), (6, 7, 8, 9), (5, 6, 4, 5, 3)])
def test_exact_rank_is_recovered_and_the_error_decreases(shape):
    x = planted_cp(shape, 3, seed=1).to_tensor()
    result = cp(x, 3, n_iter_max=500, tol=1e-14, init="random", random_state=0)
    assert result.relative_error(x) < 1e-6
    # Monotone up to the accuracy of the error itself (from ||X||^2 - 2<X, Xhat> + ||Xhat||^2: ~1e-8).
    assert all(later <= earlier + 1e-7 for earlier, later in zip(result.errors, result.errors[1:]))
    assert result.errors[0] > result.errors[-1]
    # The reported error is the reconstruction's.
    assert abs(result.errors[-1] - result.relative_error(x)) < 1e-6


def test_line_search_and_svd_init_recover_too():
    x = planted_cp((9, 10, 11), 4, seed=2).to_tensor()
    for options in (dict(linesearch=True, init="random", random_state=3), dict(init="svd")):
        assert cp(x, 4, n_iter_max=500, tol=1e-14, **options).relative_error(x) < 1e-6


def test_complex_tensor():
    x = planted_cp((8, 9, 10), 2, seed=3, dtype=torch.complex128).to_tensor()
    result = cp(x, 2, n_iter_max=500, tol=1e-14, init="random", random_state=0)
    assert result.weights.dtype == torch.complex128 and result.relative_error(x) < 1e-6


def test_noisy_fit_matches_tensorly_from_the_same_start():
    tl = pytest.importorskip("tensorly")
    from tensorly.decomposition import parafac

    g = torch.Generator().manual_seed(4)
    x = planted_cp((12, 13, 14), 3, seed=4).to_tensor() + 0.1 * torch.randn(12, 13, 14, generator=g,
                                                                              dtype=torch.float64)
    start = planted_cp((12, 13, 14), 3, seed=5)
    ours = cp(x, 3, n_iter_max=15, tol=0, init=start)
    tl.set_backend("numpy")
    theirs = parafac(x.numpy(), 3, n_iter_max=15, tol=0, init=tl.cp_tensor.CPTensor(
        (start.weights.numpy(), [f.numpy() for f in start.factors])))
    torch.testing.assert_close(ours.to_tensor(), torch.from_numpy(tl.cp_to_tensor(theirs)), rtol=1e-8, atol=1e-8)


def test_mask_and_sparse_input_agree_and_complete_the_tensor():
    x = planted_cp((20, 25, 30), 3, seed=6).to_tensor()
    mask = torch.rand(x.shape, generator=torch.Generator().manual_seed(0)) < 0.2
    masked = cp(x, 3, n_iter_max=200, tol=1e-14, mask=mask, random_state=0)
    sparse = cp((x * mask).to_sparse(), 3, n_iter_max=200, tol=1e-14, random_state=0)
    torch.testing.assert_close(masked.to_tensor(), sparse.to_tensor())
    assert masked.relative_error(x) < 1e-8            # the unobserved 80 % too
    # Only the observed entries are read: garbage where the mask is False changes nothing.
    garbage = torch.where(mask, x, torch.full_like(x, 1e6))
    torch.testing.assert_close(cp(garbage, 3, n_iter_max=200, tol=1e-14, mask=mask, random_state=0).to_tensor(),
                               masked.to_tensor())


def test_result_unpacks_converts_and_reports():
    x = planted_cp((6, 7, 8), 2, seed=7).to_tensor()
    calls = []
    result = cp(x, 2, n_iter_max=5, tol=0, callback=lambda r, e: calls.append(e))
    weights, factors = result
    assert weights.shape == (2,) and [f.shape for f in factors] == [(6, 2), (7, 2), (8, 2)]
    torch.testing.assert_close(torch.linalg.vector_norm(factors[0], dim=0), torch.ones(2, dtype=torch.float64))
    torch.testing.assert_close(CPTensor(weights, factors).to_tensor(), result.to_tensor())
    assert calls == result.errors and len(calls) == 5
    assert result.num_parameters == 2 + 2 * (6 + 7 + 8)
    stopped = cp(x, 2, n_iter_max=50, tol=0, callback=lambda r, e: len(r.errors) == 3)
    assert len(stopped.errors) == 3


def test_bad_input():
    x = planted_cp((4, 5, 6), 2).to_tensor()
    with pytest.raises(ValueError, match="rank: expected at most 20"):
        cp(x, 21)
    with pytest.raises(ValueError, match=r"mask: expected a tensor of the tensor's shape \[4, 5, 6\], got \[4, 5\]"):
        cp(x, 2, mask=torch.ones(4, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="tensor: expected finite entries, got 1 NaN"):
        cp(torch.where(torch.arange(120).view(4, 5, 6) == 7, float("nan"), x), 2)
    with pytest.raises(ValueError, match=r"tensor: expected a tensor of order >= 2, got shape \[6\]"):
        cp(torch.randn(6), 1)
    with pytest.raises(ValueError, match="init: expected 'svd', 'random' or a CPTensor"):
        cp(x, 2, init="nvecs")
    with pytest.raises(ValueError, match="n_iter_max: expected an int >= 1"):
        cp(x, 2, n_iter_max=0)


def _border_rank_tensor():
    """a∘a∘b + a∘b∘a + b∘a∘a (rank 3, border rank 2): its best rank-2 fit does not exist, ALS degenerates."""
    a, b = torch.eye(2, dtype=torch.float64)
    outer = lambda x, y, z: torch.einsum("i,j,k->ijk", x, y, z)    # noqa: E731
    return outer(a, a, b) + outer(a, b, a) + outer(b, a, a)


def test_degenerate_fit_is_diagnosed_and_the_bounded_fit_stays_within_its_bound():
    x = _border_rank_tensor()
    free = cp(x, 2, n_iter_max=500, tol=0, init="random", random_state=0)
    diagnosis = free.degeneracy()
    # Two huge, nearly opposite terms: far more energy in the terms than in the fit.
    assert diagnosis["norm_ratio"] > 5 and diagnosis["min_congruence"] < -0.85
    bounded = cp(x, 2, n_iter_max=500, tol=0, init="random", random_state=0, max_sensitivity=3.0)
    assert bounded.sensitivity() <= 9.0 * (1 + 1e-9) and bounded.degeneracy()["norm_ratio"] < 3.5
    assert all(later <= earlier + 1e-12 for earlier, later in zip(bounded.errors, bounded.errors[1:]))
    # A bound the unconstrained fit already meets changes nothing.
    x = planted_cp((6, 7, 8), 2, seed=8).to_tensor()
    loose = cp(x, 2, n_iter_max=30, tol=0, max_sensitivity=1e6)
    torch.testing.assert_close(loose.to_tensor(), cp(x, 2, n_iter_max=30, tol=0).to_tensor())
    with pytest.raises(ValueError, match="max_sensitivity: the bounded fit takes a dense tensor without mask"):
        cp(x, 2, max_sensitivity=1.0, linesearch=True)


def test_weighted_per_mode_ridge_is_one_als_sweep_of_the_row_problems():
    """One sweep on a masked matrix against the row-by-row normal equations
    (H^T H + lambda_n * n_i I) a_i = H^T x_i, with lambda = (0.3, 0.7) per mode and n_i the row's observations."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 5, generator=g, dtype=torch.float64)
    mask = torch.rand(6, 5, generator=g) < 0.6
    mask[:, 0] = mask[0, :] = True
    a, b = (torch.randn(n, 2, generator=g, dtype=torch.float64) for n in (6, 5))
    fit = cp(x, 2, n_iter_max=1, tol=0, mask=mask, init=CPTensor(torch.ones(2, dtype=torch.float64), [a, b]),
             l2_reg=(0.3, 0.7), weighted_l2=True)

    def rows(other, target, observed, ridge):
        out = []
        for values, seen in zip(target, observed):
            h = other[seen]
            out.append(torch.linalg.solve(h.T @ h + ridge * int(seen.sum()) * torch.eye(2, dtype=h.dtype),
                                          h.T @ values[seen]))
        return torch.stack(out)

    a = rows(b, x, mask, 0.3)
    b = rows(a, x.T, mask.T, 0.7)
    torch.testing.assert_close(fit.to_tensor(), a @ b.T)


def test_ridge_arguments_are_checked():
    x = torch.randn(4, 4, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="one per mode"):
        cp(x, 2, l2_reg=(0.1, 0.1))
    with pytest.raises(ValueError, match="weighted_l2"):
        cp(x, 2, weighted_l2=True)


@pytest.mark.parametrize("decomposition", ["cp", "tucker"])
def test_sparse_coordinates_are_checked_before_anything_sums_duplicates(decomposition):
    from geomlearn.tensor_networks import tucker

    fit = {"cp": lambda t: cp(t, 2, n_iter_max=3), "tucker": lambda t: tucker(t, (2, 2, 2), n_iter_max=3)}[decomposition]
    # (0, 5, 0) lies past mode 1's end (size 4); flattened, it would alias (1, 1, 0) and be summed into it.
    indices = torch.tensor([[0, 1, 2, 0], [0, 1, 3, 5], [0, 0, 1, 0]])
    values = torch.tensor([1.0, 2.0, 3.0, 4.0])
    bad = torch.sparse_coo_tensor(indices, values, (3, 4, 2))
    with pytest.raises(ValueError, match=r"tensor: the sparse coordinates of mode 1 must lie in 0..3, got 0..5"):
        fit(bad)
    negative = torch.sparse_coo_tensor(torch.tensor([[0, -1], [0, 1], [0, 0]]), values[:2], (3, 4, 2))
    with pytest.raises(ValueError, match=r"tensor: the sparse coordinates of mode 0 must lie in 0..2, got -1..0"):
        fit(negative)
