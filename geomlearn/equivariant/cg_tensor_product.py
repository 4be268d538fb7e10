r"""e3nn's ``TensorProduct``: Clebsch-Gordan couplings chosen by a list of instructions, and its presets.

An instruction ``(i_in1, i_in2, i_out, mode, has_weight[, path_weight])`` couples irrep ``i_in1`` of ``x1``
(``mul1 x l1``, copies :math:`u`) and irrep ``i_in2`` of ``x2`` (``mul2 x l2``, copies :math:`v`) into irrep
``i_out`` of the output (``mul_out x l3``, copies :math:`w`):

.. math::
    z_{w k} \mathrel{+}= \alpha \sum_{u v} W_{u v w} \sum_{i j} C^{l_1 l_2 l_3}_{i j k}\, x_{1, u i}\, x_{2, v j},

with :math:`C` e3nn's real Wigner 3j symbols (unit Frobenius norm). The connection mode says which copies
meet and how the instruction's weights :math:`w` fill :math:`W` (all ones for an instruction without weights;
``uvw`` and ``u<vw`` always have weights, as in e3nn):

==========  ====================================================  ===========================
mode        :math:`W_{uvw}`                                       weights (``path_shape``)
==========  ====================================================  ===========================
``uvw``     :math:`w_{uvw}`                                       ``[mul1, mul2, mul_out]``
``uvu``     :math:`w_{uv}\, \delta_{uw}`                          ``[mul1, mul2]``
``uvv``     :math:`w_{uv}\, \delta_{vw}`                          ``[mul1, mul2]``
``uuw``     :math:`w_{uw}\, \delta_{uv}`                          ``[mul1, mul_out]``
``uuu``     :math:`w_u\, \delta_{uv}\, \delta_{uw}`               ``[mul1]``
``uvuv``    :math:`w_{uv}\, \delta_{w, u\, mul_2 + v}`            ``[mul1, mul2]``
``uvu<v``   :math:`w_p\, \delta_{wp}`, :math:`p` the pair u < v   ``[mul1 (mul1 - 1) / 2]``
``u<vw``    :math:`w_{pw}`, :math:`p` the pair u < v              ``[mul1 (mul1 - 1) / 2, mul_out]``
==========  ====================================================  ===========================

(pairs :math:`u < v` in ``torch.triu_indices`` order). The path coefficient is e3nn's,
:math:`\alpha^2 = \text{path\_weight} \cdot \sigma^2_{out} \cdot a / x`, with :math:`a = 2 l_3 + 1`
(``irrep_normalization="component"``), :math:`(2 l_1 + 1)(2 l_2 + 1)` (``"norm"``) or 1 (``"none"``), and
:math:`x` the sum over the instructions into the same output of :math:`\sigma^2_1 \sigma^2_2 n`
(``path_normalization="element"``), this instruction's own term times the number of instructions into its
output (``"path"``) or 1 (``"none"``), where :math:`n` counts the ``(u, v)`` pairs summed into one output copy
(``mul1 mul2`` in ``uvw``, ``mul2`` in ``uvu``, ``mul1`` in ``uvv`` and ``uuw``, 1 in ``uuu``, ``uvuv`` and
``uvu<v``, ``mul1 (mul1 - 1) / 2`` in ``u<vw``).

With shared weights and a small coupling tensor (:math:`d_1 d_2 d_{out} \le 2^{21}`) the instructions are
assembled into :math:`M_{abc}` (:math:`z_c = \sum_{ab} M_{abc} x_{1a} x_{2b}`) once per call and the batch
is contracted with it by one matrix product; otherwise each instruction is one ``einsum`` whose order
``opt_einsum`` chooses. The uvu edge convolution also runs as the fused
:func:`geomlearn.sparse.coupling_spmm` through :meth:`TensorProduct.couplings`.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Iterator, NamedTuple, Optional, Sequence, Union

import torch
from e3nn.o3 import wigner_3j
from torch import Tensor

from ..sparse import Couplings
from .irreps import as_irreps, channels_of, check_features
from .tensor_product import TensorProductBase, coupling_paths

MODES = ("uvw", "uvu", "uvv", "uuw", "uuu", "uvuv", "uvu<v", "u<vw")
IRREP_NORMALIZATIONS = ("component", "norm", "none")
PATH_NORMALIZATIONS = ("element", "path", "none")
DENSE_COUPLING_LIMIT = 1 << 21          # entries of M [d1, d2, d_out] above which the shared product runs per path

# Per mode: the subscripts of the instruction's weights and of its output copies in
# "{weights},zui,z{x2}j,ijk->z{out}k", and the copy index of x2 (``u`` where both inputs' copies are paired).
_EINSUM = {"uvw": ("uvw", "w", "v"), "uvu": ("uv", "u", "v"), "uvv": ("uv", "v", "v"), "uuw": ("uw", "w", "u"),
           "uuu": ("u", "u", "u"), "uvuv": ("uv", "uv", "v")}


class Instruction(NamedTuple):
    """One coupling path, as in e3nn: ``path_weight`` is the path's coefficient :math:`\\alpha` once built."""

    i_in1: int
    i_in2: int
    i_out: int
    connection_mode: str
    has_weight: bool
    path_weight: float
    path_shape: tuple


class InstructionError(ValueError, AssertionError):
    """An instruction the irreps cannot carry. It is an ``AssertionError`` as well, as e3nn raises one, so code
    written against e3nn that catches it keeps working."""


def _path_shape(mode: str, mul1: int, mul2: int, mul_out: int) -> tuple:
    pairs = mul1 * (mul2 - 1) // 2
    return {"uvw": (mul1, mul2, mul_out), "uvu": (mul1, mul2), "uvv": (mul1, mul2), "uuw": (mul1, mul_out),
            "uuu": (mul1,), "uvuv": (mul1, mul2), "uvu<v": (pairs,), "u<vw": (pairs, mul_out)}[mode]


def _summed_pairs(mode: str, mul1: int, mul2: int) -> int:
    """``n``: the ``(u, v)`` pairs summed into one output copy."""
    return {"uvw": mul1 * mul2, "uvu": mul2, "uvv": mul1, "uuw": mul1, "uuu": 1, "uvuv": 1, "uvu<v": 1,
            "u<vw": mul1 * (mul2 - 1) // 2}[mode]


def _multiplicity_rule(mode: str, has_weight: bool, mul1: int, mul2: int, mul_out: int) -> Optional[str]:
    """The rule the multiplicities break, or ``None``."""
    rules = {"uvw": (has_weight, "weights"), "uvu": (mul_out == mul1, "mul_out = mul1"), "uvv": (mul_out == mul2, "mul_out = mul2"),
             "uuw": (mul1 == mul2 and (has_weight or mul_out == 1),
                     "mul1 = mul2, and mul_out = 1 without weights"),
             "uuu": (mul1 == mul2 == mul_out, "mul1 = mul2 = mul_out"),
             "uvuv": (mul_out == mul1 * mul2, "mul_out = mul1 * mul2"),
             "uvu<v": (mul1 == mul2 and mul_out == mul1 * (mul1 - 1) // 2, "mul1 = mul2, mul_out = mul1 (mul1 - 1) / 2"),
             "u<vw": (mul1 == mul2 and has_weight, "mul1 = mul2, with weights")}
    holds, rule = rules.get(mode, (True, ""))
    return None if holds else rule


def _connections(mode: str, mul1: int, mul2: int, mul_out: int) -> Tensor:
    """``[numel(path_shape), 3]``: the copies ``(u, v, w)`` each weight connects, weights in row-major order."""
    def grid(*sizes):
        return torch.cartesian_prod(*(torch.arange(n) for n in sizes)).reshape(-1, len(sizes))
    if mode in ("uvu<v", "u<vw"):
        u, v = torch.triu_indices(mul1, mul2, 1)
        if mode == "uvu<v":
            return torch.stack([u, v, torch.arange(u.numel())], dim=1)
        p, w = grid(u.numel(), mul_out).unbind(1)
        return torch.stack([u[p], v[p], w], dim=1)
    if mode == "uvw":
        return grid(mul1, mul2, mul_out)
    if mode == "uuu":
        u = torch.arange(mul1)
        return torch.stack([u, u, u], dim=1)
    a, b = grid(*_path_shape(mode, mul1, mul2, mul_out)).unbind(1)
    return torch.stack({"uvu": (a, b, a), "uvv": (a, b, b), "uuw": (a, a, b), "uvuv": (a, b, a * mul2 + b)}[mode], dim=1)


class TensorProduct(TensorProductBase):
    r"""e3nn's ``TensorProduct``: the instructions' couplings (see the module), e3nn's arguments, weights,
    normalisation, state_dict (``weight``, ``output_mask``), ``right``, ``weight_views`` and repr.

    Args:
        irreps_in1, irreps_in2, irreps_out: e3nn ``Irreps`` or their strings.
        instructions: ``(i_in1, i_in2, i_out, mode, has_weight)`` or ``(..., path_weight)`` tuples.
        in1_var, in2_var, out_var: the variance of each input irrep and the target variance of each output
            irrep (default ones).
        irrep_normalization: ``"component"`` (default), ``"norm"`` or ``"none"``.
        path_normalization: ``"element"`` (default), ``"path"`` or ``"none"``.
        internal_weights: hold the weights as a parameter (default: shared and any instruction weighted).
        shared_weights: one weight vector for the whole batch (default ``True``).
        compile_left_right, compile_right, _specialized_code, _optimize_einsums: e3nn's code-generation
            switches, taken so e3nn calls port; ``forward`` and ``right`` are always available and the
            last two are kept as attributes.
        normalization: e3nn's deprecated name of ``irrep_normalization``.

    An output irrep that no instruction reaches stays zero, its entries 0 in ``output_mask`` (as e3nn). An e3nn
    checkpoint loads strictly (e3nn's Wigner 3j constants in it are checked, not stored); this module's
    state_dict loads into e3nn's with ``strict=False``, as it does not carry those constants.

    Raises:
        InstructionError: an instruction whose irreps do not couple (:math:`|l_1 - l_2| \le l_3 \le l_1 +
            l_2`, :math:`p_3 = p_1 p_2`), an unknown mode, an index out of range, or multiplicities the mode
            cannot connect.
        ValueError: an unknown normalisation, variances of the wrong length, internal unshared weights.
    """

    def __init__(self, irreps_in1, irreps_in2, irreps_out, instructions: Sequence[tuple],
                 in1_var: Optional[Sequence[float]] = None, in2_var: Optional[Sequence[float]] = None,
                 out_var: Optional[Sequence[float]] = None, irrep_normalization: Optional[str] = None,
                 path_normalization: Optional[str] = None, internal_weights: Optional[bool] = None,
                 shared_weights: Optional[bool] = None, compile_left_right: bool = True, compile_right: bool = False,
                 normalization: Optional[str] = None, _specialized_code: Optional[bool] = None,
                 _optimize_einsums: Optional[bool] = None):
        if normalization is not None:
            warnings.warn("normalization is deprecated (as in e3nn): use irrep_normalization", DeprecationWarning,
                          stacklevel=2)
            irrep_normalization = normalization
        irrep_normalization = "component" if irrep_normalization is None else irrep_normalization
        path_normalization = "element" if path_normalization is None else path_normalization
        if irrep_normalization not in IRREP_NORMALIZATIONS:
            raise ValueError(f"irrep_normalization: expected one of {IRREP_NORMALIZATIONS}, got {irrep_normalization!r}")
        if path_normalization not in PATH_NORMALIZATIONS:
            raise ValueError(f"path_normalization: expected one of {PATH_NORMALIZATIONS}, got {path_normalization!r}")
        shared_weights = True if shared_weights is None else shared_weights
        super().__init__(irreps_in1, irreps_in2, irreps_out, shared_weights, internal_weights=False)
        self.irrep_normalization, self.path_normalization = irrep_normalization, path_normalization
        unnormalised = [self._instruction(n, tuple(ins)) for n, ins in enumerate(instructions)]
        variances = [self._variances(var, irreps, name) for var, irreps, name in
                     ((in1_var, self.irreps_in1, "in1_var"), (in2_var, self.irreps_in2, "in2_var"),
                      (out_var, self.irreps_out, "out_var"))]
        self.instructions = [ins._replace(path_weight=self._coefficient(ins, unnormalised, *variances))
                             for ins in unnormalised]
        if internal_weights is None:
            internal_weights = shared_weights and any(ins.has_weight for ins in self.instructions)
        if internal_weights and not shared_weights:
            raise ValueError("internal_weights: internal weights are shared; got shared_weights=False")
        self.internal_weights = bool(internal_weights)
        self.compile_left_right, self.compile_right = bool(compile_left_right), bool(compile_right)
        self._specialized_code = True if _specialized_code is None else bool(_specialized_code)
        self._optimize_einsums = True if _optimize_einsums is None else bool(_optimize_einsums)
        self.set_weight_shapes([ins.path_shape for ins in self.instructions if ins.has_weight])
        for n, ins in enumerate(self.instructions):
            l1, l2, l3 = (self.irreps_in1[ins.i_in1].ir.l, self.irreps_in2[ins.i_in2].ir.l,
                          self.irreps_out[ins.i_out].ir.l)
            self.register_buffer(f"_w3j_{n}", wigner_3j(l1, l2, l3, dtype=torch.float64), persistent=False)
            muls = (self.irreps_in1[ins.i_in1].mul, self.irreps_in2[ins.i_in2].mul, self.irreps_out[ins.i_out].mul)
            self.register_buffer(f"_connections_{n}", _connections(ins.connection_mode, *muls), persistent=False)
        self._offsets = [irreps.slices() for irreps in (self.irreps_in1, self.irreps_in2, self.irreps_out)]
        live = {ins.i_out for ins in self.instructions if self._computes(ins)}
        mask = [torch.full((mul * ir.dim,), float(i in live)) for i, (mul, ir) in enumerate(self.irreps_out)]
        self.register_buffer("output_mask", torch.cat(mask) if mask else torch.ones(0))
        self.register_load_state_dict_pre_hook(_e3nn_constants_checked)

    def _instruction(self, n: int, ins: tuple) -> Instruction:
        if len(ins) not in (5, 6):
            raise InstructionError(f"instructions[{n}]: expected (i_in1, i_in2, i_out, mode, has_weight[, "
                                   f"path_weight]), got {ins}")
        i1, i2, i3, mode, has_weight = ins[:5]
        path_weight = float(ins[5]) if len(ins) == 6 else 1.0
        for index, irreps, name in ((i1, self.irreps_in1, "irreps_in1"), (i2, self.irreps_in2, "irreps_in2"),
                                    (i3, self.irreps_out, "irreps_out")):
            if not isinstance(index, int) or not 0 <= index < len(irreps):
                raise InstructionError(f"instructions[{n}]: expected an index into {name} ({len(irreps)} irreps), "
                                       f"got {index!r}")
        if mode not in MODES:
            raise InstructionError(f"instructions[{n}]: expected a mode in {MODES}, got {mode!r}")
        (mul1, ir1), (mul2, ir2), (mul3, ir3) = self.irreps_in1[i1], self.irreps_in2[i2], self.irreps_out[i3]
        if ir3 not in ir1 * ir2:
            raise InstructionError(f"instructions[{n}]: {ir1} x {ir2} does not couple to {ir3}")
        rule = _multiplicity_rule(mode, bool(has_weight), mul1, mul2, mul3)
        if rule is not None:
            raise InstructionError(f"instructions[{n}]: mode {mode!r} needs {rule}, got {mul1}x{ir1} x {mul2}x{ir2} "
                                   f"-> {mul3}x{ir3}")
        return Instruction(i1, i2, i3, mode, bool(has_weight), path_weight, _path_shape(mode, mul1, mul2, mul3))

    @staticmethod
    def _variances(var, irreps, name: str) -> list[float]:
        if var is None:
            return [1.0] * len(irreps)
        var = [float(v) for v in var]
        if len(var) != len(irreps):
            raise ValueError(f"{name}: expected one variance per irrep of {irreps} ({len(irreps)}), got {len(var)}")
        return var

    def _coefficient(self, ins: Instruction, instructions: list[Instruction], var1, var2, var_out) -> float:
        """The path coefficient :math:`\\alpha` (see the module)."""
        ir1, ir2, ir3 = self.irreps_in1[ins.i_in1].ir, self.irreps_in2[ins.i_in2].ir, self.irreps_out[ins.i_out].ir
        alpha = {"component": ir3.dim, "norm": ir1.dim * ir2.dim, "none": 1}[self.irrep_normalization]

        def elements(i: Instruction) -> float:
            n = _summed_pairs(i.connection_mode, self.irreps_in1[i.i_in1].mul, self.irreps_in2[i.i_in2].mul)
            return var1[i.i_in1] * var2[i.i_in2] * n
        siblings = [i for i in instructions if i.i_out == ins.i_out]
        x = {"element": lambda: sum(elements(i) for i in siblings), "path": lambda: elements(ins) * len(siblings),
             "none": lambda: 1.0}[self.path_normalization]()
        if x > 0:
            alpha /= x
        return math.sqrt(alpha * var_out[ins.i_out] * ins.path_weight)

    def _computes(self, ins: Instruction) -> bool:
        """Whether the instruction contributes: a non-zero coefficient and copies on every side."""
        muls = (self.irreps_in1[ins.i_in1].mul, self.irreps_in2[ins.i_in2].mul, self.irreps_out[ins.i_out].mul)
        return ins.path_weight != 0 and 0 not in muls and 0 not in ins.path_shape

    def _coupling(self, n: int, like: Tensor) -> Tensor:
        """:math:`\\alpha\\, C^{l_1 l_2 l_3}` of instruction ``n`` ``[2l1+1, 2l2+1, 2l3+1]``."""
        return getattr(self, f"_w3j_{n}").to(like.dtype) * self.instructions[n].path_weight

    def _instruction_weights(self, weight: Tensor) -> list[Optional[Tensor]]:
        """Each instruction's weights ``[..., *path_shape]`` (``None`` for an unweighted one)."""
        blocks = iter(self.split_weights(weight))
        return [next(blocks) if ins.has_weight else None for ins in self.instructions]

    def _full_weights(self, n: int, w: Optional[Tensor], like: Tensor) -> Tensor:
        """:math:`W_{uvw}` of instruction ``n`` ``[..., mul1, mul2, mul_out]`` (see the module)."""
        ins = self.instructions[n]
        if w is None:
            w = like.new_ones(ins.path_shape)
        if ins.connection_mode == "uvw":
            return w
        muls = (self.irreps_in1[ins.i_in1].mul, self.irreps_in2[ins.i_in2].mul, self.irreps_out[ins.i_out].mul)
        u, v, o = getattr(self, f"_connections_{n}").unbind(1)
        batch = w.shape[:w.dim() - len(ins.path_shape)]
        full = like.new_zeros(*batch, *muls)
        full[..., u, v, o] = w.reshape(*batch, -1)
        return full

    def coupling_tensor(self, weight: Tensor) -> Tensor:
        """:math:`M` ``[dim1, dim2, dim_out]`` with :math:`z_c = \\sum_{ab} M_{abc} x_{1a} x_{2b}` for shared
        ``weight [weight_numel]``."""
        dims = (self.irreps_in1.dim, self.irreps_in2.dim, self.irreps_out.dim)
        out = weight.new_zeros(dims)
        for n, (ins, w) in enumerate(zip(self.instructions, self._instruction_weights(weight))):
            if not self._computes(ins):
                continue
            block = torch.einsum("uvw,ijk->uivjwk", self._full_weights(n, w, weight), self._coupling(n, weight))
            s1, s2, s3 = self._offsets[0][ins.i_in1], self._offsets[1][ins.i_in2], self._offsets[2][ins.i_out]
            out[s1, s2, s3] += block.reshape(s1.stop - s1.start, s2.stop - s2.start, s3.stop - s3.start)
        return out

    def product(self, x1: Tensor, x2: Tensor, weight: Tensor) -> Tensor:
        dims = (self.irreps_in1.dim, self.irreps_in2.dim, self.irreps_out.dim)
        if self.shared_weights and math.prod(dims) <= DENSE_COUPLING_LIMIT:
            return _contract(x1, x2, self.coupling_tensor(weight.to(x1.dtype)))
        rows = x1.shape[0]
        outputs = [[] for _ in self.irreps_out]
        for n, (ins, w) in enumerate(zip(self.instructions, self._instruction_weights(weight.to(x1.dtype)))):
            if not self._computes(ins):
                continue
            (mul1, ir1), (mul2, ir2) = self.irreps_in1[ins.i_in1], self.irreps_in2[ins.i_in2]
            a = x1[:, self._offsets[0][ins.i_in1]].reshape(rows, mul1, ir1.dim)
            b = x2[:, self._offsets[1][ins.i_in2]].reshape(rows, mul2, ir2.dim)
            outputs[ins.i_out].append(self._instruction_product(n, a, b, w).reshape(rows, -1))
        pieces = [torch.stack(parts).sum(0) if parts else x1.new_zeros(rows, mul * ir.dim)
                  for parts, (mul, ir) in zip(outputs, self.irreps_out)]
        return torch.cat(pieces, dim=1) if pieces else x1.new_zeros(rows, 0)

    def _instruction_product(self, n: int, a: Tensor, b: Tensor, w: Optional[Tensor]) -> Tensor:
        """Instruction ``n`` on ``a [Z, mul1, 2l1+1]``, ``b [Z, mul2, 2l2+1]``: ``[Z, mul_out, 2l3+1]``."""
        ins = self.instructions[n]
        c = self._coupling(n, a)
        z = "z" if (w is not None and w.dim() > len(ins.path_shape)) else ""
        mode = ins.connection_mode
        if mode in ("uvu<v", "u<vw"):
            u, v = torch.triu_indices(a.shape[1], b.shape[1], 1, device=a.device)
            pairs = torch.einsum("zui,zvj,ijk->zuvk", a, b, c)[:, u, v]                  # [Z, P, 2l3+1]
            if mode == "u<vw":
                return torch.einsum(f"{z}pw,zpk->zwk", w, pairs)
            return pairs if w is None else pairs * w.unsqueeze(-1)
        subscripts, out, copy2 = _EINSUM[mode]
        if w is None:
            w = a.new_ones(ins.path_shape)
        result = torch.einsum(f"{z}{subscripts},zui,z{copy2}j,ijk->z{out}k", w, a, b, c)
        return result.reshape(a.shape[0], -1, c.shape[2])

    def right(self, x2: Tensor, weight: Optional[Union[Tensor, list[Tensor]]] = None) -> Tensor:
        r"""The product with ``x2`` (and the weights) applied: ``[..., irreps_in1.dim, irreps_out.dim]``, so that
        ``forward(x1, x2) = einsum("...i,...ij->...j", x1, right(x2))``."""
        check_features(x2, self.irreps_in2, "x2")
        batch = x2.shape[:-1]
        weight = self._weight(self._flat_weight(weight), batch)
        if not self.shared_weights:
            batch = torch.broadcast_shapes(batch, weight.shape[:-1])
            weight = weight.expand(*batch, -1).reshape(batch.numel(), self.weight_numel)
        rows = batch.numel()
        x2 = x2.expand(*batch, -1).reshape(rows, x2.shape[-1])
        out = x2.new_zeros(rows, self.irreps_in1.dim, self.irreps_out.dim)
        for n, (ins, w) in enumerate(zip(self.instructions, self._instruction_weights(weight.to(x2.dtype)))):
            if not self._computes(ins):
                continue
            mul2, ir2 = self.irreps_in2[ins.i_in2]
            b = x2[:, self._offsets[1][ins.i_in2]].reshape(rows, mul2, ir2.dim)
            full = self._full_weights(n, w, x2)                    # [(Z,) mul1, mul2, mul_out]
            z = "z" if full.dim() == 4 else ""
            block = torch.einsum(f"{z}uvw,zvj,ijk->zuiwk", full, b, self._coupling(n, x2))
            s1, s3 = self._offsets[0][ins.i_in1], self._offsets[2][ins.i_out]
            out[:, s1, s3] += block.reshape(rows, s1.stop - s1.start, s3.stop - s3.start)
        return out.reshape(*batch, self.irreps_in1.dim, self.irreps_out.dim)

    def _flat_weight(self, weight: Optional[Union[Tensor, list[Tensor]]]) -> Optional[Tensor]:
        """e3nn's per-instruction weight list (shapes ``[..., *path_shape]``) as one ``[..., weight_numel]``."""
        if not isinstance(weight, (list, tuple)):
            return weight
        shapes = [ins.path_shape for ins in self.instructions if ins.has_weight]
        if len(weight) != len(shapes):
            raise ValueError(f"weight: expected one tensor per weighted instruction ({len(shapes)}), got {len(weight)}")
        flat = []
        for k, (w, shape) in enumerate(zip(weight, shapes)):
            if tuple(w.shape[w.dim() - len(shape):]) != shape:
                raise ValueError(f"weight[{k}]: expected [..., {', '.join(map(str, shape))}], got {list(w.shape)}")
            flat.append(w.reshape(*w.shape[:w.dim() - len(shape)], math.prod(shape)))
        return torch.cat(flat, dim=-1)

    def forward(self, x1: Tensor, x2: Tensor, weight: Optional[Union[Tensor, list[Tensor]]] = None) -> Tensor:
        """``[..., irreps_out.dim]`` for ``x1 [..., irreps_in1.dim]``, ``x2 [..., irreps_in2.dim]`` and ``weight``
        ``[weight_numel]`` (shared), ``[..., weight_numel]`` (per sample) or a list of per-instruction tensors;
        batch dimensions broadcast."""
        return super().forward(x1, x2, self._flat_weight(weight))

    def weight_view_for_instruction(self, instruction: int, weight: Optional[Tensor] = None) -> Tensor:
        """A view ``[..., *path_shape]`` of the weights of ``instructions[instruction]`` (in ``weight`` or the
        internal weights).

        Raises:
            ValueError: the instruction has no weights.
        """
        if not self.instructions[instruction].has_weight:
            raise ValueError(f"instruction: instructions[{instruction}] has no weights")
        return dict((n, view) for n, _, view in self.weight_views(weight, yield_instruction=True))[instruction]

    def weight_views(self, weight: Optional[Tensor] = None, yield_instruction: bool = False) -> Iterator:
        """Views ``[..., *path_shape]`` of each weighted instruction's weights (of ``weight`` or the internal
        ones); ``(index, instruction, view)`` with ``yield_instruction``."""
        weight = self._weight(weight, torch.Size([]) if weight is None else weight.shape[:-1])
        offset = 0
        for n, ins in enumerate(self.instructions):
            if ins.has_weight:
                size = math.prod(ins.path_shape)
                view = weight.narrow(-1, offset, size).view(*weight.shape[:-1], *ins.path_shape)
                offset += size
                yield (n, ins, view) if yield_instruction else view

    def couplings(self) -> Couplings:
        r"""The product as a :class:`geomlearn.sparse.Couplings` table, for the fused edge convolution
        :func:`geomlearn.sparse.coupling_spmm`: one entry per non-zero :math:`\alpha\, C^{l_1 l_2 l_3}_{ijk}` of
        every instruction, from position ``i`` of ``x1``'s irrep to position ``k`` of the output's in the
        channel-major layout (``geomlearn.equivariant.irreps.to_channel_major``), reading position ``j`` of
        ``x2`` and the instruction's weight. Then ``product(x1, x2, weight)`` per edge equals the table applied
        to ``x1 [C, n1]``, ``x2 [n2]`` and ``weight.view(num_instructions, C)``.

        Raises:
            ValueError: unless every instruction is a weighted ``"uvu"``, every irrep of ``irreps_in1`` and
                ``irreps_out`` has one multiplicity ``C`` and every irrep of ``irreps_in2`` multiplicity 1 (the
                edge harmonics).
        """
        if any(ins.connection_mode != "uvu" or not ins.has_weight for ins in self.instructions) or \
                any(mul != 1 for mul, _ in self.irreps_in2):
            raise ValueError(f"couplings: expected weighted 'uvu' instructions with irreps_in2 of multiplicity 1 "
                             f"(the edge harmonics), got modes {sorted({ins.connection_mode for ins in self.instructions})}, "
                             f"{'an unweighted instruction, ' if not all(ins.has_weight for ins in self.instructions) else ''}"
                             f"irreps_in2 {self.irreps_in2}")
        if channels_of(self.irreps_in1, "irreps_in1") != channels_of(self.irreps_out, "irreps_out"):
            raise ValueError(f"irreps_out: expected the multiplicity of irreps_in1 ({self.irreps_in1}), got "
                             f"{self.irreps_out}")
        starts = [_channel_major_starts(irreps) for irreps in (self.irreps_in1, self.irreps_in2, self.irreps_out)]
        columns, values = [[], [], [], []], []
        for n, ins in enumerate(self.instructions):
            c = self._coupling(n, torch.empty(0, dtype=torch.float64))
            i, j, k = (c.abs() > 1e-12).nonzero().unbind(1)
            for column, positions in zip(columns, (i + starts[0][ins.i_in1], j + starts[1][ins.i_in2],
                                                   torch.full_like(i, n), k + starts[2][ins.i_out])):
                column.append(positions)
            values.append(c[i, j, k])
        sizes = (starts[0][-1], starts[1][-1], len(self.instructions), starts[2][-1])
        return Couplings(*(torch.cat(column) for column in columns), torch.cat(values), sizes)

    def __repr__(self) -> str:
        paths = sum(math.prod(ins.path_shape) for ins in self.instructions)
        return (f"{type(self).__name__}({self.irreps_in1.simplify()} x {self.irreps_in2.simplify()} -> "
                f"{self.irreps_out.simplify()} | {paths} paths | {self.weight_numel} weights)")


class FullyConnectedTensorProduct(TensorProduct):
    """e3nn's ``FullyConnectedTensorProduct``: every coupling of every pair of input irreps into every output
    irrep, mode ``uvw`` with weights; other arguments as :class:`TensorProduct`."""

    def __init__(self, irreps_in1, irreps_in2, irreps_out, irrep_normalization: Optional[str] = None,
                 path_normalization: Optional[str] = None, **kwargs):
        irreps = _three_irreps(irreps_in1, irreps_in2, irreps_out)
        instructions = [(i1, i2, i3, "uvw", True, 1.0)
                        for i1, (_, ir1) in enumerate(irreps[0]) for i2, (_, ir2) in enumerate(irreps[1])
                        for i3, (_, ir3) in enumerate(irreps[2]) if ir3 in ir1 * ir2]
        super().__init__(*irreps, instructions, irrep_normalization=irrep_normalization,
                         path_normalization=path_normalization, **kwargs)


class CGTensorProduct(TensorProduct):
    """The Clebsch-Gordan product of every coupling in one mode, ``"uvw"`` (e3nn's
    ``FullyConnectedTensorProduct``) or ``"uvu"`` (the edge convolution of NequIP: output copy ``u`` from input
    copy ``u`` with every ``v``), with weights; unlike e3nn's presets it refuses an output irrep that no coupling
    reaches (it would always be zero).

    Raises:
        ValueError: an unknown mode, or an output irrep no path reaches.
    """

    def __init__(self, irreps_in1, irreps_in2, irreps_out, mode: str = "uvw", shared_weights: bool = True,
                 internal_weights: Optional[bool] = None):
        irreps = _three_irreps(irreps_in1, irreps_in2, irreps_out)
        paths = coupling_paths(*irreps, mode)
        super().__init__(*irreps, [(p.i_in1, p.i_in2, p.i_out, mode, True) for p in paths],
                         shared_weights=shared_weights, internal_weights=internal_weights)
        self.mode = mode


def _e3nn_constants_checked(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                            error_msgs) -> None:
    """Take e3nn's generated-code constants out of a checkpoint (``_compiled_main_*._w3j_l1_l2_l3``: e3nn keeps its
    Wigner 3j symbols in the state_dict), each checked against the Wigner 3j it names, so e3nn checkpoints load
    strictly."""
    for key in [k for k in state_dict if k.startswith(prefix + "_compiled_main_")]:
        match = re.fullmatch(r"_compiled_main_(left_right|right)\._w3j_(\d+)_(\d+)_(\d+)", key[len(prefix):])
        if match is None:
            continue
        value, expected = state_dict.pop(key), wigner_3j(*map(int, match.groups()[1:]), dtype=torch.float64)
        if value.shape != expected.shape or not torch.allclose(value.double().cpu(), expected, atol=1e-6):
            error_msgs.append(f"{key}: expected e3nn's Wigner 3j symbol {tuple(map(int, match.groups()[1:]))}, "
                              f"got other values")


def _three_irreps(irreps_in1, irreps_in2, irreps_out) -> list:
    return [as_irreps(irreps, name) for irreps, name in
            ((irreps_in1, "irreps_in1"), (irreps_in2, "irreps_in2"), (irreps_out, "irreps_out"))]


def _channel_major_starts(irreps) -> list[int]:
    """Where each irrep starts in the channel-major layout ``[C, sum(2l + 1)]``, then the total width."""
    starts = [0]
    for _, ir in irreps:
        starts.append(starts[-1] + ir.dim)
    return starts


def _contract(x1: Tensor, x2: Tensor, coupling: Tensor) -> Tensor:
    r""":math:`z_{\cdot c} = \sum_{ab} M_{abc}\, x_{1 \cdot a}\, x_{2 \cdot b}` as one matmul, in the order whose
    ``[Z, ...]`` intermediate is smallest."""
    d1, d2, d3 = coupling.shape
    smallest = min(d1 * d2, d2 * d3, d1 * d3)
    if smallest == d1 * d2:
        return (x1.unsqueeze(2) * x2.unsqueeze(1)).reshape(x1.shape[0], d1 * d2) @ coupling.reshape(d1 * d2, d3)
    if smallest == d2 * d3:
        partial = (x1 @ coupling.reshape(d1, d2 * d3)).view(x1.shape[0], d2, d3)
        return torch.bmm(x2.unsqueeze(1), partial).squeeze(1)
    partial = (x2 @ coupling.transpose(0, 1).reshape(d2, d1 * d3)).view(x2.shape[0], d1, d3)
    return torch.bmm(x1.unsqueeze(1), partial).squeeze(1)
