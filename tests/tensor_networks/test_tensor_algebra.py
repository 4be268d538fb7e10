import torch

from geomlearn.tensor_networks import fold, khatri_rao, mode_dot, unfold


def test_unfold_fold_round_trip_and_tensorly_layout():
    x = torch.arange(24.0).reshape(2, 3, 4)
    for mode in range(3):
        assert torch.equal(fold(unfold(x, mode), mode, x.shape), x)
    # mode 1: rows are i_1; columns run over (i_0, i_2) with i_2 fastest
    assert unfold(x, 1)[2].tolist() == [x[0, 2, k].item() for k in range(4)] + [x[1, 2, k].item() for k in range(4)]


def test_mode_dot_and_khatri_rao_by_definition():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
    m = torch.randn(5, 3, generator=g, dtype=torch.float64)
    torch.testing.assert_close(mode_dot(x, m, 1), torch.einsum("ijk,aj->iak", x, m))
    a, b = torch.randn(3, 2, generator=g), torch.randn(4, 2, generator=g)
    kr = khatri_rao([a, b])
    for r in range(2):
        torch.testing.assert_close(kr[:, r], torch.kron(a[:, r], b[:, r]))
