r"""An interaction network over :class:`EquivariantConv`, with any of the tensor products.

Atoms carry ``C`` copies of every degree up to ``lmax`` (``C x (0e + 1o + ... + lmax)``, the layout all four
products accept), starting from a learned embedding of the element in the scalars. Each layer is a residual
update (NequIP-like)

.. math::
    m_i = \mathrm{Conv}(x)_i, \qquad x_i \leftarrow x_i + W\big(\sigma(m_i^{(0)}) \oplus
    \operatorname{sigmoid}(g_i) \odot m_i^{(l > 0)}\big),

with SiLU on the scalar channels, every higher-degree channel gated by a sigmoid of a linear map of the
scalars (equivariant: the gate is invariant), and :math:`W` e3nn's equivariant ``Linear``. An MLP of the
final scalars gives per-atom energies (:class:`~geomlearn.equivariant.EnergyModel`).
"""

from __future__ import annotations

from typing import Optional

import torch
from e3nn import o3
from torch import Tensor

from ..argument_checks import check_int
from .energy_model import EnergyModel
from .equivariant_conv import EquivariantConv


class InteractionNetwork(EnergyModel):
    """Energy model of ``num_layers`` equivariant convolutions with product ``product``.

    Args:
        channels: copies :math:`C` of each degree.
        lmax: largest degree of the atom features.
        lmax_sh: largest degree of the edge harmonics.
        num_layers: convolutions.
        product: ``"cg"``, ``"gaunt"``, ``"grid"`` or ``"so2"`` (:class:`EquivariantConv`).
        cutoff, num_basis: the radius graph and the radial basis.
        avg_num_neighbors: normalisation of the neighbour sums (QM9 at 5 Å: about 18).
        max_z, atomref: as :class:`~geomlearn.equivariant.EnergyModel`.
    """

    def __init__(self, channels: int = 32, lmax: int = 2, lmax_sh: int = 2, num_layers: int = 3, product: str = "cg",
                 cutoff: float = 5.0, num_basis: int = 8, avg_num_neighbors: float = 18.0, max_z: int = 10,
                 atomref: Optional[Tensor] = None):
        super().__init__(max_z, atomref)
        for name, value in (("channels", channels), ("lmax", lmax), ("num_layers", num_layers)):
            check_int(name, value, 0 if name == "lmax" else 1)
        self.irreps = o3.Irreps(" + ".join(f"{channels}x{l}{'e' if l % 2 == 0 else 'o'}" for l in range(lmax + 1)))
        self.channels, self.lmax, self.cutoff = channels, lmax, float(cutoff)
        self.species = torch.nn.Embedding(max_z + 1, channels)
        self.convolutions = torch.nn.ModuleList(
            EquivariantConv(self.irreps, self.irreps, lmax_sh, product, num_basis=num_basis, cutoff=cutoff,
                            avg_num_neighbors=avg_num_neighbors) for _ in range(num_layers))
        self.gates = torch.nn.ModuleList(torch.nn.Linear(channels, channels * lmax) for _ in range(num_layers))
        self.mixes = torch.nn.ModuleList(o3.Linear(self.irreps, self.irreps) for _ in range(num_layers))
        self.readout = torch.nn.Sequential(torch.nn.Linear(channels, channels), torch.nn.SiLU(),
                                           torch.nn.Linear(channels, 1))

    def _gate(self, layer: int, m: Tensor) -> Tensor:
        scalars = m[:, : self.channels]
        gates = torch.sigmoid(self.gates[layer](scalars)).view(-1, self.lmax, self.channels, 1)
        pieces, start = [torch.nn.functional.silu(scalars)], self.channels
        for l in range(1, self.lmax + 1):
            width = self.channels * (2 * l + 1)
            block = m[:, start:start + width].view(-1, self.channels, 2 * l + 1)
            pieces.append((gates[:, l - 1] * block).reshape(m.shape[0], width))
            start += width
        return torch.cat(pieces, dim=1)

    def atomic_energies(self, z: Tensor, pos: Tensor, batch: Optional[Tensor]) -> Tensor:
        index = self.neighbours(pos, batch, self.cutoff)
        x = torch.cat([self.species(z), pos.new_zeros(z.shape[0], self.irreps.dim - self.channels)], dim=1)
        for layer, conv in enumerate(self.convolutions):
            x = x + self.mixes[layer](self._gate(layer, conv(x, pos, index)))
        return self.readout(x[:, : self.channels]).squeeze(-1)
