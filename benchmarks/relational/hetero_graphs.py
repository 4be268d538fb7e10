"""The heterogeneous graphs of the ``relational`` suite's HGT cases, as torch_geometric ``HeteroData``.

* MovieLens 100K as users and movies joined by ``rates`` and its reverse (the real ratings; random node features,
  since the layer's time does not depend on their values);
* a synthetic graph of ogbn-mag's shape: its four node types and four relations with its node and edge counts
  (times ``scale``), sources uniform and targets drawn from a power law per relation (a few hubs, as cited papers
  and popular fields are), plus the reverse of each relation between two node types (``cites`` is its own
  reverse's type), as HGT models of ogbn-mag run it: 7 relations.
"""

from __future__ import annotations

import torch
from torch_geometric.data import HeteroData

from geomlearn.datasets import movielens_100k

# ogbn-mag (Hu et al., OGB 2020): nodes and edges per type.
MAG_NODES = {"paper": 736_389, "author": 1_134_649, "institution": 8_740, "field_of_study": 59_965}
MAG_RELATIONS = {("author", "affiliated_with", "institution"): 1_043_998, ("author", "writes", "paper"): 7_145_660,
                 ("paper", "cites", "paper"): 5_416_271, ("paper", "has_topic", "field_of_study"): 7_505_078}
MAG_FEATURES = {"paper": 128, "author": 64, "institution": 64, "field_of_study": 64}


def _with_reverses(data: HeteroData) -> HeteroData:
    for (src, rel, dst) in list(data.edge_types):
        if src != dst:
            data[dst, f"rev_{rel}", src].edge_index = data[src, rel, dst].edge_index.flip(0)
    return data


def movielens_hetero(features: int = 64, seed: int = 0) -> HeteroData:
    """Users and movies of MovieLens 100K, ``rates`` and ``rev_rates`` edges, random ``[N, features]`` features."""
    ratings = movielens_100k()
    generator = torch.Generator().manual_seed(seed)
    data = HeteroData()
    data["user"].x = torch.randn(ratings.num_users, features, generator=generator)
    data["movie"].x = torch.randn(ratings.num_items, features, generator=generator)
    users, movies = ratings.edge_index
    data["user", "rates", "movie"].edge_index = torch.stack([users, movies - ratings.num_users])
    return _with_reverses(data)


def mag_shaped(scale: float = 0.1, exponent: float = 0.8, seed: int = 0) -> HeteroData:
    """A graph of ogbn-mag's shape (node and edge counts times ``scale``) with random features of its widths
    (paper 128, the other types 64) and the reverse of every relation between two node types."""
    generator = torch.Generator().manual_seed(seed)
    nodes = {t: max(1, round(n * scale)) for t, n in MAG_NODES.items()}
    data = HeteroData()
    for t, n in nodes.items():
        data[t].x = torch.randn(n, MAG_FEATURES[t], generator=generator)
    for (src, rel, dst), count in MAG_RELATIONS.items():
        edges = round(count * scale)
        rank = torch.randperm(nodes[dst], generator=generator)
        targets = torch.multinomial((rank.double() + 1).pow(-exponent), edges, replacement=True, generator=generator)
        sources = torch.randint(0, nodes[src], (edges,), generator=generator)
        data[src, rel, dst].edge_index = torch.stack([sources, targets])
    return _with_reverses(data)
