import pytest
import torch

from geomlearn.feature_dropout import dense_dropout, feature_dropout


def bag_of_words(seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(300, 40, generator=g) < 0.1).float() * torch.rand(300, 40, generator=g)


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_sparse_dropout_keeps_the_layout_and_zeros_and_scales_the_kept_values(layout):
    x = bag_of_words()
    sparse = x.to_sparse_coo() if layout == "coo" else x.to_sparse_csr()
    torch.manual_seed(0)
    out = feature_dropout(sparse, 0.4)
    assert out.layout == sparse.layout
    dense = out.to_dense()
    kept = dense != 0
    assert not (kept & (x == 0)).any()                                   # zeros stay zero
    torch.testing.assert_close(dense[kept], x[kept] / 0.6)              # survivors scaled by 1 / (1 - p)
    share = kept.sum() / (x != 0).sum()
    assert abs(float(share) - 0.6) < 0.05                               # ~1200 draws: 5 sigma is ~0.07


def test_sparse_dropout_has_the_mean_of_the_input_and_is_the_identity_in_eval():
    x = bag_of_words(1)
    sparse = x.to_sparse_csr()
    torch.manual_seed(1)
    mean = sum(feature_dropout(sparse, 0.5).to_dense() for _ in range(400)) / 400
    assert (mean - x).abs().max() < 0.25 and (mean - x).abs().mean() < 0.01
    assert feature_dropout(sparse, 0.5, training=False) is sparse
    torch.testing.assert_close(feature_dropout(x, 0.5, training=False), x)


def test_other_sparse_layouts_are_refused():
    with pytest.raises(ValueError, match="x: expected dense, sparse COO or sparse CSR features, got layout"):
        feature_dropout(bag_of_words().to_sparse_csc(), 0.5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dense_dropout_keeps_each_entry_with_probability_1_minus_p_and_scales_it(dtype):
    torch.manual_seed(2)
    x = torch.rand(400, 250, dtype=dtype) + 0.5                           # no zeros: kept <=> out != 0
    out = dense_dropout(x, 0.6)
    kept = out != 0
    torch.testing.assert_close(out[kept], x[kept] / 0.4)
    share = float(kept.double().mean())
    assert abs(share - 0.4) < 0.005                                       # 100k draws: sigma is 0.0015
    assert out.dtype == dtype


def test_dense_dropout_gradient_is_the_mask_over_1_minus_p():
    torch.manual_seed(3)
    x = (torch.rand(50, 30) + 0.5).requires_grad_()
    out = dense_dropout(x, 0.3)
    out.sum().backward()
    torch.testing.assert_close(x.grad, (out != 0).float() / 0.7)


def test_dense_dropout_matches_torch_at_the_ends_and_refuses_bad_probabilities():
    x = torch.rand(20, 5) + 0.5
    torch.testing.assert_close(dense_dropout(x, 0.0), x)
    torch.testing.assert_close(dense_dropout(x, 1.0), torch.zeros_like(x))
    torch.testing.assert_close(dense_dropout(x, 0.5, training=False), x)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="p: expected a dropout probability between 0 and 1"):
            dense_dropout(x, p)
