import pytest
import torch

from geomlearn.sheaf import num_map_parameters, restriction_maps


@pytest.mark.parametrize("kind", ["householder", "cayley"])
@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_orthogonal_maps_are_orthogonal(kind, d):
    params = 3 * torch.randn(40, num_map_parameters(kind, d), dtype=torch.float64)
    maps = restriction_maps(params, kind, d)
    eye = torch.eye(d, dtype=torch.float64).expand(40, d, d)
    torch.testing.assert_close(maps.transpose(-1, -2) @ maps, eye, atol=1e-6, rtol=0)
    if kind == "cayley":                                      # rotations: determinant +1
        torch.testing.assert_close(torch.linalg.det(maps), torch.ones(40, dtype=torch.float64))


def test_householder_product_of_reflections_by_hand():
    # d = 2: one reflection with v = (1, p): H = I - 2 v v^T / (1 + p^2).
    p = torch.tensor([[0.5]], dtype=torch.float64)
    v = torch.tensor([1.0, 0.5], dtype=torch.float64)
    expected = torch.eye(2, dtype=torch.float64) - 2 * torch.outer(v, v) / v.dot(v)
    torch.testing.assert_close(restriction_maps(p, "householder", 2)[0], expected)


def test_diagonal_and_general():
    params = torch.randn(4, 3)
    assert restriction_maps(params, "diagonal", 3) is params          # stored as the diagonals [E, d]
    general = torch.randn(4, 9)
    torch.testing.assert_close(restriction_maps(general, "general", 3), general.view(4, 3, 3))


@pytest.mark.parametrize("kind", ["householder", "cayley", "diagonal", "general"])
def test_gradcheck(kind):
    params = torch.randn(3, num_map_parameters(kind, 3), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p: restriction_maps(p, kind, 3), (params,))


def test_bad_input():
    with pytest.raises(ValueError, match="kind: expected one of"):
        restriction_maps(torch.randn(2, 3), "rotation", 3)
    with pytest.raises(ValueError, match="d: expected a stalk dimension >= 1"):
        num_map_parameters("cayley", 0)
    with pytest.raises(ValueError, match=r"params: householder maps of stalk dimension 3 need \[E, 3\] parameters"):
        restriction_maps(torch.randn(2, 4), "householder", 3)
