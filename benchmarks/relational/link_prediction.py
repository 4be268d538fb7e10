r"""Knowledge-graph link prediction with an R-GCN encoder and a DistMult decoder (Schlichtkrull et al., 2018).

The encoder is two :class:`~geomlearn.gnn.RGCNConv` layers with block-diagonal weights over learned node
embeddings, on the training triples in both directions (``2R`` types); the decoder scores a triple
:math:`(h, r, t)` as :math:`\langle z_h, w_r, z_t \rangle`. Each epoch runs the encoder on the whole training
graph and minimises the binary cross-entropy of the training triples against as many corrupted ones (head or
tail replaced by a uniformly drawn entity), plus ``l2`` times the mean squares of the embeddings (torch_geometric's
R-GCN link-prediction example's recipe). Evaluation is the paper's filtered protocol: every test triple's head
and tail are ranked against all entities, the other known triples (train, valid, test) left out, and MRR and
Hits@1/3/10 averaged over both sides. Training runs to a wall-clock budget, selecting the epoch by validation
MRR.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Data
from tqdm.auto import tqdm

from geomlearn.gnn import RGCNConv

from ..best_epoch import BestEpoch


@dataclass(frozen=True)
class Settings:
    """The model and schedule: torch_geometric's R-GCN link-prediction example (500 channels, 5 blocks, dropout 0.2,
    Adam at 0.01, ``l2`` 0.01), a wall-clock budget (and, where given, a number of epochs: training stops at
    whichever comes first), validation every ``eval_every`` epochs."""

    hidden: int = 500
    num_blocks: int = 5
    dropout: float = 0.2
    lr: float = 0.01
    l2: float = 0.01
    budget_s: float = 1800.0
    max_epochs: int | None = None
    eval_every: int = 25
    eval_triples: int | None = None          # validation / test triples scored (None: all)


class RGCNLinkPredictor(torch.nn.Module):
    """Node embeddings, two R-GCN layers (block-diagonal) and DistMult relation vectors."""

    def __init__(self, num_nodes: int, num_relations: int, settings: Settings):
        super().__init__()
        self.dropout = settings.dropout
        self.node_emb = torch.nn.Parameter(torch.empty(num_nodes, settings.hidden))
        self.conv1 = RGCNConv(settings.hidden, settings.hidden, 2 * num_relations, num_blocks=settings.num_blocks)
        self.conv2 = RGCNConv(settings.hidden, settings.hidden, 2 * num_relations, num_blocks=settings.num_blocks)
        self.rel_emb = torch.nn.Parameter(torch.empty(num_relations, settings.hidden))
        torch.nn.init.xavier_uniform_(self.node_emb)
        torch.nn.init.xavier_uniform_(self.rel_emb)

    def encode(self, edge_index: Tensor, edge_type: Tensor) -> Tensor:
        x = F.relu(self.conv1(self.node_emb, edge_index, edge_type))
        return self.conv2(F.dropout(x, self.dropout, self.training), edge_index, edge_type)

    def score(self, z: Tensor, head: Tensor, relation: Tensor, tail: Tensor) -> Tensor:
        return (z[head] * self.rel_emb[relation] * z[tail]).sum(-1)


def corrupt(head: Tensor, tail: Tensor, num_nodes: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Each triple with its head or its tail (one of the two, evenly) replaced by a uniformly drawn entity."""
    replace_head = torch.rand(head.shape, generator=generator) < 0.5
    drawn = torch.randint(0, num_nodes, head.shape, generator=generator)
    return torch.where(replace_head, drawn, head), torch.where(replace_head, tail, drawn)


def filtered_ranks(z: Tensor, rel_emb: Tensor, triples: Tensor, known: Tensor, num_nodes: int,
                   chunk: int = 512) -> Tensor:
    """``[2T]`` filtered ranks of the true tail of ``(h, r, ?)`` and the true head of ``(?, r, t)`` for each of the
    ``triples [3, T]`` (head, relation, tail), against every entity, leaving out the other triples in ``known``
    ``[3, K]``. Ties count against the true entity (its rank is 1 + the entities scoring at least as high)."""
    relations = rel_emb.shape[0]
    ranks = []
    for side in ("tail", "head"):
        # Queries (anchor, relation) whose answer is ``target``; DistMult is symmetric, so a head query scores
        # <z_t, w_r, z_?> like a tail query from the tail.
        anchor, target = (triples[0], triples[2]) if side == "tail" else (triples[2], triples[0])
        known_anchor, known_answer = (known[0], known[2]) if side == "tail" else (known[2], known[0])
        known_keys = known_anchor * relations + known[1]
        order = torch.argsort(known_keys)
        known_keys, known_answer = known_keys[order], known_answer[order]
        for start in range(0, anchor.numel(), chunk):
            a, r, t = anchor[start:start + chunk], triples[1, start:start + chunk], target[start:start + chunk]
            scores = (z[a] * rel_emb[r]) @ z.T                                               # [B, N]
            true = scores.gather(1, t.unsqueeze(1))
            keys = a * relations + r
            lo, hi = torch.searchsorted(known_keys, keys), torch.searchsorted(known_keys, keys, right=True)
            counts = hi - lo
            rows = torch.repeat_interleave(torch.arange(keys.numel()), counts)
            positions = torch.repeat_interleave(lo - torch.cumsum(counts, 0) + counts, counts) + \
                torch.arange(int(counts.sum()))
            scores[rows, known_answer[positions]] = float("-inf")                        # every known answer...
            scores[torch.arange(keys.numel()), t] = float("-inf")                         # ...and the true one
            ranks.append(1 + (scores >= true).sum(1))
    return torch.cat(ranks).float()


def metrics(ranks: Tensor) -> dict:
    return {"MRR": float((1 / ranks).mean()), **{f"Hits@{k}": float((ranks <= k).float().mean()) for k in (1, 3, 10)}}


def train_link_predictor(data: Data, settings: Settings, seed: int = 0, progress: bool = False) -> dict:
    """Train to ``settings.budget_s`` seconds (or ``settings.max_epochs`` epochs, if sooner); the test figures at the
    epoch of the best validation MRR."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = RGCNLinkPredictor(data.num_nodes, data.num_relations, settings)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    triples = {name: torch.stack([data[f"{name}_edge_index"][0], data[f"{name}_edge_type"],
                                  data[f"{name}_edge_index"][1]]) for name in ("train", "valid", "test")}
    train, known = triples["train"], torch.cat(list(triples.values()), dim=1)
    splits = {name: triples[name][:, :settings.eval_triples] for name in ("valid", "test")}
    best, epoch, start = BestEpoch(), 0, time.perf_counter()
    bar = tqdm(desc="R-GCN link prediction", total=int(settings.budget_s), unit="s", disable=not progress)

    def evaluate(name: str) -> dict:
        model.eval()
        with torch.no_grad():
            z = model.encode(data.edge_index, data.edge_type)
            return metrics(filtered_ranks(z, model.rel_emb, splits[name], known, data.num_nodes))

    while True:
        epoch += 1
        model.train()
        optimizer.zero_grad()
        z = model.encode(data.edge_index, data.edge_type)
        head, tail = corrupt(train[0], train[2], data.num_nodes, generator)
        positive = model.score(z, train[0], train[1], train[2])
        negative = model.score(z, head, train[1], tail)
        loss = F.binary_cross_entropy_with_logits(torch.cat([positive, negative]),
                                                  torch.cat([torch.ones_like(positive), torch.zeros_like(negative)]))
        loss = loss + settings.l2 * (z.pow(2).mean() + model.rel_emb.pow(2).mean())
        loss.backward()
        optimizer.step()
        elapsed = time.perf_counter() - start
        out_of_time = elapsed >= settings.budget_s or epoch == settings.max_epochs
        if epoch % settings.eval_every == 0 or out_of_time:
            valid = evaluate("valid")
            best.update(valid["MRR"], lambda: {"epoch": epoch, "valid MRR": valid["MRR"], **evaluate("test")})
            bar.set_postfix(loss=f"{loss.item():.4f}", valid_mrr=f"{valid['MRR']:.3f}", **best.progress())
        bar.update(int(elapsed) - bar.n)
        if out_of_time:
            bar.close()
            return {**best.result, "epochs": epoch, "seconds": elapsed}
