"""``scale``: mini-batch training on sampled neighbourhoods, against torch_geometric's loaders in the same run.

Cases (``--only`` matches their names):

* ``sampler products``: sampled edges per second of neighbour sampling on a graph of ogbn-products' size
  (2,449,029 nodes, 61,859,140 power-law edges; 100k / 2.5M with ``--quick``), fanouts [15, 10, 5], batches of
  1,024 random seeds, geomlearn's ``sample_neighbors`` against torch_geometric's ``NeighborSampler`` on the same
  seeds (a "peer not installed" record, with how to build it, where neither pyg-lib nor torch-sparse loads);
* ``SAGE epoch products``: a 3-layer GraphSAGE (256 channels) trained on 20 batches (3 with ``--quick``) of that
  graph, sampling and feature gathering included: geomlearn's ``NeighborLoader`` and layers (each layer on its
  block) against torch_geometric's ``NeighborLoader`` and ``SAGEConv``; time per batch and peak memory;
* ``NCN steps products``: NCN link prediction (two GCN layers, 128 channels) trained on batches of 1,024 of that
  graph's edges with one uniform negative each, fanouts [15, 10]: geomlearn's ``LinkNeighborLoader`` against
  torch_geometric's, the same model and steps; time per step and peak memory;
* ``data parallel``: GraphSAGE under ``DistributedDataParallel`` (gloo) with 1 and 2 processes on this machine,
  seeds per second, and the largest parameter difference between 2 processes and 1 process replaying their
  global batches;
* ``accuracy <Data set>``: GraphSAGE on the Planetoid public split trained on sampled mini-batches and
  full-batch, test accuracy at the best validation epoch, 10 seeds (1 seed, 2 epochs with ``--quick``);
* ``NCN HR@100 Cora``: NCN with the NCN paper's protocol (HR@100 on a random 70 / 10 / 20 split) trained on
  sampled link mini-batches (fanouts [10, 10]) and on full-graph steps, 10 seeds (1 seed, 2 epochs with ``--quick``).
"""

from __future__ import annotations

import statistics

import torch
from tqdm.auto import tqdm

from geomlearn.datasets import planetoid
from geomlearn.loader import LinkNeighborLoader, NeighborLoader

from ..measure import peak_memory_mib
from ..registry import Context, Record, register
from ..graph.link_prediction import train_link_predictor
from ..scale import data_parallel, link_training, sampling
from ..scale.training import SAGE, AccuracySettings, mini_batch_epoch, train_sage

SUITE = "scale"
DATASETS = ("Cora", "CiteSeer")


def _sampler_cases(ctx: Context, data) -> list[Record]:
    case = "sampler products"
    params = dict(nodes=int(data.num_nodes), edges=int(data.num_edges), fanouts=sampling.FANOUTS,
                  batch=sampling.BATCH)
    batches = 5 if ctx.quick else 20
    records = []
    samplers = {"geomlearn": sampling.geomlearn_sampler}
    missing = sampling.pyg_sampler_available()
    if missing is None:
        samplers["torch_geometric"] = sampling.pyg_sampler
    else:
        records.append(Record(SUITE, case, "torch_geometric", "sampled edges per s", None, "M/s", params=params,
                              note=missing))
    for impl, build in samplers.items():
        result = sampling.throughput(build(data), int(data.num_nodes), batches)
        records += [Record(SUITE, case, impl, "sampled edges per s", result["edges_per_s"] / 1e6, "M/s",
                           n=batches, params=params),
                    Record(SUITE, case, impl, "time per batch", result["ms_per_batch"], "ms", n=batches,
                           params=params),
                    Record(SUITE, case, impl, "edges per batch", result["edges_per_batch"], "", params=params)]
    return records


def _epoch_cases(ctx: Context, data) -> list[Record]:
    import time

    from torch_geometric.nn import SAGEConv as PyGSAGEConv

    case = "SAGE epoch products"
    batches = 3 if ctx.quick else 20
    params = dict(layers=3, hidden=256, fanouts=sampling.FANOUTS, batch=sampling.BATCH, batches=batches)
    runs = {"geomlearn": (NeighborLoader, None, True)}
    missing = sampling.pyg_sampler_available()
    if missing is None:
        from torch_geometric.loader import NeighborLoader as PyGNeighborLoader

        runs["torch_geometric"] = (PyGNeighborLoader, PyGSAGEConv, False)
    records = [] if missing is None else [Record(SUITE, case, "torch_geometric", "time per batch", None, "ms",
                                                 params=params, note=missing)]
    for impl, (loader_cls, conv, blocks) in runs.items():
        torch.manual_seed(0)
        model = SAGE(data.num_features, 256, 47, 3, dropout=0.5, **({} if conv is None else {"conv": conv}))
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
        loader = loader_cls(data, sampling.FANOUTS, batch_size=sampling.BATCH, shuffle=True)
        mini_batch_epoch(model, loader, optimizer, blocks, batches=1)                 # warm-up
        start = time.perf_counter()
        mini_batch_epoch(model, loader, optimizer, blocks, batches=batches)
        per_batch = (time.perf_counter() - start) / batches
        peak = peak_memory_mib(lambda: mini_batch_epoch(model, loader, optimizer, blocks, batches=2), ctx.device)
        records += [Record(SUITE, case, impl, "time per batch", 1e3 * per_batch, "ms", n=batches, params=params),
                    Record(SUITE, case, impl, "peak memory", peak, "MiB", params=params)]
    return records


def _link_step_cases(ctx: Context, data) -> list[Record]:
    case = "NCN steps products"
    batches = 3 if ctx.quick else 20
    params = dict(encoder="2 GCN layers", hidden=link_training.HIDDEN, fanouts=link_training.FANOUTS,
                  links=link_training.BATCH, negatives="1 uniform per link", batches=batches)
    loaders = {"geomlearn": LinkNeighborLoader}
    missing = sampling.pyg_sampler_available()
    if missing is None:
        from torch_geometric.loader import LinkNeighborLoader as PyGLinkNeighborLoader

        loaders["torch_geometric"] = PyGLinkNeighborLoader
    records = [] if missing is None else [Record(SUITE, case, "torch_geometric", "time per batch", None, "ms",
                                                 params=params, note=missing)]
    for impl, loader_cls in loaders.items():
        result = link_training.time_steps(data, loader_cls, batches, ctx.device)
        records += [Record(SUITE, case, impl, "time per batch", result["ms_per_step"], "ms", n=batches,
                           params=params),
                    Record(SUITE, case, impl, "peak memory", result["peak_mib"], "MiB", params=params)]
    return records


def _sampled_against_full(ctx: Context, case: str, metric: str, full_mode: str, train, params) -> list[Record]:
    """``train(seed, sampled)`` (a dict with ``test`` in [0, 1]) over the protocol's 10 seeds, sampled and not: a record
    of the mean test figure per mode (``params(sampled, runs)`` and the per-seed figures in its params) and one of
    their difference."""
    seeds = ctx.repeat_count(10, "seeds")
    records, means = [], {}
    for mode, sampled in (("sampled mini-batches", True), (full_mode, False)):
        runs = [train(seed, sampled)
                for seed in tqdm(range(seeds), desc=f"{case} {mode}", leave=False, disable=not ctx.progress)]
        tests = [100 * r["test"] for r in runs]
        means[mode] = statistics.mean(tests)
        records.append(Record(SUITE, case, mode, metric, means[mode], "%", std=statistics.pstdev(tests), n=seeds,
                              params=dict(params(sampled, runs), test_per_seed=tests)))
    records.append(Record(SUITE, case, "sampled - full", "difference",
                          means["sampled mini-batches"] - means[full_mode], "points", n=seeds))
    return records


def _link_accuracy_cases(ctx: Context) -> list[Record]:
    case = "NCN HR@100 Cora"
    if not ctx.wanted(case):
        return []
    epochs, data = (2 if ctx.quick else 60), planetoid("Cora")

    def fanouts(sampled: bool):
        return [10, 10] if sampled else None

    return _sampled_against_full(
        ctx, case, "test HR@100", "full graph",
        lambda seed, sampled: train_link_predictor("NCN", data, seed, epochs=epochs, fanouts=fanouts(sampled)),
        lambda sampled, runs: dict(model="NCN", epochs=epochs, fanouts=fanouts(sampled)))


def _data_parallel_cases(ctx: Context) -> list[Record]:
    case = "data parallel"
    size = (20_000, 400_000) if ctx.quick else (200_000, 4_000_000)
    steps = 3 if ctx.quick else 20
    params = dict(nodes=size[0], edges=size[1], fanouts=data_parallel.FANOUTS, batch=data_parallel.BATCH,
                  steps=steps, backend="gloo")
    records = []
    for world_size in (1, 2):
        ranks = data_parallel.run(world_size, steps, size)
        seconds = max(rank["seconds"] for rank in ranks)
        seeds = sum(len(s) for rank in ranks for s in rank["seeds"])
        records.append(Record(SUITE, case, f"{world_size} process{'es' if world_size > 1 else ''}", "seeds per s",
                              seeds / seconds, "", n=steps, params=params))
    check = (2_000, 20_000)
    ranks = data_parallel.run(2, 3, check, fanouts=[-1, -1])
    difference = data_parallel.largest_difference_from_one_process(ranks, check, [-1, -1])
    records.append(Record(SUITE, case, "2 processes vs 1", "largest parameter difference", difference, "",
                          params=dict(params, nodes=check[0], edges=check[1], fanouts=[-1, -1], steps=3),
                          note="after 3 steps on the same global batches"))
    return records


def _accuracy_cases(ctx: Context) -> list[Record]:
    records = []
    settings = AccuracySettings(epochs=2) if ctx.quick else AccuracySettings()
    for dataset in DATASETS:
        if not ctx.wanted(f"accuracy {dataset}"):
            continue
        data = planetoid(dataset)
        records += _sampled_against_full(
            ctx, f"accuracy {dataset}", "test accuracy", "full batch",
            lambda seed, sampled: train_sage(data, seed, sampled, settings),
            lambda sampled, runs: dict(dataset=dataset, **vars(settings),
                                       seconds=statistics.mean(r["seconds"] for r in runs)))
    return records


@register(SUITE, "neighbour sampling, mini-batch GraphSAGE and NCN, and data-parallel training against "
                 "torch_geometric's loaders; sampled vs full-batch accuracy")
def run(ctx: Context) -> list[Record]:
    records: list[Record] = []
    if ctx.wanted("sampler products") or ctx.wanted("SAGE epoch products") or ctx.wanted("NCN steps products"):
        data = sampling.products_like(ctx.quick)
        if ctx.wanted("sampler products"):
            records += _sampler_cases(ctx, data)
        if ctx.wanted("SAGE epoch products"):
            records += _epoch_cases(ctx, data)
        if ctx.wanted("NCN steps products"):
            records += _link_step_cases(ctx, data)
        del data
    if ctx.wanted("data parallel"):
        records += _data_parallel_cases(ctx)
    records += _accuracy_cases(ctx)
    records += _link_accuracy_cases(ctx)
    ours = {(r.case, r.metric): r.value for r in records if r.impl == "geomlearn" and r.value is not None}
    for r in list(records):
        mine = ours.get((r.case, r.metric))
        if r.impl == "torch_geometric" and r.value is not None and mine is not None and r.metric in (
                "sampled edges per s", "time per batch"):
            ratio = mine / r.value if r.metric == "sampled edges per s" else r.value / mine
            records.append(Record(SUITE, r.case, "torch_geometric", "speedup of geomlearn", ratio, "x"))
    return records
