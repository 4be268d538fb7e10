r"""The Clebsch-Gordan tensor product: every coupling :math:`l_1 \otimes l_2 \to l_3`, e3nn's values.

For each path :math:`(l_1, l_2 \to l_3)` between input irreps ``u`` (of ``x1``), ``v`` (of ``x2``) and output
irreps ``w``,

.. math::
    z_{w k} \mathrel{+}= \alpha_{\text{path}} \sum_{u v} W_{u v w}
        \sum_{i j} C^{l_1 l_2 l_3}_{i j k}\, x_{1, u i}\, x_{2, v j}
    \qquad (\text{mode } uvu: \; z_{u k} \mathrel{+}= \alpha
        \textstyle\sum_v W_{u v} \sum_{ij} C_{ijk} x_{1,ui} x_{2,vj}),

with :math:`C` e3nn's real Wigner 3j symbols (unit Frobenius norm) and e3nn's default normalisation
(``irrep_normalization="component"``, ``path_normalization="element"``):
:math:`\alpha^2 = (2 l_3 + 1) / \sum_{\text{paths into } w} (\text{number of summed copies})`. It equals
``e3nn.o3.TensorProduct`` with the same instructions and weights (``FullyConnectedTensorProduct`` in mode
``uvw``), and computes every parity-allowed coupling, the odd ones (:math:`l_1 + l_2 + l_3` odd, e.g. the
cross product ``1o x 1o -> 1e``) included.

With shared weights the paths are assembled into one coupling tensor :math:`M \in \mathbb R^{d_1 \times d_2
\times d_{out}}` per call (cheap: its size does not grow with the batch) and the batch is contracted with it
by one matrix product, in the order with the smallest intermediate. With per-sample weights each path is
one ``einsum``.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from e3nn.o3 import wigner_3j
from torch import Tensor

from ..sparse import Couplings
from .irreps import channels_of
from .tensor_product import TensorProduct


class CGTensorProduct(TensorProduct):
    """Clebsch-Gordan tensor product; arguments as :class:`~geomlearn.equivariant.TensorProduct`."""

    def __init__(self, irreps_in1, irreps_in2, irreps_out, mode: str = "uvw", shared_weights: bool = True,
                 internal_weights: Optional[bool] = None):
        super().__init__(irreps_in1, irreps_in2, irreps_out, mode, shared_weights, internal_weights)
        summed = {}                                  # copies summed into each output irrep, over its paths
        for p in self.paths:
            copies = p.shape[0] * p.shape[1] if mode == "uvw" else p.shape[1]
            summed[p.i_out] = summed.get(p.i_out, 0) + copies
        # An output reached only through zero-multiplicity irreps sums no copies: its coefficient stays undivided
        # (its paths are empty), as in e3nn.
        self.path_coefficients = [math.sqrt(self.irreps_out[p.i_out].ir.dim / (summed[p.i_out] or 1))
                                  for p in self.paths]
        for n, p in enumerate(self.paths):
            l1, l2, l3 = self.irreps_in1[p.i_in1].ir.l, self.irreps_in2[p.i_in2].ir.l, self.irreps_out[p.i_out].ir.l
            self.register_buffer(f"_w3j_{n}", wigner_3j(l1, l2, l3, dtype=torch.float64), persistent=False)
        self._offsets = [irreps.slices() for irreps in (self.irreps_in1, self.irreps_in2, self.irreps_out)]

    def _coupling(self, n: int, like: Tensor) -> Tensor:
        return getattr(self, f"_w3j_{n}").to(like.dtype) * self.path_coefficients[n]

    def coupling_tensor(self, weight: Tensor) -> Tensor:
        """:math:`M` ``[dim1, dim2, dim_out]`` with :math:`z_c = \\sum_{ab} M_{abc} x_{1a} x_{2b}` for shared
        ``weight [weight_numel]``."""
        dims = (self.irreps_in1.dim, self.irreps_in2.dim, self.irreps_out.dim)
        blocks = torch.zeros(dims, dtype=weight.dtype, device=weight.device)
        for n, (path, w) in enumerate(zip(self.paths, self.split_weights(weight))):
            c = self._coupling(n, weight)
            if self.mode == "uvw":
                block = torch.einsum("uvw,ijk->uivjwk", w, c)
            else:
                eye = torch.eye(path.shape[0], dtype=weight.dtype, device=weight.device)
                block = torch.einsum("uv,ijk,ux->uivjxk", w, c, eye)
            s1, s2, s3 = (self._offsets[0][path.i_in1], self._offsets[1][path.i_in2], self._offsets[2][path.i_out])
            blocks[s1, s2, s3] = block.reshape(s1.stop - s1.start, s2.stop - s2.start, s3.stop - s3.start)
        return blocks

    def couplings(self) -> Couplings:
        r"""The product as a :class:`geomlearn.sparse.Couplings` table, for the fused edge convolution
        :func:`geomlearn.sparse.coupling_spmm`: one entry per non-zero :math:`\alpha\, C^{l_1 l_2 l_3}_{ijk}` of
        every path, from position ``i`` of ``x1``'s irrep to position ``k`` of the output's in the channel-major
        layout (``geomlearn.equivariant.irreps.to_channel_major``), reading position ``j`` of ``x2`` and the
        path's weight. Then ``product(x1, x2, weight)`` per edge equals the table applied to
        ``x1 [C, n1]``, ``x2 [n2]`` and ``weight.view(num_paths, C)``.

        Raises:
            ValueError: unless the mode is ``"uvu"``, every irrep of ``irreps_in1`` and ``irreps_out`` has
                one multiplicity ``C`` and every irrep of ``irreps_in2`` multiplicity 1 (the edge harmonics).
        """
        if self.mode != "uvu" or any(mul != 1 for mul, _ in self.irreps_in2):
            raise ValueError(f"couplings: expected mode 'uvu' with irreps_in2 of multiplicity 1 (the edge harmonics), "
                             f"got mode {self.mode!r} and irreps_in2 {self.irreps_in2}")
        if channels_of(self.irreps_in1, "irreps_in1") != channels_of(self.irreps_out, "irreps_out"):
            raise ValueError(f"irreps_out: expected the multiplicity of irreps_in1 ({self.irreps_in1}), got "
                             f"{self.irreps_out}")
        starts = [_channel_major_starts(irreps) for irreps in (self.irreps_in1, self.irreps_in2, self.irreps_out)]
        columns, values = [[], [], [], []], []
        for n, path in enumerate(self.paths):
            c = self._coupling(n, torch.empty(0, dtype=torch.float64))
            i, j, k = (c.abs() > 1e-12).nonzero().unbind(1)
            for column, positions in zip(columns, (i + starts[0][path.i_in1], j + starts[1][path.i_in2],
                                                   torch.full_like(i, n), k + starts[2][path.i_out])):
                column.append(positions)
            values.append(c[i, j, k])
        sizes = (starts[0][-1], starts[1][-1], len(self.paths), starts[2][-1])
        return Couplings(*(torch.cat(column) for column in columns), torch.cat(values), sizes)

    def product(self, x1: Tensor, x2: Tensor, weight: Tensor) -> Tensor:
        if self.shared_weights:
            return _contract(x1, x2, self.coupling_tensor(weight.to(x1.dtype)))
        out = x1.new_zeros(x1.shape[0], self.irreps_out.dim)
        for n, (path, w) in enumerate(zip(self.paths, self.split_weights(weight))):
            (m1, ir1), (m2, ir2), (m3, ir3) = (self.irreps_in1[path.i_in1], self.irreps_in2[path.i_in2],
                                               self.irreps_out[path.i_out])
            a = x1[:, self._offsets[0][path.i_in1]].reshape(x1.shape[0], m1, ir1.dim)
            b = x2[:, self._offsets[1][path.i_in2]].reshape(x2.shape[0], m2, ir2.dim)
            pair = torch.einsum("zvj,ijk->zvik", b, self._coupling(n, x1))           # [Z, m2, d1, d3]
            pair = torch.einsum("zui,zvik->zuvk", a, pair)                            # [Z, m1, m2, d3]
            equation = "zuvw,zuvk->zwk" if self.mode == "uvw" else "zuv,zuvk->zuk"
            out[:, self._offsets[2][path.i_out]] += torch.einsum(equation, w, pair).reshape(x1.shape[0], -1)
        return out


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
