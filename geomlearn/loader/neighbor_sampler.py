"""torch_geometric's sampler interface on geomlearn's neighbour sampling: ``NodeLoader`` / ``LinkLoader`` without
pyg-lib or torch-sparse."""

from __future__ import annotations

import multiprocessing
import sys
from dataclasses import dataclass
from typing import Optional, Sequence

from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.sampler import BaseSampler, EdgeSamplerInput, NegativeSampling, NodeSamplerInput, SamplerOutput
from torch_geometric.sampler.neighbor_sampler import edge_sample, node_sample

from ..argument_checks import is_int
from ..datasets.graph_store import stored_index
from ..sparse import SparseIndex, sample_neighbors


def worker_options(options: dict) -> dict:
    """``DataLoader`` options whose workers can run numba's parallel kernels: on a platform whose processes fork by
    default, workers come from a ``forkserver`` unless the caller chose a start method. (numba's OpenMP threads do
    not survive a fork: a worker forked from a process that ran a parallel kernel would end at its first one.)"""
    forks = multiprocessing.get_start_method(allow_none=True) in (None, "fork") and sys.platform.startswith("linux")
    if options.get("num_workers", 0) > 0 and options.get("multiprocessing_context") is None and forks:
        return dict(options, multiprocessing_context="forkserver")
    return options


@dataclass
class SampledBatch(SamplerOutput):
    """torch_geometric's ``SamplerOutput`` with the sampled subgraph's per-layer blocks (see
    :class:`geomlearn.sparse.SampledSubgraph`), which the loaders put on each batch as ``hops``."""

    hops: Optional[list] = None


class NeighborSampler(BaseSampler):
    r"""A ``torch_geometric.sampler.BaseSampler`` that draws neighbourhoods with
    :func:`geomlearn.sparse.sample_neighbors`, so ``torch_geometric.loader.NodeLoader`` and ``LinkLoader`` (and
    geomlearn's :class:`NeighborLoader`, :class:`LinkNeighborLoader`) run on a machine with neither pyg-lib nor
    torch-sparse.

    Homogeneous graphs, ``directional`` subgraphs (the edges drawn, no others), not disjoint, not temporal: the
    options torch_geometric's ``NeighborSampler`` has beyond these raise, by name.

    Args:
        data: the graph (``edge_index`` and ``num_nodes``; features stay in ``data``, the loader gathers them).
        num_neighbors: in-edges drawn per node at each hop; ``-1`` for all of them.
        replace: draw with replacement.
        weight_attr: the name of a ``[E]`` edge attribute of ``data`` to draw edges in proportion to.
        share_memory: put the graph in shared memory, so the workers of a ``DataLoader`` map it instead of copying
            it (on by default: torch_geometric keeps a copy per worker otherwise). With ``num_workers > 0`` on
            Linux, give torch_geometric's loaders ``multiprocessing_context="forkserver"`` (geomlearn's loaders do
            it for you, see ``geomlearn.loader.neighbor_sampler.worker_options``): numba's OpenMP threads do not survive a fork.
        is_sorted: ``data.edge_index`` is grouped by target already (torch_geometric's contract; a memory-mapped
            store's is): checked in one pass and kept as it is, with no sort and no copy
            (:meth:`~geomlearn.sparse.SparseIndex.from_sorted`).
        subgraph_type, disjoint, temporal_strategy, time_attr, directed: torch_geometric's; only their defaults are
            supported here.
        sparse_index: ``data``'s graph as a :class:`~geomlearn.sparse.SparseIndex` already built, used as it is. By
            default, for a graph read from a store (:func:`geomlearn.datasets.load_graph`, or an OGB set with
            ``memory_map=True``), the store's memory-mapped index; otherwise built from ``data.edge_index``.
    """

    def __init__(self, data: Data, num_neighbors: Sequence[int], replace: bool = False,
                 subgraph_type: str = "directional", disjoint: bool = False, temporal_strategy: str = "uniform",
                 time_attr: Optional[str] = None, weight_attr: Optional[str] = None, is_sorted: bool = False,
                 share_memory: bool = True, directed: bool = True, sparse_index: Optional[SparseIndex] = None):
        if not isinstance(data, Data):
            raise TypeError(f"data: expected a homogeneous torch_geometric Data, got {type(data).__name__} "
                            f"(heterogeneous sampling is not built yet)")
        if isinstance(num_neighbors, (str, bytes)) or not isinstance(num_neighbors, Sequence) or \
                not num_neighbors or any(not is_int(k) or k < -1 for k in num_neighbors):
            raise ValueError(f"num_neighbors: expected a non-empty list of ints >= 0 (or -1 for all), got "
                             f"{num_neighbors!r}")
        unsupported = {"subgraph_type": (str(getattr(subgraph_type, "value", subgraph_type)), "directional"),
                       "disjoint": (disjoint, False), "temporal_strategy": (temporal_strategy, "uniform"),
                       "time_attr": (time_attr, None), "directed": (directed, True)}
        for name, (value, default) in unsupported.items():
            if value != default:
                raise NotImplementedError(f"{name}: only {default!r} is supported by geomlearn's sampler, got "
                                          f"{value!r}")
        self.num_neighbors = list(num_neighbors)
        self.replace = bool(replace)
        self.num_nodes = int(data.num_nodes)
        if sparse_index is None:
            sparse_index = stored_index(data)
        if sparse_index is None:
            self.index = SparseIndex.from_sorted(data.edge_index, self.num_nodes) if is_sorted else \
                SparseIndex.from_data(data)
        elif not isinstance(sparse_index, SparseIndex) or sparse_index.shape != (self.num_nodes, self.num_nodes) or \
                sparse_index.num_edges != data.num_edges:
            raise ValueError(f"sparse_index: expected the SparseIndex of data's {self.num_nodes} nodes and "
                             f"{data.num_edges} edges, got {sparse_index!r}")
        else:
            self.index = sparse_index
        self.index.csr()
        self.weight = None
        if weight_attr is not None:
            if weight_attr not in data:
                raise ValueError(f"weight_attr: data has no attribute {weight_attr!r}")
            self.weight = data[weight_attr].double()
        if share_memory:                      # a store's mapped index is shared through its file already
            self.index.share_memory_()
            if self.weight is not None:
                self.weight.share_memory_()

    def sample_from_nodes(self, index: NodeSamplerInput, **kwargs) -> SampledBatch:
        """The neighbourhoods of the batch's seed nodes (``index.node``)."""
        return node_sample(index, self._sample)

    def sample_from_edges(self, index: EdgeSamplerInput,
                          neg_sampling: Optional[NegativeSampling] = None) -> SampledBatch:
        """The neighbourhoods of both ends of the batch's links (and of the negatives drawn for them)."""
        return edge_sample(index, self._sample, self.num_nodes, False, None, neg_sampling)

    def _sample(self, seed: Tensor, seed_time: Optional[Tensor] = None) -> SampledBatch:
        if seed_time is not None:
            raise NotImplementedError("seed_time: temporal sampling is not supported by geomlearn's sampler")
        sample = sample_neighbors(self.index, seed.long(), self.num_neighbors, replace=self.replace,
                                  weight=self.weight)
        return SampledBatch(node=sample.node, row=sample.edge_index[0], col=sample.edge_index[1], edge=sample.edge,
                            batch=None, num_sampled_nodes=sample.num_sampled_nodes,
                            num_sampled_edges=sample.num_sampled_edges, hops=sample.hops)


__all__ = ["NeighborSampler", "SampledBatch", "worker_options"]
