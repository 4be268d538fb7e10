r"""Sheaf diffusion on a sheaf fixed before training: Connection NSD (Barbero et al., 2022) and the
identity sheaf (:math:`\Delta = \Delta_{\text{graph}} \otimes I_d`, the baseline that isolates what a
non-trivial sheaf adds)."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ..sparse import SparseIndex
from .connection import connection_maps
from .diffusion import SheafDiffusion
from .laplacian import SheafLaplacian, sheaf_laplacian


class FixedSheafDiffusion(SheafDiffusion):
    r"""Sheaf diffusion on the sheaf :meth:`sheaf_maps` computes from the input features and the graph.

    The Laplacian (augmented normalisation, :math:`\epsilon = 1`) is computed at the first call and kept in
    ``sheaf`` (like torch_geometric's ``cached=True``): call :meth:`reset_sheaf` before running on
    another graph or other features, or assign another model's ``sheaf`` to share one (e.g. across the
    data splits of one graph). Arguments as :class:`~geomlearn.sheaf.SheafDiffusion`.
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, d: int = 2, num_layers: int = 2,
                 **options):
        super().__init__(in_channels, hidden_channels, out_channels, d, num_layers, **options)
        self.sheaf: Optional[SheafLaplacian] = None

    def sheaf_maps(self, x: Tensor, index: SparseIndex) -> tuple[Tensor, bool]:
        """``(maps, orthogonal)``: the ``d``-dimensional restriction maps and whether their columns are orthogonal."""
        raise NotImplementedError

    def reset_sheaf(self) -> None:
        """Forget the cached Laplacian."""
        self.sheaf = None

    def laplacian(self, layer: int, x: Tensor, h: Tensor, index: SparseIndex,
                  previous: Optional[SheafLaplacian]) -> SheafLaplacian:
        if self.sheaf is not None and (self.sheaf.index.shape, self.sheaf.index.num_edges) != \
                (index.shape, index.num_edges):
            raise ValueError(f"edge_index: the cached sheaf was computed on a graph of shape "
                             f"{self.sheaf.index.shape} with {self.sheaf.index.num_edges} edges, got "
                             f"{index.shape} with {index.num_edges}; call reset_sheaf() to compute a new one")
        if self.sheaf is None:
            maps, orthogonal = self.sheaf_maps(x, index)
            self.sheaf = sheaf_laplacian(index, maps, eps=1.0, orthogonal=orthogonal)
        return self.sheaf


class ConnectionNSD(FixedSheafDiffusion):
    """Sheaf diffusion on the connection sheaf of the input features (:func:`~geomlearn.sheaf.connection_maps`:
    local PCA frames of dimension ``d``, Procrustes-aligned along every edge); no sheaf parameters are learned."""

    def sheaf_maps(self, x: Tensor, index: SparseIndex) -> tuple[Tensor, bool]:
        dense = x.detach() if x.layout == torch.strided else x.detach().to_dense()
        return connection_maps(dense, index, self.d), True


class IdentitySheafDiffusion(FixedSheafDiffusion):
    """Sheaf diffusion on the identity sheaf: ``d`` copies of the graph Laplacian (the trivial-sheaf baseline)."""

    def sheaf_maps(self, x: Tensor, index: SparseIndex) -> tuple[Tensor, bool]:
        return torch.ones(index.num_edges, self.d, dtype=x.dtype, device=x.device), False
