"""The two-layer models of the ``graph`` suite's epoch-time cases, built from geomlearn's or torch_geometric's
layers of the same name (the only difference between the two builds is which library the layers come from).

Every model maps ``x [N, channels]`` to ``[N, classes]``. The layers with a per-edge network or per-edge weight
matrices (NNConv, the edge features of GINEConv) run on narrower features where the edge tensors of the 2M-edge
graph would otherwise not fit in memory; the settings are listed per layer.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

EDGE_FEATURES = 8       # edge feature size of the layers that take edge features


class TwoLayer(torch.nn.Module):
    """``second(act(first(x)))`` on one graph; ``edge_attr`` goes to layers that take it."""

    def __init__(self, first, second, edge_features: bool = False, pre: torch.nn.Module | None = None):
        super().__init__()
        self.first, self.second, self.edge_features, self.pre = first, second, edge_features, pre

    def forward(self, x: Tensor, graph, edge_attr: Tensor | None = None) -> Tensor:
        extra = (edge_attr,) if self.edge_features else ()
        if self.pre is not None:
            x = self.pre(x)
        return self.second(F.relu(self.first(x, graph, *extra)), graph, *extra)


class GCNIIPair(torch.nn.Module):
    """Two GCN2Conv layers between an input and an output linear map (GCNII's block)."""

    def __init__(self, layers, channels: int, classes: int):
        super().__init__()
        self.convs = torch.nn.ModuleList([layers.GCN2Conv(channels, alpha=0.1, theta=0.5, layer=k + 1)
                                          for k in range(2)])
        self.out = torch.nn.Linear(channels, classes)

    def forward(self, x: Tensor, graph, edge_attr: Tensor | None = None) -> Tensor:
        h = x
        for conv in self.convs:
            h = F.relu(conv(h, x, graph))
        return self.out(h)


def _sequential(*sizes: int) -> torch.nn.Sequential:
    modules: list[torch.nn.Module] = []
    for k in range(len(sizes) - 1):
        modules += [torch.nn.Linear(sizes[k], sizes[k + 1]), torch.nn.ReLU()]
    return torch.nn.Sequential(*modules[:-1])


def build(layer: str, layers, channels: int, classes: int, degree_histogram: Tensor) -> torch.nn.Module:
    """The model of ``layer`` from the module ``layers`` (``geomlearn.gnn`` or ``torch_geometric.nn``)."""
    c, k = channels, classes
    narrow = 8                                                   # NNConv: [E, in * out] per-edge matrices
    builders: dict[str, Callable[[], torch.nn.Module]] = {
        "GCN": lambda: TwoLayer(layers.GCNConv(c, c), layers.GCNConv(c, k)),
        "SAGE": lambda: TwoLayer(layers.SAGEConv(c, c), layers.SAGEConv(c, k)),
        "GAT": lambda: TwoLayer(layers.GATConv(c, c // 4, heads=4), layers.GATConv(c, k, heads=1)),
        "GATv2": lambda: TwoLayer(layers.GATv2Conv(c, c // 4, heads=4), layers.GATv2Conv(c, k, heads=1)),
        "Transformer": lambda: TwoLayer(layers.TransformerConv(c, c // 4, heads=4), layers.TransformerConv(c, k)),
        "GraphConv": lambda: TwoLayer(layers.GraphConv(c, c), layers.GraphConv(c, k)),
        "GINE": lambda: TwoLayer(layers.GINEConv(_sequential(c, c, c), edge_dim=EDGE_FEATURES),
                                 layers.GINEConv(_sequential(c, c, k), edge_dim=EDGE_FEATURES), edge_features=True),
        "SG": lambda: TwoLayer(layers.SGConv(c, c, K=2), layers.SGConv(c, k, K=2)),
        "GCN2": lambda: GCNIIPair(layers, c, k),
        "Cheb": lambda: TwoLayer(layers.ChebConv(c, c, K=3), layers.ChebConv(c, k, K=3)),
        "EdgeConv": lambda: TwoLayer(layers.EdgeConv(_sequential(2 * c, c, c)), layers.EdgeConv(_sequential(2 * c, k))),
        "PNA": lambda: TwoLayer(
            layers.PNAConv(c, c, ["mean", "min", "max", "std"], ["identity", "amplification", "attenuation"],
                           degree_histogram),
            layers.PNAConv(c, k, ["mean", "min", "max", "std"], ["identity", "amplification", "attenuation"],
                           degree_histogram)),
        "ResGated": lambda: TwoLayer(layers.ResGatedGraphConv(c, c), layers.ResGatedGraphConv(c, k)),
        "NNConv": lambda: TwoLayer(layers.NNConv(narrow, narrow, torch.nn.Linear(EDGE_FEATURES, narrow * narrow)),
                                   layers.NNConv(narrow, k, torch.nn.Linear(EDGE_FEATURES, narrow * k)),
                                   edge_features=True, pre=torch.nn.Linear(c, narrow)),
    }
    return builders[layer]()


SPEED_LAYERS = ("GCN", "SAGE", "GAT", "GATv2", "Transformer", "GraphConv", "GINE", "SG", "GCN2", "Cheb", "EdgeConv",
                "PNA", "ResGated", "NNConv")
EDGE_FEATURE_LAYERS = ("GINE", "NNConv")
