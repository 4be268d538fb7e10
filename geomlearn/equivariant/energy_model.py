r"""The contract of the molecular energy models: per-atom energies in, molecular energies and forces out.

A model maps atomic numbers ``z [N]``, positions ``pos [N, 3]`` and molecule ids ``batch [N]`` to per-atom
energies :math:`\varepsilon_i`; the molecule's energy is :math:`E = \sum_{i} (\varepsilon_i + e_{z_i})` with
optional per-element reference energies :math:`e_z` (QM9's atom references), pooled by a segment sum on
:mod:`geomlearn.sparse`, and the forces are :math:`F = -\partial E / \partial p` through autograd, so they
are exactly conservative.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ..argument_checks import check_int
from ..sparse import SparseIndex, segment_reduce
from .radius_graph import radius_graph


class EnergyModel(torch.nn.Module):
    """Base class: subclasses implement :meth:`atomic_energies`; ``forward`` pools them per molecule."""

    def __init__(self, max_z: int, atomref: Optional[Tensor] = None):
        super().__init__()
        check_int("max_z", max_z)
        if atomref is not None and (not isinstance(atomref, Tensor) or atomref.shape != (max_z + 1,)):
            raise ValueError(f"atomref: expected [{max_z + 1}] energies per element, got "
                             f"{list(atomref.shape) if isinstance(atomref, Tensor) else type(atomref).__name__}")
        self.max_z = max_z
        self.register_buffer("atomref", atomref.clone().float() if atomref is not None else None)

    def check_inputs(self, z: Tensor, pos: Tensor) -> None:
        if not isinstance(z, Tensor) or z.dim() != 1 or z.is_floating_point() or \
                (z.numel() and (z.min() < 0 or z.max() > self.max_z)):
            raise ValueError(f"z: expected atomic numbers [N] in 0..{self.max_z}, got "
                             f"{z if not isinstance(z, Tensor) or z.numel() > 8 else z.tolist()}")
        if not isinstance(pos, Tensor) or pos.shape != (z.shape[0], 3) or not torch.isfinite(pos).all():
            shape = list(pos.shape) if isinstance(pos, Tensor) else type(pos).__name__
            raise ValueError(f"pos: expected finite positions [{z.shape[0]}, 3], got {shape}")

    def neighbours(self, pos: Tensor, batch: Optional[Tensor], cutoff: float) -> SparseIndex:
        """The radius graph of the atoms (:func:`~geomlearn.equivariant.radius_graph`, molecules kept apart) as a
        ``SparseIndex``; built from detached positions (the graph is piecewise constant in them)."""
        edge_index = radius_graph(pos.detach(), cutoff, batch, max_num_neighbors=None)
        return SparseIndex(edge_index, num_nodes=pos.shape[0])

    def atomic_energies(self, z: Tensor, pos: Tensor, batch: Optional[Tensor]) -> Tensor:
        """``[N]`` per-atom energies (without the references)."""
        raise NotImplementedError

    def forward(self, z: Tensor, pos: Tensor, batch: Optional[Tensor] = None) -> Tensor:
        """``[num_molecules]`` energies."""
        self.check_inputs(z, pos)
        energy = self.atomic_energies(z, pos, batch)
        if self.atomref is not None:
            energy = energy + self.atomref[z].to(energy.dtype)
        batch = torch.zeros_like(z) if batch is None else batch.long()
        molecules = int(batch.max()) + 1 if batch.numel() else 0
        atoms = torch.arange(z.shape[0], device=z.device)
        pooling = SparseIndex(torch.stack([atoms, batch]), num_nodes=(z.shape[0], molecules))   # atom -> molecule
        return segment_reduce(energy.unsqueeze(-1), pooling, "sum").squeeze(-1)

    def energy_and_forces(self, z: Tensor, pos: Tensor, batch: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        """``(energies [B], forces [N, 3] = -dE/dpos)``; differentiable (``create_graph``) in training mode."""
        pos = pos if pos.requires_grad else pos.detach().requires_grad_()
        energy = self(z, pos, batch)
        forces = -torch.autograd.grad(energy.sum(), pos, create_graph=self.training)[0]
        return energy, forces
