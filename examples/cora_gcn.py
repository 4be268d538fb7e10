"""A torch_geometric training loop on Cora, with geomlearn's layers in place of torch_geometric's.

    python examples/cora_gcn.py             # 200 epochs, the GCN paper's settings
    python examples/cora_gcn.py --tiny      # 5 epochs (what CI runs)

Only the import line differs from torch_geometric's GCN example: geomlearn's ``GCNConv`` keeps its arguments,
parameter names and outputs. Building the ``SparseIndex`` once is optional; it saves re-validating and re-sorting the
edges at every call.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from geomlearn.datasets import planetoid
from geomlearn.gnn import GCNConv
from geomlearn.sparse import SparseIndex


class GCN(torch.nn.Module):
    def __init__(self, in_channels: int, hidden: int, out_channels: int, dropout: float = 0.5):
        super().__init__()
        self.conv1, self.conv2, self.dropout = GCNConv(in_channels, hidden), GCNConv(hidden, out_channels), dropout

    def forward(self, x, edge_index):
        x = F.dropout(x, self.dropout, self.training)
        x = F.dropout(self.conv1(x, edge_index).relu(), self.dropout, self.training)
        return self.conv2(x, edge_index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--tiny", action="store_true", help="5 epochs (what CI runs)")
    args = parser.parse_args()

    torch.manual_seed(0)
    data = planetoid("Cora")                         # $GEOMLEARN_DATA/planetoid/Cora/raw, downloaded if missing
    index = SparseIndex.from_data(data)
    model = GCN(data.num_features, 16, int(data.y.max()) + 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    best_val, test_at_best = 0.0, 0.0
    for epoch in range(5 if args.tiny else args.epochs):
        model.train()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(data.x, index)[data.train_mask], data.y[data.train_mask])
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            predicted = model(data.x, index).argmax(dim=1)
        val, test = (float((predicted[m] == data.y[m]).float().mean()) for m in (data.val_mask, data.test_mask))
        if val > best_val:
            best_val, test_at_best = val, test
        print(f"epoch {epoch:3d}: loss {float(loss):.4f}, validation {val:.3f}, test {test:.3f}")
    print(f"test accuracy at the best validation epoch: {test_at_best:.3f}")


if __name__ == "__main__":
    main()
