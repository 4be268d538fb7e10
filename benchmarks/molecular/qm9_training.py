"""QM9 energy regression at an equal wall-clock budget: TensorNet and the interaction network against SchNet.

Every model is trained on the same molecules (a seeded subset of the standard 110k / 10k / rest split, or
the whole split with ``FULL``) by Adam on the L1 loss of one target (U0 by default, in eV, less the atom
references: the atomisation energy), for the same number of seconds of wall-clock time; the validation
MAE is checked every ``eval_every`` batches and the test MAE (meV) is reported at the best
validation point. SchNet is torch_geometric's, given geomlearn's radius graph (torch_cluster is not needed).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import torch
from torch_geometric.loader import DataLoader
from torch_geometric.nn.models import SchNet

from geomlearn.datasets import TARGETS_QM9, atom_references, qm9, qm9_split
from geomlearn.equivariant import InteractionNetwork, TensorNet, radius_graph

MODELS = ("TensorNet", "InteractionNetwork (cg)", "SchNet (torch_geometric)")


@dataclass(frozen=True)
class QM9Settings:
    target: str = "U0"
    train: int = 5_000
    val: int = 500
    test: int = 1_000
    batch_size: int = 32
    lr: float = 5e-4
    budget_s: float = 300.0
    eval_every: int = 50
    cutoff: float = 5.0
    seed: int = 0


QUICK = QM9Settings(train=64, val=32, test=32, batch_size=16, budget_s=4.0, eval_every=2)
FULL = QM9Settings(train=110_000, val=10_000, test=-1, budget_s=3 * 3600.0, eval_every=1000)


def load(s: QM9Settings) -> dict[str, list]:
    """The molecules of each part. The split is the standard one of all 130,831 molecules, truncated to the
    sizes of ``s`` (``test = -1``: the whole rest); a run of at most 1,000 molecules (``--quick``) splits the
    first molecules of the files instead of reading them all. For U0 / U / H / G the target is the energy
    minus the free atoms' (the atom-reference prior, subtracted here in float64 so that float32 models do
    not lose meV to total energies of -10^4 eV; MAEs are the same), and then a per-element linear baseline
    fitted on the training molecules."""
    total = s.train + s.val + max(s.test, 0)
    if total <= 1_000:
        molecules = qm9(max_molecules=2 * total)
        split = qm9_split(len(molecules), seed=s.seed, train=s.train, val=s.val)
    else:
        molecules = qm9()
        split = qm9_split(len(molecules), seed=s.seed)
    column = list(TARGETS_QM9).index(s.target)
    reference = atom_references(s.target) if s.target in ("U0", "U", "H", "G") else None
    parts = {}
    for name, size in (("train", s.train), ("val", s.val), ("test", s.test)):
        chosen = split[name] if size < 0 else split[name][:size]
        parts[name] = []
        for k in chosen.tolist():
            data = copy.copy(molecules[k])
            y = molecules[k].y[:, column]
            data.y = y - reference[data.z].sum() if reference is not None else y
            parts[name].append(data)
    # A per-element linear baseline fitted on the training molecules (least squares of the target on the
    # element counts) is subtracted from every part, for every model alike: the networks learn the residual.
    counts = lambda part: torch.stack([torch.bincount(d.z, minlength=10).double() for d in part])   # noqa: E731
    targets = torch.cat([d.y for d in parts["train"]])
    baseline = torch.linalg.lstsq(counts(parts["train"]), targets.unsqueeze(1), driver="gelsd").solution.squeeze(1)
    for part in parts.values():
        for data, count in zip(part, counts(part)):
            data.y = (data.y - count @ baseline).float()
    return parts


def build(name: str, s: QM9Settings) -> torch.nn.Module:
    if name == "TensorNet":
        return TensorNet(hidden_channels=64, num_layers=2, num_rbf=32, cutoff=s.cutoff, max_z=9)
    if name == "InteractionNetwork (cg)":
        return InteractionNetwork(channels=32, lmax=1, lmax_sh=2, num_layers=3, product="cg", cutoff=s.cutoff,
                                  max_z=9)
    if name == "SchNet (torch_geometric)":
        def graph(pos, batch):
            edge_index = radius_graph(pos.detach(), s.cutoff, batch, max_num_neighbors=None)
            return edge_index, (pos[edge_index[1]] - pos[edge_index[0]]).norm(dim=1)

        return _SchNetEnergy(SchNet(hidden_channels=128, num_filters=128, num_interactions=6, num_gaussians=50,
                                    cutoff=s.cutoff, interaction_graph=graph))
    raise ValueError(f"model: expected one of {MODELS}, got {name!r}")


class _SchNetEnergy(torch.nn.Module):
    """SchNet with geomlearn's call signature: ``(z, pos, batch) -> [B]``."""

    def __init__(self, schnet: SchNet):
        super().__init__()
        self.schnet = schnet

    def forward(self, z, pos, batch):
        return self.schnet(z, pos, batch).squeeze(-1)


def _mae(model: torch.nn.Module, loader: DataLoader) -> float:
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in loader:
            total += float((model(batch.z, batch.pos, batch.batch) - batch.y).abs().sum())
            count += batch.num_graphs
    model.train()
    return total / count


def train(name: str, parts: dict[str, list], s: QM9Settings) -> dict:
    """Train for ``s.budget_s`` seconds; ``{"test_mae_meV", "val_mae_meV", "steps", "parameters"}``."""
    torch.manual_seed(s.seed)
    model = build(name, s)
    optimizer = torch.optim.Adam(model.parameters(), lr=s.lr)
    loaders = {k: DataLoader(v, batch_size=s.batch_size, shuffle=(k == "train")) for k, v in parts.items()}
    best = {"val_mae_meV": float("inf"), "test_mae_meV": float("nan")}
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < s.budget_s:
        for batch in loaders["train"]:
            optimizer.zero_grad()
            (model(batch.z, batch.pos, batch.batch) - batch.y).abs().mean().backward()
            optimizer.step()
            steps += 1
            out_of_time = time.perf_counter() - start >= s.budget_s
            if steps % s.eval_every == 0 or out_of_time:
                val = 1e3 * _mae(model, loaders["val"])
                if val < best["val_mae_meV"]:
                    best = {"val_mae_meV": val, "test_mae_meV": 1e3 * _mae(model, loaders["test"])}
            if out_of_time:
                break
    return dict(best, steps=steps, parameters=sum(p.numel() for p in model.parameters()))
