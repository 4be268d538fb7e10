r"""The equivariant edge convolution: source features times the edge's harmonics, weighted by its length.

.. math::
    z_i = \frac{1}{\sqrt{\bar n}} \sum_{j \to i} \mathrm{TP}\big(x_j,\; Y(r_{ij});\; R(|r_{ij}|)\big),
    \qquad r_{ij} = p_i - p_j,

with :math:`Y` the harmonics up to ``lmax_sh``, :math:`R` a radial network (Bessel basis times a smooth
cutoff envelope, then an MLP) that gives every edge its own product weights, and :math:`\bar n` the average
number of neighbours. The product is any of the library's: ``"cg"`` (:class:`CGTensorProduct`, mode
``uvu``), ``"gaunt"``, ``"grid"`` (the Gaunt products, even couplings only) or ``"so2"``
(:class:`SO2Convolution`, the same couplings as ``"cg"`` at :math:`O(L^3)`). Per edge the features are
gathered and the messages segment-summed into the targets by :mod:`geomlearn.sparse`.

Fused: with ``"cg"`` and features of one multiplicity :math:`C` per degree (``C x (0 + 1 + ... + L)``, the
usual case), gather, product and sum are one kernel, :func:`geomlearn.sparse.coupling_spmm` on the product's
coupling table (numba on the CPU, Triton on the GPU): neither the gathered ``[E, dim_in]`` sources nor the
``[E, dim_out]`` messages are stored, in the forward pass or in the backward passes of any order (forces,
training on forces). The other products store the messages: their per-edge operator is not a fixed sparse
table (the SO(2) rotations) or runs as dense transforms (the Gaunt products).
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor

from ..argument_checks import check_int
from ..sparse.graph_input import Graph, as_sparse_index
from ..sparse import coupling_spmm, gather_sum, segment_reduce
from .cg_tensor_product import CGTensorProduct
from .gaunt_tensor_product import GauntTensorProduct
from .grid_tensor_product import GridTensorProduct
from .irreps import as_irreps, check_features, from_channel_major, to_channel_major
from .so2_convolution import SO2Convolution
from .spherical_harmonics import spherical_harmonics

PRODUCTS = ("cg", "gaunt", "grid", "so2")


class RadialBasis(torch.nn.Module):
    r""":math:`e_n(d) = \sqrt{2 / c}\, \sin(n \pi d / c) / d \cdot u(d / c)`, ``n = 1..num_basis``, with the
    polynomial envelope :math:`u(t) = 1 - 10 t^3 + 15 t^4 - 6 t^5` (zero with two derivatives at the cutoff),
    ``[E] -> [E, num_basis]``. At :math:`d = 0` (a self loop, coincident atoms) it takes its limit
    :math:`\sqrt{2 / c}\, n \pi / c`, with derivative 0: :math:`\sin(k d) / d = k \operatorname{sinc}(k d / \pi)`."""

    def __init__(self, num_basis: int, cutoff: float):
        super().__init__()
        check_int("num_basis", num_basis)
        if not isinstance(cutoff, (int, float)) or not cutoff > 0:
            raise ValueError(f"cutoff: expected a distance > 0, got {cutoff!r}")
        self.cutoff = float(cutoff)
        self.register_buffer("frequencies", torch.arange(1, num_basis + 1) * math.pi / self.cutoff)

    def forward(self, distance: Tensor) -> Tensor:
        t = (distance / self.cutoff).clamp(max=1.0)
        envelope = 1 - 10 * t ** 3 + 15 * t ** 4 - 6 * t ** 5
        waves = self.frequencies * torch.sinc(distance.unsqueeze(-1) * (self.frequencies / math.pi))
        return math.sqrt(2 / self.cutoff) * waves * envelope.unsqueeze(-1)


class EquivariantConv(torch.nn.Module):
    r"""Equivariant edge convolution ``[N, irreps_in.dim] -> [N, irreps_out.dim]``.

    Args:
        irreps_in, irreps_out: node irreps (e3nn). ``"cg"`` and ``"so2"`` keep the channels (every output
            irrep has the multiplicity of the inputs it comes from); the Gaunt products need the sphere layout
            ``C x (0 + 1 + ... + L)`` (:mod:`~geomlearn.equivariant.sphere_product`).
        lmax_sh: largest degree of the edge harmonics.
        product: ``"cg"``, ``"gaunt"``, ``"grid"`` or ``"so2"``.
        num_basis, cutoff, radial_hidden: the radial network.
        avg_num_neighbors: :math:`\bar n`, the normalisation of the sum.
        fused: run the ``"cg"`` convolution as one fused kernel (the module docstring); default: whenever the
            irreps allow it. ``True`` where they do not is an error, ``False`` stores the messages.
    """

    def __init__(self, irreps_in, irreps_out, lmax_sh: int, product: str = "cg", num_basis: int = 8,
                 cutoff: float = 5.0, radial_hidden: int = 64, avg_num_neighbors: float = 1.0,
                 fused: Optional[bool] = None):
        super().__init__()
        if product not in PRODUCTS:
            raise ValueError(f"product: expected one of {PRODUCTS}, got {product!r}")
        check_int("lmax_sh", lmax_sh, 0, what="a degree")
        self.irreps_in, self.irreps_out = as_irreps(irreps_in, "irreps_in"), as_irreps(irreps_out, "irreps_out")
        self.lmax_sh, self.product_name, self.avg_num_neighbors = lmax_sh, product, float(avg_num_neighbors)
        irreps_sh = "+".join(f"{l}{'e' if l % 2 == 0 else 'o'}" for l in range(lmax_sh + 1))
        if product == "so2":
            self.product = SO2Convolution(self.irreps_in, self.irreps_out, lmax_sh)
        else:
            cls = {"cg": CGTensorProduct, "gaunt": GauntTensorProduct, "grid": GridTensorProduct}[product]
            options = dict(mode="uvu") if product == "cg" else {}
            self.product = cls(self.irreps_in, irreps_sh, self.irreps_out, shared_weights=False, **options)
        fusable = product == "cg" and len({mul for mul, _ in self.irreps_in}) == 1
        if fused and not fusable:
            raise ValueError(f"fused: the fused convolution needs product 'cg' and irreps_in with one multiplicity "
                             f"per degree, got product {product!r} and irreps_in {self.irreps_in}")
        self.fused = fusable if fused is None else bool(fused)
        self._couplings = self.product.couplings() if self.fused else None
        self._placed = {}                # the table on each (device, dtype) it has run on
        self.basis = RadialBasis(num_basis, cutoff)
        self.radial = torch.nn.Sequential(torch.nn.Linear(num_basis, radial_hidden), torch.nn.SiLU(),
                                          torch.nn.Linear(radial_hidden, self.product.weight_numel))

    def forward(self, x: Tensor, pos: Tensor, edge_index: Graph, shifts: Optional[Tensor] = None,
                cell: Optional[Tensor] = None) -> Tensor:
        """``x [N, irreps_in.dim]``, positions ``pos [N, 3]``, the graph (``edge_index`` / ``SparseIndex`` /
        ``Data``); with a periodic ``cell`` the per-edge image ``shifts [E, 3]`` of
        :func:`~geomlearn.equivariant.radius_graph`."""
        check_features(x, self.irreps_in, "x")
        if not isinstance(pos, Tensor) or pos.shape != (x.shape[0], 3) or not torch.isfinite(pos).all():
            shape = list(pos.shape) if isinstance(pos, Tensor) else type(pos).__name__
            raise ValueError(f"pos: expected finite positions [{x.shape[0]}, 3], got {shape}")
        index, _ = as_sparse_index(edge_index, x.shape[0])
        vectors = gather_sum(index, pos, -pos)                                         # p_i - p_j
        if (shifts is None) != (cell is None):
            raise ValueError("shifts, cell: give both for a periodic graph, or neither")
        if shifts is not None:
            vectors = vectors - shifts.to(pos.dtype) @ cell.to(pos.dtype)
        weight = self.radial(self.basis(vectors.norm(dim=1)))
        if self.fused:
            harmonics = spherical_harmonics(list(range(self.lmax_sh + 1)), vectors, normalization="component")
            key = (x.device, x.dtype)
            if key not in self._placed:
                self._placed[key] = self._couplings.to(x.device, x.dtype)
            couplings = self._placed[key]
            weight = weight.view(-1, len(self.product.instructions), self.irreps_in[0].mul)
            out = coupling_spmm(index, couplings, to_channel_major(x, self.irreps_in), harmonics, weight)
            return from_channel_major(out, self.irreps_out) / math.sqrt(self.avg_num_neighbors)
        source = gather_sum(index, None, x)
        if self.product_name == "so2":
            messages = self.product(source, vectors, weight)
        else:
            harmonics = spherical_harmonics(list(range(self.lmax_sh + 1)), vectors, normalization="component")
            messages = self.product(source, harmonics, weight)
        return segment_reduce(messages, index, "sum") / math.sqrt(self.avg_num_neighbors)

    def extra_repr(self) -> str:
        return (f"{self.irreps_in} -> {self.irreps_out}, lmax_sh={self.lmax_sh}, product={self.product_name!r}, "
                f"fused={self.fused}")
