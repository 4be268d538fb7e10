"""Data-parallel GraphSAGE training with torch.distributed (gloo on the CPU): seeds per second with 1 and with 2
processes on one machine, and the check that 2 processes end where 1 process does on the same global batches."""

from __future__ import annotations

import os
import socket
import tempfile
import time

import torch
import torch.multiprocessing as mp
import torch.nn.functional as F

from geomlearn.datasets import power_law_graph
from geomlearn.loader import NeighborLoader, distributed_neighbor_loader, init_data_parallel

from .training import SAGE

FANOUTS, BATCH, HIDDEN, FEATURES, CLASSES = [10, 5], 256, 64, 32, 8


def _graph(num_nodes: int, num_edges: int):
    data = power_law_graph(num_nodes, num_edges, seed=0)
    data.x = torch.randn(num_nodes, FEATURES, generator=torch.Generator().manual_seed(1))
    data.y = torch.randint(0, CLASSES, (num_nodes,), generator=torch.Generator().manual_seed(2))
    return data


def _model() -> SAGE:
    torch.manual_seed(0)
    return SAGE(FEATURES, HIDDEN, CLASSES, len(FANOUTS), dropout=0.0)


def _worker(rank: int, world_size: int, port: int, out: str, steps: int, size: tuple, fanouts: list) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // world_size))
    init_data_parallel(timeout=120)
    data = _graph(*size)
    loader = distributed_neighbor_loader(data, fanouts, batch_size=BATCH, shuffle=True, seed=0, drop_last=True)
    model = torch.nn.parallel.DistributedDataParallel(_model())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    seeds = []
    torch.distributed.barrier()
    start = time.perf_counter()
    for step, batch in enumerate(loader):
        if step == steps:
            break
        optimizer.zero_grad()
        F.cross_entropy(model(batch.x, batch.edge_index)[: batch.batch_size], batch.y[: batch.batch_size]).backward()
        optimizer.step()
        seeds.append(batch.n_id[: batch.batch_size])
    torch.distributed.barrier()
    seconds = time.perf_counter() - start
    torch.save({"seconds": seconds, "seeds": seeds, "state": model.module.state_dict()},
               os.path.join(out, f"rank{rank}.pt"))
    del model                                         # the reducer before the group: see geomlearn.loader.distributed
    torch.distributed.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(world_size: int, steps: int, size: tuple, fanouts: list = FANOUTS) -> list[dict]:
    """Train ``steps`` steps in ``world_size`` processes; each rank's seconds, seeds per step and final state."""
    with tempfile.TemporaryDirectory() as out:
        mp.spawn(_worker, args=(world_size, _free_port(), out, steps, size, fanouts), nprocs=world_size, join=True)
        return [torch.load(os.path.join(out, f"rank{r}.pt")) for r in range(world_size)]


def largest_difference_from_one_process(ranks: list[dict], size: tuple, fanouts: list) -> float:
    """Replay the ranks' global batches in one process (each step: the mean of the ranks' losses) and return the
    largest absolute difference between its parameters and rank 0's. Exact only where the batches' subgraphs are
    deterministic (``fanouts`` of -1), which the check uses."""
    data = _graph(*size)
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(len(ranks[0]["seeds"])):
        optimizer.zero_grad()
        losses = []
        for rank in ranks:
            batch = next(iter(NeighborLoader(data, fanouts, input_nodes=rank["seeds"][step], batch_size=BATCH)))
            losses.append(F.cross_entropy(model(batch.x, batch.edge_index)[: batch.batch_size],
                                          batch.y[: batch.batch_size]))
        torch.stack(losses).mean().backward()
        optimizer.step()
    return max(float((value - ranks[0]["state"][name]).abs().max()) for name, value in model.state_dict().items())
