"""Data-parallel training on torch.distributed: two gloo processes on this machine end with the parameters one
process reaches on the same global batches, and a process that fails ends the run with its error, not a hang."""

import os
import time

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F

from geomlearn.gnn import SAGEConv
from geomlearn.loader import NeighborLoader, distributed_neighbor_loader, init_data_parallel

from ..isolated import free_port
from .graphs import attributed_graph

STEPS_PER_EPOCH, EPOCHS, BATCH = 3, 2, 10


class TwoLayerSAGE(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.first, self.second = SAGEConv(5, 8), SAGEConv(8, 3)

    def forward(self, batch):
        h = self.first(batch.x, batch.edge_index).relu()
        return self.second(h, batch.edge_index)[: batch.batch_size]


def _train(rank: int, world_size: int, port: int, out: str, fail_at: int) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    got_rank, got_world, device = init_data_parallel(timeout=30)
    assert (got_rank, got_world, device.type) == (rank, world_size, "cpu")
    data = attributed_graph(seed=7)
    loader = distributed_neighbor_loader(data, [-1, -1], batch_size=BATCH, shuffle=True, seed=3)
    model = torch.nn.parallel.DistributedDataParallel(TwoLayerSAGE())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    seeds = []
    for epoch in range(EPOCHS):
        loader.sampler.set_epoch(epoch)
        for step, batch in enumerate(loader):
            if rank == fail_at and (epoch, step) == (1, 1):
                raise RuntimeError(f"rank {rank} failed on purpose")
            optimizer.zero_grad()
            F.cross_entropy(model(batch), batch.y[: batch.batch_size]).backward()
            optimizer.step()
            seeds.append(batch.n_id[: batch.batch_size])
    torch.save({"seeds": seeds, "state": model.module.state_dict()}, os.path.join(out, f"rank{rank}.pt"))
    del model                                         # the reducer before the group: see geomlearn.loader.distributed
    torch.distributed.destroy_process_group()


def test_two_processes_take_the_steps_of_one_process_on_the_global_batches(tmp_path):
    mp.spawn(_train, args=(2, free_port(), str(tmp_path), -1), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    shares = [torch.cat(r["seeds"]) for r in ranks]
    for epoch in range(EPOCHS):                       # disjoint shares that cover every node, each epoch
        span = slice(epoch * STEPS_PER_EPOCH * BATCH, (epoch + 1) * STEPS_PER_EPOCH * BATCH)
        together = torch.cat([share[span] for share in shares]).sort().values
        assert torch.equal(together, torch.arange(60))
    for name, value in ranks[0]["state"].items():     # the replicas agree
        torch.testing.assert_close(ranks[1]["state"][name], value)

    data = attributed_graph(seed=7)                   # one process, the same global batches
    model = TwoLayerSAGE()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for step in range(STEPS_PER_EPOCH * EPOCHS):
        optimizer.zero_grad()
        losses = []
        for rank in ranks:
            batch = next(iter(NeighborLoader(data, [-1, -1], input_nodes=rank["seeds"][step], batch_size=BATCH)))
            losses.append(F.cross_entropy(model(batch), batch.y[: batch.batch_size]))
        torch.stack(losses).mean().backward()
        optimizer.step()
    for name, value in model.state_dict().items():
        torch.testing.assert_close(ranks[0]["state"][name], value, atol=1e-6, rtol=1e-5)


def test_a_failing_process_ends_the_run_with_its_error_not_a_hang(tmp_path):
    start = time.monotonic()
    with pytest.raises(mp.ProcessRaisedException, match="rank 1 failed on purpose"):
        mp.spawn(_train, args=(2, free_port(), str(tmp_path), 1), nprocs=2, join=True)
    assert time.monotonic() - start < 60


def test_outside_torchrun_the_helper_says_how_to_start(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match=r"init_data_parallel: the environment lacks .* start the script with "
                                           r"torchrun"):
        init_data_parallel()
    with pytest.raises(RuntimeError, match="distributed_neighbor_loader: no process group"):
        distributed_neighbor_loader(attributed_graph(), [2], batch_size=4)
