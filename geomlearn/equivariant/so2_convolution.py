r"""The SO(2) edge convolution of eSCN (Passaro & Zitnick, ICML 2023).

The message of an edge with direction :math:`\hat r` is the CG product of the source features with the
edge's harmonics, :math:`\mathrm{TP}(x, Y(\hat r); w)`. Rotating the edge onto e3nn's polar axis,
:math:`R \hat r = \hat y`, leaves only the :math:`m = 0` harmonics, :math:`Y_l(\hat y) = \sqrt{2l + 1}\, e_{m=0}`,
and the product becomes a linear map that commutes with rotations about :math:`\hat y`: block-diagonal over
:math:`|m|`, for each pair of degrees :math:`l_1 \to l_3` and each :math:`m`

.. math::
    \tilde z_{l_3, m} = a\, \tilde x_{l_1, m} - b\, \tilde x_{l_1, -m}, \qquad
    \tilde z_{l_3, -m} = b\, \tilde x_{l_1, m} + a\, \tilde x_{l_1, -m},

then :math:`z = D(R)^\top \tilde z` with :math:`\tilde x = D(R) x`, both applied without forming :math:`D(R)`
(:class:`~geomlearn.equivariant.edge_rotation.EdgeRotation`).
Reflections fix which of :math:`a, b` a pair may use: :math:`a` when :math:`p_1 p_3 (-1)^{l_1 + l_3} = 1`
(the even couplings, :math:`0 \le m \le \min(l_1, l_3)`), :math:`b` otherwise (the odd ones,
:math:`1 \le m`); pairs are those with :math:`|l_1 - l_3| \le` ``lmax_sh``. The cost is :math:`O(L^3)` per
channel instead of the CG product's :math:`O(L^6)`. Channels are kept (mode ``uvu``): all irreps of input
and output have the same multiplicity :math:`C`, and each weight is per edge, pair, :math:`m` and channel.
With ``lmax_sh >= l_1 + l_3`` the maps span exactly what the CG product with the harmonics up to
``lmax_sh`` can express; :meth:`SO2Convolution.weights_from_cg` converts its weights.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..argument_checks import check_int
from .cg_tensor_product import CGTensorProduct
from .edge_rotation import EdgeRotation
from .irreps import as_irreps, channels_of, check_features, from_channel_major, to_channel_major


class SO2Convolution(torch.nn.Module):
    r"""Messages ``[E, irreps_out.dim]`` from source features ``x [E, irreps_in.dim]``, edge vectors ``[E, 3]`` and
    per-edge weights ``[E, weight_numel]`` (e.g. from a radial network).

    Args:
        irreps_in, irreps_out: e3nn irreps, every irrep with the same multiplicity ``C``.
        lmax_sh: the largest degree of edge harmonics the convolution stands for (pairs with
            :math:`|l_1 - l_3| \le` ``lmax_sh``).
    """

    def __init__(self, irreps_in, irreps_out, lmax_sh: int):
        super().__init__()
        self.irreps_in, self.irreps_out = as_irreps(irreps_in, "irreps_in"), as_irreps(irreps_out, "irreps_out")
        if channels_of(self.irreps_in, "irreps_in") != channels_of(self.irreps_out, "irreps_out"):
            raise ValueError(f"irreps_out: SO2Convolution keeps the channels, so every irrep of irreps_in and "
                             f"irreps_out needs the same multiplicity; got {self.irreps_in} and {self.irreps_out}")
        check_int("lmax_sh", lmax_sh, 0, what="a degree")
        self.channels, self.lmax_sh = self.irreps_in[0].mul, lmax_sh
        offsets_in = [sum(ir.dim for _, ir in self.irreps_in[:k]) for k in range(len(self.irreps_in))]
        offsets_out = [sum(ir.dim for _, ir in self.irreps_out[:k]) for k in range(len(self.irreps_out))]
        # One entry per (pair, m, sign term): out[out_pos] += sign * w[column] * x[in_pos].
        self.pairs, entries, column = [], [], 0
        for i1, (_, ir1) in enumerate(self.irreps_in):
            for i3, (_, ir3) in enumerate(self.irreps_out):
                if abs(ir1.l - ir3.l) > lmax_sh:
                    continue
                even = ir1.p * ir3.p * (-1) ** (ir1.l + ir3.l) == 1
                orders = range(0 if even else 1, min(ir1.l, ir3.l) + 1)
                if not len(orders):
                    continue
                self.pairs.append((i1, i3, even, column))
                c1, c3 = offsets_in[i1] + ir1.l, offsets_out[i3] + ir3.l            # positions of m = 0
                for m in orders:
                    if even:
                        entries += [(c3 + m, c1 + m, column, 1.0)] + ([(c3 - m, c1 - m, column, 1.0)] if m else [])
                    else:
                        entries += [(c3 + m, c1 - m, column, -1.0), (c3 - m, c1 + m, column, 1.0)]
                    column += 1
        reached = {i3 for _, i3, _, _ in self.pairs}
        missing = [str(self.irreps_out[k]) for k in range(len(self.irreps_out)) if k not in reached]
        if missing:
            raise ValueError(f"irreps_out: {', '.join(missing)} not reached from {self.irreps_in} with "
                             f"lmax_sh={lmax_sh}")
        self.num_orders = column
        self.weight_numel = column * self.channels
        out_pos, in_pos, columns, signs = zip(*entries)
        self.register_buffer("_out_pos", torch.tensor(out_pos), persistent=False)
        self.register_buffer("_in_pos", torch.tensor(in_pos), persistent=False)
        self.register_buffer("_columns", torch.tensor(columns), persistent=False)
        self.register_buffer("_signs", torch.tensor(signs, dtype=torch.float64), persistent=False)

    def forward(self, x: Tensor, vectors: Tensor, weight: Tensor) -> Tensor:
        check_features(x, self.irreps_in, "x")
        edges = x.shape[0]
        if not isinstance(vectors, Tensor) or vectors.shape != (edges, 3):
            raise ValueError(f"vectors: expected edge vectors [{edges}, 3], got "
                             f"{list(vectors.shape) if isinstance(vectors, Tensor) else type(vectors).__name__}")
        if not isinstance(weight, Tensor) or weight.shape != (edges, self.weight_numel):
            raise ValueError(f"weight: expected [{edges}, {self.weight_numel}], got "
                             f"{list(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__}")
        directed = torch.isfinite(vectors).all(dim=1) & (vectors.norm(dim=1) > 0)
        if not bool(directed.all()):
            e = int((~directed).nonzero()[0])
            raise ValueError(f"vectors: edge {e} is {vectors[e].tolist()}; the SO(2) convolution turns each edge onto "
                             f"the polar axis and needs a finite non-zero vector (a self loop or coincident atoms "
                             f"have none): remove such edges (torch_geometric.utils.remove_self_loops), or use the "
                             f"'cg' product, whose harmonics are defined at zero length")
        rotated = EdgeRotation(self.irreps_in, vectors).to_edge(to_channel_major(x, self.irreps_in))     # [E, C, n]
        w = weight.view(edges, self.num_orders, self.channels).index_select(1, self._columns).transpose(1, 2)
        inputs = torch.gather(rotated, 2, self._in_pos.expand(edges, self.channels, -1))    # [E, C, entries]
        terms = inputs * w * self._signs.to(x.dtype)
        size = sum(ir.dim for _, ir in self.irreps_out)
        local = x.new_zeros(edges, self.channels, size).index_add_(2, self._out_pos, terms)
        return from_channel_major(EdgeRotation(self.irreps_out, vectors).from_edge(local), self.irreps_out)

    def weights_from_cg(self, product: CGTensorProduct, weight: Tensor) -> Tensor:
        r"""The SO(2) weights ``[E, weight_numel]`` of the CG edge convolution
        ``product(x, spherical_harmonics(range(lmax_sh + 1), r), weight)`` (mode ``uvu``, per-edge ``weight``,
        ``irreps_in2`` the harmonics ``0e + 1o + ... + lmax_sh``), for the same ``irreps_in`` / ``irreps_out``.

        In the edge frame the product is :math:`\tilde z_{l_3 m_3} = \sum_{l_2} \alpha\, w\, C_{m_1, 0, m_3}
        \sqrt{2 l_2 + 1}\, \tilde x_{l_1 m_1}`; :math:`a` and :math:`b` are its entries at
        :math:`(m_1, m_3) = (m, m)` and :math:`(m, -m)`."""
        if product.irreps_in1 != self.irreps_in or product.irreps_out != self.irreps_out or product.mode != "uvu":
            raise ValueError(f"product: expected a 'uvu' CGTensorProduct {self.irreps_in} x harmonics -> "
                             f"{self.irreps_out}, got {product}")
        blocks = product.split_weights(weight)                                        # [E, C, 1] per path
        out = weight.new_zeros(weight.shape[0], self.num_orders, self.channels)
        for i1, i3, even, column in self.pairs:
            l1, l3 = self.irreps_in[i1].ir.l, self.irreps_out[i3].ir.l
            for n, path in enumerate(product.instructions):
                if (path.i_in1, path.i_out) != (i1, i3):
                    continue
                l2 = product.irreps_in2[path.i_in2].ir.l
                c = product._coupling(n, weight) * (2 * l2 + 1) ** 0.5                  # [2l1+1, 2l2+1, 2l3+1]
                for k, m in enumerate(range(0 if even else 1, min(l1, l3) + 1)):
                    value = c[l1 + m, l2, l3 + m] if even else c[l1 + m, l2, l3 - m]   # a, or b (x_m -> z_{-m})
                    out[:, column + k] += blocks[n][..., 0] * value
        return out.reshape(weight.shape[0], -1)
