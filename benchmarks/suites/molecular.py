"""``molecular``: the tensor products against e3nn, in the style of "The Price of Freedom" (Xie et al., 2025).

Cases (``--only`` matches their names):

* ``tp L=<L>``: features with every degree up to ``L`` once (``0e + 1o + ... + L``, the parities of functions on
  the sphere) times the same, into every degree up to ``2L``; batch 10,000 (``--quick``: 256, L <= 2);
  forward and forward + backward for geomlearn's grid, Gaunt and CG products and e3nn's
  ``FullyConnectedTensorProduct`` (the CG product with all couplings), in one process. The grid / Gaunt
  products compute the even couplings only, the price of their speed; the CG product equals e3nn's.
* ``tp slope``: the slope of log(time) against log(L) fitted over L = 1..8 for each product.
* ``qm9 <target> <model>``: TensorNet and the interaction network (CG) against torch_geometric's SchNet on
  QM9 U0 and the HOMO-LUMO gap at equal data and wall-clock budget (:mod:`benchmarks.molecular.qm9_training`): by default 5,000
  training molecules and five minutes per model on this CPU; ``--full`` runs the 110k / 10k split for three
  hours per model, ``--budget SECONDS`` sets another time per model; test MAE in meV at the best
  validation point.
* ``so2 L=4``: the eSCN edge convolution against the CG edge convolution it replaces (same couplings,
  ``8 x (0e + ... + 4e)`` features, harmonics up to 4, per-edge weights, 10,000 edges), including the
  harmonics / rotations each needs.
* ``conv fused L=<L>``: the CG edge convolution (``16 x (0e + 1o + 2e)``, harmonics up to 2, 2,000 atoms at
  liquid density, ~50 neighbours each) run as one fused kernel (:func:`geomlearn.sparse.coupling_spmm`)
  against gather -> CG product -> segment sum; time and peak memory.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from e3nn import o3
from tqdm.auto import tqdm

from geomlearn.equivariant import (CGTensorProduct, EquivariantConv, GauntTensorProduct, GridTensorProduct,
                                   SO2Convolution, radius_graph, spherical_harmonics)

from ..measure import peak_memory_mib, time_call
from ..molecular.qm9_training import FULL, MODELS, QUICK, QM9Settings, load, train
from ..registry import Context, Record, register

SUITE = "molecular"
QM9_TARGETS = ("U0", "gap")     # the energy, and the HOMO-LUMO gap
PRODUCTS = {"grid": GridTensorProduct, "gaunt": GauntTensorProduct, "cg": CGTensorProduct,
            "e3nn": o3.FullyConnectedTensorProduct}
E3NN_MAX_L = 6          # e3nn's code generation for L = 7, 8 (hundreds of paths) takes minutes per module


def sphere_irreps(lmax: int, copies: int = 1) -> str:
    return " + ".join(f"{copies}x{l}{'e' if l % 2 == 0 else 'o'}" for l in range(lmax + 1))


def _time(fn, ctx: Context):
    return time_call(fn, ctx.device, min_repeats=3, budget_s=2.0 if ctx.quick else 5.0)


def _tensor_product_cases(ctx: Context, records: list[Record]) -> None:
    degrees = [1, 2] if ctx.quick else list(range(1, 9))
    batch = 256 if ctx.quick else 10_000
    times: dict[tuple[str, str], dict[int, float]] = {}
    cases = [(lmax, name) for lmax in degrees for name in PRODUCTS if ctx.wanted(f"tp L={lmax}")
             and not (name == "e3nn" and lmax > E3NN_MAX_L)]
    for lmax, name in tqdm(cases, desc="molecular: tensor products", disable=not ctx.progress):
        irreps_in, irreps_out = sphere_irreps(lmax), sphere_irreps(2 * lmax)
        product = PRODUCTS[name](irreps_in, irreps_in, irreps_out).to(ctx.device)
        generator = torch.Generator().manual_seed(lmax)
        x1 = torch.randn(batch, (lmax + 1) ** 2, generator=generator).to(ctx.device).requires_grad_()
        x2 = torch.randn(batch, (lmax + 1) ** 2, generator=generator).to(ctx.device).requires_grad_()
        params = dict(L=lmax, batch=batch, irreps_in=irreps_in, irreps_out=irreps_out,
                      couplings="even only" if name in ("grid", "gaunt") else "all")

        def forward():
            with torch.no_grad():
                product(x1, x2)

        def forward_backward():
            product(x1, x2).square().sum().backward()

        for mode, fn in (("forward", forward), ("forward+backward", forward_backward)):
            timing = _time(fn, ctx)
            times.setdefault((name, mode), {})[lmax] = timing.median_s
            records.append(Record(SUITE, f"tp L={lmax} {mode}", "e3nn" if name == "e3nn" else f"geomlearn {name}",
                                  "time", 1e3 * timing.median_s, "ms", std=1e3 * timing.std_s, n=timing.n,
                                  params=dict(params, mode=mode)))
    for (name, mode), by_degree in times.items():
        peer = times.get(("e3nn", mode), {})
        for lmax, seconds in by_degree.items():
            if name == "e3nn" or lmax not in peer:
                continue
            ratio = peer[lmax] / seconds
            records.append(Record(SUITE, f"tp L={lmax} {mode}", f"geomlearn {name}", "speedup over e3nn", ratio, "x",
                                  params=dict(L=lmax, mode=mode)))
        if len(by_degree) >= 3 and ctx.wanted("tp slope"):
            logs = [(math.log(lmax), math.log(seconds)) for lmax, seconds in sorted(by_degree.items())]
            mean_x = sum(x for x, _ in logs) / len(logs)
            mean_y = sum(y for _, y in logs) / len(logs)
            slope = sum((x - mean_x) * (y - mean_y) for x, y in logs) / sum((x - mean_x) ** 2 for x, _ in logs)
            note = f"L = {min(by_degree)}..{max(by_degree)}"
            records.append(Record(SUITE, f"tp slope {mode}", "e3nn" if name == "e3nn" else f"geomlearn {name}",
                                  "fitted slope", slope, "", params=dict(mode=mode), note=note))


def _so2_case(ctx: Context, records: list[Record]) -> None:
    lmax, channels = (2, 2) if ctx.quick else (4, 8)
    case = f"so2 L={lmax}"
    if not ctx.wanted(case):
        return
    edges = 256 if ctx.quick else 10_000
    irreps, irreps_sh = sphere_irreps(lmax, channels), sphere_irreps(lmax)
    cg = CGTensorProduct(irreps, irreps_sh, irreps, mode="uvu", shared_weights=False).to(ctx.device)
    so2 = SO2Convolution(irreps, irreps, lmax).to(ctx.device)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(edges, cg.irreps_in1.dim, generator=generator).to(ctx.device).requires_grad_()
    vectors = torch.randn(edges, 3, generator=generator).to(ctx.device).requires_grad_()
    w_cg = torch.randn(edges, cg.weight_numel, generator=generator).to(ctx.device).requires_grad_()
    w_so2 = torch.randn(edges, so2.weight_numel, generator=generator).to(ctx.device).requires_grad_()

    def harmonics():
        return spherical_harmonics(list(range(lmax + 1)), vectors, normalization="component")

    runs = {"CG edge convolution": lambda: cg(x, harmonics(), w_cg),
            "geomlearn SO2Convolution": lambda: so2(x, vectors, w_so2)}
    params = dict(L=lmax, channels=channels, edges=edges, irreps=irreps)
    times = {}
    for mode in ("forward", "forward+backward"):
        for impl, call in runs.items():
            if mode == "forward":
                def fn(call=call):
                    with torch.no_grad():
                        call()
            else:
                def fn(call=call):
                    call().square().sum().backward()
            timing = _time(fn, ctx)
            times[(impl, mode)] = timing.median_s
            records.append(Record(SUITE, f"{case} {mode}", impl, "time", 1e3 * timing.median_s, "ms",
                                  std=1e3 * timing.std_s, n=timing.n, params=dict(params, mode=mode)))
        ratio = times[("CG edge convolution", mode)] / times[("geomlearn SO2Convolution", mode)]
        records.append(Record(SUITE, f"{case} {mode}", "geomlearn SO2Convolution", "speedup over CG", ratio, "x",
                              params=dict(params, mode=mode)))


def _fused_conv_case(ctx: Context, records: list[Record]) -> None:
    lmax, channels, nodes = (1, 4, 200) if ctx.quick else (2, 16, 2_000)
    case = f"conv fused L={lmax}"
    if not ctx.wanted(case):
        return
    generator = torch.Generator().manual_seed(0)
    # A random point cloud at liquid density: ~50 neighbours within the cutoff.
    pos = (torch.rand(nodes, 3, generator=generator) * (nodes / 2.0) ** (1 / 3) * 2.0).to(ctx.device)
    edge_index = radius_graph(pos, 3.0, max_num_neighbors=None)
    irreps = sphere_irreps(lmax, channels)
    convs = {"geomlearn EquivariantConv fused": EquivariantConv(irreps, irreps, lmax_sh=2, cutoff=3.0),
             "gather + CG product + segment sum": EquivariantConv(irreps, irreps, lmax_sh=2, cutoff=3.0, fused=False)}
    convs["gather + CG product + segment sum"].load_state_dict(convs["geomlearn EquivariantConv fused"].state_dict())
    x = torch.randn(nodes, convs["geomlearn EquivariantConv fused"].irreps_in.dim, generator=generator)
    x, pos = x.to(ctx.device).requires_grad_(), pos.requires_grad_()
    params = dict(L=lmax, channels=channels, nodes=nodes, edges=edge_index.shape[1], irreps=irreps, lmax_sh=2)
    for mode in ("forward", "forward+backward"):
        times = {}
        for impl, conv in convs.items():
            conv.to(ctx.device)
            if mode == "forward":
                def fn(conv=conv):
                    with torch.no_grad():
                        conv(x, pos, edge_index)
            else:
                def fn(conv=conv):
                    conv(x, pos, edge_index).square().sum().backward()
            timing = _time(fn, ctx)
            times[impl] = timing.median_s
            memory = peak_memory_mib(fn, ctx.device)
            records.append(Record(SUITE, f"{case} {mode}", impl, "time", 1e3 * timing.median_s, "ms",
                                  std=1e3 * timing.std_s, n=timing.n, params=dict(params, mode=mode),
                                  note="" if memory is None else f"peak {memory:.0f} MiB"))
        ratio = times["gather + CG product + segment sum"] / times["geomlearn EquivariantConv fused"]
        records.append(Record(SUITE, f"{case} {mode}", "geomlearn EquivariantConv fused", "speedup over unfused",
                              ratio, "x", params=dict(params, mode=mode)))


def _qm9_cases(ctx: Context, records: list[Record]) -> None:
    base = QUICK if ctx.quick else FULL if ctx.full else QM9Settings()
    if ctx.budget_s is not None:
        base = dataclasses.replace(base, budget_s=ctx.budget_s)
    for target in QM9_TARGETS:
        settings = dataclasses.replace(base, target=target)
        cases = [m for m in MODELS if ctx.wanted(f"qm9 {target} {m}")]
        if not cases:
            continue
        parts = load(settings)
        results = {}
        for model in tqdm(cases, desc=f"molecular: QM9 {target}", disable=not ctx.progress):
            results[model] = train(model, parts, settings)
            params = dict(target=target, train=len(parts["train"]), val=len(parts["val"]), test=len(parts["test"]),
                          budget_s=settings.budget_s, steps=results[model]["steps"],
                          parameters=results[model]["parameters"], batch_size=settings.batch_size, lr=settings.lr)
            records.append(Record(SUITE, f"qm9 {target} {model}", model, "test MAE", results[model]["test_mae_meV"],
                                  "meV", params=params,
                                  note=f"{results[model]['steps']} steps in {settings.budget_s:.0f} s"))
        schnet = results.get("SchNet (torch_geometric)")
        if schnet and "TensorNet" in results and not ctx.quick:
            ratio = results["TensorNet"]["test_mae_meV"] / schnet["test_mae_meV"]
            records.append(Record(SUITE, f"qm9 {target} TensorNet / SchNet", "TensorNet", "MAE ratio", ratio, "x",
                                  note="at equal data and training time"))


def plot(records: list[Record], out) -> None:
    """``out/molecular.png``: time against L (log-log) per product, forward and forward + backward."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in records if r.case.startswith("tp L=") and r.metric == "time" and r.value]
    if not rows:
        return
    slopes = {(r.impl, r.params["mode"]): r.value for r in records if r.metric == "fitted slope"}
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), squeeze=False)
    for ax, mode in zip(axes[0], ("forward", "forward+backward")):
        for impl in sorted({r.impl for r in rows}):
            mine = sorted((r.params["L"], r.value) for r in rows if r.impl == impl and r.params["mode"] == mode)
            slope = slopes.get((impl, mode))
            label = impl + (f" (slope {slope:.1f})" if slope is not None else "")
            ax.plot([a for a, _ in mine], [b for _, b in mine], marker="o", label=label)
        ax.set(xscale="log", yscale="log", xlabel="L", ylabel="ms per call", title=mode)
        degrees = sorted({r.params["L"] for r in rows})
        ax.set_xticks(degrees, [str(d) for d in degrees])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "molecular.png", dpi=120)
    plt.close(fig)


@register(SUITE, "tensor products (grid, Gaunt, CG) vs e3nn over L, slopes; SO(2) vs CG conv; fused conv; "
                 "QM9 vs SchNet", plot=plot)
def run(ctx: Context) -> list[Record]:
    records: list[Record] = []
    _tensor_product_cases(ctx, records)
    _so2_case(ctx, records)
    _fused_conv_case(ctx, records)
    _qm9_cases(ctx, records)
    return records
