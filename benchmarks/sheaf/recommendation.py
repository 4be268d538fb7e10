"""Top-N recommendation on MovieLens 100K's five folds: BPR training and full-ranking evaluation.

Every rating is an implicit interaction. For fold ``k`` a random tenth of the ``u{k}.base`` ratings is held
out for validation and the graph holds the rest (both directions); each epoch pairs every training
interaction with one item the user has not rated in training, drawn uniformly, in mini-batches; the model
propagates over the whole graph per batch. Every few epochs the model ranks, for each user, the items
not rated in training and is scored on the held-out ones; the ``u{k}.test`` figures reported are those of
the epoch with the best validation NDCG@10 (a fixed epoch count catches one model still learning and
another already overfitting: LightGCN trained on all of u1.base scores NDCG@10 49.7 after 60 epochs and 54.2
after 150 at lr 5e-3, but 52.5 after 60 and 47.4 after 150 at lr 2e-2). The test ranking leaves out every
``u{k}.base`` item of the user. Metrics: precision and recall at 10 (F1@10 from their means over users),
NDCG@10 (binary gains, ideal order of the user's test items) and Recall@20, averaged over the users with a
test item.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor
from torch_geometric.utils import to_undirected
from tqdm.auto import tqdm

from geomlearn.argument_checks import check_int
from geomlearn.gnn import LightGCN
from geomlearn.sheaf import SheafRecommender
from geomlearn.sparse import SparseIndex

from ..best_epoch import BestEpoch

RECOMMENDERS = ("LightGCN", "SheafRecommender")


@dataclass(frozen=True)
class RecsysSettings:
    embedding_dim: int = 64
    layers: int = 3
    d: int = 4
    maps: str = "householder"
    edge_weights: bool = False
    lr: float = 5e-3
    # The sheaf learner's own learning rate (None: lr). Chosen on fold u1's validation NDCG@10 among 5e-3 (= lr),
    # 5e-4 and 5e-5: 20.33, 20.46, 20.93 (LightGCN 22.29); the less the maps move, the better.
    learner_lr: Optional[float] = 5e-5
    lambda_reg: float = 1e-4
    batch_size: int = 8192
    epochs: int = 300                      # at most; the reported epoch is chosen on the validation ratings
    validation: float = 0.1                # fraction of the training ratings held out to choose the epoch
    eval_every: int = 5                    # epochs between validation rankings
    patience: int = 6                      # validation rankings without a better NDCG@10 before stopping


def interaction_matrix(pairs: Tensor, num_users: int, num_items: int) -> Tensor:
    """``[U, I]`` bool of the user-item ``pairs [2, R]`` (node ids: items offset by ``num_users``)."""
    out = torch.zeros(num_users, num_items, dtype=torch.bool)
    out[pairs[0], pairs[1] - num_users] = True
    return out


def fold_split(data, fold: int) -> tuple[Tensor, Tensor]:
    """``(train_pairs [2, R], test_pairs [2, T])`` of fold ``fold`` (0-based), as node ids."""
    test = data.test_mask[:, fold]
    return data.edge_index[:, ~test], data.edge_index[:, test]


def hold_out(pairs: Tensor, fraction: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """``(kept [2, R - V], held_out [2, V])``: a uniformly drawn ``round(fraction R)`` of the pairs held out."""
    if not 0 < fraction < 1:
        raise ValueError(f"validation: expected a fraction in (0, 1), got {fraction!r}")
    order = torch.randperm(pairs.shape[1], generator=generator)
    held = round(fraction * pairs.shape[1])
    return pairs[:, order[held:]], pairs[:, order[:held]]


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


def _scores(model: LightGCN, index: SparseIndex, num_users: int) -> Tensor:
    """``[U, I]`` inner products of the propagated user and item embeddings."""
    model.eval()
    with torch.no_grad():
        embedding = model.get_embedding(index)
    model.train()
    return embedding[:num_users] @ embedding[num_users:].T


def train_recommender(name: str, data, fold: int, s: RecsysSettings, seed: int = 0,
                      epochs: Optional[int] = None, progress: bool = False) -> dict:
    """Train on fold ``fold``'s base ratings less the validation hold-out; returns the test metrics of the epoch
    with the best validation NDCG@10 (ranked every ``s.eval_every`` epochs and after the last), that epoch
    (``"epoch"``), its validation NDCG@10 and the training time per epoch (evaluation excluded). ``progress``: a
    bar over the epochs on stderr."""
    total = s.epochs if epochs is None else epochs
    check_int("epochs", total)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    users, items = data.num_users, data.num_items
    known, test_pairs = fold_split(data, fold)
    pairs, held_out = hold_out(known, s.validation, generator)
    fit, validation = interaction_matrix(pairs, users, items), interaction_matrix(held_out, users, items)
    excluded, test = interaction_matrix(known, users, items), interaction_matrix(test_pairs, users, items)
    index = SparseIndex(to_undirected(pairs, num_nodes=data.num_nodes), num_nodes=data.num_nodes)
    model = build(name, data.num_nodes, s)
    learner = [p for n, p in model.named_parameters() if n.startswith("learner.")]
    others = [p for n, p in model.named_parameters() if not n.startswith("learner.")]
    groups = [{"params": others}] + ([{"params": learner, "lr": s.learner_lr or s.lr}] if learner else [])
    optimizer = torch.optim.Adam(groups, lr=s.lr)
    best, training = BestEpoch(s.patience), 0.0
    epochs_bar = tqdm(range(1, total + 1), desc=f"{name} fold u{fold + 1}", unit="epoch", leave=False,
                      disable=not progress)
    for epoch in epochs_bar:
        start = time.perf_counter()
        for batch in torch.randperm(pairs.shape[1], generator=generator).split(s.batch_size):
            user_ids, positives = pairs[0, batch], pairs[1, batch]
            negatives = _negatives(user_ids, fit, generator) + users
            optimizer.zero_grad()
            embedding = model.get_embedding(index)
            user = embedding[user_ids]
            positive = (user * embedding[positives]).sum(-1)
            negative = (user * embedding[negatives]).sum(-1)
            nodes = torch.cat([user_ids, positives, negatives])
            model.recommendation_loss(positive, negative, nodes, lambda_reg=s.lambda_reg).backward()
            optimizer.step()
        training += time.perf_counter() - start
        if epoch % s.eval_every and epoch < total:
            continue
        scores = _scores(model, index, users)
        score = ranking_metrics(scores, fit, validation)["NDCG@10"]
        stop = best.update(score, lambda: {**ranking_metrics(scores, excluded, test), "epoch": epoch,
                                           "validation NDCG@10": score})
        epochs_bar.set_postfix({"val NDCG@10": f"{score:.3f}", **best.progress()}, refresh=False)
        if stop:
            break
    return {**best.result, "seconds_per_epoch": training / epoch}
