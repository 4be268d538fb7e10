"""NCN (Wang et al., ICLR 2024) trained on sampled link mini-batches of a products-sized graph: the training step with
geomlearn's ``LinkNeighborLoader`` against torch_geometric's, the same model and steps on both."""

from __future__ import annotations

import time

import torch
from torch_geometric.data import Data

from geomlearn.gnn import NCNPredictor

from ..graph.link_prediction import Encoder, sampled_steps, train_step
from ..measure import peak_memory_mib

FANOUTS, BATCH, HIDDEN = [15, 10], 1024, 128         # two GCN layers; links per batch, each with one negative


def time_steps(data: Data, loader_cls, batches: int, device: torch.device) -> dict:
    """Median milliseconds per NCN training step (sampling, feature gathering, target-link removal, forward,
    backward and Adam step) over ``batches`` steps after one warm-up step, and the peak memory of two more, with
    batches of ``BATCH`` of ``data``'s edges and as many uniformly drawn negatives from ``loader_cls``
    (a ``LinkNeighborLoader``, geomlearn's or torch_geometric's)."""
    torch.manual_seed(0)
    encoder, predictor = Encoder(data.num_features, HIDDEN, dropout=0.3), NCNPredictor(HIDDEN, HIDDEN, dropout=0.3)
    optimizer = torch.optim.Adam(list(encoder.parameters()) + list(predictor.parameters()), lr=0.005)
    loader = loader_cls(data, FANOUTS, neg_sampling_ratio=1.0, batch_size=BATCH, shuffle=True)
    steps = sampled_steps(loader)

    def run(count: int) -> list[float]:
        times = []
        for _ in range(count):
            start = time.perf_counter()
            train_step(encoder, predictor, optimizer, *next(steps))
            times.append(time.perf_counter() - start)
        return times

    run(1)                                                                            # warm-up
    times = sorted(run(batches))
    peak = peak_memory_mib(lambda: run(2), device)
    return dict(ms_per_step=1e3 * times[len(times) // 2], peak_mib=peak)
