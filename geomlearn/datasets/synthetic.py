"""Synthetic graphs of any size, for speed runs and tests."""

from __future__ import annotations

import torch
from torch_geometric.data import Data


def power_law_graph(num_nodes: int, num_edges: int, exponent: float = 0.8, seed: int = 0) -> Data:
    r"""A directed graph whose in-degrees follow a power law (a few hubs, a long tail of small degrees).

    Each edge's target is drawn with probability :math:`p_i \propto (r_i + 1)^{-\gamma}` where
    :math:`r_i` is a random rank of node ``i`` (so hubs are scattered over the id range, as in real graphs)
    and :math:`\gamma` = ``exponent``; its source is drawn uniformly. Duplicate edges and self loops
    occur as they would by chance.

    Args:
        num_nodes: ``N >= 1``.
        num_edges: ``E >= 0``.
        exponent: ``gamma >= 0``; 0 gives uniform degrees, larger values heavier hubs.
        seed: random seed (the graph is a deterministic function of the arguments).

    Returns:
        ``Data(edge_index [2, E], num_nodes=N)``.
    """
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 1:
        raise ValueError(f"num_nodes: expected an int >= 1, got {num_nodes!r}")
    if isinstance(num_edges, bool) or not isinstance(num_edges, int) or num_edges < 0:
        raise ValueError(f"num_edges: expected an int >= 0, got {num_edges!r}")
    if not exponent >= 0:
        raise ValueError(f"exponent: expected a number >= 0, got {exponent!r}")
    generator = torch.Generator().manual_seed(seed)
    rank = torch.randperm(num_nodes, generator=generator)
    probability = (rank.double() + 1.0).pow(-exponent)
    dst = torch.multinomial(probability, num_edges, replacement=True, generator=generator) if num_edges else \
        torch.empty(0, dtype=torch.long)
    src = torch.randint(0, num_nodes, (num_edges,), generator=generator)
    return Data(edge_index=torch.stack([src, dst]), num_nodes=num_nodes)
