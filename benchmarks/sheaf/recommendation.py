"""Top-N recommendation on MovieLens 100K's five folds: BPR training and full-ranking evaluation.

Every rating is an implicit interaction. For fold ``k`` the graph holds the ``u{k}.base`` ratings (both
directions); each epoch pairs every training interaction with one item the user has not rated in training,
drawn uniformly, in mini-batches; the model propagates over the whole graph per batch. Evaluation ranks
all items a user has not rated in training and scores the ``u{k}.test`` items: precision and recall at 10
(F1@10 from their means over users), NDCG@10 (binary gains, ideal order of the user's test items) and
Recall@20, averaged over the users with a test item.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor
from torch_geometric.utils import to_undirected

from geomlearn.gnn import LightGCN
from geomlearn.sheaf import SheafRecommender
from geomlearn.sparse import SparseIndex

RECOMMENDERS = ("LightGCN", "SheafRecommender")


@dataclass(frozen=True)
class RecsysSettings:
    embedding_dim: int = 64
    layers: int = 3
    d: int = 4
    maps: str = "householder"
    edge_weights: bool = False
    lr: float = 5e-3
    learner_lr: Optional[float] = None     # the sheaf learner's own learning rate (None: lr)
    lambda_reg: float = 1e-4
    batch_size: int = 8192
    epochs: int = 60


def fold_split(data, fold: int) -> tuple[Tensor, Tensor, Tensor]:
    """``(train_pairs [2, R], train_matrix [U, I] bool, test_matrix [U, I] bool)`` of fold ``fold`` (0-based);
    pairs hold node ids (items offset by the number of users), matrices item columns from 0."""
    test = data.test_mask[:, fold]
    pairs = data.edge_index
    users, items = data.num_users, data.num_items

    def matrix(selected):
        out = torch.zeros(users, items, dtype=torch.bool)
        out[pairs[0, selected], pairs[1, selected] - users] = True
        return out

    return pairs[:, ~test], matrix(~test), matrix(test)


def build(name: str, num_nodes: int, s: RecsysSettings) -> LightGCN:
    if name == "LightGCN":
        return LightGCN(num_nodes, s.embedding_dim, s.layers)
    if name == "SheafRecommender":
        return SheafRecommender(num_nodes, s.embedding_dim, s.layers, d=s.d, maps=s.maps, edge_weights=s.edge_weights)
    raise ValueError(f"model: expected one of {RECOMMENDERS}, got {name!r}")


def ranking_metrics(scores: Tensor, train: Tensor, test: Tensor) -> dict[str, float]:
    """F1@10, NDCG@10, Recall@20 (and P@10, R@10) of ``scores [U, I]`` with the training items excluded."""
    scores = scores.masked_fill(train, float("-inf"))
    users = test.any(dim=1)
    scores, test = scores[users], test[users]
    top = scores.topk(20, dim=1).indices
    hits = test.gather(1, top).float()                                   # [U, 20]
    relevant = test.sum(dim=1).float()
    precision10 = hits[:, :10].sum(1).div(10).mean().item()
    recall10 = (hits[:, :10].sum(1) / relevant).mean().item()
    discounts = 1.0 / torch.log2(torch.arange(2, 12, dtype=torch.float))
    dcg = (hits[:, :10] * discounts).sum(1)
    ideal = torch.stack([discounts[: int(min(n, 10))].sum() for n in relevant.tolist()])
    f1 = 2 * precision10 * recall10 / (precision10 + recall10) if precision10 + recall10 else 0.0
    return {"F1@10": f1, "NDCG@10": (dcg / ideal).mean().item(), "Recall@20": (hits.sum(1) / relevant).mean().item(),
            "P@10": precision10, "R@10": recall10}


def _negatives(users: Tensor, train: Tensor, generator: torch.Generator) -> Tensor:
    """One item per user not in the user's training items, drawn uniformly (rejection)."""
    items = torch.randint(0, train.shape[1], users.shape, generator=generator)
    clash = train[users, items]
    while bool(clash.any()):
        items[clash] = torch.randint(0, train.shape[1], (int(clash.sum()),), generator=generator)
        clash = train[users, items]
    return items


def train_recommender(name: str, data, fold: int, s: RecsysSettings, seed: int = 0,
                      epochs: Optional[int] = None) -> dict:
    """Train on fold ``fold``'s base ratings; returns the test metrics after the last epoch and the timing."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    pairs, train, test = fold_split(data, fold)
    num_users = data.num_users
    index = SparseIndex(to_undirected(pairs, num_nodes=data.num_nodes), num_nodes=data.num_nodes)
    model = build(name, data.num_nodes, s)
    learner = [p for n, p in model.named_parameters() if n.startswith("learner.")]
    others = [p for n, p in model.named_parameters() if not n.startswith("learner.")]
    groups = [{"params": others}] + ([{"params": learner, "lr": s.learner_lr or s.lr}] if learner else [])
    optimizer = torch.optim.Adam(groups, lr=s.lr)
    total = s.epochs if epochs is None else epochs
    start = time.perf_counter()
    for _ in range(total):
        order = torch.randperm(pairs.shape[1], generator=generator)
        for batch in order.split(s.batch_size):
            users, positives = pairs[0, batch], pairs[1, batch]
            negatives = _negatives(users, train, generator) + num_users
            optimizer.zero_grad()
            embedding = model.get_embedding(index)
            user = embedding[users]
            positive = (user * embedding[positives]).sum(-1)
            negative = (user * embedding[negatives]).sum(-1)
            nodes = torch.cat([users, positives, negatives])
            model.recommendation_loss(positive, negative, nodes, lambda_reg=s.lambda_reg).backward()
            optimizer.step()
    seconds = (time.perf_counter() - start) / max(total, 1)
    model.eval()
    with torch.no_grad():
        embedding = model.get_embedding(index)
        scores = embedding[:num_users] @ embedding[num_users:].T
    metrics = ranking_metrics(scores, train, test)
    metrics["seconds_per_epoch"] = seconds
    return metrics
