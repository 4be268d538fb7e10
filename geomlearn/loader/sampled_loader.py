"""What geomlearn's loaders add to torch_geometric's ``NodeLoader`` / ``LinkLoader``: the sampler's blocks on every
batch, and worker processes that receive only what they use."""

from __future__ import annotations

from typing import Optional

from torch_geometric.data import Data

from .neighbor_sampler import NeighborSampler, SampledBatch, worker_options


def loader_setup(data: Data, num_neighbors, neighbor_sampler: Optional[NeighborSampler], filter_per_worker,
                 loader_options: dict, **sampling) -> tuple[NeighborSampler, Optional[bool], dict]:
    """What both loaders hand torch_geometric's: the sampler (the one given, or one built from the ``sampling``
    options), ``filter_per_worker`` (:func:`filter_per_worker_for`) and the ``DataLoader`` options
    (``geomlearn.loader.neighbor_sampler.worker_options``)."""
    sampler = neighbor_sampler if neighbor_sampler is not None else NeighborSampler(data, num_neighbors, **sampling)
    return sampler, filter_per_worker_for(sampler, filter_per_worker), worker_options(loader_options)


def filter_per_worker_for(sampler, filter_per_worker):
    """torch_geometric's ``filter_per_worker``, except for a graph read from a memory-mapped store (its index has a
    ``folder``: :class:`geomlearn.datasets.MappedIndex`): there the batches are built in this process, where the
    features are mapped, unless the caller asks otherwise (a worker would receive them by pickling, as a copy)."""
    if filter_per_worker is None and getattr(sampler.index, "folder", None) is not None:
        return False
    return filter_per_worker


class SampledLoaderMixin:
    """Mixed into a torch_geometric loader whose sampler is a :class:`~geomlearn.loader.NeighborSampler`."""

    def filter_fn(self, out: SampledBatch) -> Data:
        """torch_geometric's batch, with the sampler's blocks as ``hops``."""
        data = super().filter_fn(out)
        if isinstance(out, SampledBatch):
            data.hops = out.hops
        return data

    def __getstate__(self) -> dict:
        # A worker process receives the loader by pickling. Unless it builds the batches itself
        # (``filter_per_worker``), it only samples: the features stay in this process, so that memory-mapped ones are
        # not copied into every worker (a pickled tensor moves to shared memory).
        state = self.__dict__.copy()
        if not self.filter_per_worker:
            state["data"] = None
        return state


__all__ = ["SampledLoaderMixin", "filter_per_worker_for", "loader_setup"]
