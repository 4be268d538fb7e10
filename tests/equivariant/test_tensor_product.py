"""geomlearn.equivariant.TensorProduct keeps e3nn's contract: values, right, weights, normalisation, state_dict,
repr and errors, each checked against e3nn's own TensorProduct."""

import copy
import io

import pytest
import torch
from e3nn import o3

from geomlearn.equivariant import FullyConnectedTensorProduct, TensorProduct
from geomlearn.equivariant import cg_tensor_product

MODES = ["uvw", "uvu", "uvv", "uuw", "uuu", "uvuv", "uvu<v", "u<vw"]
TRIANGULAR = ("uvu<v", "u<vw")        # e3nn has no right() for these: it is checked against forward instead


def mode_case(mode: str, weighted: bool):
    """Irreps of two copies-groups and instructions in ``mode`` (with a fixed path weight and a uvw path into the
    same output), valid for the mode's multiplicity rules."""
    mul = 4
    mul_out = {"uvuv": mul * mul, "uvu<v": mul * (mul - 1) // 2}.get(mode, mul)
    if mode == "uuw" and not weighted:
        mul_out = 1
    irreps_in1 = o3.Irreps(f"{mul}x0e + {mul}x1o")
    irreps_in2 = o3.Irreps(f"{mul}x1o + {mul}x2e")
    irreps_out = o3.Irreps(f"{mul_out}x1o + {mul_out}x1e + {mul_out}x2o")
    instructions = [(0, 0, 0, mode, weighted), (1, 0, 1, mode, weighted, 0.7), (1, 1, 2, mode, weighted),
                    (1, 1, 0, "uvw", True, 0.3)]
    return irreps_in1, irreps_in2, irreps_out, instructions


def float64_e3nn(cls, *args, **kwargs):
    """An e3nn module built in float64 (its Wigner 3j constants are computed in the default dtype)."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return cls(*args, **kwargs)
    finally:
        torch.set_default_dtype(default)


def both(*args, **kwargs):
    """Ours and e3nn's from the same arguments, ours holding e3nn's weights."""
    compile_right = not any(ins[3] in TRIANGULAR for ins in args[3])
    theirs = float64_e3nn(o3.TensorProduct, *args, compile_right=compile_right, **kwargs)
    ours = TensorProduct(*args, **kwargs).double()
    if theirs.internal_weights:
        with torch.no_grad():
            ours.weight.copy_(theirs.weight)
    return ours, theirs


def check_right(ours, theirs, x1, x2, w=None):
    """``right(x2)`` equals e3nn's, or, where e3nn has none, applies to ``x1`` as ``forward`` does."""
    right = ours.right(x2, w)
    if any(ins.connection_mode in TRIANGULAR for ins in ours.instructions):
        torch.testing.assert_close(torch.einsum("zi,zij->zj", x1, right), ours(x1, x2, w))
    else:
        torch.testing.assert_close(right, theirs.right(x2, w))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("weighted", [True, False])
def test_every_mode_equals_e3nn_shared_weights(mode, weighted):
    if mode in ("uvw", "u<vw") and not weighted:
        with pytest.raises(ValueError, match=f"mode '{mode}' needs .*weights"):
            TensorProduct(*mode_case(mode, weighted))
        return
    *irreps, instructions = mode_case(mode, weighted)
    torch.manual_seed(0)
    ours, theirs = both(*irreps, instructions)
    x1, x2 = irreps[0].randn(7, -1).double(), irreps[1].randn(7, -1).double()
    torch.testing.assert_close(ours(x1, x2), theirs(x1, x2))
    check_right(ours, theirs, x1, x2)
    assert [tuple(i) for i in ours.instructions] == [tuple(i) for i in theirs.instructions]
    assert ours.weight_numel == theirs.weight_numel


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_equals_e3nn_per_sample_weights_and_gradients(mode):
    *irreps, instructions = mode_case(mode, True)
    ours, theirs = both(*irreps, instructions, shared_weights=False)
    g = torch.Generator().manual_seed(1)
    x1 = torch.randn(5, irreps[0].dim, dtype=torch.float64, generator=g, requires_grad=True)
    x2 = torch.randn(5, irreps[1].dim, dtype=torch.float64, generator=g, requires_grad=True)
    w = torch.randn(5, ours.weight_numel, dtype=torch.float64, generator=g, requires_grad=True)
    out = ours(x1, x2, w)
    torch.testing.assert_close(out, theirs(x1, x2, w))
    check_right(ours, theirs, x1, x2, w)
    probe = torch.randn_like(out)
    mine = torch.autograd.grad((out * probe).sum(), (x1, x2, w))
    reference = torch.autograd.grad((theirs(x1, x2, w) * probe).sum(), (x1, x2, w))
    for a, b in zip(mine, reference):
        torch.testing.assert_close(a, b)


def test_per_sample_weights_with_an_unweighted_instruction_equal_e3nn():
    instructions = [(0, 0, 0, "uvu", True), (1, 1, 0, "uvu", True), (0, 1, 1, "uvu", True), (1, 0, 1, "uvu", True),
                    (1, 1, 2, "uvu", False, 0.5)]
    ours, theirs = both("3x0e + 3x1o", "0e + 1o", "3x0e + 3x1o + 3x1e", instructions, shared_weights=False)
    x1, x2 = ours.irreps_in1.randn(4, -1).double(), ours.irreps_in2.randn(4, -1).double()
    w = torch.randn(4, ours.weight_numel, dtype=torch.float64)
    torch.testing.assert_close(ours(x1, x2, w), theirs(x1, x2, w))
    check_right(ours, theirs, x1, x2, w)


def test_large_shared_product_runs_per_instruction_with_the_same_values(monkeypatch):
    *irreps, instructions = mode_case("uvw", True)
    ours, theirs = both(*irreps, instructions)
    x1, x2 = irreps[0].randn(6, -1).double(), irreps[1].randn(6, -1).double()
    dense = ours(x1, x2)
    monkeypatch.setattr(cg_tensor_product, "DENSE_COUPLING_LIMIT", 0)
    torch.testing.assert_close(ours(x1, x2), dense)
    torch.testing.assert_close(ours(x1, x2), theirs(x1, x2))


@pytest.mark.parametrize("irrep_normalization", ["component", "norm", "none"])
@pytest.mark.parametrize("path_normalization", ["element", "path", "none"])
def test_normalisations_and_variances_equal_e3nn(irrep_normalization, path_normalization):
    *irreps, instructions = mode_case("uvu", True)
    variances = dict(in1_var=[0.5, 2.0], in2_var=[1.5, 0.25], out_var=[3.0, 1.0, 0.5])
    ours, theirs = both(*irreps, instructions, irrep_normalization=irrep_normalization,
                        path_normalization=path_normalization, **variances)
    assert [i.path_weight for i in ours.instructions] == pytest.approx([i.path_weight for i in theirs.instructions])
    x1, x2 = irreps[0].randn(3, -1).double(), irreps[1].randn(3, -1).double()
    torch.testing.assert_close(ours(x1, x2), theirs(x1, x2))


def test_fully_connected_equals_e3nn_and_unreached_outputs_are_zero():
    irreps = ("2x0e + 1x1o", "1x1o + 2x0e", "3x0e + 1x1e + 2x0o + 1x2o")
    theirs = float64_e3nn(o3.FullyConnectedTensorProduct, *irreps, irrep_normalization="norm")
    ours = FullyConnectedTensorProduct(*irreps, irrep_normalization="norm").double()
    with torch.no_grad():
        ours.weight.copy_(theirs.weight)
    x1, x2 = o3.Irreps(irreps[0]).randn(4, -1).double(), o3.Irreps(irreps[1]).randn(4, -1).double()
    out = ours(x1, x2)
    torch.testing.assert_close(out, theirs(x1, x2))
    torch.testing.assert_close(ours.output_mask, theirs.output_mask.double())
    unreached = o3.Irreps(irreps[2]).slices()[2]                   # 2x0o: no pair of inputs couples to it
    assert ours.output_mask[unreached].eq(0).all() and out[:, unreached].eq(0).all()
    assert repr(ours) == repr(theirs)


def test_e3nn_checkpoint_loads_strictly_and_back():
    *irreps, instructions = mode_case("uvuv", True)
    theirs = o3.TensorProduct(*irreps, instructions, compile_right=True)
    ours = TensorProduct(*irreps, instructions)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x1, x2 = irreps[0].randn(3, -1), irreps[1].randn(3, -1)
    torch.testing.assert_close(ours(x1, x2), theirs(x1, x2))
    assert set(ours.state_dict()) == {key for key in theirs.state_dict() if not key.startswith("_compiled_main")}
    with torch.no_grad():
        ours.weight.normal_()
    result = theirs.load_state_dict(ours.state_dict(), strict=False)
    assert not result.unexpected_keys and all(key.startswith("_compiled_main") for key in result.missing_keys)
    torch.testing.assert_close(ours(x1, x2), theirs(x1, x2))
    tampered = dict(theirs.state_dict())
    key = next(key for key in tampered if "_w3j_" in key)
    tampered[key] = tampered[key] * 2
    with pytest.raises(RuntimeError, match=r"_w3j_.*expected e3nn's Wigner 3j symbol"):
        ours.load_state_dict(tampered)
    external = dict(internal_weights=False)
    assert set(TensorProduct(*irreps, instructions, **external).state_dict()) == {"weight", "output_mask"}


def test_state_dict_round_trip_and_deepcopy():
    *irreps, instructions = mode_case("uvu<v", False)
    instructions = instructions[:3] + [(1, 1, 0, "uvw", True, 0.3)]
    tp = TensorProduct(*irreps, instructions)
    buffer = io.BytesIO()
    torch.save(tp.state_dict(), buffer)
    buffer.seek(0)
    restored = TensorProduct(*irreps, instructions)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    x1, x2 = irreps[0].randn(2, -1), irreps[1].randn(2, -1)
    torch.testing.assert_close(restored(x1, x2), tp(x1, x2))
    torch.testing.assert_close(copy.deepcopy(tp)(x1, x2), tp(x1, x2))


def test_weight_views_and_lists_match_e3nn():
    irreps = ("1e + 2e + 3x3o",) * 3
    theirs = o3.FullyConnectedTensorProduct(*irreps, shared_weights=False)
    ours = FullyConnectedTensorProduct(*irreps, shared_weights=False)
    w = torch.randn(3, ours.weight_numel)
    for (n, ins, view), (m, their_ins, their_view) in zip(ours.weight_views(w, yield_instruction=True),
                                                          theirs.weight_views(w, yield_instruction=True)):
        assert (n, ins.path_shape) == (m, their_ins.path_shape)
        assert view.data_ptr() == their_view.data_ptr() and view.shape == their_view.shape
    x1, x2 = o3.Irreps(irreps[0]).randn(3, -1), o3.Irreps(irreps[1]).randn(3, -1)
    blocks = list(ours.weight_views(w))
    torch.testing.assert_close(ours(x1, x2, blocks), theirs(x1, x2, w))
    # An unweighted instruction before a weighted one: the view starts after the weights before it only.
    tp = TensorProduct("2x0e", "2x0e", "2x0e", [(0, 0, 0, "uvu", False), (0, 0, 0, "uvw", True)])
    assert tp.weight_view_for_instruction(1).data_ptr() == tp.weight.data_ptr()
    with pytest.raises(ValueError, match=r"instruction: instructions\[0\] has no weights"):
        tp.weight_view_for_instruction(0)
    shared = FullyConnectedTensorProduct(*irreps)
    with torch.no_grad():
        for view in shared.weight_views():
            view.zero_()
    assert shared(x1, x2).eq(0).all()


def test_batch_dimensions_broadcast_as_in_e3nn():
    irreps = ("1e + 2e + 3x3o",) * 3
    theirs = float64_e3nn(o3.FullyConnectedTensorProduct, *irreps, shared_weights=False, internal_weights=False,
                          compile_right=True)
    ours = FullyConnectedTensorProduct(*irreps, shared_weights=False, internal_weights=False).double()
    x1 = o3.Irreps(irreps[0]).randn(2, 1, 4, -1).double()
    x2 = o3.Irreps(irreps[1]).randn(2, 3, 1, -1).double()
    w = torch.randn(3, 4, ours.weight_numel, dtype=torch.float64)
    out = ours(x1, x2, w)
    assert out.shape == (2, 3, 4, ours.irreps_out.dim)
    torch.testing.assert_close(out, theirs(x1, x2, w))
    torch.testing.assert_close(ours.right(x2, w), theirs.right(x2, w))


def test_errors_name_the_argument():
    with pytest.raises(cg_tensor_product.InstructionError, match=r"instructions\[0\]: 1o x 1o does not couple to 1o"):
        TensorProduct("1o", "1o", "1o", [(0, 0, 0, "uvw", True)])
    with pytest.raises(AssertionError):                            # e3nn raises AssertionError: code catching it works
        TensorProduct("1o", "1o", "1o", [(0, 0, 0, "uvw", True)])
    with pytest.raises(ValueError, match=r"instructions\[0\]: mode 'uvu' needs mul_out = mul1, got 2x0e x"):
        TensorProduct("2x0e", "3x0e", "3x0e", [(0, 0, 0, "uvu", True)])
    with pytest.raises(ValueError, match=r"instructions\[0\]: expected an index into irreps_out \(1 irreps\), got 1"):
        TensorProduct("0e", "0e", "0e", [(0, 0, 1, "uvw", True)])
    with pytest.raises(ValueError, match=r"instructions\[0\]: expected a mode in"):
        TensorProduct("0e", "0e", "0e", [(0, 0, 0, "vvv", True)])
    with pytest.raises(ValueError, match="irrep_normalization: expected one of"):
        TensorProduct("0e", "0e", "0e", [], irrep_normalization="unit")
    with pytest.raises(ValueError, match=r"in2_var: expected one variance per irrep of 1x0e \(1\), got 2"):
        TensorProduct("0e", "0e", "0e", [], in2_var=[1.0, 2.0])
    tp = TensorProduct("0e", "0e", "0e", [(0, 0, 0, "uvw", True)], internal_weights=False)
    with pytest.raises(RuntimeError, match="weight: this product has no internal weights"):
        tp(torch.randn(2, 1), torch.randn(2, 1))
    with pytest.raises(ValueError, match=r"weight\[0\]: expected \[..., 1, 1, 1\], got \[2\]"):
        tp(torch.randn(2, 1), torch.randn(2, 1), [torch.randn(2)])
    with pytest.warns(DeprecationWarning, match="normalization is deprecated"):
        old = TensorProduct("0e", "0e", "0e", [(0, 0, 0, "uvw", True)], normalization="norm")
    assert old.irrep_normalization == "norm"
