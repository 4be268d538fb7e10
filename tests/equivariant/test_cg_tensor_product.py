import pytest
import torch
from e3nn import o3

from geomlearn.equivariant import CGTensorProduct
from geomlearn.equivariant.testing import assert_equivariant

IN1, IN2 = "3x0e + 2x1o + 2x2e + 1x1e", "0e + 1o + 2e"
OUT = "4x0e + 2x1o + 3x1e + 2x2e + 2x2o + 1x3o"


@pytest.fixture
def float64():
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)          # e3nn builds its 3j constants in the default dtype
    yield
    torch.set_default_dtype(default)


def assert_same_products(ours, theirs, shared: bool, batch: int) -> None:
    """The two products agree on random inputs: with ours's internal weights copied into e3nn's when ``shared``,
    else with the same per-sample weights."""
    x1, x2 = torch.randn(batch, ours.irreps_in1.dim), torch.randn(batch, ours.irreps_in2.dim)
    if shared:
        theirs.weight.data.copy_(ours.weight.data)
        torch.testing.assert_close(ours(x1, x2), theirs(x1, x2), atol=1e-13, rtol=0)
    else:
        weight = torch.randn(batch, ours.weight_numel)
        torch.testing.assert_close(ours(x1, x2, weight), theirs(x1, x2, weight), atol=1e-13, rtol=0)


def test_fully_connected_equals_e3nn(float64):
    torch.manual_seed(0)
    ours, theirs = CGTensorProduct(IN1, IN2, OUT), o3.FullyConnectedTensorProduct(IN1, IN2, OUT)
    assert ours.weight_numel == theirs.weight_numel
    theirs.weight.data.copy_(ours.weight.data)
    x1, x2 = torch.randn(10, ours.irreps_in1.dim), torch.randn(10, ours.irreps_in2.dim)
    torch.testing.assert_close(ours(x1, x2), theirs(x1, x2), atol=1e-13, rtol=0)


@pytest.mark.parametrize("irreps", [("0x0e + 2x1o", "1x0e + 1x1o", "2x1o + 1x0e"), ("0x0e", "1x0e", "1x0e"),
                                    ("2x1o", "1x1o", "0x0e + 1x0e"), ("2x1o", "0x1o", "0x0e")])
@pytest.mark.parametrize("shared", [True, False])
def test_irreps_of_multiplicity_zero_are_empty_as_in_e3nn(float64, irreps, shared):
    ours, theirs = CGTensorProduct(*irreps, shared_weights=shared), \
        o3.FullyConnectedTensorProduct(*irreps, shared_weights=shared)
    assert ours.weight_numel == theirs.weight_numel
    assert_same_products(ours, theirs, shared, batch=5)


@pytest.mark.parametrize("shared", [True, False])
def test_uvu_equals_e3nn_with_the_same_instructions(float64, shared):
    torch.manual_seed(1)
    irreps_in1, irreps_out = "3x0e + 2x1o", "3x0e + 3x1o + 2x1e + 2x0e + 2x2e"
    ours = CGTensorProduct(irreps_in1, IN2, irreps_out, mode="uvu", shared_weights=shared)
    instructions = [(p.i_in1, p.i_in2, p.i_out, "uvu", True) for p in ours.instructions]
    theirs = o3.TensorProduct(irreps_in1, IN2, irreps_out, instructions, shared_weights=shared,
                              internal_weights=shared)
    assert_same_products(ours, theirs, shared, batch=10)


def test_shared_and_per_sample_weights_agree_and_gradients_match():
    torch.manual_seed(2)
    shared = CGTensorProduct(IN1, IN2, OUT).double()
    per_sample = CGTensorProduct(IN1, IN2, OUT, shared_weights=False).double()
    x1 = torch.randn(7, shared.irreps_in1.dim, dtype=torch.float64, requires_grad=True)
    x2 = torch.randn(7, shared.irreps_in2.dim, dtype=torch.float64)
    torch.testing.assert_close(per_sample(x1, x2, shared.weight.expand(7, -1)), shared(x1, x2))
    small = CGTensorProduct("0e + 1o", "1o + 2e", "1o + 1e + 2e", shared_weights=False).double()
    a = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, 8, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, small.weight_numel, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(small, (a, b, w))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_equivariant_including_the_odd_couplings(dtype):
    torch.manual_seed(3)
    tp = CGTensorProduct("2x1o + 0e", "1o", "1e + 0e + 2e + 1o").to(dtype)
    args = (torch.randn(20, tp.irreps_in1.dim, dtype=dtype), torch.randn(20, 3, dtype=dtype))
    assert_equivariant(tp, args, [tp.irreps_in1, tp.irreps_in2], tp.irreps_out)
    # The 1o x 1o -> 1e path is the cross product (up to scale), which Gaunt products cannot express.
    cross = CGTensorProduct("1o", "1o", "1e")
    a, b = torch.randn(5, 3), torch.randn(5, 3)
    out = cross(a, b)
    ratio = out / torch.linalg.cross(a, b)
    torch.testing.assert_close(ratio, ratio[:1, :1].expand_as(ratio))


def test_broadcasting_batch_dimensions():
    tp = CGTensorProduct("2x0e + 1o", "0e + 1o", "0e + 1o")
    x1, x2 = torch.randn(4, 1, 5), torch.randn(3, 4)
    assert tp(x1, x2).shape == (4, 3, tp.irreps_out.dim)
    torch.testing.assert_close(tp(x1, x2)[2, 1], tp(x1[2, 0], x2[1]))


def test_bad_input():
    with pytest.raises(ValueError, match="irreps_in1: expected e3nn irreps"):
        CGTensorProduct("3xq", "0e", "0e")
    with pytest.raises(ValueError, match=r"irreps_out: 1x1e \(output 1\) is not reached"):
        CGTensorProduct("0e", "0e", "0e + 1e")
    tp = CGTensorProduct("0e + 1o", "1o", "1o + 0e")
    with pytest.raises(ValueError, match=r"x1: expected floating-point features \[..., 4\]"):
        tp(torch.randn(5, 3), torch.randn(5, 3))
    with pytest.raises(ValueError, match=r"weight: expected the shared weights \[2\], got \[5, 2\]"):
        tp(torch.randn(5, 4), torch.randn(5, 3), torch.randn(5, tp.weight_numel))
    external = CGTensorProduct("0e + 1o", "1o", "1o + 0e", shared_weights=False)
    with pytest.raises(ValueError, match=r"weight: expected per-sample weights \[..., 2\] .* \[5\], got \[5, 3\]"):
        external(torch.randn(5, 4), torch.randn(5, 3), torch.randn(5, 3))
    with pytest.raises(ValueError, match=r"broadcast with the inputs' \[5\], got \[4, 2\]"):
        external(torch.randn(5, 4), torch.randn(5, 3), torch.randn(4, 2))
    with pytest.raises(RuntimeError, match="weight: this product has no internal weights"):
        external(torch.randn(5, 4), torch.randn(5, 3))
    with pytest.raises(ValueError, match="mode: expected one of"):
        CGTensorProduct("0e", "0e", "0e", mode="uuu")
