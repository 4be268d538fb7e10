import pytest
import torch

from geomlearn.equivariant.testing import CARTESIAN_POINTS, assert_equivariant, random_orthogonal


def test_random_orthogonal_matrices():
    matrices = random_orthogonal(6)
    torch.testing.assert_close(matrices @ matrices.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(6, 3, 3))
    torch.testing.assert_close(torch.linalg.det(matrices), torch.tensor([1.0, -1.0] * 3, dtype=torch.float64))


def test_accepts_equivariant_functions_and_catches_the_others():
    points = torch.randn(10, 3, dtype=torch.float64)
    centroid_offsets = lambda p: p - p.mean(0)                              # noqa: E731
    assert_equivariant(centroid_offsets, (points,), [CARTESIAN_POINTS], "1o", translate=True)
    assert_equivariant(lambda p: p.norm(dim=1, keepdim=True), (points,), [CARTESIAN_POINTS], "0e", translate=False)
    with pytest.raises(AssertionError, match="equivariance error"):
        assert_equivariant(lambda p: p[:, :1], (points,), [CARTESIAN_POINTS], "0e")
    # A cross product is a pseudovector: right as 1e, wrong as 1o under reflections only.
    a, b = torch.randn(10, 3, dtype=torch.float64), torch.randn(10, 3, dtype=torch.float64)
    cross = lambda u, v: torch.linalg.cross(u, v)                           # noqa: E731
    assert_equivariant(cross, (a, b), ["1o", "1o"], "1e")
    assert_equivariant(cross, (a, b), ["1o", "1o"], "1o", reflections=False)
    with pytest.raises(AssertionError):
        assert_equivariant(cross, (a, b), ["1o", "1o"], "1o")
