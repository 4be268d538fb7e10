"""Neighbour sampling throughput on a products-sized graph: geomlearn's sampler against torch_geometric's
``NeighborSampler`` (pyg-lib or torch-sparse), timed on the same seed batches, setup excluded."""

from __future__ import annotations

import importlib.util
import time
from typing import Callable, Optional

import torch
from torch_geometric.data import Data

from geomlearn.datasets import power_law_graph
from geomlearn.sparse import SparseIndex, sample_neighbors

# ogbn-products: 2,449,029 nodes, 61,859,140 edges, 100 features; fanouts and batch of its GraphSAGE examples.
PRODUCTS = dict(num_nodes=2_449_029, num_edges=61_859_140, features=100)
QUICK = dict(num_nodes=100_000, num_edges=2_500_000, features=100)
FANOUTS, BATCH = [15, 10, 5], 1024
PEER_BUILD = "pip install --no-build-isolation torch-scatter torch-sparse (a source build: about 18 minutes here)"


def products_like(quick: bool, features: bool = True) -> Data:
    """A power-law graph of ogbn-products' size (``QUICK`` with ``quick``), with float32 features."""
    size = QUICK if quick else PRODUCTS
    data = power_law_graph(size["num_nodes"], size["num_edges"], seed=0)
    if features:
        data.x = torch.randn(size["num_nodes"], size["features"], generator=torch.Generator().manual_seed(1))
        data.y = torch.randint(0, 47, (size["num_nodes"],), generator=torch.Generator().manual_seed(2))
    return data


def pyg_sampler_available() -> Optional[str]:
    """None when torch_geometric can sample here, else why not (and how to make it)."""
    import torch_geometric.typing as typing

    if typing.WITH_PYG_LIB or typing.WITH_TORCH_SPARSE:
        return None
    found = [name for name in ("pyg_lib", "torch_sparse") if importlib.util.find_spec(name) is not None]
    detail = f" ({', '.join(found)} found but not loadable with this torch)" if found else ""
    return f"peer not installed: torch_geometric needs pyg-lib or torch-sparse to sample{detail}; {PEER_BUILD}"


def geomlearn_sampler(data: Data) -> Callable[[torch.Tensor], int]:
    index = SparseIndex.from_data(data)
    index.csr()

    def sample(seeds: torch.Tensor) -> int:
        return int(sample_neighbors(index, seeds, FANOUTS).edge.numel())

    return sample


def pyg_sampler(data: Data) -> Callable[[torch.Tensor], int]:
    from torch_geometric.sampler import NeighborSampler, NodeSamplerInput

    sampler = NeighborSampler(data, FANOUTS)

    def sample(seeds: torch.Tensor) -> int:
        return int(sampler.sample_from_nodes(NodeSamplerInput(input_id=None, node=seeds)).edge.numel())

    return sample


def throughput(sample: Callable[[torch.Tensor], int], num_nodes: int, batches: int, warmup: int = 2) -> dict:
    """Sampled edges per second and median milliseconds per batch, over ``batches`` batches of ``BATCH`` random
    seeds (the same seeds for every sampler: a fixed generator)."""
    generator = torch.Generator().manual_seed(0)
    seeds = [torch.randperm(num_nodes, generator=generator)[:BATCH] for _ in range(batches + warmup)]
    for batch in seeds[:warmup]:
        sample(batch)
    edges, times = 0, []
    for batch in seeds[warmup:]:
        start = time.perf_counter()
        edges += sample(batch)
        times.append(time.perf_counter() - start)
    times.sort()
    return dict(edges_per_s=edges / sum(times), ms_per_batch=1e3 * times[len(times) // 2],
                edges_per_batch=edges / batches)
