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
    assert_equivariant(centroid_offsets, (points,), [CARTESIAN_POINTS], "1o", do_translation=True)
    assert_equivariant(lambda p: p.norm(dim=1, keepdim=True), (points,), [CARTESIAN_POINTS], "0e", do_translation=False)
    with pytest.raises(AssertionError, match="equivariance error"):
        assert_equivariant(lambda p: p[:, :1], (points,), [CARTESIAN_POINTS], "0e")
    # A cross product is a pseudovector: right as 1e, wrong as 1o under reflections only.
    a, b = torch.randn(10, 3, dtype=torch.float64), torch.randn(10, 3, dtype=torch.float64)
    cross = lambda u, v: torch.linalg.cross(u, v)                           # noqa: E731
    assert_equivariant(cross, (a, b), ["1o", "1o"], "1e")
    assert_equivariant(cross, (a, b), ["1o", "1o"], "1o", do_parity=False)
    with pytest.raises(AssertionError):
        assert_equivariant(cross, (a, b), ["1o", "1o"], "1o")


def test_e3nn_s_call_random_inputs_and_error_keys():
    """e3nn's signature: irreps from the function's attributes, random inputs without args_in, errors keyed by
    (parity_k, did_translate), as e3nn.util.test.assert_equivariant returns them."""
    from e3nn import o3
    from e3nn.util.test import assert_equivariant as e3nn_assert_equivariant

    product = o3.FullyConnectedTensorProduct("2x0e + 1o", "1o + 2e", "0e + 1o + 1e + 2e").double()
    args = [product.irreps_in1.randn(5, -1, dtype=torch.float64), product.irreps_in2.randn(5, -1, dtype=torch.float64)]
    theirs = e3nn_assert_equivariant(product, args, tolerance=1e-5)         # e3nn rotates in float32
    # Random float64 inputs of the module's irreps_in1 / irreps_in2; e3nn's constants are float32 (errors ~1e-9).
    ours = assert_equivariant(product, tolerance=1e-7)
    assert set(ours) == set(theirs) == {(0, False), (1, False)}

    def centred(p):
        return p - p.mean(0)

    errors = assert_equivariant(centred, irreps_in=[CARTESIAN_POINTS], irreps_out="1o", ntrials=3)
    assert set(errors) == {(0, False), (0, True), (1, False), (1, True)}
    with pytest.raises(ValueError, match="args_in: needed when an input is left alone"):
        assert_equivariant(centred, irreps_in=[None], irreps_out=None)
