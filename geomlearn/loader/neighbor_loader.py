"""Mini-batches of sampled neighbourhoods for node-level tasks: torch_geometric's ``NeighborLoader``, on
geomlearn's sampler."""

from __future__ import annotations

from typing import Callable, Optional, Sequence

from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.loader import NodeLoader

from .neighbor_sampler import NeighborSampler
from .sampled_loader import SampledLoaderMixin, loader_setup


class NeighborLoader(SampledLoaderMixin, NodeLoader):
    r"""The loader of GraphSAGE-style mini-batch training (Hamilton et al., 2017), with torch_geometric's arguments
    and batches, that runs without pyg-lib or torch-sparse.

    Each batch is a torch_geometric ``Data`` with the fields torch_geometric's ``NeighborLoader`` gives a
    homogeneous graph: the sampled nodes' ``x``, ``y`` and other node attributes, the local ``edge_index`` (and the
    edges' attributes), ``n_id`` and ``e_id`` (global ids), ``batch_size`` (the seeds are the first
    ``batch_size`` nodes), ``input_id``, ``num_sampled_nodes`` and ``num_sampled_edges`` (per hop, for
    ``trim_to_layer``), so an existing training loop runs unchanged. It also carries ``hops``: the per-layer
    :class:`~geomlearn.sparse.SparseIndex` blocks the sampler built (``hops[-1]`` for the first layer,
    ``hops[0]`` for the last; see :class:`~geomlearn.sparse.SampledSubgraph`), which geomlearn's layers take as
    they are, with no check and no sort; ``batch.to(device)`` moves them too.

    Args:
        data: the graph and its features.
        num_neighbors: in-edges drawn per node at each hop (``-1``: all).
        input_nodes: the seed nodes (ids or a boolean mask); all nodes by default.
        replace: draw with replacement.
        weight_attr: a ``[E]`` edge attribute to draw edges in proportion to.
        transform, transform_sampler_output, filter_per_worker: torch_geometric's.
        neighbor_sampler: a :class:`NeighborSampler` to share between loaders (e.g. train and test).
        **kwargs: ``torch.utils.data.DataLoader``'s: ``batch_size``, ``shuffle``, ``num_workers`` (the graph is
            in shared memory, mapped by every worker), ``pin_memory``, ...

    Options of torch_geometric's loader beyond homogeneous, directional, non-temporal sampling
    (``input_time``, ``subgraph_type``, ``disjoint``, ``temporal_strategy``, ``time_attr``, ``directed=False``)
    raise ``NotImplementedError`` naming the option.
    """

    def __init__(self, data: Data, num_neighbors: Sequence[int], input_nodes: Optional[Tensor] = None,
                 input_time: Optional[Tensor] = None, replace: bool = False, subgraph_type: str = "directional",
                 disjoint: bool = False, temporal_strategy: str = "uniform", time_attr: Optional[str] = None,
                 weight_attr: Optional[str] = None, transform: Optional[Callable] = None,
                 transform_sampler_output: Optional[Callable] = None, is_sorted: bool = False,
                 filter_per_worker: Optional[bool] = None, neighbor_sampler: Optional[NeighborSampler] = None,
                 directed: bool = True, sparse_index=None, **kwargs):
        if input_time is not None:
            raise NotImplementedError("input_time: temporal sampling is not supported by geomlearn's sampler")
        sampler, filter_per_worker, options = loader_setup(
            data, num_neighbors, neighbor_sampler, filter_per_worker, kwargs, replace=replace,
            subgraph_type=subgraph_type, disjoint=disjoint, temporal_strategy=temporal_strategy, time_attr=time_attr,
            weight_attr=weight_attr, is_sorted=is_sorted, directed=directed, sparse_index=sparse_index)
        super().__init__(data=data, node_sampler=sampler, input_nodes=input_nodes, transform=transform,
                         transform_sampler_output=transform_sampler_output, filter_per_worker=filter_per_worker,
                         **options)

__all__ = ["NeighborLoader"]
