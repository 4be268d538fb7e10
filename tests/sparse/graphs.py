"""Graphs for the sparse-op tests: random ones and the awkward cases every op must handle."""

from __future__ import annotations

import torch

from geomlearn.sparse import SparseIndex


def random_graph(num_src: int, num_dst: int, num_edges: int, seed: int = 0) -> SparseIndex:
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(0, max(num_src, 1), (num_edges,), generator=g)
    dst = torch.randint(0, max(num_dst, 1), (num_edges,), generator=g)
    return SparseIndex(torch.stack([src, dst]), num_nodes=(num_src, num_dst))


def awkward_graphs() -> dict[str, SparseIndex]:
    """Named graphs: empty, isolated nodes, self loops, duplicate edges, one hub, bipartite, random."""
    hub_src = torch.arange(40) % 9
    hub_dst = torch.where(torch.arange(40) % 8 == 0, torch.arange(40) % 9, torch.zeros(40, dtype=torch.long))
    return {
        "empty": SparseIndex(torch.empty(2, 0, dtype=torch.long), num_nodes=5),
        "no_nodes": SparseIndex(torch.empty(2, 0, dtype=torch.long), num_nodes=0),
        "isolated": SparseIndex(torch.tensor([[0, 1, 2], [1, 2, 0]]), num_nodes=7),
        "self_loops": SparseIndex(torch.tensor([[0, 1, 2, 2, 3], [0, 1, 2, 3, 3]]), num_nodes=4),
        "duplicates": SparseIndex(torch.tensor([[0, 0, 0, 1, 1, 2], [1, 1, 1, 2, 2, 0]]), num_nodes=3),
        "hub": SparseIndex(torch.stack([hub_src, hub_dst]), num_nodes=9),
        "bipartite": random_graph(6, 4, 15, seed=1),
        "random": random_graph(20, 20, 80, seed=2),
    }


def dense_adjacency(index: SparseIndex, weight: torch.Tensor | None = None, dtype=torch.float64) -> torch.Tensor:
    """``A [num_dst, num_src]`` with ``A[i, j] = sum of w_e over the edges j -> i`` (duplicates add up)."""
    values = torch.ones(index.num_edges, dtype=dtype) if weight is None else weight.to(dtype)
    adjacency = torch.zeros(index.num_dst * index.num_src, dtype=dtype)
    flat = index.dst.long() * index.num_src + index.src.long()
    return adjacency.index_add(0, flat, values).view(index.num_dst, index.num_src)


def dense_edge_mask(index: SparseIndex) -> torch.Tensor:
    """``M [num_dst, E]``: ``M[i, e]`` is true when edge ``e`` enters ``i``."""
    return index.dst.long().unsqueeze(0) == torch.arange(index.num_dst).unsqueeze(1)
