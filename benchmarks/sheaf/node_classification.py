"""Node classification on the Geom-GCN splits: the sheaf models, GCN and MLP, trained as NSD's code does.

Full-batch Adam on one split's training nodes; after every epoch the model is evaluated and the test
accuracy kept at the best validation epoch (by accuracy or by loss: ``stop``; the first epoch that strictly
improves on the best so far, as NSD's ``exp/run.py``); training ends when the validation figure has not
improved for ``patience`` epochs. The restriction-map learners can have their own weight decay (NSD's
``sheaf_decay``). Features are row-normalised, as NSD's loader does, unless the settings ask for the raw ones
(``raw_features``), and are handed to the sheaf models as a sparse CSR matrix (bag-of-words: input dropout and
the encoder then cost ``nnz``, not ``N F``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from geomlearn.datasets import heterophilous, planetoid
from geomlearn.sheaf import (BundleNSD, ConnectionNSD, DiagNSD, FixedSheafDiffusion, GeneralNSD, IdentitySheafDiffusion,
                             SheafDiffusion, SheafLaplacian)
from geomlearn.sparse import SparseIndex

from ..best_epoch import BestEpoch
from ..graph.node_classification import GCN, MLP, normalise_rows

LEARNED_SHEAF_MODELS = ("Diag-NSD", "O(d)-NSD", "Gen-NSD")       # the NSD variants: maps learned per layer
SHEAF_MODELS = LEARNED_SHEAF_MODELS + ("Conn-NSD", "Identity-sheaf")
RAW = " (raw)"                                # a baseline's name with this suffix: on the features as stored
BASELINES = ("GCN", "MLP", "GCN" + RAW, "MLP" + RAW)
DATASETS = ("Texas", "Wisconsin", "Film", "Squirrel", "Chameleon", "Cornell", "CiteSeer", "Cora")


@dataclass(frozen=True)
class SheafSettings:
    """One model's architecture and schedule on one data set (NSD's command-line arguments)."""

    d: int = 3
    layers: int = 2
    hidden: int = 32
    dropout: float = 0.5
    input_dropout: float = 0.0
    lr: float = 0.01
    weight_decay: float = 5e-4
    sheaf_decay: Optional[float] = None
    low_pass: bool = False
    high_pass: bool = False
    second_linear: bool = False
    stalk_sum: bool = False
    epochs: int = 500
    patience: int = 200
    stop: str = "loss"
    raw_features: bool = False


# NSD's published run scripts (exp/scripts/run_<data set>.sh of its repository): the settings of the best
# variant on each of the five heterophilous graphs that have one. The other variants run with the same
# settings (Diag-NSD needs nothing else; O(d) and general maps need d >= 2, which all of them have).
# NSD's flags for the fixed coordinates are named the other way round from the operators its code builds
# (models/laplacian_builders.py, get_fixed_maps): `--add_lp` adds the signless Laplacian D + A (off-diagonal +1,
# a high-pass filter in the diffusion step; its parser's help says "high pass"), `--add_hp` the graph Laplacian
# D - A. Each script's `--add_lp=True` is therefore `high_pass=True` here.
PUBLISHED = {
    "Texas": SheafSettings(d=3, layers=4, hidden=20, dropout=0.7, lr=0.02, weight_decay=5e-3, stalk_sum=True),
    "Wisconsin": SheafSettings(d=3, layers=2, hidden=32, dropout=0.7276, lr=0.02, weight_decay=6.686e-4,
                               low_pass=True, high_pass=True),
    "Cornell": SheafSettings(d=4, layers=2, hidden=16, dropout=0.7, input_dropout=0.2, lr=0.02,
                             weight_decay=6.915e-4, sheaf_decay=3.176e-4, high_pass=True),
    "Chameleon": SheafSettings(d=4, layers=5, hidden=32, dropout=0.0, input_dropout=0.7, lr=0.01,
                               weight_decay=2.970e-4, sheaf_decay=1.264e-3, high_pass=True, second_linear=True,
                               epochs=1000, patience=100, stop="acc"),
    "Squirrel": SheafSettings(d=3, layers=5, hidden=32, dropout=0.0, input_dropout=0.7, lr=0.01,
                              weight_decay=1.122e-4, high_pass=True, second_linear=True, epochs=1000, patience=100,
                              stop="acc"),
}
# No published script: Film, Cora and CiteSeer run with these (chosen here, recorded with every result).
# Cora and CiteSeer share the best of nine random draws (`python -m benchmarks.sheaf.sweep <Data set> Diag-NSD
# --trials 9 --seed 1`, ranges in that module, like NSD's own sweep's) by Diag-NSD's mean validation accuracy on
# splits 0-2; the same draw won on both: Cora 88.0 (others 80.6-87.4), CiteSeer 77.9 (others 73.3-77.6), against
# 85.6 / 76.3 for the earlier hand-picked d = 3, 2 layers, 32 channels, dropout 0.5, input dropout 0.5, weight decay
# 5e-4. The three best draws on either data set drop 80 % of the input features.
CITATION = SheafSettings(d=4, layers=5, hidden=16, dropout=0.5, input_dropout=0.8, lr=0.02, weight_decay=1.416e-4,
                         sheaf_decay=7.343e-4, low_pass=True, high_pass=True, epochs=1500, patience=200, stop="acc")
# Film: the best of eight draws (`python -m benchmarks.sheaf.sweep Film Diag-NSD --trials 8 --seed 1`) by Diag-NSD's
# mean validation accuracy on splits 0-2: 38.8 (others 35.1-37.9); the hand-picked d = 3, 2 layers, 32 channels,
# low pass, dropout 0.5, input dropout 0.2, weight decay 5e-4 (500 epochs, patience 100 on the loss) before it.
FILM = SheafSettings(d=3, layers=5, hidden=8, dropout=0.7, input_dropout=0.0, lr=0.02, weight_decay=1.570e-3,
                     sheaf_decay=4.535e-3, high_pass=True, second_linear=True, epochs=1500, patience=200, stop="acc")
CHOSEN = {
    "Film": FILM,
    "Cora": CITATION,
    "CiteSeer": CITATION,
}
BASELINE_SETTINGS = SheafSettings(hidden=64, dropout=0.5, lr=0.01, weight_decay=5e-4, epochs=500, patience=100)


def settings_for(model: str, dataset: str) -> SheafSettings:
    if model in BASELINES:
        return replace(BASELINE_SETTINGS, raw_features=model.endswith(RAW))
    return PUBLISHED.get(dataset) or CHOSEN[dataset]


def load(dataset: str):
    """The graph with its ten Geom-GCN splits as ``[N, 10]`` masks and its features as stored (float)."""
    if dataset in ("Cora", "CiteSeer"):
        data = planetoid(dataset, split="geom-gcn")
    else:
        data = heterophilous("actor" if dataset == "Film" else dataset.lower())
    data.x = data.x.float()
    return data


def features(data, s: SheafSettings) -> Tensor:
    """The node features a model with settings ``s`` reads: row-normalised (NSD) or, with ``raw_features``, as
    stored."""
    return data.x if s.raw_features else normalise_rows(data.x)


def build(model: str, in_channels: int, classes: int, s: SheafSettings) -> torch.nn.Module:
    if model in BASELINES:
        return {"GCN": GCN, "MLP": MLP}[model.removesuffix(RAW)](in_channels, s.hidden, classes, s.dropout)
    common = dict(d=s.d, num_layers=s.layers, dropout=s.dropout, input_dropout=s.input_dropout, low_pass=s.low_pass,
                  high_pass=s.high_pass, second_linear=s.second_linear)
    learned = dict(common, stalk_sum=s.stalk_sum)
    if model == "Diag-NSD":
        return DiagNSD(in_channels, s.hidden, classes, **learned)
    if model == "O(d)-NSD":
        return BundleNSD(in_channels, s.hidden, classes, **learned)
    if model == "Gen-NSD":
        return GeneralNSD(in_channels, s.hidden, classes, **learned)
    if model == "Conn-NSD":
        return ConnectionNSD(in_channels, s.hidden, classes, **common)
    if model == "Identity-sheaf":
        return IdentitySheafDiffusion(in_channels, s.hidden, classes, **common)
    raise ValueError(f"model: expected one of {SHEAF_MODELS + BASELINES}, got {model!r}")


def _optimizer(model: torch.nn.Module, s: SheafSettings) -> torch.optim.Optimizer:
    learners = [p for name, p in model.named_parameters() if name.startswith("learners.")]
    others = [p for name, p in model.named_parameters() if not name.startswith("learners.")]
    groups = [{"params": others, "weight_decay": s.weight_decay}]
    if learners:
        groups.append({"params": learners,
                       "weight_decay": s.weight_decay if s.sheaf_decay is None else s.sheaf_decay})
    return torch.optim.Adam(groups, lr=s.lr)


def train_split(model_name: str, data, split: int, s: SheafSettings, seed: int = 0,
                epochs: Optional[int] = None, sheaf: Optional[SheafLaplacian] = None, progress: bool = False) -> dict:
    """Seed, build the model and train it on split ``split``; returns the test accuracy at the best validation
    epoch (``"test"``, with ``"val"`` and ``"epoch"``), the timing and the trained ``"model"``. The initial weights
    depend on ``seed`` only, not on what ran before in the process. ``sheaf``: a fixed-sheaf model's Laplacian
    already computed for this graph and these features (one connection sheaf serves every split). ``progress``:
    a bar over the epochs on stderr."""
    torch.manual_seed(seed)
    train, val, test = (data.train_mask[:, split], data.val_mask[:, split], data.test_mask[:, split])
    y = data.y.reshape(-1)
    index = SparseIndex(data.edge_index, num_nodes=data.num_nodes)
    classes = int(y.max()) + 1
    model = build(model_name, data.num_features, classes, s)
    if sheaf is not None:
        if not isinstance(model, FixedSheafDiffusion):
            raise ValueError(f"sheaf: only a fixed-sheaf model takes a precomputed sheaf, got model {model_name!r}")
        model.sheaf = sheaf
    x = features(data, s)
    x = x.to_sparse_csr() if isinstance(model, SheafDiffusion) else x
    optimizer = _optimizer(model, s)
    best = BestEpoch(s.patience)
    total = s.epochs if epochs is None else epochs
    start = time.perf_counter()
    epochs_bar = tqdm(range(total), desc=f"{model_name} split {split}", unit="epoch", leave=False,
                      disable=not progress)
    for epoch in epochs_bar:
        model.train()
        optimizer.zero_grad()
        F.cross_entropy(model(x, index)[train], y[train]).backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            logits = model(x, index)
        val_loss = float(F.cross_entropy(logits[val], y[val]))
        predicted = logits.argmax(1)
        val_acc = float((predicted[val] == y[val]).float().mean())
        stop = best.update(val_acc if s.stop == "acc" else -val_loss,
                           lambda: {"val": val_acc, "test": float((predicted[test] == y[test]).float().mean()),
                                    "epoch": epoch})
        epochs_bar.set_postfix(val=f"{val_acc:.3f}", **best.progress(), refresh=False)
        if stop:
            break
    return {**best.result, "epochs_run": epoch + 1, "seconds_per_epoch": (time.perf_counter() - start) / (epoch + 1),
            "model": model}


def describe(s: SheafSettings) -> dict:
    return asdict(s)


def quick(s: SheafSettings) -> SheafSettings:
    """The same model for a smoke run: two epochs."""
    return replace(s, epochs=2, patience=2)
