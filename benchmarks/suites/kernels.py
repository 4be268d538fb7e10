"""``kernels``: geomlearn's sparse ops against the peers, in one process, on power-law graphs.

Peers (each where it is installed):

* ``torch.sparse CSR`` — ``torch.sparse.mm`` on a CSR matrix (PyG's fused path; ``reduce=`` for mean/max);
* ``PyG edge_index`` — PyG's default message-passing path for ``edge_index`` input: gather ``x[src]``
  into an ``[E, F]`` message tensor, then ``torch_geometric.utils.scatter`` into the targets;
* ``torch scatter_reduce`` / ``torch_scatter`` — the same gather-then-scatter with torch's native
  ``scatter_reduce`` and with torch_scatter's kernels;
* ``DGL`` — ``dgl.ops.u_mul_e_sum`` and friends, when dgl imports;
* for ``block_spmm``: the scalar-COO formulation of the same sheaf operator (an ``[E d^2, C]`` gather,
  then a scatter-add, as Neural Sheaf Diffusion's reference code applies its Laplacian).
* for ``householder_orthogonal`` (O(d) restriction maps from reflector entries; cases ``householder_product``): LAPACK's per-matrix
  ``torch.linalg.householder_product``, which Neural Sheaf Diffusion's reference code calls.

``index check`` cases time what every kernel call pays for its safety: the pass that checks the layout's
``ptr``, ``idx`` and ``eid`` before the kernel reads through them, alone and as a share of the sum ``spmm``.

Every case is timed forward and forward+backward (gradients for ``x``, for the blocks in ``block_spmm``, for
the reflector entries in ``householder_product``); the effective bandwidth counts the minimum traffic of the
product (one read of a source row per edge, one write per output row, the index and the weights; one read of the
entries and one write of the blocks per edge).
"""

from __future__ import annotations

import importlib.util
import warnings

import torch
from tqdm.auto import tqdm

from geomlearn.datasets import power_law_graph
from geomlearn.sparse import SparseIndex, block_spmm, householder_orthogonal, reference, spmm

from ..measure import available_memory_bytes, copy_bandwidth_gbs, peak_memory_mib, time_call
from ..registry import Context, Record, register

AVERAGE_DEGREE = 16
SUITE = "kernels"


def _peers_for_spmm(index: SparseIndex, weight: torch.Tensor, reduce: str):
    """``name -> f(x)`` for every installed peer that computes ``spmm(index, x, weight, reduce)``."""
    from torch_geometric.utils import scatter as pyg_scatter

    src, dst = index.src.long(), index.dst.long()
    n = index.num_dst
    csr = index.csr()
    with warnings.catch_warnings():  # torch's "CSR support is in beta" notice, once per graph
        warnings.simplefilter("ignore", UserWarning)
        csr_matrix = torch.sparse_csr_tensor(csr.ptr.long(), csr.idx.long(), weight[csr.eid.long()], index.shape)
    w = weight.unsqueeze(1)
    native = {"sum": "sum", "mean": "mean", "max": "amax"}[reduce]
    peers = {
        "geomlearn": lambda x: spmm(index, x, weight, reduce),
        "torch.sparse CSR": (lambda x: torch.sparse.mm(csr_matrix, x)) if reduce == "sum"
        else (lambda x: torch.sparse.mm(csr_matrix, x, native)),
        "PyG edge_index": lambda x: pyg_scatter(x[src] * w, dst, 0, n, reduce),
        "torch scatter_reduce": lambda x: torch.zeros(n, x.shape[1], dtype=x.dtype).scatter_reduce(
            0, dst.unsqueeze(1).expand(-1, x.shape[1]), x[src] * w, native, include_self=False),
    }
    if importlib.util.find_spec("torch_scatter") is not None:
        import torch_scatter

        peers["torch_scatter"] = lambda x: torch_scatter.scatter(x[src] * w, dst, 0, dim_size=n, reduce=reduce)
    if importlib.util.find_spec("dgl") is not None:  # pragma: no cover - dgl is rarely importable
        import dgl

        graph = dgl.graph((src, dst), num_nodes=n)
        op = {"sum": dgl.ops.u_mul_e_sum, "mean": dgl.ops.u_mul_e_mean, "max": dgl.ops.u_mul_e_max}[reduce]
        peers["DGL"] = lambda x: op(graph, x, w)
    return peers


def _scalar_coo_block_operator(index: SparseIndex, d: int):
    """The sheaf operator ``out_i = sum_e B_e x_j`` as a scalar COO matrix of ``E d^2`` non-zeros, applied
    by gather-scatter: returns ``f(blocks, x)``."""
    p = torch.arange(d).view(1, d, 1)
    q = torch.arange(d).view(1, 1, d)
    rows = (index.dst.long().view(-1, 1, 1) * d + p).expand(-1, d, d).reshape(-1)
    cols = (index.src.long().view(-1, 1, 1) * d + q).expand(-1, d, d).reshape(-1)
    size = index.num_dst * d

    def apply(blocks, x):
        flat = x.reshape(-1, x.shape[-1])
        messages = blocks.reshape(-1, 1) * flat[cols]  # the [E d^2, C] intermediate
        return torch.zeros(size, x.shape[-1], dtype=x.dtype).index_add(0, rows, messages).view(-1, d, x.shape[-1])

    return apply


def _measure(case: str, impl: str, fn, args, backward: bool, bytes_moved: float, device, params, note=""):
    """Time and peak memory of ``fn(*args)`` (and of its backward), as records."""
    if backward:
        leaves = [a for a in args if a.requires_grad]

        def call():
            for leaf in leaves:
                leaf.grad = None
            fn(*args).sum().backward()
    else:

        def call():
            with torch.no_grad():
                fn(*args)

    peak = peak_memory_mib(call, device)  # also the first warm-up
    timing = time_call(call, device)
    common = dict(suite=SUITE, case=case, impl=impl, params=params, note=note)
    return [
        Record(metric="time", value=timing.median_s * 1e3, unit="ms", std=timing.std_s * 1e3, n=timing.n, **common),
        Record(metric="bandwidth", value=bytes_moved / timing.median_s / 1e9, unit="GB/s", **common),
        Record(metric="peak memory", value=peak, unit="MiB", **common),
    ]


def _too_big(intermediate_bytes: int, device: torch.device) -> bool:
    """A peer whose intermediates would take over half the free memory is not run."""
    return intermediate_bytes > available_memory_bytes(device) / 2


def _skipped(case: str, impl: str, params: dict, why: str) -> Record:
    return Record(SUITE, case, impl, "time", None, "ms", params=params, note=f"skipped: {why}")


def _speedups(records: list[Record], case: str) -> list[Record]:
    times = {r.impl: r for r in records if r.case == case and r.metric == "time" and r.value is not None}
    ours = times.get("geomlearn")
    if ours is None:
        return []
    return [Record(SUITE, case, impl, "speedup of geomlearn", r.value / ours.value, "x", params=r.params)
            for impl, r in times.items() if impl != "geomlearn"]


def _case_name(op: str, num_edges: int, f: int, reduce: str, backward: bool) -> str:
    mode = "fwd+bwd" if backward else "fwd"
    if op == "spmm":
        return f"spmm {reduce} E={num_edges:.0e} F={f} {mode}"
    if op == "householder_product":
        return f"householder_product d={f} E={num_edges:.0e} {mode}"
    if op == "index_check":
        return f"index check E={num_edges:.0e} F={f} {mode}"
    return f"block_spmm d=3 C={f} E={num_edges:.0e} {mode}"


def _cases(ctx: Context):
    edges = [100_000] if ctx.quick else [100_000, 1_000_000, 2_000_000, 10_000_000]
    features = [64] if ctx.quick else [16, 64, 256]
    grid = [("spmm", e, f, r, b) for e in edges for f in features for r in ("sum", "mean", "max") for b in (False, True)]
    grid += [("block_spmm", e, 32, "sum", b) for e in edges for b in (False, True)]
    grid += [("index_check", e, 64, "sum", False) for e in edges]
    # NSD's stalk dimensions; 396,706 edges: Squirrel's, where O(d)-NSD forms 5 layers of maps per epoch
    maps = [100_000] if ctx.quick else [396_706, 2_000_000]
    grid += [("householder_product", e, d, "", b) for e in maps for d in (3, 4) for b in (False, True)]
    return [case for case in grid if ctx.wanted(_case_name(*case))]


def _householder_case(num_edges: int, d: int, backward: bool, device: torch.device) -> list[Record]:
    """The fused kernel against LAPACK's per-matrix product on ``[E, d (d - 1) / 2]`` random entries."""
    case = _case_name("householder_product", num_edges, d, "", backward)
    params = dict(op="householder_product", E=num_edges, d=d, mode="fwd+bwd" if backward else "fwd")
    k = d * (d - 1) // 2
    generator = torch.Generator().manual_seed(0)
    entries = torch.randn(num_edges, k, generator=generator).to(device).requires_grad_(backward)
    bytes_moved = num_edges * (k + d * d) * 4 * (3 if backward else 1)   # backward: entries, blocks, grads in; grads out
    records = _measure(case, "geomlearn", lambda p: householder_orthogonal(p, d), (entries,), backward, bytes_moved,
                       device, params)
    records += _measure(case, "torch.linalg.householder_product", lambda p: reference.householder_orthogonal(p, d),
                        (entries,), backward, bytes_moved, device, params)
    return records


def _index_check_case(index: SparseIndex, f: int, device) -> list[Record]:
    """What validating a layout costs: the pass that checks ``ptr``, ``idx`` and ``eid`` before a kernel reads
    through them (every call, so that a write behind the index's back is an error, not a wild read), timed alone
    and beside the sum ``spmm`` it guards, which includes it."""
    from geomlearn.sparse.kernels import backend_for

    case = _case_name("index_check", index.num_edges, f, "sum", False)
    params = dict(op="index_check", E=index.num_edges, N=index.num_dst, F=f, reduce="sum", mode="fwd")
    ptr, idx, eid = index.csr()
    x = torch.randn(index.num_src, f, generator=torch.Generator().manual_seed(0)).to(device)
    check = backend_for(device).check_indices
    bytes_moved = ptr.numel() * ptr.element_size() + 2 * idx.numel() * idx.element_size()
    records = _measure(case, "index check", lambda: check("spmm", ptr, idx.shape[0], idx=(idx, 0, x.shape[0]),
                                                          eid=(eid, 0, eid.shape[0])), (), False,
                       bytes_moved, device, params)
    records += _measure(case, "spmm sum (checks included)", lambda v: spmm(index, v), (x,), False,
                        index.num_edges * (f * 4 + 8) + index.num_dst * f * 4, device, params)
    times = {r.impl: r.value for r in records if r.metric == "time"}
    records.append(Record(SUITE, case, "index check", "share of the spmm", 100 * times["index check"] /
                          times["spmm sum (checks included)"], "%", params=params))
    return records


def plot(records: list[Record], out) -> None:
    """``out/kernels.png``: forward+backward time against E (log-log), one panel per op, a line per impl."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = {}
    for op, reduce, f in [("spmm", "sum", 64), ("spmm", "mean", 64), ("spmm", "max", 64), ("block_spmm", "sum", 32)]:
        lines: dict[str, list[tuple[int, float]]] = {}
        for r in records:
            p = r.params
            if (r.metric == "time" and r.value is not None and p.get("op") == op and p.get("reduce") == reduce
                    and p.get("F") == f and p.get("mode") == "fwd+bwd"):
                lines.setdefault(r.impl, []).append((p["E"], r.value))
        if lines:
            panels[(op, reduce, f)] = lines
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8), squeeze=False)
    for ax, ((op, reduce, f), lines) in zip(axes[0], panels.items()):
        for impl, points in sorted(lines.items()):
            points.sort()
            ax.plot([e for e, _ in points], [t for _, t in points], marker="o",
                    linewidth=2.5 if impl == "geomlearn" else 1.2, label=impl)
        title = f"spmm {reduce}, F={f}" if op == "spmm" else f"block_spmm d=3, C={f}"
        ax.set(xscale="log", yscale="log", xlabel="edges E", ylabel="fwd+bwd time (ms)", title=title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "kernels.png", dpi=120)
    plt.close(fig)


def _graph_case(op: str, index: SparseIndex, f: int, reduce: str, backward: bool, device) -> list[Record]:
    """``spmm`` against every peer, or ``block_spmm`` (d = 3) against the scalar-COO formulation."""
    num_edges, n = index.num_edges, index.num_dst
    generator = torch.Generator().manual_seed(0)
    mode = "fwd+bwd" if backward else "fwd"
    params = dict(op=op, E=num_edges, N=n, F=f, reduce=reduce, mode=mode)
    case = _case_name(op, num_edges, f, reduce, backward)
    records = []
    if op == "spmm":
        x = torch.randn(n, f, generator=generator).to(device).requires_grad_(backward)
        weight = torch.rand(num_edges, generator=generator).to(device)
        bytes_moved = (num_edges * (f * 4 + 4 + 4 + 4) + n * f * 4) * (2 if backward else 1)
        intermediate = num_edges * f * 4 * (3 if backward else 2)
        for impl, fn in _peers_for_spmm(index, weight, reduce).items():
            if impl not in ("geomlearn", "torch.sparse CSR") and _too_big(intermediate, device):
                records.append(_skipped(case, impl, params, f"its [E, F] messages need {intermediate / 2**30:.1f} GiB"))
                continue
            records += _measure(case, impl, fn, (x,), backward, bytes_moved, device, params)
        return records
    d = 3
    blocks = torch.randn(num_edges, d, d, generator=generator).to(device).requires_grad_(backward)
    x = torch.randn(n, d, f, generator=generator).to(device).requires_grad_(backward)
    bytes_moved = (num_edges * (d * f * 4 + d * d * 4 + 8) + n * d * f * 4) * (2 if backward else 1)
    scalar_coo = _scalar_coo_block_operator(index, d)
    records += _measure(case, "geomlearn", lambda b, v: block_spmm(index, b, v), (blocks, x), backward,
                        bytes_moved, device, params)
    intermediate = num_edges * d * d * f * 4 * 3
    if _too_big(intermediate, device):
        records.append(_skipped(case, "scalar COO", params,
                                f"its [E d^2, C] intermediate needs {intermediate / 2**30:.1f} GiB"))
    else:
        records += _measure(case, "scalar COO", scalar_coo, (blocks, x), backward, bytes_moved, device, params)
    return records


@register(SUITE, "sparse ops vs torch.sparse, PyG, torch_scatter, DGL; block_spmm vs scalar COO; householder_product "
                 "vs LAPACK", plot=plot)
def run(ctx: Context) -> list[Record]:
    device = ctx.device
    bandwidth = copy_bandwidth_gbs(device)
    ctx.summary = (f"Copy bandwidth of this machine: {bandwidth:.1f} GB/s (read + write). Graphs: power-law "
                   f"in-degrees, average degree {AVERAGE_DEGREE}; x and weights float32.")
    records: list[Record] = []
    index = None
    for op, num_edges, f, reduce, backward in tqdm(_cases(ctx), desc="kernels", disable=not ctx.progress):
        case = _case_name(op, num_edges, f, reduce, backward)
        if op == "householder_product":
            records += _householder_case(num_edges, f, backward, device)
            continue
        if index is None or index.num_edges != num_edges:  # cases come grouped by size: one graph at a time
            data = power_law_graph(max(num_edges // AVERAGE_DEGREE, 1000), num_edges, seed=0)
            index = SparseIndex.from_data(data).to(device)
            index.csr(), index.csc()  # built once per graph, outside the measurements
        if op == "index_check":
            records += _index_check_case(index, f, device)
        else:
            records += _graph_case(op, index, f, reduce, backward, device)
        records += _speedups(records, case)
        records += [Record(SUITE, case, r.impl, "of copy bandwidth", 100 * r.value / bandwidth, "%", params=r.params)
                    for r in records if r.case == case and r.metric == "bandwidth" and r.value is not None]
    return records
