"""Mini-batches of sampled neighbourhoods around links, for link prediction: torch_geometric's
``LinkNeighborLoader``, on geomlearn's sampler."""

from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.loader import LinkLoader
from torch_geometric.sampler import NegativeSampling

from .neighbor_sampler import NeighborSampler
from .sampled_loader import SampledLoaderMixin, loader_setup


class LinkNeighborLoader(SampledLoaderMixin, LinkLoader):
    r"""Mini-batches for link prediction (the setting of NCN / NCNC on ogbl sets) with torch_geometric's arguments and
    batches, without pyg-lib or torch-sparse.

    For a batch of links ``edge_label_index`` (and, with ``neg_sampling``, the negatives torch_geometric draws for
    them), the neighbourhoods of both ends are sampled together. Each batch is torch_geometric's ``Data``: the
    sampled subgraph (``x``, local ``edge_index``, ``n_id``, ``e_id``, ``num_sampled_nodes``,
    ``num_sampled_edges``, ``input_id``), the links in local ids as ``edge_label_index`` with ``edge_label`` (1 for
    a link, 0 for a binary negative; or ``src_index`` / ``dst_pos_index`` / ``dst_neg_index`` for triplet
    negatives), and geomlearn's per-layer blocks as ``hops`` (see :class:`NeighborLoader`).

    Args:
        data: the graph and its features.
        num_neighbors: in-edges drawn per node at each hop (``-1``: all).
        edge_label_index: ``[2, M]`` the links to predict; the graph's edges by default.
        edge_label: ``[M]`` their labels.
        neg_sampling: torch_geometric's ``NegativeSampling`` (``"binary"`` or ``"triplet"``), or
            ``neg_sampling_ratio`` for binary negatives.
        replace, weight_attr, transform, transform_sampler_output, filter_per_worker, neighbor_sampler, \*\*kwargs:
            as in :class:`NeighborLoader`.

    Temporal options (``edge_label_time``, ``time_attr``, ...) and ``subgraph_type`` / ``disjoint`` /
    ``directed=False`` raise ``NotImplementedError`` naming the option.
    """

    def __init__(self, data: Data, num_neighbors: Sequence[int], edge_label_index: Optional[Tensor] = None,
                 edge_label: Optional[Tensor] = None, edge_label_time: Optional[Tensor] = None,
                 replace: bool = False, subgraph_type: str = "directional", disjoint: bool = False,
                 temporal_strategy: str = "uniform", neg_sampling: Optional[NegativeSampling] = None,
                 neg_sampling_ratio: Optional[Union[int, float]] = None, time_attr: Optional[str] = None,
                 weight_attr: Optional[str] = None, transform: Optional[Callable] = None,
                 transform_sampler_output: Optional[Callable] = None, is_sorted: bool = False,
                 filter_per_worker: Optional[bool] = None, neighbor_sampler: Optional[NeighborSampler] = None,
                 directed: bool = True, sparse_index=None, **kwargs):
        if edge_label_time is not None:
            raise NotImplementedError("edge_label_time: temporal sampling is not supported by geomlearn's sampler")
        sampler, filter_per_worker, options = loader_setup(
            data, num_neighbors, neighbor_sampler, filter_per_worker, kwargs, replace=replace,
            subgraph_type=subgraph_type, disjoint=disjoint, temporal_strategy=temporal_strategy, time_attr=time_attr,
            weight_attr=weight_attr, is_sorted=is_sorted, directed=directed, sparse_index=sparse_index)
        super().__init__(data=data, link_sampler=sampler, edge_label_index=edge_label_index, edge_label=edge_label,
                         neg_sampling=neg_sampling, neg_sampling_ratio=neg_sampling_ratio, transform=transform,
                         transform_sampler_output=transform_sampler_output, filter_per_worker=filter_per_worker,
                         **options)

__all__ = ["LinkNeighborLoader"]
