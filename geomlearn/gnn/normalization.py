r"""Symmetric normalisation of a graph with self loops (Kipf & Welling), shared by GCN, APPNP and DAGNN.

.. math::
    \hat A = \hat D^{-1/2} (A + \lambda I) \hat D^{-1/2}, \qquad \hat D_{ii} = \sum_j (A + \lambda I)_{ij}

where a node that already has a self loop keeps its weight and every other node gets a loop of weight
``fill`` (:math:`\lambda`, 1, or 2 for the "improved" GCN), as torch_geometric's ``gcn_norm`` does.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ..sparse import SparseIndex, segment_reduce


def gcn_norm(index: SparseIndex, edge_weight: Optional[Tensor] = None, *, add_self_loops: bool = True,
             fill: float = 1.0, normalize: bool = True, dtype: torch.dtype = torch.float32
             ) -> tuple[SparseIndex, Tensor]:
    r"""The normalised operator :math:`\hat A` as ``(index, weights)`` for :func:`~geomlearn.sparse.spmm`.

    Degrees are taken over each node's incoming edges (its row of :math:`A`), so
    ``spmm(index, x, weights)`` computes :math:`\hat A x`. Differentiable in ``edge_weight``.

    Args:
        index: a square graph.
        edge_weight: optional ``[E]`` weights (1 when omitted).
        add_self_loops: add the remaining self loops first (the graph from
            :meth:`~geomlearn.sparse.SparseIndex.with_self_loops`, cached on ``index``, its edges sorted by target).
        fill: weight of an added loop.
        normalize: apply :math:`\hat D^{-1/2} \cdot \hat D^{-1/2}` (else return ``A + fill I`` as is).
        dtype: dtype of the weights when ``edge_weight`` is omitted.

    Returns:
        ``(index', weights [E'])``; a node without any edge gets weight 0 rather than a division by zero.
    """
    if index.num_src != index.num_dst:
        raise ValueError(f"index: the normalisation needs one node set, got a bipartite graph ({index.num_src} sources, "
                         f"{index.num_dst} targets)")
    if edge_weight is None:
        edge_weight = torch.ones(index.num_edges, dtype=dtype, device=index.device)
    if add_self_loops:
        looped, kept, order = index.with_self_loops()
        loop_weight = torch.full((index.num_dst,), fill, dtype=edge_weight.dtype, device=index.device)
        old_loops = ~kept
        loop_weight = loop_weight.index_put((index.src[old_loops].long(),), edge_weight[old_loops])
        edge_weight = torch.cat([edge_weight[kept], loop_weight])[order]
        index = looped
    if not normalize:
        return index, edge_weight
    degree = segment_reduce(edge_weight, index, "sum")
    inv_sqrt = degree.pow(-0.5).masked_fill(degree == 0, 0.0)
    return index, inv_sqrt[index.src.long()] * edge_weight * inv_sqrt[index.dst.long()]


class NormalisationCache:
    """:func:`gcn_norm` for a layer's ``cached`` option, read at every call (so ``conv.cached = True`` set
    after construction takes effect, as in torch_geometric): while ``cached`` is true the first result is kept
    (its weights detached) and returned on every later call, whatever graph is passed (transductive training
    on one graph); :meth:`clear` forgets it."""

    def __init__(self):
        self.value: tuple[SparseIndex, Tensor] | None = None

    def __call__(self, index: SparseIndex, edge_weight: Optional[Tensor] = None, *, cached: bool,
                 **options) -> tuple[SparseIndex, Tensor]:
        if cached and self.value is not None:
            return self.value
        index, edge_weight = gcn_norm(index, edge_weight, **options)
        if cached:
            self.value = (index, edge_weight.detach())
        return index, edge_weight

    def clear(self) -> None:
        self.value = None
