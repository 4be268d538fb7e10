r"""The interface every O(3) tensor product implements, and the coupling paths they are built from.

A tensor product takes two irreps features ``x1 [..., irreps_in1.dim]`` and ``x2 [..., irreps_in2.dim]``
(e3nn's layout: the copies of each irrep contiguous, ``mul x (2l + 1)``) and returns
``[..., irreps_out.dim]``, bilinear in ``(x1, x2)`` and equivariant:
:math:`\mathrm{TP}(D_1(g) x_1, D_2(g) x_2) = D_{out}(g)\, \mathrm{TP}(x_1, x_2)` for every :math:`g \in O(3)`.
Implementations differ in which couplings :math:`l_1 \otimes l_2 \to l_3` they compute and how; they share
the constructor arguments, the weights (``weight_numel``, internal and shared, or given per call) and
the checks.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

import torch
from e3nn.o3 import Irreps
from torch import Tensor

from .irreps import as_irreps, check_features

MODES = ("uvw", "uvu")


class Path(NamedTuple):
    """One coupling: irreps ``i_in1 (mul1 x l1)`` and ``i_in2 (mul2 x l2)`` into ``i_out (mul_out x l3)``,
    weighted ``[mul1, mul2, mul_out]`` (mode ``"uvw"``) or ``[mul1, mul2]`` (``"uvu"``: output copy ``u``)."""

    i_in1: int
    i_in2: int
    i_out: int
    shape: tuple


def coupling_paths(irreps_in1: Irreps, irreps_in2: Irreps, irreps_out: Irreps, mode: str,
                   allowed=None) -> list[Path]:
    r"""Every ``(i_in1, i_in2, i_out)`` whose irreps couple (:math:`|l_1 - l_2| \le l_3 \le l_1 + l_2`,
    :math:`p_3 = p_1 p_2`, and ``allowed(l1, l2, l3)`` when given), in e3nn's order (``i_in1``, then ``i_in2``,
    then ``i_out``); in mode ``"uvu"`` only those whose output multiplicity equals ``mul1``.

    Raises:
        ValueError: an unknown mode, or an output irrep that no path reaches (it would always be zero).
    """
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
    paths = []
    for i1, (mul1, ir1) in enumerate(irreps_in1):
        for i2, (mul2, ir2) in enumerate(irreps_in2):
            for i3, (mul3, ir3) in enumerate(irreps_out):
                if ir3 not in ir1 * ir2 or (allowed is not None and not allowed(ir1.l, ir2.l, ir3.l)):
                    continue
                if mode == "uvu" and mul3 != mul1:
                    continue
                paths.append(Path(i1, i2, i3, (mul1, mul2, mul3) if mode == "uvw" else (mul1, mul2)))
    reached = {p.i_out for p in paths}
    for i3, mul_ir in enumerate(irreps_out):
        if i3 not in reached:
            extra = " with the multiplicity of an input irrep (mode 'uvu')" if mode == "uvu" else ""
            raise ValueError(f"irreps_out: {mul_ir} (output {i3}) is not reached by any coupling of "
                             f"{irreps_in1} and {irreps_in2}{extra}")
    return paths


class TensorProductBase(torch.nn.Module):
    r"""Base class of every product: irreps, weights and the batch handling; subclasses implement :meth:`product`.

    Args:
        irreps_in1, irreps_in2, irreps_out: e3nn ``Irreps`` or their strings.
        shared_weights: one weight vector for the whole batch; otherwise ``forward`` takes
            ``weight [..., weight_numel]`` per sample (e.g. from a radial network).
        internal_weights: hold the shared weights as a parameter (default: ``shared_weights``).

    As in e3nn, ``weight`` is a parameter ``[weight_numel]`` when the weights are internal and an empty buffer
    otherwise (so the state_dict always has the key), and a weight given to ``forward`` is used in place of
    the internal one.
    """

    def __init__(self, irreps_in1, irreps_in2, irreps_out, shared_weights: bool = True,
                 internal_weights: Optional[bool] = None):
        super().__init__()
        self.irreps_in1 = as_irreps(irreps_in1, "irreps_in1")
        self.irreps_in2 = as_irreps(irreps_in2, "irreps_in2")
        self.irreps_out = as_irreps(irreps_out, "irreps_out")
        internal_weights = shared_weights if internal_weights is None else internal_weights
        if internal_weights and not shared_weights:
            raise ValueError("internal_weights: internal weights are shared; got shared_weights=False")
        self.shared_weights, self.internal_weights = bool(shared_weights), bool(internal_weights)

    def set_weight_shapes(self, shapes: list[tuple]) -> None:
        """Declare the weight blocks (``weight_numel`` is their total size); internal weights start ``N(0, 1)``."""
        self.weight_shapes = [tuple(shape) for shape in shapes]
        self.weight_numel = sum(math.prod(shape) for shape in self.weight_shapes)
        if self.internal_weights and self.weight_numel > 0:
            self.weight = torch.nn.Parameter(torch.randn(self.weight_numel))
        else:
            self.register_buffer("weight", torch.empty(0))

    def split_weights(self, weight: Tensor) -> list[Tensor]:
        """``weight [..., weight_numel]`` split into its blocks ``[..., *shape]``."""
        sizes = [math.prod(shape) for shape in self.weight_shapes]
        return [w.reshape(*weight.shape[:-1], *shape)
                for w, shape in zip(weight.split(sizes, dim=-1), self.weight_shapes)]

    def _weight(self, weight: Optional[Tensor], batch: torch.Size) -> Tensor:
        if weight is None:
            if self.weight_numel > 0 and not self.internal_weights:
                shape = f"[{'' if self.shared_weights else '..., '}{self.weight_numel}]"
                raise RuntimeError(f"weight: this product has no internal weights; expected {shape}, got None")
            return self.weight
        if self.shared_weights:
            if weight.shape != (self.weight_numel,):
                raise ValueError(f"weight: expected the shared weights [{self.weight_numel}], got {list(weight.shape)}")
            return weight
        if weight.dim() < 2 or weight.shape[-1] != self.weight_numel or not _broadcast(weight.shape[:-1], batch):
            raise ValueError(f"weight: expected per-sample weights [..., {self.weight_numel}] whose batch dimensions "
                             f"broadcast with the inputs' {list(batch)}, got {list(weight.shape)}")
        return weight

    def forward(self, x1: Tensor, x2: Tensor, weight: Optional[Tensor] = None) -> Tensor:
        """``[..., irreps_out.dim]`` for ``x1 [..., irreps_in1.dim]``, ``x2 [..., irreps_in2.dim]`` (batch
        dimensions broadcast)."""
        check_features(x1, self.irreps_in1, "x1")
        check_features(x2, self.irreps_in2, "x2")
        batch = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
        weight = self._weight(weight, batch)
        if not self.shared_weights:
            batch = torch.broadcast_shapes(batch, weight.shape[:-1])
        rows = batch.numel()                         # not -1: a dimension may be 0 (irreps of multiplicity 0)
        x1, x2 = x1.expand(*batch, -1).reshape(rows, x1.shape[-1]), x2.expand(*batch, -1).reshape(rows, x2.shape[-1])
        if not self.shared_weights:
            weight = weight.expand(*batch, -1).reshape(rows, self.weight_numel)
        return self.product(x1, x2, weight).reshape(*batch, self.irreps_out.dim)

    def product(self, x1: Tensor, x2: Tensor, weight: Tensor) -> Tensor:
        """``[Z, dim_out]`` from ``x1 [Z, dim1]``, ``x2 [Z, dim2]`` and ``weight [numel]`` or ``[Z, numel]``."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"{self.irreps_in1} x {self.irreps_in2} -> {self.irreps_out}, weight_numel={self.weight_numel}"


def _broadcast(a: torch.Size, b: torch.Size) -> bool:
    try:
        torch.broadcast_shapes(a, b)
    except RuntimeError:
        return False
    return True
