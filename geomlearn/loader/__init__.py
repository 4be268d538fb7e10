"""Mini-batch loaders on geomlearn's neighbour sampler, with torch_geometric's interfaces.

===============================  ====================================================================================
``NeighborLoader``               torch_geometric's ``NeighborLoader`` (node-level tasks): its arguments, its batches
``LinkNeighborLoader``           torch_geometric's ``LinkNeighborLoader`` (link prediction, negative sampling)
``NeighborSampler``              a ``torch_geometric.sampler.BaseSampler``: ``NodeLoader`` / ``LinkLoader`` without
                                 pyg-lib or torch-sparse
``init_data_parallel``           join the ``torch.distributed`` process group ``torchrun`` set up (gloo / NCCL)
``distributed_neighbor_loader``  a ``NeighborLoader`` over this process's share of the seeds (torch's
                                 ``DistributedSampler``), for ``DistributedDataParallel`` training
===============================  ====================================================================================

Each batch also carries the sampler's per-layer :class:`~geomlearn.sparse.SparseIndex` blocks as ``hops``, which
geomlearn's layers take without checking or sorting them again.
"""

from .distributed import distributed_neighbor_loader, init_data_parallel
from .link_neighbor_loader import LinkNeighborLoader
from .neighbor_loader import NeighborLoader
from .neighbor_sampler import NeighborSampler, SampledBatch

__all__ = ["LinkNeighborLoader", "NeighborLoader", "NeighborSampler", "SampledBatch", "distributed_neighbor_loader",
           "init_data_parallel"]
