"""Suite ``relational``: relational graph layers against torch_geometric's, on the knowledge graphs' real graphs.

Cases (``python -m benchmarks relational [--only CASE]``):

* ``rgcn layer <graph> bases=<B>`` / ``no bases``: one ``RGCNConv`` forward + backward on the training graph of
  FB15k-237 (14,541 entities, 237 relations and their reverses: 474 types, 544,230 edges) or WN18RR, 200
  channels in and out (the R-GCN link-prediction encoder's width), against torch_geometric's ``RGCNConv`` in the
  same process, same weights; outputs checked equal before timing. Peak memory is the extra resident memory of
  one call. torch_geometric's ``FastRGCNConv`` gathers one ``[in, out]`` matrix per edge (``E * in * out``
  floats: 87 GB on FB15k-237), so it is listed as not run where that does not fit in half the machine's memory.
  ``--quick`` runs WN18RR only, a 20,000-edge sample, 32 channels (torch_geometric's layer costs ``R x N``
  matrix rows whatever the edges, so FB15k-237 is minutes even sampled).
* ``rgat layer <graph>``: one ``RGATConv`` forward + backward (32 channels as 4 heads of 8, 30 bases) on the same
  graphs, against torch_geometric's ``RGATConv`` (which gathers an ``[in, out]`` matrix per edge: the reason for
  the narrow width), same weights, outputs checked equal first. ``--quick``: WN18RR, a 20,000-edge sample,
  16 channels.
* ``hgt layer <graph>``: one ``HGTConv`` forward + backward (64 channels, 4 heads) on MovieLens 100K (users and
  movies, ``rates`` and its reverse) or a synthetic graph of ogbn-mag's shape at a tenth of its size (four node
  types, four relations and the reverses of the three between two types, 194k nodes, 3.7M edges;
  :mod:`benchmarks.relational.hetero_graphs`),
  against torch_geometric's ``HGTConv`` in the same process, same weights, outputs checked equal first; geomlearn
  with the relations given as ``SparseIndex`` objects built once and as ``edge_index`` tensors (indexed every
  call). ``--quick``: MovieLens only, 16 channels.
* ``rgcn link <graph>``: R-GCN encoder + DistMult link prediction (:mod:`benchmarks.relational.link_prediction`),
  filtered test MRR and Hits@1/3/10 at the epoch of the best validation MRR, trained for a wall-clock budget
  (30 minutes; ``--budget SECONDS`` sets another), held against the R-GCN paper's FB15k-237 figures (Schlichtkrull
  et al. 2018, Table 5: MRR 0.248, Hits@1/3/10 0.153 / 0.258 / 0.414; the paper reports no WN18RR figure).
  ``--quick``: WN18RR, 16 channels, 20 seconds, 200 validation and test triples.
"""

from __future__ import annotations

import dataclasses
import os

import torch
from torch_geometric import nn as pyg
from tqdm.auto import tqdm

from geomlearn.datasets import knowledge_graph
from geomlearn.gnn import HGTConv, RGATConv, RGCNConv
from geomlearn.sparse import SparseIndex

from ..measure import peak_memory_mib, time_call
from ..relational.hetero_graphs import mag_shaped, movielens_hetero
from ..relational.link_prediction import Settings, train_link_predictor
from ..registry import Context, Record, register

SUITE = "relational"
CHANNELS = 200
GRAPHS = ("FB15k-237", "WN18RR")
BASES = (30, None)


def _case(graph: str, bases) -> str:
    return f"rgcn layer {graph} " + (f"bases={bases}" if bases else "no bases")


def _machine_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _training_graph(graph: str, quick: bool):
    """``(data, edge_index, edge_type)`` of a knowledge graph's training graph (a 20,000-edge sample when ``quick``)."""
    data = knowledge_graph(graph)
    edge_index, edge_type = data.edge_index, data.edge_type
    if quick:
        keep = torch.randperm(edge_type.numel(), generator=torch.Generator().manual_seed(0))[:20_000]
        edge_index, edge_type = edge_index[:, keep], edge_type[keep]
    return data, edge_index, edge_type


def _time_against(ctx: Context, records: list[Record], case: str, params: dict, steps: dict, difference: float,
                  single_s: float = 10.0) -> None:
    """Time each ``steps[impl]()`` (forward + backward), record its time and peak memory, and the speedup of the first
    (geomlearn) implementation over every other; ``difference`` (max |out - torch_geometric|, checked before timing)
    goes in the first one's note."""
    times = {}
    for impl, step in steps.items():
        timing = time_call(step, ctx.device, min_repeats=3, budget_s=2.0 if ctx.quick else 10.0, single_s=single_s)
        peak = peak_memory_mib(step, ctx.device)
        times[impl] = timing.median_s
        note = f"max |out - torch_geometric| = {difference:.1e}" if len(times) == 1 else ""
        records.append(Record(SUITE, case, impl, "fwd+bwd time", 1e3 * timing.median_s, "ms",
                              std=1e3 * timing.std_s, n=timing.n, params=params, note=note))
        records.append(Record(SUITE, case, impl, "peak memory", peak, "MiB", params=params))
    first = next(iter(times))
    for impl in list(times)[1:]:
        records.append(Record(SUITE, case, impl, "speedup of geomlearn", times[impl] / times[first], "x",
                              params=params))


def _rgcn_cases(ctx: Context, records: list[Record]) -> None:
    graphs, channels = (("WN18RR",), 32) if ctx.quick else (GRAPHS, CHANNELS)
    cases = [(graph, bases) for graph in graphs for bases in BASES if ctx.wanted(_case(graph, bases))]
    for graph, bases in tqdm(cases, desc="relational: RGCN layer", disable=not ctx.progress):
        data, edge_index, edge_type = _training_graph(graph, ctx.quick)
        relations = 2 * data.num_relations
        case = _case(graph, bases)
        params = dict(graph=graph, N=data.num_nodes, E=int(edge_type.numel()), relations=relations,
                      channels=channels, bases=bases or "none", mode="fwd+bwd")
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(data.num_nodes, channels, generator=generator).to(ctx.device).requires_grad_()
        edge_index, edge_type = edge_index.to(ctx.device), edge_type.to(ctx.device)
        torch.manual_seed(0)
        theirs = pyg.RGCNConv(channels, channels, relations, num_bases=bases).to(ctx.device)
        ours = RGCNConv(channels, channels, relations, num_bases=bases).to(ctx.device)
        ours.load_state_dict(theirs.state_dict())
        with torch.no_grad():
            difference = (ours(x, edge_index, edge_type) - theirs(x, edge_index, edge_type)).abs().max().item()
        def step(layer):
            layer.zero_grad()
            x.grad = None
            layer(x, edge_index, edge_type).square().mean().backward()

        _time_against(ctx, records, case, params, {"geomlearn": lambda: step(ours),
                                                   "torch_geometric": lambda: step(theirs)}, difference)
        per_edge_bytes = int(edge_type.numel()) * channels * channels * 4
        if per_edge_bytes > _machine_memory_bytes() // 2:
            records.append(Record(SUITE, case, "torch_geometric FastRGCNConv", "fwd+bwd time", None, "ms",
                                  params=params, note=f"not run: its per-edge weights need {per_edge_bytes / 2**30:.0f} "
                                                      f"GiB, over half of this machine's memory"))


HGT_GRAPHS = {"MovieLens-100K": movielens_hetero, "ogbn-mag shape x0.1": lambda: mag_shaped(0.1)}


def _hgt_cases(ctx: Context, records: list[Record]) -> None:
    graphs, channels, heads = (("MovieLens-100K",), 16, 2) if ctx.quick else (tuple(HGT_GRAPHS), 64, 4)
    for graph in graphs:
        case = f"hgt layer {graph}"
        if not ctx.wanted(case):
            continue
        data = HGT_GRAPHS[graph]().to(ctx.device)
        x_dict = {t: x.requires_grad_() for t, x in data.x_dict.items()}
        edge_index_dict = data.edge_index_dict
        sizes = {t: x.shape[0] for t, x in x_dict.items()}
        indices = {e: SparseIndex(ei, num_nodes=(sizes[e[0]], sizes[e[2]])) for e, ei in edge_index_dict.items()}
        for index in indices.values():
            index.csr(), index.csc()
        in_channels = {t: x.shape[1] for t, x in x_dict.items()}
        params = dict(graph=graph, N=sum(sizes.values()), E=sum(int(e.shape[1]) for e in edge_index_dict.values()),
                      node_types=len(sizes), relations=len(edge_index_dict), channels=channels, heads=heads,
                      mode="fwd+bwd")
        torch.manual_seed(0)
        theirs = pyg.HGTConv(in_channels, channels, data.metadata(), heads=heads).to(ctx.device)
        ours = HGTConv(in_channels, channels, data.metadata(), heads=heads).to(ctx.device)
        ours.load_state_dict(theirs.state_dict())
        with torch.no_grad():
            mine, reference = ours(x_dict, indices), theirs(x_dict, edge_index_dict)
            difference = max((mine[t] - reference[t]).abs().max().item() for t in reference)

        def step(layer, graph_input):
            layer.zero_grad()
            for x in x_dict.values():
                x.grad = None
            sum(out.square().mean() for out in layer(x_dict, graph_input).values()).backward()

        _time_against(ctx, records, case, params, {
            "geomlearn (SparseIndex)": lambda: step(ours, indices),
            "geomlearn (edge_index)": lambda: step(ours, edge_index_dict),
            "torch_geometric": lambda: step(theirs, edge_index_dict)}, difference, single_s=30.0)


RGAT_CHANNELS, RGAT_HEADS = 32, 4


def _rgat_cases(ctx: Context, records: list[Record]) -> None:
    graphs, channels = (("WN18RR",), 16) if ctx.quick else (GRAPHS, RGAT_CHANNELS)
    for graph in graphs:
        case = f"rgat layer {graph}"
        if not ctx.wanted(case):
            continue
        data, edge_index, edge_type = _training_graph(graph, ctx.quick)
        relations = 2 * data.num_relations
        params = dict(graph=graph, N=data.num_nodes, E=int(edge_type.numel()), relations=relations,
                      channels=channels, heads=RGAT_HEADS, bases=30, mode="fwd+bwd")
        x = torch.randn(data.num_nodes, channels, generator=torch.Generator().manual_seed(0)).to(ctx.device)
        x.requires_grad_()
        edge_index, edge_type = edge_index.to(ctx.device), edge_type.to(ctx.device)
        index = SparseIndex(edge_index, num_nodes=data.num_nodes)
        torch.manual_seed(0)
        theirs = pyg.RGATConv(channels, channels // RGAT_HEADS, relations, num_bases=30, heads=RGAT_HEADS)
        theirs = theirs.to(ctx.device)
        ours = RGATConv(channels, channels // RGAT_HEADS, relations, num_bases=30, heads=RGAT_HEADS).to(ctx.device)
        ours.load_state_dict(theirs.state_dict())
        with torch.no_grad():
            difference = (ours(x, index, edge_type) - theirs(x, edge_index, edge_type)).abs().max().item()

        def step(layer, graph_input):
            layer.zero_grad()
            x.grad = None
            layer(x, graph_input, edge_type).square().mean().backward()

        _time_against(ctx, records, case, params, {"geomlearn": lambda: step(ours, index),
                                                   "torch_geometric": lambda: step(theirs, edge_index)}, difference)


PAPER = {"FB15k-237": {"MRR": 0.248, "Hits@1": 0.153, "Hits@3": 0.258, "Hits@10": 0.414}}


def _link_cases(ctx: Context, records: list[Record]) -> None:
    graphs = ("WN18RR",) if ctx.quick else GRAPHS
    settings = Settings(hidden=16, num_blocks=2, budget_s=20.0, eval_every=10, eval_triples=200) if ctx.quick \
        else Settings()
    if ctx.budget_s is not None:
        settings = dataclasses.replace(settings, budget_s=ctx.budget_s)
    for graph in graphs:
        case = f"rgcn link {graph}"
        if not ctx.wanted(case):
            continue
        result = train_link_predictor(knowledge_graph(graph), settings, progress=ctx.progress)
        params = dict(graph=graph, **dataclasses.asdict(settings), epochs=result["epochs"])
        note = f"best validation MRR at epoch {result['epoch']} of {result['epochs']} ({settings.budget_s:.0f} s)"
        for metric in ("MRR", "Hits@1", "Hits@3", "Hits@10"):
            records.append(Record(SUITE, case, "geomlearn R-GCN + DistMult", f"test {metric}", result[metric], "",
                                  params=params, note=note))
            if graph in PAPER:
                records.append(Record(SUITE, case, "paper (Schlichtkrull et al. 2018)", f"test {metric}",
                                      PAPER[graph][metric], "", params=dict(graph=graph)))


@register(SUITE, "RGCN layers vs torch_geometric on FB15k-237 / WN18RR, HGT layers on MovieLens 100K and an "
                 "ogbn-mag-shaped graph (time, peak memory); R-GCN link prediction vs the paper")
def run(ctx: Context) -> list[Record]:
    records: list[Record] = []
    _rgcn_cases(ctx, records)
    _rgat_cases(ctx, records)
    _hgt_cases(ctx, records)
    _link_cases(ctx, records)
    ctx.summary = (f"One RGCNConv forward + backward, {32 if ctx.quick else CHANNELS} channels, on the training graph "
                   "of each knowledge graph (relations and their reverses); torch_geometric's RGCNConv in the same "
                   "process, same weights. HGTConv: forward + backward of one layer, torch_geometric's in the same "
                   "process, same weights. Link prediction: filtered test MRR / Hits at the best validation MRR, "
                   "trained to a wall-clock budget.")
    return records
