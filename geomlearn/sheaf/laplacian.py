r"""The sheaf Laplacian of a graph with given restriction maps, stored as blocks and applied by the backend.

A cellular sheaf gives every node and every edge a stalk :math:`\mathbb R^d` and every incidence
:math:`v \trianglelefteq e` a restriction map :math:`F_{v \trianglelefteq e} \in \mathbb R^{d \times d}`.
Its Laplacian has the blocks

.. math::
    L_{vv} = \sum_{e \ni v} F_{v \trianglelefteq e}^\top F_{v \trianglelefteq e}, \qquad
    L_{vu} = -F_{v \trianglelefteq e}^\top F_{u \trianglelefteq e} \quad (e = \{u, v\}),

and its normalised form is :math:`\Delta = (D + \epsilon I)^{-1/2} L (D + \epsilon I)^{-1/2}` with
:math:`D = \operatorname{blockdiag}(L_{vv})`: :math:`\epsilon \to 0` is the textbook
:math:`D^{-1/2} L D^{-1/2}`, :math:`\epsilon = 1` the "augmented" normalisation of Neural Sheaf Diffusion
(spectrum in [0, 2) and finite on isolated nodes). The graph is given as a symmetric ``edge_index`` (both
directions of every undirected edge): the directed edge ``e = (u -> v)`` carries
:math:`F_{u \trianglelefteq \{u, v\}}`, its reverse carries :math:`F_{v \trianglelefteq \{u, v\}}`.

Three kinds of maps, three storage formats, one operator:

* diagonal maps ``[E, d]``: every block is diagonal; :math:`L x` is a multi-head scalar SpMM (head = stalk
  coordinate) and the normalisation is elementwise;
* orthogonal maps ``[E, d, d]`` (``orthogonal=True``), optionally scaled by edge weights :math:`w_e`:
  :math:`F^\top F = w_e^2 I`, so :math:`D` is diagonal and comes from the weights alone, the normalisation
  is elementwise, the off-diagonal blocks are full and applied by ``block_spmm``;
* general maps ``[E, d, d]``: :math:`S_v = (D_v + \epsilon I)^{-1/2}` by ``eigh`` with a backward pass that is
  finite on repeated eigenvalues (:mod:`geomlearn.linalg`), applied on the nodes:
  :math:`\Delta x = S D S x + S \big(\sum_{u \to v} L_{vu} (S x)_u\big)`, so the edges carry the
  unnormalised blocks and no per-edge ``d x d`` products are formed.

No ``[nnz, C]`` intermediate is formed: the scalar COO matrix with :math:`2 E d^2 + N d` entries that a
scalar SpMM would need is never built.
"""

from __future__ import annotations

import math

from typing import NamedTuple, Optional

import torch
from torch import Tensor

from ..linalg import InverseSquareRoot, symmetric_matrix_function
from ..sparse import (SparseIndex, block_gram, block_spmm, gather_sum, reverse_block_product, reverse_edge_values,
                      segment_reduce, spmm)


class SheafLaplacian(NamedTuple):
    r"""``L x = diagonal x + S sum_{u -> v} off_diagonal[e] (S x)_u`` for node features ``x [N, d, C]``.

    ``diagonal`` holds :math:`L_{vv}` as ``[N, d, d]`` blocks, or ``[N, d]`` when they are diagonal;
    ``off_diagonal`` holds :math:`L_{vu}` for each edge ``u -> v`` as ``[E, d, d]`` blocks
    (``block_spmm``), or ``[E, d]`` when they are diagonal (multi-head ``spmm``). ``scale``, when given, is a
    node-wise normalisation :math:`S = \operatorname{blockdiag}(S_v)` (``[N, d, d]``) applied to the
    off-diagonal part on the nodes, before and after the edges: the operator's off-diagonal blocks are then
    :math:`S_v L_{vu} S_u`, formed by no pass over the edges (``None``: :math:`S = I`).
    """

    index: SparseIndex
    diagonal: Tensor
    off_diagonal: Tensor
    scale: Optional[Tensor] = None

    @property
    def stalk_dim(self) -> int:
        return self.diagonal.shape[1]

    def __call__(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[:2] != (self.diagonal.shape[0], self.stalk_dim):
            shape = list(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x: expected node features [{self.diagonal.shape[0]}, {self.stalk_dim}, C], got {shape}")
        own = self.diagonal.unsqueeze(-1) * x if self.diagonal.dim() == 2 else torch.matmul(self.diagonal, x)
        if self.off_diagonal.dim() == 2:
            return own + spmm(self.index, x, self.off_diagonal)
        if self.scale is None:
            return own + block_spmm(self.index, self.off_diagonal, x)
        return own + torch.matmul(self.scale, block_spmm(self.index, self.off_diagonal, torch.matmul(self.scale, x)))

    def dense(self) -> Tensor:
        """The ``[N d, N d]`` matrix (for tests and small graphs); duplicate blocks add up."""
        n, d = self.diagonal.shape[0], self.stalk_dim
        diagonal = torch.diag_embed(self.diagonal) if self.diagonal.dim() == 2 else self.diagonal
        off = torch.diag_embed(self.off_diagonal) if self.off_diagonal.dim() == 2 else self.off_diagonal
        dst, src = self.index.dst.long(), self.index.src.long()
        if self.scale is not None:
            off = self.scale[dst] @ off @ self.scale[src]
        nodes = torch.arange(n, device=diagonal.device)
        blocks = torch.zeros(n, n, d, d, dtype=diagonal.dtype, device=diagonal.device)
        blocks = blocks.index_put((nodes, nodes), diagonal)
        blocks = blocks.index_put((dst, src), off, accumulate=True)
        return blocks.permute(0, 2, 1, 3).reshape(n * d, n * d)


class DirectSumLaplacian(NamedTuple):
    r"""The Laplacian of a direct sum of sheaves :math:`\mathcal F_1 \oplus \mathcal F_2 \oplus \cdots` on one
    graph: block-diagonal over the stalk coordinates, ``parts[k]`` acting on its own consecutive slice of
    ``x [N, d_1 + d_2 + ..., C]``. Each part keeps its own storage (a learned ``[E, d, d]`` sheaf beside
    fixed diagonal channels costs :math:`d^2 + k` per edge, not :math:`(d + k)^2`)."""

    parts: tuple

    @property
    def stalk_dim(self) -> int:
        return sum(part.stalk_dim for part in self.parts)

    def __call__(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[1] != self.stalk_dim:
            shape = list(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x: expected node features [N, {self.stalk_dim}, C], got {shape}")
        pieces = x.split([part.stalk_dim for part in self.parts], dim=1)
        return torch.cat([part(piece) for part, piece in zip(self.parts, pieces)], dim=1)

    def dense(self) -> Tensor:
        """The ``[N D, N D]`` matrix, stalk coordinates of a node contiguous as in ``x``."""
        dense = [part.dense() for part in self.parts]
        n = self.parts[0].diagonal.shape[0]
        total = self.stalk_dim
        out = dense[0].new_zeros(n, total, n, total)
        start = 0
        for part, matrix in zip(self.parts, dense):
            d = part.stalk_dim
            out[:, start:start + d, :, start:start + d] = matrix.view(n, d, n, d)
            start += d
        return out.reshape(n * total, n * total)


def direct_sum(*parts: SheafLaplacian) -> SheafLaplacian | DirectSumLaplacian:
    r"""The Laplacian of :math:`\mathcal F_1 \oplus \mathcal F_2 \oplus \cdots`, stalk coordinates in the order given.

    When every part stores diagonal blocks on the same graph (diagonal maps, fixed low / high-pass
    coordinates), the sum is one :class:`SheafLaplacian` whose heads are the parts' heads side by side:
    one multi-head ``spmm`` of :math:`\sum_k d_k` heads instead of one call per part. Otherwise a
    :class:`DirectSumLaplacian`, each part applied with its own storage.
    """
    if not parts:
        raise ValueError("parts: expected at least one Laplacian, got none")
    stacked = all(isinstance(part, SheafLaplacian) and part.diagonal.dim() == 2 and part.off_diagonal.dim() == 2
                  and part.index is parts[0].index for part in parts)
    if not stacked:
        return DirectSumLaplacian(parts)
    return SheafLaplacian(parts[0].index, torch.cat([part.diagonal for part in parts], dim=1),
                          torch.cat([part.off_diagonal for part in parts], dim=1))


def _check_maps(index: SparseIndex, maps: Tensor, orthogonal: bool) -> None:
    ok = isinstance(maps, Tensor) and maps.dim() in (2, 3) and maps.shape[0] == index.num_edges \
        and maps.shape[1] >= 1 and (maps.dim() == 2 or maps.shape[1] == maps.shape[2])
    if not ok:
        shape = list(maps.shape) if isinstance(maps, Tensor) else type(maps).__name__
        raise ValueError(f"maps: expected [E, d, d] (or [E, d] for diagonal maps) with E = {index.num_edges} and "
                         f"d >= 1, got {shape}")
    if not maps.is_floating_point():
        raise ValueError(f"maps: expected a floating-point tensor, got {maps.dtype}")
    if orthogonal and maps.dim() != 3:
        raise ValueError(f"orthogonal: applies to [E, d, d] maps, got maps of shape {list(maps.shape)}")


def _off_diagonal(index: SparseIndex, maps: Tensor, left: Optional[Tensor] = None,
                  right: Optional[Tensor] = None) -> Tensor:
    """``L_vu = -diag(l_e) F_{v<e}^T F_{u<e} diag(r_e)`` for each edge ``e = (u -> v)`` (``[E, d, d]``, or ``[E, d]``
    for diagonal maps); without scales, the block of the unnormalised Laplacian."""
    if maps.dim() == 3:
        return -reverse_block_product(index, maps) if left is None else reverse_block_product(index, maps, -left, right)
    off = -reverse_edge_values(index, maps) * maps
    return off if left is None else left * off * right


def _check_edge_weights(index: SparseIndex, maps: Tensor, edge_weights: Tensor) -> None:
    if not isinstance(edge_weights, Tensor) or edge_weights.shape != (index.num_edges,):
        shape = list(edge_weights.shape) if isinstance(edge_weights, Tensor) else type(edge_weights).__name__
        raise ValueError(f"edge_weights: expected one weight per edge, [{index.num_edges}], got {shape}")
    if edge_weights.dtype != maps.dtype or edge_weights.device != maps.device:
        raise ValueError(f"edge_weights: expected {maps.dtype} on {maps.device} like maps, got "
                         f"{edge_weights.dtype} on {edge_weights.device}")


def sheaf_laplacian(index: SparseIndex, maps: Tensor, normalise: bool = True, eps: float = 1e-6,
                    orthogonal: bool = False, edge_weights: Optional[Tensor] = None) -> SheafLaplacian:
    r"""The (normalised) sheaf Laplacian of the restriction maps ``maps``.

    ``maps[e]`` is :math:`F_{u \trianglelefteq \{u, v\}}` for the edge ``e = (u -> v)``: ``[E, d, d]``, or
    ``[E, d]`` for diagonal maps. The reverse edge is found by sorting
    (:func:`~geomlearn.sparse.reverse_edges`), and each ``d x d`` block :math:`-F_{v \trianglelefteq e}^\top
    F_{u \trianglelefteq e}`, with the degree scales when the degrees are diagonal, is formed in one fused pass
    over the edges (:func:`~geomlearn.sparse.reverse_block_product`). Normalised blocks are
    :math:`(D_v + \epsilon I)^{-1/2} L_{vu} (D_u + \epsilon I)^{-1/2}`, the eigenvalues of
    :math:`D_v + \epsilon I` floored at :math:`\epsilon`; for general maps the two factors stay on the nodes
    (:attr:`SheafLaplacian.scale`). Differentiable in ``maps``.

    Args:
        index: a symmetric graph (every edge with its reverse).
        maps: the restriction maps, one per directed edge.
        normalise: return :math:`\Delta` instead of :math:`L`.
        eps: the shift :math:`\epsilon > 0` of the degree blocks (1.0: NSD's augmented normalisation).
        orthogonal: promise that every map is orthogonal (:math:`F^\top F = I`, e.g. Householder, Cayley or
            Procrustes maps): the degrees are then :math:`D_v = \sum_{e \ni v} w_e^2\, I`, read from the weights
            without touching the maps, and no ``eigh`` is needed.
        edge_weights: ``[E]`` weights :math:`w_e`: the sheaf whose map on edge ``e`` is :math:`w_e F_e`
            (O(d)-NSD's learned edge weights; symmetric in NSD, any here). With orthogonal maps the weights
            enter only the degrees and the block scales, never an ``[E, d, d]`` pass of their own.

    Raises:
        ValueError: ``maps`` or ``edge_weights`` of the wrong shape or dtype, ``eps`` not a finite number > 0, or a
            graph that is not symmetric.
    """
    _check_maps(index, maps, orthogonal)
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < math.inf:
        raise ValueError(f"eps: expected a finite shift > 0 of the degree blocks, got {eps!r}")
    pair_weights = None                                      # w_e w_e' of the two maps an off-diagonal block joins
    if edge_weights is not None:
        _check_edge_weights(index, maps, edge_weights)
        if orthogonal:
            pair_weights = edge_weights * reverse_edge_values(index, edge_weights)
        else:
            maps = edge_weights.view(-1, *(1,) * (maps.dim() - 1)) * maps
    by_source = index.t()
    if maps.dim() == 2:                                      # diagonal maps: every block is diagonal
        diagonal = segment_reduce(maps.square(), by_source, "sum")
    elif orthogonal:                                         # F^T F = w^2 I: D_v = sum w_e^2 (the out-degree if w = 1)
        degree = (index.out_degree().to(maps.dtype).unsqueeze(1) if edge_weights is None
                  else segment_reduce(edge_weights.square().unsqueeze(1), by_source, "sum"))
        diagonal = degree.expand(-1, maps.shape[1])
    else:
        d = maps.shape[1]
        gram = block_gram(maps).reshape(index.num_edges, d * d)
        diagonal = segment_reduce(gram, by_source, "sum").reshape(-1, d, d)
    if diagonal.dim() == 2 and normalise:                    # diagonal degrees: scale rows and columns per edge
        scale = (diagonal + eps).clamp(min=eps).rsqrt()                              # [N, d]
        left, right = gather_sum(index, scale, None), gather_sum(index, None, scale)   # per edge, segment-sum backward
        if pair_weights is not None:
            left = pair_weights.unsqueeze(1) * left
        return SheafLaplacian(index, scale.square() * diagonal, _off_diagonal(index, maps, left, right))
    off = _off_diagonal(index, maps)
    if pair_weights is not None:
        off = pair_weights.view(-1, 1, 1) * off
    if not normalise:
        return SheafLaplacian(index, diagonal, off)
    eye = torch.eye(diagonal.shape[-1], dtype=diagonal.dtype, device=diagonal.device)
    inv_sqrt = symmetric_matrix_function(diagonal + eps * eye, InverseSquareRoot(eps))[:, 0]
    # S_v L_vu S_u applied on the nodes (S x before the edges, S after): no [E, d, d] gathers or products
    return SheafLaplacian(index, inv_sqrt @ diagonal @ inv_sqrt, off, scale=inv_sqrt)
