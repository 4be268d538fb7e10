r"""Symmetric normalisation of a graph with self loops (Kipf & Welling), shared by GCN, APPNP and DAGNN.

.. math::
    \hat A = \hat D^{-1/2} (A + \lambda I) \hat D^{-1/2}, \qquad \hat D_{ii} = \sum_j (A + \lambda I)_{ij}

where a node that already has a self loop keeps its weight and every other node gets a loop of weight
``fill`` (:math:`\lambda`, 1, or 2 for the "improved" GCN), as torch_geometric's ``gcn_norm`` does.
"""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor

from ..sparse import SparseIndex, segment_reduce
from ..sparse.graph_input import as_sparse_index, is_sparse_adjacency


def symmetric_normalization(index: SparseIndex, edge_weight: Optional[Tensor] = None, *, add_self_loops: bool = True,
                            fill: float = 1.0, dtype: Optional[torch.dtype] = None) -> tuple[SparseIndex, Tensor]:
    r"""The normalised graph on a :class:`~geomlearn.sparse.SparseIndex`: :math:`\hat D^{-1/2} (A + \lambda I)
    \hat D^{-1/2}` with the degrees taken over each target's incoming edges.

    Args:
        index: the graph (one node set).
        edge_weight: optional ``[E]`` weights (1 when omitted).
        add_self_loops: add the remaining self loops first (the graph from
            :meth:`~geomlearn.sparse.SparseIndex.with_self_loops`, cached on ``index``, its edges sorted by target).
        fill: weight of an added loop.
        dtype: dtype of the weights when ``edge_weight`` is omitted (default float32).

    Returns:
        ``(index', weights [E'])``; a node without any edge gets weight 0 rather than a division by zero.
    """
    if index.num_src != index.num_dst:
        raise ValueError(f"index: the normalisation needs one node set, got a bipartite graph "
                         f"({index.num_src} sources, {index.num_dst} targets)")
    if edge_weight is None:
        edge_weight = torch.ones(index.num_edges, dtype=dtype or torch.float32, device=index.device)
    if add_self_loops:
        looped, kept, order = index.with_self_loops()
        loop_weight = torch.full((index.num_dst,), fill, dtype=edge_weight.dtype, device=index.device)
        old_loops = ~kept
        loop_weight = loop_weight.index_put((index.src[old_loops].long(),), edge_weight[old_loops])
        edge_weight = torch.cat([edge_weight[kept], loop_weight])[order]
        index = looped
    degree = segment_reduce(edge_weight, index, "sum")
    inv_sqrt = degree.pow(-0.5).masked_fill(degree == 0, 0.0)
    return index, inv_sqrt[index.src.long()] * edge_weight * inv_sqrt[index.dst.long()]


def added_loop_weight(improved: bool, weighted: bool) -> float:
    """The weight of an added self loop, as torch_geometric gives it: 2 for the "improved" GCN when the edges carry
    weights (given, or a sparse adjacency's values), else 1 (its unweighted ``edge_index`` path makes unit
    weights after the loops, so ``improved`` has no effect there)."""
    return 2.0 if improved and weighted else 1.0


def gcn_norm(edge_index: Union[Tensor, SparseIndex], edge_weight: Optional[Tensor] = None,
             num_nodes: Optional[int] = None, improved: bool = False, add_self_loops: bool = True,
             flow: str = "source_to_target", dtype: Optional[torch.dtype] = None):
    r"""torch_geometric's ``gcn_norm``: :math:`\hat D^{-1/2} (A + \lambda I) \hat D^{-1/2}`, with the same
    arguments and return values.

    Args:
        edge_index: ``[2, E]``, a ``torch.sparse`` adjacency ``adj_t`` (COO or CSR), or a
            :class:`~geomlearn.sparse.SparseIndex`.
        edge_weight: optional ``[E]`` weights (1 when omitted; a sparse adjacency carries its own).
        num_nodes: the node count (``edge_index.max() + 1`` when ``None``).
        improved: added loops weigh 2. As in torch_geometric, this applies when the edges carry weights
            (given, or a sparse adjacency's values): loops added to an unweighted ``edge_index`` weigh 1.
        add_self_loops: add the remaining self loops (a node with one keeps its weight).
        flow: ``"source_to_target"`` normalises by the degrees of ``edge_index[1]``, ``"target_to_source"``
            by those of ``edge_index[0]``.
        dtype: dtype of the weights when none are given.

    Returns:
        For ``edge_index [2, E]``: ``(edge_index [2, E'], edge_weight [E'])``, the original non-loop edges in
        order followed by one loop per node (torch_geometric's order). For a sparse adjacency:
        ``(adj_t normalised, in the same layout, None)``. For a ``SparseIndex``: ``(SparseIndex, [E'])``,
        its edges sorted by target.
    """
    if flow not in ("source_to_target", "target_to_source"):
        raise ValueError(f"flow: expected 'source_to_target' or 'target_to_source', got {flow!r}")
    if isinstance(edge_index, SparseIndex):
        return symmetric_normalization(edge_index, edge_weight, add_self_loops=add_self_loops,
                                       fill=added_loop_weight(improved, edge_weight is not None), dtype=dtype)
    if is_sparse_adjacency(edge_index):
        if edge_index.layout == torch.sparse_csc:
            raise NotImplementedError("edge_index: sparse CSC adjacencies are not supported by gcn_norm (as in "
                                      "torch_geometric); pass COO or CSR")
        index, weight = as_sparse_index(edge_index, edge_index.shape[1], edge_index.shape[0])
        index, weight = symmetric_normalization(index, weight, add_self_loops=add_self_loops,
                                                fill=added_loop_weight(improved, True))
        sources, targets = index.edge_index.long()
        adj_t = torch.sparse_coo_tensor(torch.stack([targets, sources]), weight, tuple(edge_index.shape)).coalesce()
        return (adj_t.to_sparse_csr() if edge_index.layout == torch.sparse_csr else adj_t), None
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index: expected a [2, E] tensor, a torch.sparse adjacency or a SparseIndex, got "
                         f"{list(edge_index.shape) if isinstance(edge_index, Tensor) else type(edge_index).__name__}")
    if num_nodes is None:
        num_nodes = int(edge_index.max()) + 1 if edge_index.numel() else 0
    oriented = edge_index if flow == "source_to_target" else edge_index.flip(0)
    index, weight = as_sparse_index(oriented, num_nodes, edge_weight=edge_weight)
    normalised, weight = symmetric_normalization(index, weight, add_self_loops=add_self_loops,
                                                 fill=added_loop_weight(improved, edge_weight is not None), dtype=dtype)
    if add_self_loops:
        # Back to torch_geometric's order: the kept edges as given, then the loops of nodes 0..N-1.
        _, _, order = index.with_self_loops()
        unsorted = torch.empty_like(weight)
        unsorted[order] = weight
        weight = unsorted
        loops = torch.arange(num_nodes, device=edge_index.device, dtype=edge_index.dtype)
        kept = edge_index[0] != edge_index[1]
        edge_index = torch.cat([edge_index[:, kept], torch.stack([loops, loops])], dim=1)
    return edge_index, weight


def cached_normalization(layer: torch.nn.Module, index: SparseIndex, edge_weight: Optional[Tensor] = None,
                         **options) -> tuple[SparseIndex, Tensor]:
    """:func:`symmetric_normalization` for a layer with torch_geometric's ``cached`` option, read at every call
    (so ``conv.cached = True`` set after construction takes effect): while ``layer.cached`` is true the first
    result is kept in ``layer._cached_edge_index`` (its weights detached, torch_geometric's attribute) and
    returned on every later call, whatever graph is passed (transductive training on one graph);
    ``reset_parameters`` forgets it."""
    if layer.cached and layer._cached_edge_index is not None:
        return layer._cached_edge_index
    index, edge_weight = symmetric_normalization(index, edge_weight, **options)
    if layer.cached:
        layer._cached_edge_index = (index, edge_weight.detach())
    return index, edge_weight
