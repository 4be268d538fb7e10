"""GraphSAGE on sampled mini-batches, data-parallel over processes with torch.distributed.

One machine, N processes (CPU: gloo; GPUs: NCCL, one process per GPU):

    torchrun --nproc-per-node 2 examples/train_sage_ddp.py

Several machines (the same command on each, the graph read by every machine):

    torchrun --nnodes 2 --nproc-per-node 4 --rdzv-backend c10d --rdzv-endpoint HOST:29500 \\
        examples/train_sage_ddp.py

Every process takes its share of each epoch's seed nodes; DistributedDataParallel averages the gradients after every
step, so N processes with batches of B seeds take the steps of one process with batches of N B.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from geomlearn.datasets import stochastic_block_model
from geomlearn.gnn import SAGEConv
from geomlearn.loader import distributed_neighbor_loader, init_data_parallel


class SAGE(torch.nn.Module):
    def __init__(self, in_channels: int, hidden: int, out_channels: int):
        super().__init__()
        self.first, self.second = SAGEConv(in_channels, hidden), SAGEConv(hidden, out_channels)

    def forward(self, x, hops):
        """Each layer on its block: the first on every sampled edge, the second on the edges into the seeds."""
        h = self.first((x, x[: hops[1].num_dst]), hops[1]).relu()
        return self.second((h, h[: hops[0].num_dst]), hops[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--tiny", action="store_true", help="a small graph and one epoch (what CI runs)")
    args = parser.parse_args()

    rank, world_size, device = init_data_parallel()
    blocks, epochs = ([50] * 4, 1) if args.tiny else ([2_500] * 4, args.epochs)
    data = stochastic_block_model(blocks, p_in=0.05 if args.tiny else 0.004, p_out=0.005 if args.tiny else 0.0004,
                                  num_features=16, seed=0)          # the same graph in every process
    train = torch.rand(data.num_nodes, generator=torch.Generator().manual_seed(0)) < 0.5
    loader = distributed_neighbor_loader(data, [10, 5], input_nodes=train, batch_size=args.batch_size)
    torch.manual_seed(0)
    model = SAGE(16, 64, int(data.y.max()) + 1).to(device)
    model = DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)
        start, total, correct = time.perf_counter(), 0.0, 0
        for batch in loader:
            batch = batch.to(device)
            optimizer.zero_grad()
            out = model(batch.x, batch.hops)
            loss = F.cross_entropy(out, batch.y[: batch.batch_size])
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * batch.batch_size
            correct += int((out.argmax(1) == batch.y[: batch.batch_size]).sum())
        seen = torch.tensor([total, correct, len(loader.sampler)], dtype=torch.float64)
        torch.distributed.all_reduce(seen)                 # the epoch's figures over every process
        if rank == 0:
            print(f"epoch {epoch}: loss {seen[0] / seen[2]:.4f}, train accuracy {seen[1] / seen[2]:.3f}, "
                  f"{time.perf_counter() - start:.1f} s ({world_size} processes)", flush=True)
    # The replica's reducer holds the process group, and frees it without letting go of the GIL: were it the last
    # holder, gloo's worker threads could deadlock at exit (pytorch/pytorch#56297). Free it first, then the group.
    del model
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
