import pytest
import torch

from geomlearn.tensor_networks import TensorTrain, TTTensor, tensor_train, tt_round

from .planted import planted_tt


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_exact_tt_ranks_are_recovered(dtype):
    x = planted_tt((5, 6, 4, 5), (2, 3, 2), seed=1, dtype=dtype).to_tensor()
    result = tensor_train(x, eps=1e-10)
    assert result.rank == (1, 2, 3, 2, 1) and result.relative_error(x) < 1e-12


@pytest.mark.parametrize("eps", [0.3, 0.1, 0.03, 0.01])
def test_tt_svd_meets_its_error_bound_with_the_fewest_parameters_it_needs(eps):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(6, 7, 8, 5, generator=g, dtype=torch.float64)
    result = tensor_train(x, eps=eps)
    error = result.relative_error(x)
    assert error <= eps and abs(result.errors[0] - error) < 1e-10
    # One fewer at the first bond would break the bound of that step: the rank is the smallest allowed.
    s = torch.linalg.svdvals(x.reshape(6, -1))
    delta = eps * x.norm() / 3 ** 0.5
    assert (s[result.rank[1] - 1:] ** 2).sum() ** 0.5 > delta


def test_tt_round_recompresses_without_forming_the_tensor():
    tt = planted_tt((4, 5, 6, 4), (2, 3, 2), seed=3)
    total = _tt_sum(tt, tt)
    assert total.rank == (1, 4, 6, 4, 1)
    rounded = tt_round(total, eps=1e-10)
    assert rounded.rank == (1, 2, 3, 2, 1)
    torch.testing.assert_close(rounded.to_tensor(), 2 * tt.to_tensor())
    assert abs(rounded.norm() - float(torch.linalg.vector_norm(2 * tt.to_tensor()))) < 1e-8


def _tt_sum(a: TTTensor, b: TTTensor) -> TTTensor:
    """The train of a + b: block-diagonal cores (first and last concatenated)."""
    cores, last = [], len(a.cores) - 1
    for n, (x, y) in enumerate(zip(a.cores, b.cores)):
        if n == 0:
            cores.append(torch.cat([x, y], dim=2))
        elif n == last:
            cores.append(torch.cat([x, y], dim=0))
        else:
            core = x.new_zeros(x.shape[0] + y.shape[0], x.shape[1], x.shape[2] + y.shape[2])
            core[:x.shape[0], :, :x.shape[2]], core[x.shape[0]:, :, x.shape[2]:] = x, y
            cores.append(core)
    return TTTensor(cores)


def test_mask_completes_and_bad_input():
    x = planted_tt((6, 7, 6), (2, 2), seed=4).to_tensor()
    mask = torch.rand(x.shape, generator=torch.Generator().manual_seed(0)) < 0.7
    result = tensor_train(torch.where(mask, x, torch.zeros_like(x)), rank=(2, 2), mask=mask, n_iter_max=500,
                          tol=1e-15)
    assert result.relative_error(x) < 1e-6
    with pytest.raises(ValueError, match="rank: a masked tensor train is fitted at fixed ranks"):
        tensor_train(x, mask=mask)
    with pytest.raises(ValueError, match="tensor: this decomposition takes a dense tensor"):
        tensor_train(x.to_sparse(), rank=2)
    with pytest.raises(ValueError, match="eps: expected a relative error bound in"):
        tensor_train(x, eps=1.5)
    with pytest.raises(ValueError, match="cores: expected \\[R_\\(n-1\\), I_n, R_n\\] cores with matching bonds"):
        TTTensor([torch.randn(1, 3, 2), torch.randn(3, 3, 1)])


def test_tensorly_s_call_estimator_and_factors():
    """TensorLy's tensor_train(input_tensor, rank, svd, verbose, random_state) with its N + 1 ranks, the same
    cores' product as TensorLy's, its estimator, and .factors as the cores."""
    tl = pytest.importorskip("tensorly")
    from tensorly.decomposition import tensor_train as tensorly_tensor_train

    tl.set_backend("numpy")
    x = torch.rand(3, 4, 5, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ours = tensor_train(x, [1, 3, 4, 3, 1], "truncated_svd", False, None)
    theirs = tensorly_tensor_train(x.numpy(), [1, 3, 4, 3, 1])
    assert ours.rank == (1, 3, 4, 3, 1) and ours.factors is ours.cores
    torch.testing.assert_close(ours.to_tensor(), torch.from_numpy(tl.tt_to_tensor(theirs)))
    estimator = TensorTrain([1, 3, 4, 3, 1])
    torch.testing.assert_close(estimator.fit_transform(x).to_tensor(), ours.to_tensor())
    assert estimator.decomposition_ is not None and repr(estimator) == "TensorTrain decomposition of rank [1, 3, 4, 3, 1]."
    with pytest.raises(ValueError, match="svd: expected one of"):
        tensor_train(x, 2, "qr")
