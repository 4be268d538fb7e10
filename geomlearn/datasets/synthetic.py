"""Synthetic graphs of any size, for speed runs and tests."""

from __future__ import annotations

import torch
from torch_geometric.data import Data

from ..argument_checks import check_int, is_int


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
    check_int("num_nodes", num_nodes)
    check_int("num_edges", num_edges, 0)
    if not exponent >= 0:
        raise ValueError(f"exponent: expected a number >= 0, got {exponent!r}")
    generator = torch.Generator().manual_seed(seed)
    rank = torch.randperm(num_nodes, generator=generator)
    probability = (rank.double() + 1.0).pow(-exponent)
    dst = torch.multinomial(probability, num_edges, replacement=True, generator=generator) if num_edges else \
        torch.empty(0, dtype=torch.long)
    src = torch.randint(0, num_nodes, (num_edges,), generator=generator)
    return Data(edge_index=torch.stack([src, dst]), num_nodes=num_nodes)


def stochastic_block_model(block_sizes: list[int], p_in: float, p_out: float, num_features: int = 0,
                           feature_noise: float = 1.0, seed: int = 0) -> Data:
    r"""An undirected stochastic-block-model graph of any size, with block labels and optional features.

    Nodes ``0..N-1`` are split into consecutive blocks; each pair of blocks ``(a, b)`` gets
    :math:`M_{ab} \sim \mathrm{Binomial}(n_a n_b, p)` edges (``p = p_in`` inside a block, ``p_out``
    between blocks) with uniformly drawn endpoints, then every edge is added in both directions. Drawing
    the count first makes the cost O(E), not O(N^2); for the sparse regimes of interest this matches the
    exact model up to the rare duplicate edge. With ``num_features > 0`` node ``i`` of block ``c`` gets
    features :math:`x_i = \mu_c + \sigma \varepsilon_i` with :math:`\mu_c, \varepsilon_i \sim \mathcal N(0, I)`
    (``sigma = feature_noise``), a node-classification task of tunable difficulty.

    Args:
        block_sizes: the sizes :math:`n_c \ge 1` of the blocks.
        p_in: edge probability inside a block, in [0, 1].
        p_out: edge probability between blocks, in [0, 1].
        num_features: feature size (0 for none).
        feature_noise: :math:`\sigma \ge 0`.
        seed: random seed.

    Returns:
        ``Data(edge_index [2, E], y [N], num_nodes=N)`` plus ``x [N, num_features]`` when asked.
    """
    if not block_sizes or any(not is_int(n) or n < 1 for n in block_sizes):
        raise ValueError(f"block_sizes: expected a non-empty list of ints >= 1, got {block_sizes!r}")
    for name, p in (("p_in", p_in), ("p_out", p_out)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name}: expected a probability in [0, 1], got {p!r}")
    check_int("num_features", num_features, 0)
    if not feature_noise >= 0:
        raise ValueError(f"feature_noise: expected a number >= 0, got {feature_noise!r}")
    generator = torch.Generator().manual_seed(seed)
    sizes = torch.tensor(block_sizes, dtype=torch.long)
    starts = torch.cat([torch.zeros(1, dtype=torch.long), sizes.cumsum(0)[:-1]])
    sources, targets = [], []
    for a in range(len(block_sizes)):
        for b in range(a, len(block_sizes)):
            p = p_in if a == b else p_out
            pairs = block_sizes[a] * block_sizes[b] // (2 if a == b else 1)
            count = int(torch.binomial(torch.tensor(float(pairs)), torch.tensor(float(p)), generator=generator))
            sources.append(starts[a] + torch.randint(0, block_sizes[a], (count,), generator=generator))
            targets.append(starts[b] + torch.randint(0, block_sizes[b], (count,), generator=generator))
    src, dst = torch.cat(sources), torch.cat(targets)
    edge_index = torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
    labels = torch.repeat_interleave(torch.arange(len(block_sizes)), sizes)
    data = Data(edge_index=edge_index, y=labels, num_nodes=int(sizes.sum()))
    if num_features:
        means = torch.randn(len(block_sizes), num_features, generator=generator)
        data.x = means[labels] + feature_noise * torch.randn(data.num_nodes, num_features, generator=generator)
    return data
