"""Data-parallel mini-batch training on ``torch.distributed``: each process trains a replica of the model
(``DistributedDataParallel``) on its own share of every epoch's seed nodes.

Launch one process per device with ``torchrun --nproc-per-node N script.py`` (and ``--nnodes M --node-rank r
--rdzv-endpoint host:port`` across machines). In each process::

    rank, world_size, device = init_data_parallel()
    loader = distributed_neighbor_loader(data, [15, 10, 5], batch_size=1024, shuffle=True)
    model = DistributedDataParallel(model.to(device), device_ids=[device] if device.type == "cuda" else None)
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)                # a new shuffle, the same on every rank
        for batch in loader: ...                        # this rank's share of the epoch's seeds
    del model                                           # the replica first, then the group (below)
    torch.distributed.destroy_process_group()

The gradients are averaged over the processes after every step, so ``N`` processes with batches of ``B`` seeds
take the steps one process would take with batches of ``N B`` seeds (each rank's loss a mean over its ``B``).

Free the ``DistributedDataParallel`` replica before ``destroy_process_group()``: its reducer holds the process group
and releases it while holding the GIL, so were the reducer the group's last holder, gloo's worker threads (which take
the GIL to free the tensors of the last collective) and the main thread would wait on each other for ever at exit
(pytorch/pytorch#56297; about one run in three on two cores).
"""

from __future__ import annotations

import datetime
import os
from typing import Optional, Sequence

import torch
import torch.distributed as dist
from torch import Tensor
from torch.utils.data.distributed import DistributedSampler
from torch_geometric.data import Data

from .neighbor_loader import NeighborLoader


def init_data_parallel(backend: Optional[str] = None, timeout: float = 300.0) -> tuple[int, int, torch.device]:
    """Join the process group that ``torchrun`` describes in the environment (``RANK``, ``WORLD_SIZE``,
    ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``), unless it is joined already.

    Args:
        backend: ``"gloo"`` or ``"nccl"``; by default NCCL where CUDA is available, gloo otherwise.
        timeout: seconds a collective may wait for the other processes: a process that died makes the others
            raise after this long instead of waiting for ever.

    Returns:
        ``(rank, world_size, device)``: the device is ``cuda:LOCAL_RANK`` with NCCL, the CPU with gloo.

    Raises:
        RuntimeError: the environment does not describe a process group (not started by ``torchrun``).
    """
    if not dist.is_initialized():
        missing = [name for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if name not in os.environ]
        if missing:
            raise RuntimeError(f"init_data_parallel: the environment lacks {missing}; start the script with "
                               f"torchrun --nproc-per-node N (or set them as torchrun does)")
        backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        if backend not in ("gloo", "nccl"):
            raise ValueError(f"backend: expected 'gloo' or 'nccl', got {backend!r}")
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout))
    if dist.get_backend() == "nccl":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    return dist.get_rank(), dist.get_world_size(), device


def distributed_neighbor_loader(data: Data, num_neighbors: Sequence[int], input_nodes: Optional[Tensor] = None,
                                shuffle: bool = True, seed: int = 0, drop_last: bool = False,
                                rank: Optional[int] = None, world_size: Optional[int] = None,
                                **kwargs) -> NeighborLoader:
    r"""A :class:`NeighborLoader` over this process's share of ``input_nodes``: torch's ``DistributedSampler`` deals
    the seeds out among the ``world_size`` processes (each epoch's permutation, drawn from ``seed`` and the epoch
    set with ``loader.sampler.set_epoch``, is the same on every rank; the shares are disjoint and, but for padding
    to equal sizes unless ``drop_last``, cover it).

    Args:
        data, num_neighbors, input_nodes, \*\*kwargs: as :class:`NeighborLoader` (``batch_size``, ``num_workers``, ...).
        shuffle, seed, drop_last: ``DistributedSampler``'s.
        rank, world_size: the process's; by default the process group's.
    """
    if rank is None or world_size is None:
        if not dist.is_initialized():
            raise RuntimeError("distributed_neighbor_loader: no process group; call init_data_parallel() first, or "
                               "give rank and world_size")
        rank, world_size = dist.get_rank(), dist.get_world_size()
    if "sampler" in kwargs:
        raise ValueError("sampler: the distributed loader deals the seeds out itself (torch's DistributedSampler); "
                         "give shuffle / seed / drop_last instead")
    if input_nodes is None:
        count = int(data.num_nodes)
    elif input_nodes.dtype == torch.bool:
        count = int(input_nodes.sum())
    else:
        count = int(input_nodes.numel())
    sampler = DistributedSampler(range(count), num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed,
                                 drop_last=drop_last)
    return NeighborLoader(data, num_neighbors, input_nodes=input_nodes, sampler=sampler, **kwargs)


__all__ = ["distributed_neighbor_loader", "init_data_parallel"]
