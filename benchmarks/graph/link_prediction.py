"""Link prediction on Planetoid graphs with the protocol of the NCN paper (Wang et al., ICLR 2024).

The undirected edges are split at random into 70 / 10 / 20 % train / validation / test (one split per
seed; the split of the paper's code, ``randomsplit`` in its ``ogbdataset.py``); validation and test each
get as many negative pairs, drawn from the non-edges. A GCN encoder
turns the training graph into node representations, a predictor scores pairs, and training minimises
the binary cross-entropy of positive training edges against freshly drawn negatives, in mini-batches
whose target links are removed from the graph first (NCN's target-link removal). The metric is HR@100
(Hits@100): the fraction of positive test pairs scored above the 100th best negative, through OGB's
evaluator.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import negative_sampling, to_undirected

from geomlearn.gnn import GCNConv, NCNCPredictor, NCNPredictor, remove_target_links
from geomlearn.loader import LinkNeighborLoader
from geomlearn.sparse import SparseIndex

from ..best_epoch import BestEpoch


class Encoder(torch.nn.Module):
    """Two GCN layers with a ReLU and dropout between them."""

    def __init__(self, in_channels: int, hidden: int, dropout: float):
        super().__init__()
        self.dropout = dropout
        self.conv1, self.conv2 = GCNConv(in_channels, hidden), GCNConv(hidden, hidden)

    def forward(self, x: Tensor, index: SparseIndex) -> Tensor:
        x = F.dropout(F.relu(self.conv1(x, index)), self.dropout, self.training)
        return self.conv2(x, index)


class HadamardPredictor(torch.nn.Module):
    """The plain MPNN link predictor: an MLP on :math:`h_i \\odot h_j` (the GCN baseline)."""

    def __init__(self, channels: int, hidden: int, dropout: float):
        super().__init__()
        self.mlp = torch.nn.Sequential(torch.nn.Linear(channels, hidden), torch.nn.ReLU(), torch.nn.Dropout(dropout),
                                       torch.nn.Linear(hidden, 1))

    def forward(self, h: Tensor, index: SparseIndex, pairs: Tensor) -> Tensor:
        return self.mlp(h[pairs[0]] * h[pairs[1]]).squeeze(-1)


PREDICTORS = {"GCN": HadamardPredictor, "NCN": NCNPredictor, "NCNC": NCNCPredictor}


def split_edges(edge_index: Tensor, num_nodes: int, seed: int, val: float = 0.10, test: float = 0.20) -> dict:
    """Random 70/10/20 split of the undirected edges, with as many negatives for validation and test."""
    generator = torch.Generator().manual_seed(seed)
    row, col = edge_index
    pairs = edge_index[:, row < col]
    pairs = pairs[:, torch.randperm(pairs.shape[1], generator=generator)]
    num_val, num_test = int(val * pairs.shape[1]), int(test * pairs.shape[1])
    split = {"valid": pairs[:, :num_val], "test": pairs[:, num_val:num_val + num_test],
             "train": pairs[:, num_val + num_test:]}
    torch.manual_seed(seed)
    negatives = negative_sampling(edge_index, num_nodes=num_nodes, num_neg_samples=num_val + num_test)
    split["valid_neg"], split["test_neg"] = negatives[:, :num_val], negatives[:, num_val:num_val + num_test]
    return split


def hits_at_100(positive: Tensor, negative: Tensor) -> float:
    from ogb.linkproppred import Evaluator

    return Evaluator("ogbl-ppa").eval({"y_pred_pos": positive, "y_pred_neg": negative})["hits@100"]


def ogb_split(split: dict) -> dict:
    """An OGB link split (``{"train": {"edge": [M, 2]}, "valid": {"edge", "edge_neg"}, ...}``) as ``[2, M]`` pairs."""
    pairs = {part: split[part]["edge"].t().long() for part in ("train", "valid", "test")}
    pairs.update({f"{part}_neg": split[part]["edge_neg"].t().long() for part in ("valid", "test")})
    return pairs


def train_link_predictor(predictor_name: str, data, seed: int, epochs: int = 60, hidden: int = 128,
                         dropout: float = 0.3, lr: float = 0.005, batch_size: int = 1024, split: dict | None = None,
                         metric=hits_at_100, normalise: bool = True,
                         fanouts: list[int] | None = None) -> dict[str, float]:
    """Train encoder + predictor from ``seed``; returns validation and test ``metric`` (HR@100 by default) at
    the best validation epoch. ``split`` defaults to :func:`split_edges` of ``data`` for this seed.

    With ``fanouts``, each step sees only the neighbourhoods sampled around its links (geomlearn's
    ``LinkNeighborLoader``, one binary negative per positive), as on a graph too large for full-batch training;
    without, every step runs the encoder on the whole training graph. Evaluation is full-batch either way."""
    from benchmarks.graph.node_classification import normalise_rows

    split = split_edges(data.edge_index, data.num_nodes, seed) if split is None else split
    torch.manual_seed(seed)
    x = normalise_rows(data.x) if normalise else data.x.float()
    train_edges = to_undirected(split["train"], num_nodes=data.num_nodes)
    train_graph = SparseIndex(train_edges, num_nodes=data.num_nodes)
    encoder = Encoder(x.shape[1], hidden, dropout)
    predictor = PREDICTORS[predictor_name](hidden, hidden, dropout=dropout)
    optimizer = torch.optim.Adam(list(encoder.parameters()) + list(predictor.parameters()), lr=lr)
    loader = None if fanouts is None else LinkNeighborLoader(
        Data(x=x, edge_index=train_edges, num_nodes=data.num_nodes), fanouts, edge_label_index=split["train"],
        neg_sampling_ratio=1.0, batch_size=batch_size, shuffle=True)
    best = BestEpoch()
    for epoch in range(epochs):
        encoder.train()
        predictor.train()
        steps = full_graph_steps(x, train_graph, split["train"], batch_size) if loader is None else \
            sampled_steps(loader)
        for step in steps:
            train_step(encoder, predictor, optimizer, *step)
        encoder.eval()
        predictor.eval()
        with torch.no_grad():
            h = encoder(x, train_graph)
            scores = {key: predictor(h, train_graph, split[key]) for key in ("valid", "valid_neg", "test", "test_neg")}
        val = metric(scores["valid"], scores["valid_neg"])
        best.update(val, lambda: {"val": val, "test": metric(scores["test"], scores["test_neg"]), "epoch": epoch})
    return best.result


def train_step(encoder: torch.nn.Module, predictor: torch.nn.Module, optimizer: torch.optim.Optimizer, x: Tensor,
               graph: SparseIndex, positives: Tensor, negatives: Tensor) -> float:
    """One step on the binary cross-entropy of positive against negative pairs; returns the loss."""
    h = encoder(x, graph)
    loss = F.binary_cross_entropy_with_logits(predictor(h, graph, positives), torch.ones(positives.shape[1])) \
        + F.binary_cross_entropy_with_logits(predictor(h, graph, negatives), torch.zeros(negatives.shape[1]))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def full_graph_steps(x: Tensor, train_graph: SparseIndex, positives: Tensor, batch_size: int):
    """An epoch of full-graph steps: ``(x, graph, positives, negatives)`` for each batch of positive links, the graph
    without the batch's links, as many uniformly drawn negative pairs."""
    for batch in torch.randperm(positives.shape[1]).split(batch_size):
        targets = positives[:, batch]
        yield x, remove_target_links(train_graph, targets), targets, torch.randint(0, x.shape[0], targets.shape)


def sampled_steps(loader: LinkNeighborLoader):
    """An epoch of sampled steps: ``(x, graph, positives, negatives)`` on each batch's subgraph, in its local ids, the
    subgraph without the batch's positive links."""
    for batch in loader:
        positive = batch.edge_label == 1
        targets = batch.edge_label_index[:, positive]
        graph = SparseIndex(batch.edge_index, num_nodes=batch.num_nodes)
        yield batch.x, remove_target_links(graph, targets), targets, batch.edge_label_index[:, ~positive]
