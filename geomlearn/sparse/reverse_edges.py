"""Pair every edge of a symmetric graph with its reverse, by sorting (no Python loops, no O(E^2) masks)."""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import check_index
from .index import SparseIndex


def reverse_edges(index: SparseIndex) -> Tensor:
    """``rev [E]`` with ``rev[e]`` the edge ``j -> i`` of each edge ``e = (i -> j)``.

    The graph must be symmetric and simple in each direction: every edge has exactly one reverse and no
    edge appears twice (a self loop is its own reverse). Keys ``src * N + dst`` are sorted once and each
    reverse key is found by binary search, :math:`O(E \\log E)`.

    Raises:
        ValueError: an edge has no reverse, or an edge is duplicated (naming the first such edge).
    """
    check_index(index)
    if index.num_src != index.num_dst:
        raise ValueError(f"index: reverse edges need a square graph, got shape {index.shape}")
    num_nodes = index.num_dst
    src, dst = index.src.long(), index.dst.long()
    keys = src * num_nodes + dst
    order = torch.argsort(keys)
    sorted_keys = keys[order]
    if sorted_keys.numel() > 1:
        repeated = (sorted_keys[1:] == sorted_keys[:-1]).nonzero()
        if repeated.numel():
            e = int(order[int(repeated[0])])
            raise ValueError(f"index: edge {int(src[e])} -> {int(dst[e])} appears more than once; reverse edges "
                             f"need each directed edge once (remove duplicates with torch_geometric.utils.coalesce)")
    wanted = dst * num_nodes + src
    position = torch.searchsorted(sorted_keys, wanted).clamp(max=max(keys.numel() - 1, 0))
    found = sorted_keys[position] == wanted if keys.numel() else torch.ones(0, dtype=torch.bool)
    if not bool(found.all()):
        e = int((~found).nonzero()[0])
        raise ValueError(f"index: edge {int(src[e])} -> {int(dst[e])} has no reverse {int(dst[e])} -> {int(src[e])}; "
                         f"make the graph undirected first (torch_geometric.utils.to_undirected)")
    return order[position]
