"""``tensor``: geomlearn's decompositions against TensorLy (numpy and pytorch backends) in one run.

Cases (``--only`` matches their names):

* ``cp <shape> R=<R>``: CP-ALS on a planted rank-``R`` tensor plus 10 % Gaussian noise, every implementation
  from the same random start for the same number of sweeps (no tolerance stop, no line search): time per
  sweep and final relative error. Shapes 50^3 .. 300^3 with ``R = 20`` and the order-5 16^5 with ``R = 10``
  (``--quick``: 30^3).
* ``parafac 200x200x200 R=20 from the call``: TensorLy's call, ``parafac(X, 20, init="svd", n_iter_max=30)``,
  timed from the call (the SVD start included) on a planted tensor plus noise, against TensorLy's ``parafac``.
* ``tucker <shape>``: HOOI from the HOSVD start, same sweeps; ``tt <shape>``: TT-SVD at the same ranks;
  ``tr <shape>``: tensor-ring ALS at bonds 3, same sweeps (TensorLy's ``tensor_ring_als`` draws its own
  start, so the errors differ by the start too).
* ``completion 300^3 R=5 1%``: a planted rank-5 CP tensor observed at 1 % of its entries (270,000, distinct,
  uniformly drawn) given as a sparse COO tensor; the fit's RSE against the whole planted tensor, computed from
  the factors' inner products (the dense tensor is never formed).
* ``mps digits D=<D>``: ``MPSClassifier`` on scikit-learn's 8x8 digits (pixels / 16 in row-major order, a
  stratified 75 / 25 split with seed 0), Adam (lr 5e-3, batch 64) for 20 epochs per bond dimension
  D = 2, 4, 8, 16, 32; test accuracy at the last epoch. Plot ``tensor.png``: accuracy
  against D.
* ``movielens user x item x month``: rank-10 CP completion of the rating tensor against rank-10 MF, the five
  folds (:mod:`benchmarks.tensor.movielens`): test RMSE.
* ``search <kind> <shape>``: greedy and TnALE structure search on planted TT / TR / Tucker tensors of order 4-6
  (:mod:`benchmarks.tensor.structure_search`): compression ratio and RSE against the planted structure's.
"""

from __future__ import annotations

import math
import time

import torch
from tqdm.auto import tqdm

from geomlearn.tensor_networks import CPTensor, MPSClassifier, cp, parafac, tensor_ring_als, tensor_train, tucker

from ..measure import time_call
from ..registry import Context, Record, register
from ..tensor.movielens import movielens_cases
from ..tensor.structure_search import plot_structure_search, structure_search_cases

SUITE = "tensor"
NOISE = 0.1


def _planted(shape, rank, seed, noise=NOISE):
    generator = torch.Generator().manual_seed(seed)
    factors = [torch.randn(s, rank, generator=generator, dtype=torch.float64) for s in shape]
    clean = CPTensor(torch.ones(rank, dtype=torch.float64), factors).to_tensor()
    return clean + noise * clean.std() * torch.randn(clean.shape, generator=generator, dtype=torch.float64)


def _tensorly_backends():
    """``{name: (tensorly, to_backend, to_torch)}`` for the backends that load here."""
    import numpy as np
    import tensorly as tl

    out = {}
    for backend in ("numpy", "pytorch"):
        tl.set_backend(backend)
        if backend == "numpy":
            out[f"TensorLy ({backend})"] = (backend, lambda t: t.numpy(), lambda a: torch.from_numpy(np.asarray(a)))
        else:
            out[f"TensorLy ({backend})"] = (backend, lambda t: t.clone(), lambda a: a)
    return out


def _relative_error(x: torch.Tensor, fit: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(x - fit) / torch.linalg.vector_norm(x))


def _record_times(records, case, params, runs: dict, sweeps: int, ctx: Context):
    """Time every run (a call doing ``sweeps`` sweeps and returning the dense fit), record ms per sweep, the
    final error and each speedup of geomlearn over the peers."""
    times = {}
    for impl, (call, x) in runs.items():
        fit = call()
        timing = time_call(call, ctx.device, warmup=1, min_repeats=1 if ctx.quick else 3, budget_s=0.0)
        times[impl] = timing.median_s / sweeps
        records.append(Record(SUITE, case, impl, "time per sweep", 1e3 * times[impl], "ms", std=1e3 * timing.std_s /
                              sweeps, n=timing.n, params=params))
        records.append(Record(SUITE, case, impl, "relative error", _relative_error(x, fit), "", params=params))
    ours = times["geomlearn"]
    peers = {impl: t for impl, t in times.items() if impl != "geomlearn"}
    for impl, t in peers.items():
        records.append(Record(SUITE, case, impl, "geomlearn speedup", t / ours, "x", params=params))
    if peers:
        records.append(Record(SUITE, case, "geomlearn", "speedup over fastest peer", min(peers.values()) / ours, "x",
                              params=params))


def _cp_cases(ctx: Context, records: list[Record]) -> None:
    import tensorly as tl
    from tensorly.decomposition import parafac

    sizes = [((30, 30, 30), 5)] if ctx.quick else [((50,) * 3, 20), ((100,) * 3, 20), ((200,) * 3, 20),
                                                    ((300,) * 3, 20), ((16,) * 5, 10)]
    sweeps = 5 if ctx.quick else 20
    backends = _tensorly_backends()
    for shape, rank in tqdm(sizes, desc="tensor: CP", disable=not ctx.progress):
        case = f"cp {'x'.join(map(str, shape))} R={rank}"
        if not ctx.wanted(case):
            continue
        x = _planted(shape, rank, seed=0)
        generator = torch.Generator().manual_seed(1)
        start = [torch.randn(s, rank, generator=generator, dtype=torch.float64) for s in shape]
        runs = {"geomlearn": (lambda: cp(x, rank, n_iter_max=sweeps, tol=0,
                                         init=CPTensor(torch.ones(rank, dtype=torch.float64), start)).to_tensor(), x)}
        for impl, (backend, to_backend, to_torch) in backends.items():
            def peer(backend=backend, to_backend=to_backend, to_torch=to_torch, data=to_backend(x)):
                tl.set_backend(backend)
                init = tl.cp_tensor.CPTensor((to_backend(torch.ones(rank, dtype=torch.float64)),
                                              [to_backend(f) for f in start]))
                return to_torch(tl.cp_to_tensor(parafac(data, rank, n_iter_max=sweeps, tol=0, init=init)))
            runs[impl] = (peer, x)
        params = dict(shape=list(shape), rank=rank, sweeps=sweeps, noise=NOISE)
        _record_times(records, case, params, runs, sweeps, ctx)


def _parafac_case(ctx: Context, records: list[Record]) -> None:
    """TensorLy's call as users make it, timed from the call: ``parafac(X, 20, init="svd", n_iter_max=30)`` on a
    noisy rank-20 200^3 tensor, the SVD start included, against TensorLy's ``parafac`` on each backend."""
    import tensorly as tl
    from tensorly.decomposition import parafac as tl_parafac

    shape, rank, sweeps = ((30,) * 3, 5, 5) if ctx.quick else ((200,) * 3, 20, 30)
    case = f"parafac {'x'.join(map(str, shape))} R={rank} from the call"
    if not ctx.wanted(case):
        return
    x = _planted(shape, rank, seed=3)
    runs = {"geomlearn": (lambda: parafac(x, rank, init="svd", n_iter_max=sweeps, tol=0).to_tensor(), x)}
    for impl, (backend, to_backend, to_torch) in _tensorly_backends().items():
        def peer(backend=backend, to_torch=to_torch, data=to_backend(x)):
            tl.set_backend(backend)
            return to_torch(tl.cp_to_tensor(tl_parafac(data, rank, init="svd", n_iter_max=sweeps, tol=0)))
        runs[impl] = (peer, x)
    _record_times(records, case, dict(shape=list(shape), rank=rank, sweeps=sweeps, init="svd"), runs, sweeps, ctx)


def _tucker_tt_cases(ctx: Context, records: list[Record]) -> None:
    import tensorly as tl
    from tensorly.decomposition import tensor_ring_als as tl_tensor_ring_als
    from tensorly.decomposition import tensor_train as tl_tensor_train
    from tensorly.decomposition import tucker as tl_tucker

    shapes = [(30, 30, 30)] if ctx.quick else [(100,) * 3, (200,) * 3, (16,) * 5]
    sweeps = 3 if ctx.quick else 10
    backends = _tensorly_backends()
    for shape in tqdm(shapes, desc="tensor: Tucker / TT", disable=not ctx.progress):
        x = _planted(shape, 5, seed=2)
        name = "x".join(map(str, shape))
        ranks = (5,) * len(shape)
        if ctx.wanted(f"tucker {name}"):
            runs = {"geomlearn": (lambda: tucker(x, ranks, n_iter_max=sweeps, tol=0).to_tensor(), x)}
            for impl, (backend, to_backend, to_torch) in backends.items():
                def peer(backend=backend, to_backend=to_backend, to_torch=to_torch, data=to_backend(x)):
                    tl.set_backend(backend)
                    return to_torch(tl.tucker_to_tensor(tl_tucker(data, list(ranks), n_iter_max=sweeps, tol=0,
                                                                  init="svd")))
                runs[impl] = (peer, x)
            _record_times(records, f"tucker {name}", dict(shape=list(shape), rank=list(ranks), sweeps=sweeps),
                          runs, sweeps, ctx)
        if ctx.wanted(f"tt {name}"):
            bonds = [1] + [5] * (len(shape) - 1) + [1]
            runs = {"geomlearn": (lambda: tensor_train(x, rank=5).to_tensor(), x)}
            for impl, (backend, to_backend, to_torch) in backends.items():
                def peer(backend=backend, to_backend=to_backend, to_torch=to_torch, data=to_backend(x)):
                    tl.set_backend(backend)
                    return to_torch(tl.tt_to_tensor(tl_tensor_train(data, bonds)))
                runs[impl] = (peer, x)
            _record_times(records, f"tt {name}", dict(shape=list(shape), rank=bonds), runs, 1, ctx)
        if ctx.wanted(f"tr {name}"):
            runs = {"geomlearn": (lambda: tensor_ring_als(x, 3, n_iter_max=sweeps, tol=0, random_state=0).to_tensor(), x)}
            for impl, (backend, to_backend, to_torch) in backends.items():
                def peer(backend=backend, to_backend=to_backend, to_torch=to_torch, data=to_backend(x)):
                    tl.set_backend(backend)
                    ring = tl_tensor_ring_als(data, [3] * (len(shape) + 1), n_iter_max=sweeps, tol=0, random_state=0)
                    return to_torch(tl.tr_to_tensor(ring))
                runs[impl] = (peer, x)
            _record_times(records, f"tr {name}", dict(shape=list(shape), rank=3, sweeps=sweeps), runs, sweeps, ctx)


def _cp_squared_distance(a: CPTensor, b: CPTensor) -> float:
    """:math:`\\|A - B\\|^2` of two CP tensors from their factors' Gram matrices (no dense tensor)."""
    def inner(p: CPTensor, q: CPTensor) -> float:
        gram = torch.outer(p.weights, q.weights)
        for f, g in zip(p.factors, q.factors):
            gram = gram * (f.t() @ g)
        return float(gram.sum())

    return inner(a, a) - 2 * inner(a, b) + inner(b, b)


def _completion_case(ctx: Context, records: list[Record]) -> None:
    size, rank, fraction = (40, 3, 0.05) if ctx.quick else (300, 5, 0.01)
    case = f"completion {size}^3 R={rank} {fraction:.0%}"
    if not ctx.wanted(case):
        return
    generator = torch.Generator().manual_seed(3)
    planted = CPTensor(torch.ones(rank, dtype=torch.float64),
                       [torch.randn(size, rank, generator=generator, dtype=torch.float64) for _ in range(3)])
    count = round(fraction * size ** 3)
    flat = torch.randperm(size ** 3, generator=generator)[:count]
    indices = torch.stack([flat // size ** 2, flat // size % size, flat % size])
    values = (planted.weights * planted.factors[0][indices[0]] * planted.factors[1][indices[1]]
              * planted.factors[2][indices[2]]).sum(1)
    observed = torch.sparse_coo_tensor(indices, values, (size,) * 3, check_invariants=True).coalesce()
    result: dict = {}

    def fit():
        result["cp"] = cp(observed, rank, n_iter_max=100, tol=1e-12, random_state=0)

    timing = time_call(fit, ctx.device, warmup=1, min_repeats=1, budget_s=0.0)
    rse = math.sqrt(max(_cp_squared_distance(planted, result["cp"]), 0.0) / _cp_squared_distance(
        planted, CPTensor(torch.zeros(rank, dtype=torch.float64), planted.factors)))
    params = dict(size=size, rank=rank, observed=count, sweeps=len(result["cp"].errors))
    records.append(Record(SUITE, case, "geomlearn cp (sparse COO)", "time", timing.median_s, "s", n=timing.n,
                          params=params, note=f"{len(result['cp'].errors)} sweeps"))
    records.append(Record(SUITE, case, "geomlearn cp (sparse COO)", "RSE (whole tensor)", rse, "", params=params))


def _mps_cases(ctx: Context, records: list[Record]) -> None:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bonds, epochs = ((2, 4), 2) if ctx.quick else ((2, 4, 8, 16, 32), 20)
    bonds = [d for d in bonds if ctx.wanted(f"mps digits D={d}")]
    if not bonds:
        return
    digits = load_digits()
    x, y = torch.tensor(digits.data / 16.0, dtype=torch.float32), torch.tensor(digits.target)
    train, test = train_test_split(torch.arange(len(y)), test_size=0.25, random_state=0, stratify=digits.target)
    for bond in tqdm(bonds, desc="tensor: MPS digits", disable=not ctx.progress):
        torch.manual_seed(0)
        model = MPSClassifier(x.shape[1], 10, bond).to(ctx.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
        xs, ys = x.to(ctx.device), y.to(ctx.device)
        start = time.perf_counter()
        for _ in range(epochs):
            order = train[torch.randperm(len(train))]
            for k in range(0, len(order), 64):
                batch = order[k:k + 64]
                loss = torch.nn.functional.cross_entropy(model(xs[batch]), ys[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        seconds = (time.perf_counter() - start) / epochs
        with torch.no_grad():
            accuracy = float((model(xs[test]).argmax(1) == ys[test]).float().mean())
        params = dict(bond_dim=bond, epochs=epochs, train=len(train), test=len(test),
                      parameters=sum(p.numel() for p in model.parameters()))
        records.append(Record(SUITE, f"mps digits D={bond}", "geomlearn MPSClassifier", "test accuracy",
                              100 * accuracy, "%", params=params))
        records.append(Record(SUITE, f"mps digits D={bond}", "geomlearn MPSClassifier", "time per epoch", seconds,
                              "s", params=params))


def plot(records: list[Record], out) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mps = sorted((r.params["bond_dim"], r.value) for r in records if r.metric == "test accuracy")
    if mps:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.semilogx([d for d, _ in mps], [a for _, a in mps], marker="o", base=2)
        ax.set(xlabel="bond dimension D", ylabel="test accuracy (%)", title="MPSClassifier, 8x8 digits")
        fig.tight_layout()
        fig.savefig(out / "tensor.png", dpi=120)
        plt.close(fig)
    plot_structure_search(records, out)


@register(SUITE, "CP / Tucker / TT / TR against TensorLy (numpy, pytorch): time per sweep, error; sparse completion; "
                 "MPS digits; MovieLens tensor completion; structure search", plot=plot)
def run(ctx: Context) -> list[Record]:
    records: list[Record] = []
    _cp_cases(ctx, records)
    _parafac_case(ctx, records)
    _tucker_tt_cases(ctx, records)
    _completion_case(ctx, records)
    _mps_cases(ctx, records)
    movielens_cases(ctx, records)
    structure_search_cases(ctx, records)
    return records
