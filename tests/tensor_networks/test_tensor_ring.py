import pytest
import torch

from geomlearn.tensor_networks import TensorRing, TensorRingALS, TRTensor, tensor_ring, tensor_ring_als


def planted_ring(shape, ranks, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return TRTensor([torch.randn(ranks[n], s, ranks[(n + 1) % len(shape)], generator=g, dtype=torch.float64).to(dtype)
                     for n, s in enumerate(shape)])


def test_to_tensor_is_the_trace_of_the_core_product():
    ring = planted_ring((3, 4, 5), (2, 3, 2))
    index = (2, 1, 4)
    product = torch.eye(2, dtype=torch.float64)
    for core, i in zip(ring.cores, index):
        product = product @ core[:, i, :]
    assert abs(float(product.trace()) - float(ring.to_tensor()[index])) < 1e-12


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_planted_ring_is_recovered_and_the_error_decreases(dtype):
    ring = planted_ring((6, 7, 5, 6), (2, 3, 2, 2), dtype=dtype)
    x = ring.to_tensor()
    # ALS is non-convex: from this start it reaches the planted ring (other starts can stall in a local minimum).
    result = tensor_ring_als(x, (2, 3, 2, 2), n_iter_max=1000, tol=1e-15, random_state=0)
    assert result.relative_error(x) < 1e-8
    noisy = x + 0.1 * x.abs().mean() * torch.randn(x.shape, generator=torch.Generator().manual_seed(1)).to(dtype)
    fit = tensor_ring_als(noisy, 2, n_iter_max=30, tol=0, random_state=1)
    assert all(later <= earlier + 1e-9 for earlier, later in zip(fit.errors, fit.errors[1:]))
    assert abs(fit.errors[-1] - fit.relative_error(noisy)) < 1e-6


def test_mask_and_bad_input():
    ring = planted_ring((6, 7, 5, 6), (2, 3, 2, 2))
    x = ring.to_tensor()
    mask = torch.rand(x.shape, generator=torch.Generator().manual_seed(0)) < 0.8
    result = tensor_ring_als(torch.where(mask, x, torch.zeros_like(x)), (2, 3, 2, 2), mask=mask, n_iter_max=1000,
                             tol=1e-15, random_state=0)
    assert result.relative_error(x) < 1e-8            # the unobserved 20 % too
    with pytest.raises(ValueError, match="rank: core 0's bonds 9 x 9 exceed the 20 entries"):
        tensor_ring(torch.randn(3, 4, 5), 9)
    with pytest.raises(ValueError, match="cores: expected \\[R_n, I_n, R_\\(n\\+1\\)\\] cores whose bonds close"):
        TRTensor([torch.randn(2, 3, 3), torch.randn(3, 3, 1)])


@pytest.mark.parametrize("shape", [(4, 4, 4), (6, 6, 6)])
def test_at_the_rank_bound_the_reported_error_is_the_true_error(shape):
    """Bonds at the bound (R_n R_(n+1) = the other modes' entries) make each core's design matrix nearly
    rank-deficient: solved through its normal equations in float32, the fit drifted to a 6e-3 error while the
    error computed from the expansion |X|^2 - 2<X, X^> + |X^|^2 was clamped to 0. Every reported error is the
    residual measured against the tensor."""
    rank = shape[0]
    g = torch.Generator().manual_seed(0)
    cores = [torch.randn(rank, size, rank, generator=g, dtype=torch.float64) for size in shape]
    planted = TRTensor(cores).to_tensor()
    noisy = planted + 1e-4 * planted.norm() / planted.numel() ** 0.5 * torch.randn(shape, generator=g,
                                                                                   dtype=torch.float64)
    errors = []
    result = tensor_ring_als(noisy.float(), rank, n_iter_max=200, tol=0, random_state=1,
                         callback=lambda tr, error: errors.append(
                             (error, float((tr.to_tensor() - noisy.float()).norm() / noisy.float().norm()))))
    for reported, measured in errors:
        assert abs(reported - measured) <= 1e-6 + 0.05 * measured
    true = float((result.to_tensor() - noisy.float()).norm() / noisy.float().norm())
    assert true < 1e-4 and abs(result.errors[-1] - true) <= 1e-6 + 0.05 * true


def _tensorly():
    tl = pytest.importorskip("tensorly")
    tl.set_backend("numpy")
    return tl


@pytest.mark.parametrize("mode", [0, 1, 2, 3])
def test_tr_svd_is_tensorly_s(mode):
    """Equal to TensorLy's for modes 0 and 1. From mode 2 on TensorLy rotates its N + 1 bonds as one list, so the
    repeated first bond lands mid-ring and the cores' bonds are not the ones asked for; geomlearn's are."""
    tl = _tensorly()
    from tensorly.decomposition import tensor_ring as tensorly_tensor_ring

    rank = (2, 3, 2, 4, 2)                                   # TensorLy's N + 1 bonds, the last closing on the first
    x = planted_ring((6, 8, 9, 10), rank[:-1]).to_tensor()
    ours = tensor_ring(x, rank, mode=mode)
    assert ours.rank == rank and abs(ours.errors[0] - ours.relative_error(x)) < 1e-12
    assert [tuple(c.shape) for c in ours.factors] == [(rank[n], size, rank[n + 1]) for n, size in enumerate(x.shape)]
    theirs = tensorly_tensor_ring(x.numpy(), rank, mode=mode)
    if mode < 2:
        torch.testing.assert_close(ours.to_tensor(), torch.from_numpy(tl.tr_to_tensor(theirs)))
    else:
        assert [tuple(c.shape) for c in ours.factors] != [c.shape for c in theirs.factors]
    with pytest.raises(ValueError, match="rank: the first core's bonds 9 x 9 \\(mode 0\\) needs 81 singular vectors"):
        tensor_ring(torch.randn(6, 5, 7, 6, dtype=torch.float64), 9)
    estimator = TensorRing(rank, mode=mode)
    torch.testing.assert_close(estimator.fit_transform(x).to_tensor(), ours.to_tensor())


def test_tr_svd_of_a_train_is_exact():
    """With a first bond of 1 the ring is a train and TR-SVD is TT-SVD: exact at the train's ranks."""
    x = planted_ring((6, 5, 7, 6), (1, 3, 2, 4)).to_tensor()
    assert tensor_ring(x, (1, 3, 2, 4, 1)).relative_error(x) < 1e-12


@pytest.mark.parametrize("ls_solve", ["lstsq", "normal_eq"])
def test_als_starts_from_tensorly_s_draw_and_follows_its_iterates(ls_solve):
    tl = _tensorly()
    from tensorly.decomposition import tensor_ring_als as tensorly_tensor_ring_als

    g = torch.Generator().manual_seed(3)
    x = planted_ring((5, 6, 4), (2, 3, 2)).to_tensor() + 0.01 * torch.randn(5, 6, 4, generator=g, dtype=torch.float64)
    seen = []
    ours = tensor_ring_als(x, [2, 3, 2, 2], ls_solve=ls_solve, n_iter_max=10, tol=0, random_state=5,
                           callback=lambda tr, error: seen.append(error))
    theirs = tensorly_tensor_ring_als(x.numpy(), [2, 3, 2, 2], ls_solve=ls_solve, n_iter_max=10, tol=0,
                                      random_state=5)
    torch.testing.assert_close(ours.to_tensor(), torch.from_numpy(tl.tr_to_tensor(theirs)), rtol=1e-6, atol=1e-8)
    assert len(seen) == 11 and seen[1:] == ours.errors
    estimator = TensorRingALS(3, n_iter_max=4, tol=0, random_state=1)
    assert estimator.fit_transform(x).rank == (3, 3, 3, 3) and repr(estimator).startswith("TensorRingALS")


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
@pytest.mark.parametrize("deficient", [False, True], ids=["full rank", "rank deficient"])
def test_each_core_solve_is_the_minimum_norm_least_squares_solution(dtype, deficient):
    """The ALS's solve against LAPACK's gelsd: G = X (D^+)^T, also where D's columns are dependent (the
    minimum-norm solution)."""
    from geomlearn.tensor_networks.tensor_ring import _least_squares

    g = torch.Generator().manual_seed(0)
    design = torch.randn(300, 6, generator=g, dtype=torch.float64).to(dtype)
    if deficient:
        design[:, 5] = 2 * design[:, 0] - design[:, 3]
    unfolded = torch.randn(7, 300, generator=g, dtype=torch.float64).to(dtype)
    expected = torch.linalg.lstsq(design, unfolded.t(), driver="gelsd").solution.t()
    torch.testing.assert_close(_least_squares(design, unfolded), expected, rtol=1e-10, atol=1e-12)


def test_the_old_als_call_still_runs_with_a_deprecation_warning():
    x = planted_ring((5, 6, 4), (2, 3, 2)).to_tensor()
    with pytest.warns(DeprecationWarning, match="use tensor_ring_als"):
        old = tensor_ring(x, 2, n_iter_max=5, tol=0, random_state=0)
    torch.testing.assert_close(old.to_tensor(), tensor_ring_als(x, 2, n_iter_max=5, tol=0, random_state=0).to_tensor())
    with pytest.raises(TypeError, match="unexpected keyword arguments \\['iterations'\\]"):
        tensor_ring(x, 2, iterations=3)
    with pytest.raises(ValueError, match="rank: the last of the 4 bonds closes on the first"):
        tensor_ring(x, [2, 3, 2, 3])
