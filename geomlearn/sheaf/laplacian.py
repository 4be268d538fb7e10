r"""The sheaf Laplacian of a graph with given restriction maps, stored as blocks and applied by ``block_spmm``.

A cellular sheaf gives every node and every edge a stalk :math:`\mathbb R^d` and every incidence
:math:`v \trianglelefteq e` a restriction map :math:`F_{v \trianglelefteq e} \in \mathbb R^{d \times d}`.
Its Laplacian has the blocks

.. math::
    L_{vv} = \sum_{e \ni v} F_{v \trianglelefteq e}^\top F_{v \trianglelefteq e}, \qquad
    L_{vu} = -F_{v \trianglelefteq e}^\top F_{u \trianglelefteq e} \quad (e = \{u, v\}),

and its normalised form is :math:`\Delta = D^{-1/2} L D^{-1/2}` with :math:`D = \operatorname{blockdiag}(L_{vv})`.
The graph is given as a symmetric ``edge_index`` (both directions of every undirected edge): the directed
edge ``e = (u -> v)`` carries :math:`F_{u \trianglelefteq \{u, v\}}`, its reverse carries
:math:`F_{v \trianglelefteq \{u, v\}}`.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from ..sparse import SparseIndex, block_spmm, reverse_edges, segment_reduce


class SheafLaplacian(NamedTuple):
    """``L x = diagonal x + block_spmm(index, off_diagonal, x)`` for node features ``x [N, d, C]``.

    ``diagonal [N, d, d]`` holds :math:`L_{vv}` (the identity once normalised, where the degree is
    invertible) and ``off_diagonal [E, d, d]`` holds :math:`L_{vu}` for each edge ``u -> v``.
    """

    index: SparseIndex
    diagonal: Tensor
    off_diagonal: Tensor

    def __call__(self, x: Tensor) -> Tensor:
        if x.dim() != 3 or x.shape[1] != self.diagonal.shape[1]:
            raise ValueError(f"x: expected shape [N, {self.diagonal.shape[1]}, C], got {list(x.shape)}")
        return torch.matmul(self.diagonal, x) + block_spmm(self.index, self.off_diagonal, x)

    def dense(self) -> Tensor:
        """The ``[N d, N d]`` matrix (for tests and small graphs); duplicate blocks add up."""
        n, d = self.diagonal.shape[0], self.diagonal.shape[1]
        nodes = torch.arange(n, device=self.diagonal.device)
        blocks = torch.zeros(n, n, d, d, dtype=self.diagonal.dtype, device=self.diagonal.device)
        blocks = blocks.index_put((nodes, nodes), self.diagonal)
        blocks = blocks.index_put((self.index.dst.long(), self.index.src.long()), self.off_diagonal, accumulate=True)
        return blocks.permute(0, 2, 1, 3).reshape(n * d, n * d)


def _inverse_sqrt(blocks: Tensor, eps: float) -> Tensor:
    """:math:`(B + \\epsilon I)^{-1/2}` of symmetric PSD ``[N, d, d]`` blocks by ``eigh``; the eigenvalues are
    floored at ``eps`` so the backward pass stays finite on singular degrees."""
    eye = torch.eye(blocks.shape[-1], dtype=blocks.dtype, device=blocks.device)
    lam, vectors = torch.linalg.eigh(blocks + eps * eye)
    return vectors @ torch.diag_embed(lam.clamp(min=eps).rsqrt()) @ vectors.transpose(-1, -2)


def sheaf_laplacian(index: SparseIndex, maps: Tensor, normalise: bool = True, eps: float = 1e-6) -> SheafLaplacian:
    r"""The (normalised) sheaf Laplacian of the restriction maps ``maps [E, d, d]``.

    ``maps[e]`` is :math:`F_{u \trianglelefteq \{u, v\}}` for the edge ``e = (u -> v)``; the reverse edge is
    found by sorting (:func:`~geomlearn.sparse.reverse_edges`). Normalised blocks are
    :math:`D_v^{-1/2} L_{vu} D_u^{-1/2}` with the block inverse square roots from ``eigh`` of
    :math:`D_v + \epsilon I`. Differentiable in ``maps``.

    Raises:
        ValueError: ``maps`` is not ``[E, d, d]`` with ``d >= 1``, or the graph is not symmetric.
    """
    if not isinstance(maps, Tensor) or maps.dim() != 3 or maps.shape[0] != index.num_edges \
            or maps.shape[1] != maps.shape[2] or maps.shape[1] < 1:
        shape = list(maps.shape) if isinstance(maps, Tensor) else type(maps).__name__
        raise ValueError(f"maps: expected a tensor [E, d, d] with E = {index.num_edges} and d >= 1, got {shape}")
    rev = reverse_edges(index)
    d = maps.shape[1]
    # Edge u -> v: block L_vu = -F_{v<e}^T F_{u<e}, with F_{v<e} carried by the reverse edge.
    off = -maps[rev].transpose(-1, -2) @ maps
    gram = (maps.transpose(-1, -2) @ maps).reshape(index.num_edges, d * d)
    diagonal = segment_reduce(gram, index.t(), "sum").reshape(-1, d, d)     # sum over edges out of v
    if not normalise:
        return SheafLaplacian(index, diagonal, off)
    inv_sqrt = _inverse_sqrt(diagonal, eps)
    off = inv_sqrt[index.dst.long()] @ off @ inv_sqrt[index.src.long()]
    return SheafLaplacian(index, inv_sqrt @ diagonal @ inv_sqrt, off)
