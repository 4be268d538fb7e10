"""``search <kind> <shape>``: greedy and TnALE structure search on planted tensor networks (the shared protocol of
PAPERS.md: adjacency-matrix encoding, objective CR + 200 RSE, Adam lr 1e-3, <= 10,000 steps, 2 starts).

Planted: a tensor train of order 4, a tensor ring and a Tucker tensor of order 5 (7^5, the papers' example ranks
TR [2, 3, 4, 5, 5] and Tucker [2, 3, 4, 3, 2]) and a tensor train of order 6, cores with standard normal entries.
Recorded per search: evaluations (fits), wall time, the best structure's RSE and compression ratio, and that ratio
over the planted one's (1 when the search finds a structure as small as the planted one). TnALE runs from rank
one: over every pair at radius 1 and at radius 2 with a budget of 40 evaluations each (its dense intermediate
networks make each fit slow on a CPU: 20-60 s at 7^5), and under the ring constraint (the ranks of a ring's bonds
and the order of the modes; rings are sparse, so 100 evaluations) at radius 2. A Tucker tensor has one core more
than modes; the N-node encoding reaches it at best as a star (the core folded into one factor), 322 parameters
against 242 for the planted ranks, ratio 1.33."""

from __future__ import annotations

import math
import time

import torch
from tqdm.auto import tqdm

from geomlearn.tensor_networks import NetworkStructure, TuckerTensor, greedy_search, tnale

from ..registry import Context, Record

SUITE = "tensor"
TNALE_BUDGET = 40
TNALE_RING_BUDGET = 100


def _planted_cases(quick: bool):
    """``(case, tensor, planted parameter count)``."""
    generator = torch.Generator().manual_seed(5)

    def network(structure: NetworkStructure):
        cores = [torch.randn(structure.core_shape(k), generator=generator, dtype=torch.float64)
                 for k in range(structure.order)]
        return structure.network(cores).contract(), structure.num_parameters

    if quick:
        yield "search tt 4x4x4", *network(NetworkStructure.tensor_train((4, 4, 4), (2, 3)))
        return
    yield "search tt 6^4", *network(NetworkStructure.tensor_train((6,) * 4, (2, 3, 2)))
    yield "search tr 7^5", *network(NetworkStructure.tensor_ring((7,) * 5, (2, 3, 4, 5, 5)))
    ranks = (2, 3, 4, 3, 2)
    tucker = TuckerTensor(torch.randn(ranks, generator=generator, dtype=torch.float64),
                          [torch.randn(7, r, generator=generator, dtype=torch.float64) for r in ranks])
    yield "search tucker 7^5", tucker.to_tensor(), tucker.num_parameters
    yield "search tt 4^6", *network(NetworkStructure.tensor_train((4,) * 6, (2, 3, 3, 3, 2)))


def structure_search_cases(ctx: Context, records: list[Record]) -> None:
    searches = {"greedy (Hashemizadeh et al.)": lambda x: greedy_search(x, random_state=0, progress=ctx.progress),
                **{f"TnALE r={radius} (Li et al.)": (lambda x, radius=radius: tnale(
                    x, radius=radius, max_evaluations=TNALE_BUDGET, random_state=0, progress=ctx.progress))
                   for radius in (1, 2)},
                "TnALE ring r=2 (Li et al.)": lambda x: tnale(x, topology="ring", radius=2,
                                                              max_evaluations=TNALE_RING_BUDGET, random_state=0,
                                                              progress=ctx.progress)}
    cases = [c for c in _planted_cases(ctx.quick) if any(ctx.wanted(f"{c[0]} {impl}") for impl in searches)]
    for case, tensor, planted_parameters in tqdm(cases, desc="tensor: structure search", disable=not ctx.progress):
        planted_ratio = planted_parameters / math.prod(tensor.shape)
        for impl, search in searches.items():
            if not ctx.wanted(f"{case} {impl}"):
                continue
            start = time.perf_counter()
            result = search(tensor)
            seconds = time.perf_counter() - start
            ratio = result.compression_ratio / planted_ratio
            params = dict(shape=list(tensor.shape), planted_parameters=planted_parameters,
                          found_parameters=result.structure.num_parameters,
                          found=[list(row) for row in result.structure.adjacency], seconds=round(seconds, 1))
            records += [
                Record(SUITE, case, impl, "evaluations", result.evaluations, "fits", params=params),
                Record(SUITE, case, impl, "time", seconds, "s", params=params),
                Record(SUITE, case, impl, "RSE", result.rse, "", params=params),
                Record(SUITE, case, impl, "compression ratio", result.compression_ratio, "", params=params),
                Record(SUITE, case, impl, "CR / planted CR", ratio, "x", params=params),
            ]


def plot_structure_search(records: list[Record], out) -> None:
    """``structure_search.png``: each search's compression ratio over the planted one, per case, against the
    planted network's."""
    import matplotlib.pyplot as plt

    found = [r for r in records if r.metric == "CR / planted CR"]
    if not found:
        return
    cases = sorted({r.case for r in found})
    impls = sorted({r.impl for r in found})
    fig, ax = plt.subplots(figsize=(6, 3.5))
    width = 0.8 / len(impls)
    for k, impl in enumerate(impls):
        values = {r.case: r.value for r in found if r.impl == impl}
        ax.bar([c + k * width for c in range(len(cases))], [values.get(case, float("nan")) for case in cases],
               width, label=impl)
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1, label="the planted network")
    ax.set_xticks([c + 0.4 - width / 2 for c in range(len(cases))], [c.removeprefix("search ") for c in cases])
    ax.set(ylabel="found CR / planted CR", title="structure search on planted networks")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "structure_search.png", dpi=120)
    plt.close(fig)
