r"""Multi-hop neighbour sampling: the mini-batch subgraphs of GraphSAGE-style training (Hamilton et al., 2017).

For seed nodes :math:`S_0` and fanouts :math:`k_1, \dots, k_L`, hop :math:`h` draws, for every node of the frontier
:math:`S_{h-1}`, at most :math:`k_h` of its in-edges :math:`j \to i` (the edges a message-passing layer aggregates
into :math:`i`); the sources not seen before form the next frontier :math:`S_h`. Node :math:`i` of the subgraph is
the :math:`i`-th node seen: the seeds, then each hop's new nodes in the order they are first drawn, as in
torch_geometric's samplers. Every hop's edges come out grouped by their target, the frontiers in order, so the
edges of hops :math:`1..h` are the first rows of one CSR: layer :math:`L - h` of an :math:`L`-layer model needs
exactly them (the targets of hops :math:`< h`, the sources up to hop :math:`h`), and each such block is a
:class:`~geomlearn.sparse.SparseIndex` built from the sampler's own output, with no check and no sort.
"""

from __future__ import annotations

import threading
import weakref
from typing import NamedTuple, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from ..argument_checks import is_int
from ._checks import check_index
from .index import IndexModifiedError, SparseIndex
from .kernels import backend_name


class SampledSubgraph(NamedTuple):
    """The subgraph :func:`sample_neighbors` draws.

    Attributes:
        node: ``[N_s]`` global ids of its nodes: the seeds first, then each hop's new nodes.
        edge: ``[E_s]`` global ids of its edges, hop after hop, each hop's edges grouped by target.
        edge_index: ``[2, E_s]`` the edges in local ids (row 0 the source, row 1 the target), torch_geometric's
            layout for a batch.
        hops: ``hops[h]`` (``h = 0..L-1``) holds the edges of hops ``1..h+1`` as a bipartite ``SparseIndex`` from
            the first ``sum(num_sampled_nodes[:h+2])`` nodes to the first ``sum(num_sampled_nodes[:h+1])``: what
            layer ``L - 1 - h`` of an ``L``-layer model aggregates (``hops[-1]`` holds every edge; the first layer
            uses it, the last ``hops[0]``).
        num_sampled_nodes: ``[B, n_1, ..., n_L]`` nodes added by the seeds and by each hop.
        num_sampled_edges: ``[e_1, ..., e_L]`` edges drawn at each hop.
    """

    node: Tensor
    edge: Tensor
    edge_index: Tensor
    hops: list
    num_sampled_nodes: list
    num_sampled_edges: list


# One global-to-local map per (graph, thread), all -1 between calls: a sample touches O(sampled nodes) of it, and
# no call allocates or clears O(num_nodes) memory.
_NODE_MAPS: "weakref.WeakKeyDictionary[SparseIndex, dict[tuple[int, bool], object]]" = weakref.WeakKeyDictionary()
_MAPS_LOCK = threading.Lock()


def _node_map(index: SparseIndex, as_tensor: bool = False):
    """This thread's map for ``index``, every entry -1 between samples: a numpy array (the numba sampler's) or, with
    ``as_tensor``, a tensor on the index's device (the torch sampler's)."""
    with _MAPS_LOCK:
        per_thread = _NODE_MAPS.setdefault(index, {})
        key = (threading.get_ident(), as_tensor)
        if key not in per_thread:
            per_thread[key] = torch.full((index.num_src,), -1, dtype=torch.long, device=index.device) if as_tensor \
                else np.full(index.num_src, -1, dtype=np.int64)
        return per_thread[key]


def _check_arguments(index: SparseIndex, seeds, fanouts, weight, generator) -> tuple[Tensor, list[int]]:
    if index.num_src != index.num_dst:
        raise ValueError(f"index: neighbour sampling walks one node set, got a bipartite graph of shape {index.shape}")
    if not isinstance(seeds, Tensor) or seeds.dim() != 1 or seeds.is_floating_point() or seeds.is_complex() or \
            seeds.dtype == torch.bool:
        shape = list(seeds.shape) if isinstance(seeds, Tensor) else type(seeds).__name__
        raise TypeError(f"seeds: expected a 1-D integer tensor of node ids, got {shape}"
                        f"{f' of {seeds.dtype}' if isinstance(seeds, Tensor) else ''}")
    if seeds.device != index.device:
        raise ValueError(f"seeds: expected a tensor on the index's device {index.device}, got {seeds.device}")
    if seeds.numel() and (int(seeds.min()) < 0 or int(seeds.max()) >= index.num_dst):
        raise ValueError(f"seeds: expected node ids in 0..{index.num_dst - 1}, got values in "
                         f"{int(seeds.min())}..{int(seeds.max())}")
    if isinstance(fanouts, (str, bytes)) or not isinstance(fanouts, Sequence) or not fanouts or \
            any(not is_int(k) or k < -1 for k in fanouts):
        raise ValueError(f"fanouts: expected a non-empty list of ints >= 0, or -1 for every in-edge, got {fanouts!r}")
    if weight is not None:
        if not isinstance(weight, Tensor) or not weight.is_floating_point() or weight.shape != (index.num_edges,):
            shape = list(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
            raise ValueError(f"weight: expected a floating-point tensor [{index.num_edges}] (one per edge), got "
                             f"{shape}")
        if weight.device != index.device:
            raise ValueError(f"weight: expected a tensor on the index's device {index.device}, got {weight.device}")
        if weight.numel() and not bool((torch.isfinite(weight) & (weight >= 0)).all()):
            raise ValueError("weight: expected finite weights >= 0 (an edge of weight 0 is never drawn), got "
                             f"values in {float(weight.min())}..{float(weight.max())}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator or None, got {type(generator).__name__}")
    return seeds, list(fanouts)


def sample_neighbors(index: SparseIndex, seeds: Tensor, fanouts: Sequence[int], *, replace: bool = False,
                     weight: Optional[Tensor] = None, generator: Optional[torch.Generator] = None) -> SampledSubgraph:
    r"""Draw the multi-hop neighbourhood of ``seeds``: at hop ``h`` at most ``fanouts[h]`` in-edges of every node the
    previous hop reached (all of them when it has fewer, or with ``-1``).

    Uniform without replacement by default; ``replace=True`` draws ``fanouts[h]`` edges independently (a node with
    in-edges then always gets exactly that many); with ``weight [E]`` each draw takes an edge with probability
    proportional to its weight (without replacement: among the edges not drawn yet; weight 0: never).

    On the CPU (numba, parallel over each frontier's nodes) the draws depend only on the seed taken from
    ``generator`` (or, without one, from torch's global generator, so ``torch.manual_seed`` repeats a run as it does
    torch_geometric's loaders) and never on the number of threads: every node owns a counter-based random stream.
    CUDA tensors are sampled by vectorised torch operations (a sort of each frontier's candidate in-edges by random
    keys), from ``generator`` (on the index's device) or CUDA's global generator: the same law, another stream.

    Args:
        index: the graph (one node set; edges ``j -> i`` are drawn for ``i``).
        seeds: ``[B]`` distinct node ids.
        fanouts: ``[L]`` ints ``>= 0``, or ``-1`` for every in-edge.
        replace: draw with replacement.
        weight: ``[E]`` finite edge weights ``>= 0``, in the index's edge order.
        generator: the source of randomness (on the CPU for a CPU index, on the index's device otherwise).

    Returns:
        :class:`SampledSubgraph`.

    Raises:
        TypeError, ValueError: naming the argument: seeds not distinct integer ids in range, fanouts not ints
            ``>= -1``, weights of the wrong length or negative, a bipartite graph.
    """
    check_index(index)
    seeds, fanouts = _check_arguments(index, seeds, fanouts, weight, generator)
    if backend_name(index.device) == "cpu":
        parts = _sample_on_cpu(index, seeds, fanouts, replace, weight, generator)
    else:
        parts = _sample_with_torch(index, seeds, fanouts, replace, weight, generator)
    return _assemble(*parts, fanouts)


def _sample_on_cpu(index: SparseIndex, seeds: Tensor, fanouts: list[int], replace: bool, weight: Optional[Tensor],
                   generator: Optional[torch.Generator]) -> tuple:
    """The numba sampler (:mod:`.kernels.cpu_sampling`): ``(node, sources, targets, edges, row counts, new nodes
    per hop)``, the middle four a list per hop."""
    from .kernels import cpu_sampling as kernels
    from .kernels.cpu import Parallel

    seed = np.uint64(int(torch.randint(0, 2**63 - 1, (1,), generator=generator)))
    ptr, idx, eid = (t.numpy() for t in index.csr())
    weighted = weight is not None
    weights = weight.detach().double().numpy() if weighted else np.zeros(1)
    node_map = _node_map(index)
    batch = seeds.shape[0]
    nodes = np.empty(max(batch, 1), dtype=np.int64)
    count = 0
    with Parallel(chunk=64):                # one iteration per frontier node: hubs take longer, so small chunks
        try:
            local_seeds = np.empty(batch, dtype=np.int64)
            count = kernels.relabel(seeds.numpy().astype(np.int64), node_map, nodes, 0, local_seeds)
            if count < batch:
                raise ValueError(f"seeds: expected distinct node ids, got {batch - count} repeated")
            num_nodes, sources, targets, edges, row_counts = [batch], [], [], [], []
            start = 0
            for hop, fanout in enumerate(fanouts):
                frontier = nodes[start:count]
                counts = np.empty(frontier.shape[0], dtype=np.int64)
                if kernels.sample_counts(ptr, frontier, fanout, replace, weights, eid, weighted, counts):
                    raise IndexModifiedError.in_layout("sample_neighbors", [
                        "ptr or eid (row bounds or edge ids outside the layout)"])
                offsets = np.zeros(frontier.shape[0] + 1, dtype=np.int64)
                np.cumsum(counts, out=offsets[1:])
                drawn = int(offsets[-1])
                src, dst, edge = (np.empty(drawn, dtype=np.int64) for _ in range(3))
                if kernels.sample_edges(ptr, idx, eid, frontier, start, fanout, replace, weights, weighted, seed,
                                        hop, offsets, src, edge, dst):
                    raise IndexModifiedError.in_layout("sample_neighbors", ["idx or eid (entries outside the layout)"])
                if nodes.shape[0] < count + drawn:
                    nodes = np.concatenate([nodes, np.empty(count + drawn - nodes.shape[0], dtype=np.int64)])
                local = np.empty(drawn, dtype=np.int64)
                added = kernels.relabel(src, node_map, nodes, count, local) - count
                sources.append(torch.from_numpy(local))
                targets.append(torch.from_numpy(dst))
                edges.append(torch.from_numpy(edge))
                row_counts.append(torch.from_numpy(counts))
                start, count = count, count + added
                num_nodes.append(added)
            node = torch.from_numpy(nodes[:count].copy())
        finally:
            kernels.forget(node_map, nodes, count)
    return node, sources, targets, edges, row_counts, num_nodes


def _sample_with_torch(index: SparseIndex, seeds: Tensor, fanouts: list[int], replace: bool,
                       weight: Optional[Tensor], generator: Optional[torch.Generator]) -> tuple:
    """The vectorised torch sampler (:mod:`.kernels.torch_sampling`): the GPU backend's (CUDA tensors, or CPU
    tensors with the ``"triton"`` backend forced, as the tests run it); the same output as :func:`_sample_on_cpu`.
    The index's layouts are sealed, so what it gathers through is validated data."""
    from .kernels import torch_sampling as kernels

    if generator is not None and generator.device != index.device:
        raise ValueError(f"generator: expected a generator on the index's device {index.device}, got one on "
                         f"{generator.device}")
    ptr, idx, eid = index.csr()
    node_map = _node_map(index, as_tensor=True)
    batch = seeds.shape[0]
    parts = []
    try:
        _, node = kernels.first_appearance(seeds.long(), node_map, 0)
        parts.append(node)
        if node.numel() < batch:
            raise ValueError(f"seeds: expected distinct node ids, got {batch - node.numel()} repeated")
        num_nodes, start = [batch], 0
        sources, targets, edges, row_counts = [], [], [], []
        for fanout in fanouts:
            frontier = parts[-1]                         # the nodes the previous hop reached first
            counts, src, edge = kernels.sample_hop(ptr, idx, eid, frontier, fanout, replace, weight, generator)
            local, new_nodes = kernels.first_appearance(src, node_map, start + frontier.numel())
            targets.append(torch.repeat_interleave(
                torch.arange(start, start + frontier.numel(), device=index.device), counts))
            sources.append(local)
            edges.append(edge)
            row_counts.append(counts)
            start += frontier.numel()
            parts.append(new_nodes)
            num_nodes.append(new_nodes.numel())
        node = torch.cat(parts)
    finally:
        for part in parts:                               # the map is reused: reset what this sample touched
            node_map[part] = -1
    return node, sources, targets, edges, row_counts, num_nodes


def _assemble(node: Tensor, sources: list, targets: list, edges: list, row_counts: list, num_nodes: list,
              fanouts: list[int]) -> SampledSubgraph:
    """The sampled subgraph from each hop's draws (grouped by target, in frontier order): its local edges, and the
    per-layer blocks as prefixes of one CSR, with no sort."""
    device = node.device
    row_counts = row_counts + [torch.zeros(num_nodes[-1], dtype=torch.long, device=device)]   # the last hop's nodes
    ptr_all = torch.cat([torch.zeros(1, dtype=torch.long, device=device), torch.cumsum(torch.cat(row_counts), 0)])
    src_all, dst_all = torch.cat(sources), torch.cat(targets)
    firsts = torch.tensor(num_nodes).cumsum(0).tolist()              # nodes up to and with each hop
    hops = []
    for h in range(len(fanouts)):
        rows, cols = firsts[h], firsts[h + 1]
        end = int(ptr_all[rows])
        hops.append(SparseIndex._trusted_csr(ptr_all[:rows + 1], torch.stack([src_all[:end], dst_all[:end]]), cols,
                                             rows))
    return SampledSubgraph(node=node, edge=torch.cat(edges), edge_index=torch.stack([src_all, dst_all]), hops=hops,
                           num_sampled_nodes=list(num_nodes), num_sampled_edges=[len(e) for e in edges])


__all__ = ["SampledSubgraph", "sample_neighbors"]
