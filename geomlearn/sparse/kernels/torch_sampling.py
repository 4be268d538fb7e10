"""Neighbour sampling in vectorised torch operations, for CUDA tensors (it runs on any device): one hop is a few
gathers, one sort and one scan over the frontier's in-edges, with no Python loop over nodes.

The law of the draws is :mod:`.cpu_sampling`'s, with torch's generator on the tensors' device as the source:

* without replacement, every candidate in-edge gets a random key (``u``, or ``log(u) / w`` when weighted: Efraimidis
  and Spirakis) and each node keeps its ``c`` largest: one sort of the frontier's candidates by (node, key);
* with replacement, ``c`` independent draws per node: uniform offsets, or inverse transform over the running sum
  of the weights (one ``searchsorted`` over all nodes' sums at once).

The sample is reproducible for a given generator state on a given device; it is not the CPU sampler's sample
(the random streams differ).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def _segments(counts: Tensor) -> tuple[Tensor, Tensor]:
    """``(segment [sum], offset within the segment [sum])`` for segments of ``counts``."""
    total = int(counts.sum())
    segment = torch.repeat_interleave(torch.arange(counts.numel(), device=counts.device), counts, output_size=total)
    starts = torch.cumsum(counts, 0) - counts
    return segment, torch.arange(total, device=counts.device) - starts[segment]


def sample_hop(ptr: Tensor, idx: Tensor, eid: Tensor, frontier: Tensor, fanout: int, replace: bool,
               weight: Optional[Tensor], generator: Optional[torch.Generator]) -> tuple[Tensor, Tensor, Tensor]:
    """One hop: ``(counts [F], sources [D], edge ids [D])``, the draws of frontier node ``i`` at
    ``counts[:i].sum()`` onwards (grouped by frontier node, in frontier order)."""
    device = frontier.device
    starts, ends = ptr[frontier].long(), ptr[frontier + 1].long()
    degrees = ends - starts
    segment, offset = _segments(degrees)
    positions = starts[segment] + offset                                   # every candidate in-edge, per node
    edge_weight = None if weight is None else weight[eid[positions].long()]
    candidates = degrees if edge_weight is None else torch.zeros_like(degrees).index_add_(
        0, segment, (edge_weight > 0).long())
    if fanout < 0:
        counts = candidates
    elif replace:
        counts = torch.where(candidates > 0, fanout, 0)
    else:
        counts = candidates.clamp(max=fanout)
    if fanout < 0 and edge_weight is None:                                 # every in-edge, in CSR order
        chosen = positions
    elif fanout >= 0 and replace:
        draw_segment, _ = _segments(counts)
        u = torch.rand(draw_segment.numel(), generator=generator, device=device, dtype=torch.float64)
        if edge_weight is None:
            chosen = starts[draw_segment] + (u * degrees[draw_segment]).long().clamp(max=degrees[draw_segment] - 1)
        else:
            running = torch.cumsum(torch.where(edge_weight > 0, edge_weight, 0.0), 0)
            base = torch.cat([running.new_zeros(1), running])[torch.cumsum(degrees, 0) - degrees]   # sum before
            totals = torch.zeros_like(base).index_add_(0, segment, torch.where(edge_weight > 0, edge_weight, 0.0))
            target = base[draw_segment] + u * totals[draw_segment]
            at = torch.searchsorted(running, target, right=True).clamp(max=running.numel() - 1)   # skips weight 0
            chosen = positions[at]
    else:
        if edge_weight is None:
            keys = torch.rand(positions.numel(), generator=generator, device=device, dtype=torch.float64)
        else:
            u = torch.rand(positions.numel(), generator=generator, device=device, dtype=torch.float64)
            keys = torch.where(edge_weight > 0, torch.log1p(-u) / edge_weight, float("-inf"))
        order = torch.argsort(keys, descending=True, stable=True)
        order = order[torch.argsort(segment[order], stable=True)]          # by node, largest keys first
        rank = offset                                                      # the rank inside each node, after sorting
        keep = rank < counts[segment]
        chosen = positions[order][keep]
        if edge_weight is None:                                            # uniform: each node's draws in CSR order
            chosen_segment = segment[keep]
            span = int(ptr[-1]) + 1                                        # more than any degree
            chosen = chosen[torch.argsort(chosen_segment * span + (chosen - starts[chosen_segment]))]
    return counts, idx[chosen].long(), eid[chosen].long()


def first_appearance(sources: Tensor, node_map: Tensor, count: int) -> tuple[Tensor, Tensor]:
    """Local ids of global ``sources`` given ``node_map`` (-1 where unseen): the unseen ones get ``count``,
    ``count + 1``, ... in the order they first appear, written into ``node_map``. Returns ``(local [D], new nodes)``."""
    unseen = node_map[sources] < 0
    fresh = sources[unseen]
    if fresh.numel():
        unique, inverse = torch.unique(fresh, return_inverse=True)
        first = torch.full((unique.numel(),), fresh.numel(), device=fresh.device, dtype=torch.long)
        first = first.scatter_reduce(0, inverse, torch.arange(fresh.numel(), device=fresh.device), "amin")
        new_nodes = unique[torch.argsort(first)]
        node_map[new_nodes] = torch.arange(count, count + new_nodes.numel(), device=fresh.device,
                                           dtype=node_map.dtype)
    else:
        new_nodes = fresh
    return node_map[sources], new_nodes
