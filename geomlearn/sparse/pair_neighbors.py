"""Neighbourhoods of node pairs: the sparse row products behind common-neighbour link predictors."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from ._checks import check_index
from .index import SparseIndex


class PairNeighbors(NamedTuple):
    """Entries ``(pair[k], node[k])``, one per distinct neighbour ``node[k]`` of the first node of pair
    ``pair[k]``; ``shared[k]`` says whether it is also a neighbour of the pair's second node."""

    pair: Tensor
    node: Tensor
    shared: Tensor

    def index(self, num_nodes: int, num_pairs: int, mask: Tensor | None = None) -> SparseIndex:
        """The selected entries as a ``num_pairs x num_nodes`` index (edges ``node -> pair``), so that
        ``spmm(index, h)`` sums the selected neighbours' features of every pair."""
        pair, node = (self.pair, self.node) if mask is None else (self.pair[mask], self.node[mask])
        return SparseIndex._trusted(torch.stack([node, pair]), num_nodes, num_pairs)


def pair_neighbors(index: SparseIndex, pairs: Tensor) -> PairNeighbors:
    r"""For each pair :math:`(a, b)`, the neighbours :math:`u \in \mathcal N(a)` and whether :math:`u \in \mathcal N(b)`.

    :math:`\mathcal N(i)` is the set of sources of the edges into ``i`` (row ``i`` of ``A``). The common
    neighbours :math:`\mathcal N(a) \cap \mathcal N(b)` are the entries with ``shared`` true: the sparsity
    pattern of the row product :math:`A_{a,:} \odot A_{b,:}`. The cost is :math:`O(\sum_p \deg(a_p) \log E)`:
    row ``a`` is read from the CSR and every candidate looked up with :meth:`SparseIndex.find_edges` (the
    sorted edge keys are cached on the index, so repeated calls on one graph sort them once).
    Duplicate edges count once.

    Args:
        index: a square graph.
        pairs: ``[2, B]`` integer node pairs (row 0 the first node ``a``, row 1 the second node ``b``).

    Returns:
        :class:`PairNeighbors` with one entry per distinct ``(pair, u)``, sorted by pair.
    """
    check_index(index)
    if index.num_src != index.num_dst:
        raise ValueError(f"index: pair neighbourhoods need a square graph, got shape {index.shape}")
    if not isinstance(pairs, Tensor) or pairs.dim() != 2 or pairs.shape[0] != 2 or pairs.is_floating_point():
        shape = list(pairs.shape) if isinstance(pairs, Tensor) else type(pairs).__name__
        raise ValueError(f"pairs: expected an integer tensor of shape [2, B], got {shape}")
    num_nodes = index.num_dst
    if pairs.numel() and (int(pairs.min()) < 0 or int(pairs.max()) >= num_nodes):
        raise ValueError(f"pairs: node ids must lie in 0..{num_nodes - 1}, got values in "
                         f"{int(pairs.min())}..{int(pairs.max())}")
    device = index.device
    first, second = pairs[0].long().to(device), pairs[1].long().to(device)
    ptr, idx, _ = index.csr()
    ptr = ptr.long()
    counts = ptr[first + 1] - ptr[first]
    pair = torch.repeat_interleave(torch.arange(first.numel(), device=device), counts)
    offsets = torch.cumsum(counts, 0) - counts
    positions = ptr[first][pair] + torch.arange(pair.numel(), device=device) - offsets[pair]
    node = idx[positions].long()
    # Distinct (pair, node) entries, in pair order.
    key = torch.unique(pair * num_nodes + node)
    pair, node = key // num_nodes, key % num_nodes
    _, shared = index.find_edges(node, second[pair])
    return PairNeighbors(pair, node, shared)
