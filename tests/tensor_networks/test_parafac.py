"""TensorLy's parafac contract, held against TensorLy itself (its numpy backend) from the same seeds."""

import numpy as np
import pytest
import torch

from geomlearn.tensor_networks import CP, CPTensor, parafac

from .planted import planted_cp

tl = pytest.importorskip("tensorly")
from tensorly.decomposition import parafac as tensorly_parafac  # noqa: E402


@pytest.fixture(autouse=True)
def numpy_backend():
    tl.set_backend("numpy")


def noisy_cp(shape=(6, 8, 7), rank=3, seed=0, complex_=False):
    x = planted_cp(shape, rank, seed=seed).to_tensor()
    g = torch.Generator().manual_seed(seed)
    x = x + 0.05 * torch.randn(shape, generator=g, dtype=torch.float64)
    if complex_:
        x = x + 1j * planted_cp(shape, rank, seed=seed + 1).to_tensor()
    return x


@pytest.mark.parametrize("init", ["svd", "random"])
@pytest.mark.parametrize("normalize_factors", [False, True])
@pytest.mark.parametrize("complex_", [False, True])
def test_same_fit_weights_and_errors_as_tensorly_from_the_same_seed(init, normalize_factors, complex_):
    x = noisy_cp(complex_=complex_)
    ours, our_errors = parafac(x, 4, n_iter_max=15, init=init, tol=0, random_state=3,
                               normalize_factors=normalize_factors, return_errors=True)
    theirs, their_errors = tensorly_parafac(x.numpy(), 4, n_iter_max=15, init=init, tol=0, random_state=3,
                                            normalize_factors=normalize_factors, return_errors=True)
    if not complex_:          # TensorLy's complex update leaves out the conjugate: its iterates differ
        torch.testing.assert_close(ours.to_tensor(), torch.from_numpy(tl.cp_to_tensor(theirs)), rtol=1e-7,
                                   atol=1e-7)
        np.testing.assert_allclose(our_errors, [float(e) for e in their_errors], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(ours.weights.numpy(), theirs.weights, rtol=1e-6, atol=1e-9)
    if not normalize_factors:
        assert bool((ours.weights == 1).all())
    else:
        assert torch.allclose(torch.linalg.vector_norm(ours.factors[0], dim=0), torch.ones(4, dtype=torch.float64))


def test_the_random_start_is_tensorly_s_draw():
    x = noisy_cp()
    ours = parafac(x, 3, n_iter_max=0, init="random", random_state=np.random.RandomState(7))
    theirs = tensorly_parafac(x.numpy(), 3, n_iter_max=0, init="random", random_state=np.random.RandomState(7))
    for a, b in zip(ours.factors, theirs.factors):
        np.testing.assert_array_equal(a.numpy(), b)
        assert 0 <= float(a.min()) and float(a.max()) < 1          # uniform, as TensorLy draws


def test_fixed_modes_the_last_one_too_and_a_weighted_start():
    x = noisy_cp()
    start = planted_cp((6, 8, 7), 3, seed=9)
    start = CPTensor(torch.tensor([2.0, 0.5, 3.0], dtype=torch.float64), start.factors)
    mean = float(start.weights.prod() ** (1 / 3))                   # TensorLy moves the weights' geometric mean in
    fit = parafac(x, 3, n_iter_max=3, init=start, fixed_modes=[0, 2])
    torch.testing.assert_close(fit.factors[0], start.factors[0] * mean)
    torch.testing.assert_close(fit.factors[2], start.factors[2] * mean)
    assert not torch.allclose(fit.factors[1], start.factors[1] * mean)
    untouched = parafac(x, 3, init=(start.weights, start.factors), fixed_modes=[0, 1, 2])
    assert untouched.errors == [] and all(torch.equal(a, b * mean) for a, b in zip(untouched.factors, start.factors))


def test_callback_sees_the_start_then_every_sweep_and_criteria_stop():
    x = noisy_cp()
    seen = []
    fit = parafac(x, 3, n_iter_max=6, tol=0, callback=lambda cp, error: seen.append(error))
    assert len(seen) == 7 and seen[1:] == fit.errors and seen[0] > seen[1]
    stopped = parafac(x, 3, n_iter_max=100, tol=1e-3, cvg_criterion="rec_error")
    assert len(stopped.errors) < 100 and stopped.errors[-2] - stopped.errors[-1] < 1e-3
    with pytest.raises(ValueError, match="cvg_criterion: expected one of"):
        parafac(x, 3, cvg_criterion="relative")


def test_sparsity_returns_the_largest_entries_of_the_residual():
    """As TensorLy: the sparse component is the largest entries of the residual, left out of the error (it does
    not change the factors' updates)."""
    x = noisy_cp()
    x[1, 2, 3] += 10.0
    (fit, sparse), errors = parafac(x, 3, n_iter_max=30, sparsity=5, return_errors=True)
    residual = x - fit.to_tensor()
    largest = residual.abs().reshape(-1).topk(5).indices
    assert torch.equal(torch.sort(sparse.reshape(-1).nonzero().squeeze(1)).values, torch.sort(largest).values)
    torch.testing.assert_close(sparse.reshape(-1)[largest], residual.reshape(-1)[largest])
    assert abs(errors[-1] - float((residual - sparse).norm() / x.norm())) < 1e-12
    assert errors == parafac(x, 3, n_iter_max=30, sparsity=5 / x.numel(), return_errors=True)[1]


def test_a_mask_is_filled_from_the_fit_and_its_values_never_read():
    x = planted_cp((10, 11, 12), 2, seed=4).to_tensor()
    mask = torch.rand(x.shape, generator=torch.Generator().manual_seed(0)) < 0.6
    fit = parafac(x, 2, mask=mask, n_iter_max=300, tol=1e-12, linesearch=True)
    garbage = parafac(torch.where(mask, x, torch.full_like(x, 1e4)), 2, mask=mask, n_iter_max=300, tol=1e-12,
                      linesearch=True)
    torch.testing.assert_close(fit.to_tensor(), garbage.to_tensor())
    assert fit.relative_error(x) < 1e-4                             # the missing 40 % too


def test_the_estimator_passes_every_argument():
    x = noisy_cp()
    estimator = CP(3, n_iter_max=7, tol=0, init="random", random_state=2, normalize_factors=True)
    assert repr(estimator) == "Rank-3 CP decomposition."
    out = estimator.fit_transform(x)
    direct, errors = parafac(x, 3, n_iter_max=7, tol=0, init="random", random_state=2, normalize_factors=True,
                             return_errors=True)
    torch.testing.assert_close(out.to_tensor(), direct.to_tensor())
    assert estimator.decomposition_ is out and estimator.errors_ == errors and estimator.fit(x) is estimator
