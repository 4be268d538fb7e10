"""GraphSAGE trained on sampled mini-batches: the epoch against torch_geometric's loader and layer, and the accuracy
against the same model trained full-batch (sampling should cost no accuracy)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch_geometric.data import Data

from geomlearn.gnn import SAGEConv
from geomlearn.loader import NeighborLoader
from geomlearn.sparse import SparseIndex


class SAGE(torch.nn.Module):
    """GraphSAGE (mean aggregation) of ``layers`` layers, with ReLU and dropout between them. ``conv`` is the
    layer class: geomlearn's ``SAGEConv`` or torch_geometric's."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int, layers: int, dropout: float, conv=SAGEConv):
        super().__init__()
        sizes = [in_channels] + [hidden] * (layers - 1) + [out_channels]
        self.convs = torch.nn.ModuleList(conv(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.dropout = dropout

    def _between(self, k: int, x: torch.Tensor) -> torch.Tensor:
        if k == len(self.convs) - 1:
            return x
        return F.dropout(x.relu(), self.dropout, self.training)

    def forward(self, x: torch.Tensor, graph) -> torch.Tensor:
        """Every layer on the whole graph (full-batch, or torch_geometric's untrimmed mini-batch)."""
        for k, conv in enumerate(self.convs):
            x = self._between(k, conv(x, graph))
        return x

    def forward_blocks(self, x: torch.Tensor, hops: list) -> torch.Tensor:
        """Layer ``k`` on the block of the first ``L - k`` hops only (``hops[-1 - k]``): each layer computes just the
        nodes the next one reads; returns the seeds' outputs."""
        for k, conv in enumerate(self.convs):
            block = hops[-1 - k]
            x = self._between(k, conv((x, x[: block.num_dst]), block))
        return x


def mini_batch_epoch(model: SAGE, loader, optimizer, blocks: bool, batches: int) -> int:
    """``batches`` training steps (sampling and feature gathering included); returns the seeds seen."""
    model.train()
    seen = 0
    for step, batch in enumerate(loader):
        if step == batches:
            break
        optimizer.zero_grad()
        out = model.forward_blocks(batch.x, batch.hops) if blocks else model(batch.x, batch.edge_index)[
            : batch.batch_size]
        F.cross_entropy(out, batch.y[: batch.batch_size]).backward()
        optimizer.step()
        seen += batch.batch_size
    return seen


@dataclass
class AccuracySettings:
    """Planetoid, public split: two layers, the usual GraphSAGE settings."""

    hidden: int = 64
    layers: int = 2
    dropout: float = 0.5
    lr: float = 0.01
    weight_decay: float = 5e-4
    epochs: int = 200
    fanouts: tuple = (10, 10)
    batch_size: int = 32


def train_sage(data: Data, seed: int, sampled: bool, settings: AccuracySettings) -> dict:
    """Test accuracy at the best validation epoch of GraphSAGE trained full-batch or on sampled mini-batches
    (evaluated full-batch either way: exact inference over the whole graph)."""
    torch.manual_seed(seed)
    model = SAGE(data.num_features, settings.hidden, int(data.y.max()) + 1, settings.layers, settings.dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    index = SparseIndex.from_data(data)
    loader = NeighborLoader(data, list(settings.fanouts), input_nodes=data.train_mask,
                            batch_size=settings.batch_size, shuffle=True) if sampled else None
    best, start = dict(val=-1.0), time.perf_counter()
    for epoch in range(settings.epochs):
        if sampled:
            mini_batch_epoch(model, loader, optimizer, blocks=True, batches=len(loader))
        else:
            model.train()
            optimizer.zero_grad()
            F.cross_entropy(model(data.x, index)[data.train_mask], data.y[data.train_mask]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            predicted = model(data.x, index).argmax(dim=1)
        accuracy = {split: float((predicted[mask] == data.y[mask]).float().mean())
                    for split, mask in (("val", data.val_mask), ("test", data.test_mask))}
        if accuracy["val"] > best["val"]:
            best = dict(accuracy, epoch=epoch)
    return dict(best, seconds=time.perf_counter() - start)
