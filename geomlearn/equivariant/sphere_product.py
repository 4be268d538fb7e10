r"""Products of irreps features read as functions on the sphere: the base of the Gaunt and grid products.

Channel ``c`` of a feature with degrees :math:`0..L` is the function :math:`f_c(r) = \sum_{lm} x_{c,lm}
Y_l^m(r)` (e3nn's component-normalised harmonics). The product of two such functions, projected back
onto the harmonics up to :math:`L_{out}`,

.. math::
    z_{c, l_3 m_3} = \frac{1}{4\pi} \int_{S^2} f_{1,c}\, f_{2,c}\, Y_{l_3}^{m_3} \, d\Omega
    = \sum G^{l_3 m_3}_{l_1 m_1, l_2 m_2}\, x_{1, c, l_1 m_1}\, x_{2, c, l_2 m_2},

has the Gaunt coefficients :math:`G = \frac{1}{4\pi}\int Y Y Y` as its coupling: non-zero only for
:math:`l_1 + l_2 + l_3` even, so these products drop the odd couplings (the cross product
``1o x 1o -> 1e``) that :class:`~geomlearn.equivariant.CGTensorProduct` has. Features must hold the same
``C`` copies of each degree (``C x (0 + 1 + ... + L)``) with the parity of a function on the sphere,
:math:`(-1)^l`, times one sign per input (``"0e + 1o + 2e"`` or ``"0o + 1e + 2o"``); ``x2`` may have one
copy, shared by all channels (the harmonics of an edge). Weights rescale each channel and degree of both
inputs and of the output (Luo et al.'s weighted Gaunt product),
:math:`z = w_{out} \odot \mathrm{G}(w_1 \odot x_1, w_2 \odot x_2)`: ``C (L_1 + 1) + C_2 (L_2 + 1) + C (L_{out} + 1)``
weights.
"""

from __future__ import annotations

from typing import Optional

import torch
from e3nn.o3 import Irreps
from torch import Tensor

from .irreps import as_irreps
from .tensor_product import TensorProductBase, coupling_paths


def sphere_layout(irreps: Irreps, name: str) -> tuple[int, list[int], int]:
    """``(copies C, degrees, extra parity)`` of ``C x (l_1 + l_2 + ...)`` with parities :math:`p (-1)^l`.

    Raises:
        ValueError: mixed multiplicities, a repeated degree, or parities that are not :math:`p (-1)^l`.
    """
    muls = {mul for mul, _ in irreps}
    degrees = [ir.l for _, ir in irreps]
    signs = {ir.p * (-1) ** ir.l for _, ir in irreps}
    if len(muls) != 1 or len(set(degrees)) != len(degrees) or len(signs) != 1:
        raise ValueError(f"{name}: a product on the sphere needs the same number of copies of each degree, each "
                         f"degree once, parities p (-1)^l (e.g. '8x0e + 8x1o + 8x2e'), got {irreps}")
    return muls.pop(), degrees, signs.pop()


class SphereProduct(TensorProductBase):
    """Base of :class:`~geomlearn.equivariant.GauntTensorProduct` and :class:`~geomlearn.equivariant.GridTensorProduct`: layouts, weights, the check of
    ``irreps_out``; subclasses implement :meth:`multiply` on ``[Z, C, n]`` coefficients."""

    def __init__(self, irreps_in1, irreps_in2, irreps_out, shared_weights: bool = True,
                 internal_weights: Optional[bool] = None):
        layouts = [sphere_layout(as_irreps(irreps, name), name) for irreps, name in
                   ((irreps_in1, "irreps_in1"), (irreps_in2, "irreps_in2"), (irreps_out, "irreps_out"))]
        (self.channels, self.degrees1, sign1), (channels2, self.degrees2, sign2), \
            (channels_out, self.degrees_out, sign_out) = layouts
        if channels2 not in (1, self.channels) or channels_out != self.channels or sign_out != sign1 * sign2:
            raise ValueError(f"irreps_out: the product of {irreps_in1} and {irreps_in2} has "
                             f"{self.channels} copies with parities {sign1 * sign2:+d} (-1)^l, got {irreps_out}")
        super().__init__(irreps_in1, irreps_in2, irreps_out, shared_weights, internal_weights)
        coupling_paths(self.irreps_in1, self.irreps_in2, self.irreps_out, "uvu",     # every output degree reached
                       allowed=lambda l1, l2, l3: (l1 + l2 + l3) % 2 == 0)
        self.channels2 = channels2
        self.lmax1, self.lmax2, self.lmax_out = max(self.degrees1), max(self.degrees2), max(self.degrees_out)
        self.set_weight_shapes([(self.channels, len(self.degrees1)), (channels2, len(self.degrees2)),
                                (self.channels, len(self.degrees_out))])
        for name, degrees in (("1", self.degrees1), ("2", self.degrees2), ("out", self.degrees_out)):
            # Position of each (l, m) of the compact layout (present degrees only) in [(L + 1)^2], and the
            # weight column of its degree.
            positions = torch.cat([torch.arange(l * l, (l + 1) ** 2) for l in degrees])
            columns = torch.cat([torch.full((2 * l + 1,), k) for k, l in enumerate(degrees)])
            self.register_buffer(f"_positions_{name}", positions, persistent=False)
            self.register_buffer(f"_columns_{name}", columns, persistent=False)

    @staticmethod
    def _compact(x: Tensor, degrees: list[int], channels: int) -> Tensor:
        """e3nn layout ``[Z, C * sum(2l + 1)]`` -> ``[Z, C, sum(2l + 1)]`` (a view when ``C = 1``)."""
        if channels == 1:
            return x.unsqueeze(1)
        blocks, start = [], 0
        for l in degrees:
            blocks.append(x[:, start:start + channels * (2 * l + 1)].reshape(-1, channels, 2 * l + 1))
            start += channels * (2 * l + 1)
        return torch.cat(blocks, dim=2)

    def _expand(self, z: Tensor) -> Tensor:
        """``[Z, C, sum(2l + 1)]`` (output degrees) -> e3nn layout ``[Z, irreps_out.dim]``."""
        if self.channels == 1:
            return z.squeeze(1)
        pieces, start = [], 0
        for l in self.degrees_out:
            pieces.append(z[:, :, start:start + 2 * l + 1].reshape(z.shape[0], -1))
            start += 2 * l + 1
        return torch.cat(pieces, dim=1)

    def product(self, x1: Tensor, x2: Tensor, weight: Tensor) -> Tensor:
        w1, w2, w_out = self.split_weights(weight)
        a = self._compact(x1, self.degrees1, self.channels) * w1[..., self._columns_1]
        b = self._compact(x2, self.degrees2, self.channels2) * w2[..., self._columns_2]
        return self._expand(self.multiply(a, b) * w_out[..., self._columns_out])

    def multiply(self, a: Tensor, b: Tensor) -> Tensor:
        """``[Z, C, n_out]``: the projected product of ``a [Z, C, n_1]`` and ``b [Z, C | 1, n_2]``, each in the
        compact layout (the ``2l + 1`` coefficients of each present degree, in order)."""
        raise NotImplementedError
