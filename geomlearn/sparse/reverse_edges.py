"""Pair every edge of a symmetric graph with its reverse, by sorting (no Python loops, no O(E^2) masks)."""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import check_index
from .index import SparseIndex


def reverse_edges(index: SparseIndex) -> Tensor:
    """``rev [E]`` with ``rev[e]`` the edge ``j -> i`` of each edge ``e = (i -> j)``.

    The graph must be symmetric and simple in each direction: every edge has exactly one reverse and no
    edge appears twice (a self loop is its own reverse). The edge keys are sorted once (and cached on the
    index) and each reverse is found by binary search (:meth:`SparseIndex.find_edges`), :math:`O(E \\log E)`;
    the result is cached on the index too (a sheaf model asks for it at every layer).

    Raises:
        ValueError: an edge has no reverse, or an edge is duplicated (naming the first such edge).
    """
    check_index(index)
    if index._reverse is not None:
        return index._reverse
    if index.num_src != index.num_dst:
        raise ValueError(f"index: reverse edges need a square graph, got shape {index.shape}")
    src, dst = index.src.long(), index.dst.long()
    keys, order = index.sorted_edge_keys()
    repeated = (keys[1:] == keys[:-1]).nonzero()
    if repeated.numel():
        e = int(order[int(repeated[0])])
        raise ValueError(f"index: edge {int(src[e])} -> {int(dst[e])} appears more than once; reverse edges "
                         f"need each directed edge once (remove duplicates with torch_geometric.utils.coalesce)")
    reverse, found = index.find_edges(dst, src)
    if not bool(found.all()):
        e = int((~found).nonzero()[0])
        raise ValueError(f"index: edge {int(src[e])} -> {int(dst[e])} has no reverse {int(dst[e])} -> {int(src[e])}; "
                         f"make the graph undirected first (torch_geometric.utils.to_undirected)")
    index.cache_reverse(reverse)
    return reverse


class _GatherByInvolution(torch.autograd.Function):
    """``values[rev]`` for a permutation that is its own inverse: the backward pass is the same gather."""

    @staticmethod
    def forward(ctx, values: Tensor, rev: Tensor) -> Tensor:
        ctx.save_for_backward(rev)
        return values.index_select(0, rev)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (rev,) = ctx.saved_tensors
        return grad.index_select(0, rev), None


def reverse_edge_values(index: SparseIndex, values: Tensor) -> Tensor:
    """``values[rev]``: each edge's value taken from its reverse edge (``values [E, ...]``).

    The reverse pairing is an involution, so the backward pass is the same gather (no ``index_add_``).

    Raises:
        ValueError: ``values`` does not hold one row per edge, or the graph is not symmetric.
    """
    if not isinstance(values, Tensor) or values.dim() < 1 or values.shape[0] != index.num_edges:
        shape = list(values.shape) if isinstance(values, Tensor) else type(values).__name__
        raise ValueError(f"values: expected one row per edge, [{index.num_edges}, ...], got {shape}")
    return _GatherByInvolution.apply(values, reverse_edges(index))
