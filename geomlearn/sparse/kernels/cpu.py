"""Fast CPU kernels, compiled by numba on first use (and cached on disk).

Every graph kernel walks a compressed layout (``ptr``, ``idx``, ``eid``, see
:class:`geomlearn.sparse.index.CompressedIndex`) one output row per iteration of a parallel loop. A row
is written by exactly one thread, in edge order, so the results are deterministic and no atomics are
needed; per-edge outputs are written at the edge's original position ``eid[k]``. The same kernel
serves a forward pass on the CSR and the matching backward pass on the CSC. The per-edge block kernels
(``householder_product``, ``reverse_block_product``) are compiled once per block size
(:mod:`.cpu_edge_blocks`); the latter reads each edge's reverse instead of scattering into it, so it needs no
atomics either.

Shapes: ``R`` rows of the layout, ``E`` edges, features ``[N, H, C]`` (``H`` heads of ``C`` channels),
sheaf features ``[N, d, C]`` with blocks ``[E, d, d]``.

Before a kernel reads through an index array (a row's ``ptr`` bounds, ``idx``, ``eid``, ``rev``, ``src``), one
parallel pass checks every entry against the array it indexes (:func:`check_indices`, which each op of
:mod:`geomlearn.sparse` calls on its backend before the kernel): on 2M edges that takes
0.4 ms, under 1 % of a sum ``spmm`` with 64 channels, where checking inside the kernel's loop cost 19 % (it
stops the loop over channels from vectorising as well) and numba's ``boundscheck`` 3.7x. The layouts come from
a validated :class:`~geomlearn.sparse.SparseIndex`, so an entry out of range means a tensor was written behind
its back (through ``.data`` or ``.numpy()``, or handed to a ``torch.ops.geomlearn`` op directly): it raises
:class:`~geomlearn.sparse.IndexModifiedError` and nothing is read.
"""

from __future__ import annotations

import numba
import numpy as np
import torch
from numba import njit, prange
from torch import Tensor

from ..index import IndexModifiedError
from .cpu_edge_blocks import edge_block_kernels
from .vector_exp import vector_exp

_JIT = dict(parallel=True, nogil=True, cache=True)
# Dot-product kernels may reassociate their sums (so the loop over channels vectorises) but keep IEEE
# NaN / inf semantics; the order is fixed at compile time, so results stay deterministic.
_JIT_DOT = dict(_JIT, fastmath={"reassoc", "contract"})
_CHUNK = 16  # rows per scheduling chunk: small enough to balance power-law degree distributions


@njit(**_JIT)
def _count_bad_bounds(ptr, positions):  # pragma: no cover - compiled
    """Row bounds that leave ``0..positions`` or fall: ``ptr`` must rise from >= 0 to <= ``positions``."""
    rows = ptr.shape[0] - 1
    bad = 0
    if rows >= 0 and (ptr[0] < 0 or ptr[rows] > positions):
        bad += 1
    for i in prange(rows):
        bad += ptr[i + 1] < ptr[i]
    return bad


@njit(**_JIT)
def _count_outside(values, low, high):  # pragma: no cover - compiled
    """Entries of the flat ``values`` outside ``[low, high)``."""
    bad = 0
    for k in prange(values.shape[0]):
        bad += (values[k] < low) | (values[k] >= high)
    return bad


@njit(**_JIT)
def _gather_sum(ptr, idx, eid, x, w, w_on, mean, out):  # pragma: no cover - compiled
    rows = ptr.shape[0] - 1
    heads, chans = x.shape[1], x.shape[2]
    for i in prange(rows):
        start, end = ptr[i], ptr[i + 1]
        for k in range(start, end):
            j = idx[k]
            e = eid[k] * w_on
            for h in range(heads):
                s = w[e, h]
                for c in range(chans):
                    out[i, h, c] += s * x[j, h, c]
        if mean and end > start:
            inv = 1.0 / (end - start)
            for h in range(heads):
                for c in range(chans):
                    out[i, h, c] *= inv


@njit(**_JIT)
def _gather_extreme(ptr, idx, eid, x, w, w_on, sign, out, arg):  # pragma: no cover - compiled
    rows = ptr.shape[0] - 1
    heads, chans = x.shape[1], x.shape[2]
    for i in prange(rows):
        start, end = ptr[i], ptr[i + 1]
        if end == start:
            continue
        j0, e0 = idx[start], eid[start] * w_on
        for h in range(heads):
            s = w[e0, h]
            for c in range(chans):
                out[i, h, c] = s * x[j0, h, c]
                arg[i, h, c] = start
        for k in range(start + 1, end):
            j = idx[k]
            e = eid[k] * w_on
            position = arg.dtype.type(k)
            for h in range(heads):
                s = w[e, h]
                for c in range(chans):
                    # unconditional stores of a select, in the arg's own width: the loop over c vectorises
                    # a NaN wins over any number and keeps its place (the first NaN of a row), as in torch.amax
                    v = s * x[j, h, c]
                    cur = out[i, h, c]
                    better = (sign * v > sign * cur) | ((v != v) & (cur == cur))
                    out[i, h, c] = v if better else cur
                    arg[i, h, c] = position if better else arg[i, h, c]


@njit(nogil=True, cache=True)
def _scatter_winners(arg, idx, eid, grad, x, w, w_on, need_x, need_w, grad_x, grad_w):  # pragma: no cover
    # Serial over the output rows: each winner adds into its source row / edge in a fixed order, so
    # the sums are deterministic. It touches R * H * C entries, not E * H * C.
    rows, heads, chans = arg.shape
    for i in range(rows):
        for h in range(heads):
            for c in range(chans):
                k = arg[i, h, c]
                if k < 0:
                    continue
                j = idx[k]
                e = eid[k]
                g = grad[i, h, c]
                if need_x:
                    grad_x[j, h, c] += g * w[e * w_on, h]
                if need_w:
                    grad_w[e, h] += g * x[j, h, c]


@njit(**_JIT_DOT)
def _sddmm(ptr, idx, eid, a, b, out):  # pragma: no cover - compiled
    rows = ptr.shape[0] - 1
    heads, chans = a.shape[1], a.shape[2]
    zero = out.dtype.type(0)            # accumulate in the output's width, not float64: the loop vectorises
    for i in prange(rows):
        for k in range(ptr[i], ptr[i + 1]):
            j = idx[k]
            e = eid[k]
            for h in range(heads):
                acc = zero
                for c in range(chans):
                    acc += a[i, h, c] * b[j, h, c]
                out[e, h] = acc


@njit(**_JIT_DOT)
def _additive_scores(ptr, idx, eid, a, b, edge, edge_on, att, slope, out):  # pragma: no cover - compiled
    rows = ptr.shape[0] - 1
    heads, chans = a.shape[1], a.shape[2]
    zero, slope = out.dtype.type(0), out.dtype.type(slope)      # in the features' width: the loop vectorises
    for i in prange(rows):
        for k in range(ptr[i], ptr[i + 1]):
            j = idx[k]
            e = eid[k]
            f = e * edge_on
            for h in range(heads):
                acc = zero
                for c in range(chans):
                    v = a[i, h, c] + b[j, h, c] + edge[f, h, c]
                    acc += att[h, c] * (v if v > 0 else slope * v)
                out[e, h] = acc


@njit(**_JIT)
def _additive_scores_backward(ptr, idx, eid, own, other, edge, edge_on, att, slope, grad, need_att, need_edge,
                              grad_own, att_rows, grad_edge):  # pragma: no cover - compiled
    rows = ptr.shape[0] - 1
    heads, chans = own.shape[1], own.shape[2]
    one, slope = own.dtype.type(1), own.dtype.type(slope)
    for i in prange(rows):
        for k in range(ptr[i], ptr[i + 1]):
            j = idx[k]
            e = eid[k]
            f = e * edge_on
            for h in range(heads):
                g = grad[e, h]
                for c in range(chans):
                    v = own[i, h, c] + other[j, h, c] + edge[f, h, c]
                    grad_own[i, h, c] += g * att[h, c] * (one if v > 0 else slope)
                if need_att:
                    for c in range(chans):
                        v = own[i, h, c] + other[j, h, c] + edge[f, h, c]
                        att_rows[i, h, c] += g * (v if v > 0 else slope * v)
                if need_edge:
                    for c in range(chans):
                        v = own[i, h, c] + other[j, h, c] + edge[f, h, c]
                        grad_edge[e, h, c] = g * att[h, c] * (one if v > 0 else slope)


@njit(**_JIT)
def _gated_sum(ptr, idx, key, query, value, out):  # pragma: no cover - compiled
    rows, chans = ptr.shape[0] - 1, key.shape[1]
    one = out.dtype.type(1)
    for i in prange(rows):
        for k in range(ptr[i], ptr[i + 1]):
            j = idx[k]
            for c in range(chans):
                out[i, c] += value[j, c] / (one + vector_exp(-(key[i, c] + query[j, c])))


@njit(**_JIT)
def _gated_sum_target_grad(ptr, idx, key, query, value, grad, out):  # pragma: no cover - compiled
    rows, chans = ptr.shape[0] - 1, key.shape[1]
    one = out.dtype.type(1)
    for i in prange(rows):
        for k in range(ptr[i], ptr[i + 1]):
            j = idx[k]
            for c in range(chans):
                s = one / (one + vector_exp(-(key[i, c] + query[j, c])))
                out[i, c] += grad[i, c] * value[j, c] * s * (one - s)


@njit(**_JIT)
def _gated_sum_source_grad(tptr, tidx, key, query, value, grad, grad_query, grad_value):  # pragma: no cover
    rows, chans = tptr.shape[0] - 1, key.shape[1]
    one = grad_query.dtype.type(1)
    for j in prange(rows):
        for k in range(tptr[j], tptr[j + 1]):
            i = tidx[k]
            for c in range(chans):
                s = one / (one + vector_exp(-(key[i, c] + query[j, c])))
                gs = grad[i, c] * s
                grad_value[j, c] += gs
                grad_query[j, c] += gs * value[j, c] * (one - s)


@njit(**_JIT)
def _relu_sum(ptr, idx, eid, x, edge, out):  # pragma: no cover - compiled
    rows, chans = ptr.shape[0] - 1, x.shape[1]
    zero = out.dtype.type(0)
    for i in prange(rows):
        for k in range(ptr[i], ptr[i + 1]):
            j = idx[k]
            e = eid[k]
            for c in range(chans):
                out[i, c] += max(x[j, c] + edge[e, c], zero)


@njit(**_JIT)
def _relu_sum_backward(tptr, tidx, teid, x, edge, grad, grad_x, grad_edge):  # pragma: no cover - compiled
    rows, chans = tptr.shape[0] - 1, x.shape[1]
    zero = grad_x.dtype.type(0)
    for j in prange(rows):
        for k in range(tptr[j], tptr[j + 1]):
            i = tidx[k]
            e = teid[k]
            for c in range(chans):
                g = grad[i, c] if x[j, c] + edge[e, c] > zero else zero
                grad_edge[e, c] = g
                grad_x[j, c] += g


@njit(**_JIT)
def _edge_matrix_gather(ptr, idx, eid, x, weight, out):  # pragma: no cover - compiled
    rows, width_in, width_out = ptr.shape[0] - 1, weight.shape[1], weight.shape[2]
    for i in prange(rows):
        for k in range(ptr[i], ptr[i + 1]):
            j = idx[k]
            e = eid[k]
            for q in range(width_in):
                xq = x[j, q]
                for o in range(width_out):
                    out[i, o] += xq * weight[e, q, o]


@njit(**_JIT_DOT)
def _edge_matrix_gather_backward(tptr, tidx, teid, x, weight, grad, need_weight, grad_x,
                                 grad_weight):  # pragma: no cover - compiled
    rows, width_in, width_out = tptr.shape[0] - 1, weight.shape[1], weight.shape[2]
    zero = grad_x.dtype.type(0)
    for j in prange(rows):
        for k in range(tptr[j], tptr[j + 1]):
            i = tidx[k]
            e = teid[k]
            for q in range(width_in):
                # one pass over the edge's matrix row: its dot with grad[i] and (asked for) its gradient
                xq, acc = x[j, q], zero
                if need_weight:
                    for o in range(width_out):
                        g = grad[i, o]
                        acc += weight[e, q, o] * g
                        grad_weight[e, q, o] = xq * g
                else:
                    for o in range(width_out):
                        acc += weight[e, q, o] * grad[i, o]
                grad_x[j, q] += acc


@njit(**_JIT)
def _segment_softmax(ptr, eid, scores, out):  # pragma: no cover - compiled
    rows = ptr.shape[0] - 1
    heads = scores.shape[1]
    for i in prange(rows):
        start, end = ptr[i], ptr[i + 1]
        if end == start:
            continue
        for h in range(heads):
            m = scores[eid[start], h]
            for k in range(start + 1, end):
                m = max(m, scores[eid[k], h])
            total = 0.0
            for k in range(start, end):
                v = np.exp(scores[eid[k], h] - m)
                out[eid[k], h] = v
                total += v
            inv = 1.0 / total
            for k in range(start, end):
                out[eid[k], h] *= inv


@njit(**_JIT)
def _block_gather(ptr, idx, eid, blocks, x, transpose, out):  # pragma: no cover - compiled
    rows = ptr.shape[0] - 1
    d, chans = x.shape[1], x.shape[2]
    for i in prange(rows):
        for k in range(ptr[i], ptr[i + 1]):
            j = idx[k]
            e = eid[k]
            for p in range(d):
                for q in range(d):
                    bpq = blocks[e, q, p] if transpose else blocks[e, p, q]
                    for c in range(chans):
                        out[i, p, c] += bpq * x[j, q, c]


@njit(**_JIT_DOT)
def _block_sddmm(ptr, idx, eid, a, b, out):  # pragma: no cover - compiled
    rows = ptr.shape[0] - 1
    d, chans = a.shape[1], a.shape[2]
    zero = out.dtype.type(0)
    for i in prange(rows):
        for k in range(ptr[i], ptr[i + 1]):
            j = idx[k]
            e = eid[k]
            for p in range(d):
                for q in range(d):
                    acc = zero
                    for c in range(chans):
                        acc += a[i, p, c] * b[j, q, c]
                    out[e, p, q] = acc


@njit(**_JIT)
def _coupling_gather(ptr, idx, eid, table, values, x, y, w, out):  # pragma: no cover - compiled
    rows, chans, count = ptr.shape[0] - 1, x.shape[1], values.shape[0]
    for r in prange(rows):
        for q in range(ptr[r], ptr[r + 1]):
            j, e = idx[q], eid[q]
            for t in range(count):
                a, k, o = table[0, t], table[2, t], table[3, t]
                s = values[t] * y[e, table[1, t]]
                for u in range(chans):
                    out[r, u, o] += s * x[j, u, a] * w[e, k, u]


@njit(**_JIT)
def _coupling_edge_weights(src, dst, table, values, x, y, z, out):  # pragma: no cover - compiled
    edges, chans, count = src.shape[0], x.shape[1], values.shape[0]
    for e in prange(edges):
        j, i = src[e], dst[e]
        for t in range(count):
            a, k, o = table[0, t], table[2, t], table[3, t]
            s = values[t] * y[e, table[1, t]]
            for u in range(chans):
                out[e, k, u] += s * x[j, u, a] * z[i, u, o]


@njit(**_JIT)
def _coupling_edge_features(src, dst, table, values, x, w, z, out):  # pragma: no cover - compiled
    edges, chans, count = src.shape[0], x.shape[1], values.shape[0]
    zero = out.dtype.type(0)
    for e in prange(edges):
        j, i = src[e], dst[e]
        for t in range(count):
            a, k, o = table[0, t], table[2, t], table[3, t]
            acc = zero
            for u in range(chans):
                acc += x[j, u, a] * w[e, k, u] * z[i, u, o]
            out[e, table[1, t]] += values[t] * acc


_DTYPES = (torch.float32, torch.float64, torch.int32, torch.int64)


def _np(t: Tensor) -> np.ndarray:
    if t.dtype not in _DTYPES:
        raise TypeError(f"the CPU kernels support float32 and float64, got {t.dtype}")
    return t.detach().contiguous().numpy()


def check_indices(kernel: str, ptr: Tensor | None = None, positions: int = 0, **indices: tuple[Tensor, int, int]):
    """Raise :class:`~geomlearn.sparse.IndexModifiedError` unless ``ptr`` rises from >= 0 to <= ``positions`` and
    every entry of each ``name=(values, low, high)`` lies in ``[low, high)``: what ``kernel`` will read through.
    The loops are uniform, so they run on numba's static schedule: the kernels' small dynamic chunks would cost
    more than the comparisons."""
    with Parallel(chunk=0):
        problems = [] if ptr is None or not _count_bad_bounds(_np(ptr), positions) else [
            f"ptr (row bounds outside 0..{positions} or falling)"]
        for name, (values, low, high) in indices.items():
            if _count_outside(_np(values).reshape(-1), low, high):
                problems.append(f"{name} (entries outside {low}..{high - 1})")
    if problems:
        raise IndexModifiedError.in_layout(kernel, problems)


def _edge_weights(weight: Tensor | None, x: Tensor) -> tuple[Tensor, int]:
    """The kernels read ``w[eid[k] * w_on, h]``: the weights with ``w_on = 1``, or one row of ones with
    ``w_on = 0`` when there are none (no branch in the inner loop)."""
    if weight is None:
        return torch.ones(1, x.shape[1], dtype=x.dtype), 0
    return weight, 1


class Parallel:
    """Runs a kernel with torch's thread count and a small dynamic chunk (hubs do not stall a thread); ``chunk=0``
    is numba's static schedule, for loops whose iterations all cost the same.

    Every parallel kernel runs inside it, so torch's thread count survives the start of numba's thread pool: with
    numba's OpenMP layer both libraries share one OpenMP runtime, and the pool's start (at the first kernel) sets
    the runtime's count to ``NUMBA_NUM_THREADS``, all the cores; a process limited by ``OMP_NUM_THREADS=1`` would
    run torch on every core after geomlearn's first kernel."""

    def __init__(self, chunk: int = _CHUNK):
        self.chunk = chunk

    def __enter__(self):
        threads = torch.get_num_threads()
        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        self._chunk = numba.set_parallel_chunksize(self.chunk)

    def __exit__(self, *exc):
        numba.set_parallel_chunksize(self._chunk)


def gather_reduce(ptr: Tensor, idx: Tensor, eid: Tensor, x: Tensor, weight: Tensor | None, reduce: str):
    """``out[r] = reduce_{k in row r} weight[eid[k]] * x[idx[k]]`` over ``[R, H, C]``; empty rows give 0.

    Returns ``(out [R, H, C], arg)``; for ``max``/``min`` ``arg [R, H, C]`` holds the winning position
    ``k`` (``-1`` for an empty row), else ``arg`` is empty.
    """
    rows = ptr.shape[0] - 1
    w, w_on = _edge_weights(weight, x)
    with Parallel():
        if reduce in ("sum", "mean"):
            out = torch.zeros(rows, x.shape[1], x.shape[2], dtype=x.dtype)
            _gather_sum(_np(ptr), _np(idx), _np(eid), _np(x), _np(w), w_on, reduce == "mean", out.numpy())
            return out, torch.empty(0, dtype=ptr.dtype)
        out = torch.zeros(rows, x.shape[1], x.shape[2], dtype=x.dtype)
        arg = torch.full((rows, x.shape[1], x.shape[2]), -1, dtype=ptr.dtype)  # positions; empty rows keep -1
        sign = 1.0 if reduce == "max" else -1.0
        _gather_extreme(_np(ptr), _np(idx), _np(eid), _np(x), _np(w), w_on, sign, out.numpy(), arg.numpy())
        return out, arg


def scatter_winners(arg: Tensor, idx: Tensor, eid: Tensor, grad: Tensor, x: Tensor, weight: Tensor | None,
                    need_x: bool, need_w: bool) -> tuple[Tensor, Tensor]:
    """Backward of a max/min :func:`gather_reduce`: the gradient of output ``(r, h, c)`` goes to the
    winning position ``k = arg[r, h, c]``: ``grad_x[idx[k], h, c] += grad * w[eid[k], h]`` and
    ``grad_w[eid[k], h] += grad * x[idx[k], h, c]``. Returns ``(grad_x, grad_w)``, zeros where not asked for."""
    w, w_on = _edge_weights(weight, x)
    grad_x = torch.zeros_like(x)
    grad_w = torch.zeros(eid.shape[0], x.shape[1], dtype=x.dtype)
    need_w = need_w and weight is not None
    _scatter_winners(_np(arg), _np(idx), _np(eid), _np(grad), _np(x), _np(w), w_on, need_x, need_w,
                     grad_x.numpy(), grad_w.numpy())
    return grad_x, grad_w


def sddmm(ptr: Tensor, idx: Tensor, eid: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """``out[eid[k], h] = <a[r, h, :], b[idx[k], h, :]>`` for every position ``k`` of row ``r``; ``[E, H]``."""
    out = torch.zeros(eid.shape[0], a.shape[1], dtype=a.dtype)
    with Parallel():
        _sddmm(_np(ptr), _np(idx), _np(eid), _np(a), _np(b), out.numpy())
    return out


def _edge_terms(edge: Tensor | None, like: Tensor) -> tuple[Tensor, int]:
    """The kernels read ``edge[eid[k] * edge_on]``: the per-edge terms with ``edge_on = 1``, or one row of zeros
    with ``edge_on = 0`` when there are none (no branch in the inner loop)."""
    if edge is None:
        return torch.zeros(1, like.shape[1], like.shape[2], dtype=like.dtype), 0
    return edge, 1


def _run(kernel, *args) -> None:
    """Run a compiled kernel on tensors (as contiguous NumPy views; outputs, freshly allocated, are written in place)
    and plain values, with torch's thread count."""
    with Parallel():
        kernel(*(_np(a) if isinstance(a, Tensor) else a for a in args))


def additive_scores(ptr: Tensor, idx: Tensor, eid: Tensor, a: Tensor, b: Tensor, edge: Tensor | None, att: Tensor,
                    negative_slope: float) -> Tensor:
    """``out[eid[k], h] = sum_c att[h, c] LeakyReLU(a[r, h, c] + b[idx[k], h, c] + edge[eid[k], h, c])`` for every
    position ``k`` of row ``r``; ``[E, H]``."""
    out = torch.zeros(eid.shape[0], a.shape[1], dtype=a.dtype)
    edge, edge_on = _edge_terms(edge, a)
    _run(_additive_scores, ptr, idx, eid, a, b, edge, edge_on, att, negative_slope, out)
    return out


def additive_scores_backward(ptr: Tensor, idx: Tensor, eid: Tensor, own: Tensor, other: Tensor, edge: Tensor | None,
                             att: Tensor, negative_slope: float, grad: Tensor, need_att: bool,
                             need_edge: bool) -> tuple[Tensor, Tensor, Tensor]:
    """See :func:`geomlearn.sparse.additive_scores.additive_scores_backward_op`: ``(grad_own [R, H, C], att_rows
    [R, H, C] or empty, grad_edge [E, H, C] or empty)``, each row written by one thread."""
    rows, heads, chans = ptr.shape[0] - 1, own.shape[1], own.shape[2]
    grad_own = torch.zeros(rows, heads, chans, dtype=own.dtype)
    att_rows = torch.zeros((rows, heads, chans) if need_att else (0, heads, chans), dtype=own.dtype)
    grad_edge = torch.empty((eid.shape[0], heads, chans) if need_edge else (0, heads, chans), dtype=own.dtype)
    edge, edge_on = _edge_terms(edge, own)
    _run(_additive_scores_backward, ptr, idx, eid, own, other, edge, edge_on, att, negative_slope, grad, need_att,
         need_edge, grad_own, att_rows, grad_edge)
    return grad_own, (att_rows if need_att else att_rows.reshape(0)), (grad_edge if need_edge else grad_edge.reshape(0))


def gated_sum(ptr: Tensor, idx: Tensor, key: Tensor, query: Tensor, value: Tensor) -> Tensor:
    """``out[r] = sum_{k in row r} sigmoid(key[r] + query[idx[k]]) * value[idx[k]]``; ``[R, C]``."""
    out = torch.zeros(ptr.shape[0] - 1, key.shape[1], dtype=key.dtype)
    _run(_gated_sum, ptr, idx, key, query, value, out)
    return out


def gated_sum_target_grad(ptr: Tensor, idx: Tensor, key: Tensor, query: Tensor, value: Tensor,
                          grad: Tensor) -> Tensor:
    """The gradient of :func:`gated_sum` for ``key``, on its CSR: ``sum_k grad[r] value[j] s (1 - s)``."""
    out = torch.zeros_like(key)
    _run(_gated_sum_target_grad, ptr, idx, key, query, value, grad, out)
    return out


def gated_sum_source_grad(tptr: Tensor, tidx: Tensor, key: Tensor, query: Tensor, value: Tensor,
                          grad: Tensor) -> tuple[Tensor, Tensor]:
    """The gradients of :func:`gated_sum` for ``query`` and ``value``, on the CSC ``(tptr, tidx)``."""
    grad_query, grad_value = torch.zeros_like(query), torch.zeros_like(value)
    _run(_gated_sum_source_grad, tptr, tidx, key, query, value, grad, grad_query, grad_value)
    return grad_query, grad_value


def relu_sum(ptr: Tensor, idx: Tensor, eid: Tensor, x: Tensor, edge: Tensor) -> Tensor:
    """``out[r] = sum_{k in row r} ReLU(x[idx[k]] + edge[eid[k]])``; ``[R, C]``."""
    out = torch.zeros(ptr.shape[0] - 1, x.shape[1], dtype=x.dtype)
    _run(_relu_sum, ptr, idx, eid, x, edge, out)
    return out


def relu_sum_backward(tptr: Tensor, tidx: Tensor, teid: Tensor, x: Tensor, edge: Tensor,
                      grad: Tensor) -> tuple[Tensor, Tensor]:
    """The gradients of :func:`relu_sum` for ``x`` and ``edge``, on the CSC: each source row by one thread, each
    edge's gradient written once."""
    grad_x, grad_edge = torch.zeros_like(x), torch.empty_like(edge)         # every edge's row is written once
    _run(_relu_sum_backward, tptr, tidx, teid, x, edge, grad, grad_x, grad_edge)
    return grad_x, grad_edge


def edge_matrix_gather(ptr: Tensor, idx: Tensor, eid: Tensor, x: Tensor, weight: Tensor) -> Tensor:
    """``out[r] = sum_{k in row r} x[idx[k]] @ weight[eid[k]]``; ``[R, out]``."""
    out = torch.zeros(ptr.shape[0] - 1, weight.shape[2], dtype=x.dtype)
    _run(_edge_matrix_gather, ptr, idx, eid, x, weight, out)
    return out


def edge_matrix_gather_backward(tptr: Tensor, tidx: Tensor, teid: Tensor, x: Tensor, weight: Tensor, grad: Tensor,
                                need_weight: bool) -> tuple[Tensor, Tensor]:
    """The gradients of :func:`edge_matrix_gather` on the CSC: ``grad_x [S, in]`` summed per source row and, with
    ``need_weight``, ``grad_weight [E, in, out]`` written once per edge (else empty)."""
    grad_x = torch.zeros_like(x)
    grad_weight = torch.empty_like(weight) if need_weight else weight.new_empty(0, 1, 1)
    _run(_edge_matrix_gather_backward, tptr, tidx, teid, x, weight, grad, need_weight, grad_x, grad_weight)
    return grad_x, (grad_weight if need_weight else weight.new_empty(0))


def segment_softmax(ptr: Tensor, eid: Tensor, scores: Tensor) -> Tensor:
    """Softmax of ``scores [E, H]`` over the positions of each row; ``[E, H]``."""
    out = torch.zeros_like(scores)
    with Parallel():
        _segment_softmax(_np(ptr), _np(eid), _np(scores), out.numpy())
    return out


def block_gather(ptr: Tensor, idx: Tensor, eid: Tensor, blocks: Tensor, x: Tensor, transpose: bool) -> Tensor:
    """``out[r] = sum_{k in row r} B_k @ x[idx[k]]`` with ``B_k = blocks[eid[k]]`` (or its transpose); ``[R, d, C]``."""
    out = torch.zeros(ptr.shape[0] - 1, x.shape[1], x.shape[2], dtype=x.dtype)
    with Parallel():
        _block_gather(_np(ptr), _np(idx), _np(eid), _np(blocks), _np(x), transpose, out.numpy())
    return out


def block_sddmm(ptr: Tensor, idx: Tensor, eid: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """``out[eid[k]] = a[r] @ b[idx[k]]^T`` for every position ``k`` of row ``r``; ``[E, d, d]``."""
    d = a.shape[1]
    out = torch.zeros(eid.shape[0], d, d, dtype=a.dtype)
    with Parallel():
        _block_sddmm(_np(ptr), _np(idx), _np(eid), _np(a), _np(b), out.numpy())
    return out


def segment_matmul(x: Tensor, ptr: Tensor, weight: Tensor) -> Tensor:
    """``out[ptr[g]:ptr[g+1]] = x[ptr[g]:ptr[g+1]] @ weight[g]``: one BLAS GEMM per segment."""
    out = x.new_empty(x.shape[0], weight.shape[2])
    bounds = ptr.tolist()
    for g in range(weight.shape[0]):
        lo, hi = bounds[g], bounds[g + 1]
        if hi > lo:
            torch.mm(x[lo:hi], weight[g], out=out[lo:hi])
    return out


def segment_matmul_weight_grad(x: Tensor, ptr: Tensor, grad: Tensor) -> Tensor:
    """``out[g] = x_g^T @ grad_g`` over each segment ``g``; ``[G, K, M]``."""
    groups = ptr.shape[0] - 1
    out = x.new_zeros(groups, x.shape[1], grad.shape[1])
    bounds = ptr.tolist()
    for g in range(groups):
        lo, hi = bounds[g], bounds[g + 1]
        if hi > lo:
            torch.mm(x[lo:hi].t(), grad[lo:hi], out=out[g])
    return out


def coupling_gather(ptr: Tensor, idx: Tensor, eid: Tensor, table: Tensor, values: Tensor, table_ptr: Tensor,
                    x: Tensor, y: Tensor, w: Tensor, size: int) -> Tensor:
    """``out[r, u, o_t] += v_t x[idx[q], u, a_t] y[e, b_t] w[e, k_t, u]`` over the positions ``q`` of row ``r``
    (``e = eid[q]``) and the table's entries ``(a, b, k, o) = table[:, t]``; ``[R, C, size]``. (``table_ptr``,
    the start of each output position's entries, is for the tiled GPU kernel.)"""
    out = torch.zeros(ptr.shape[0] - 1, x.shape[1], size, dtype=x.dtype)
    with Parallel():
        _coupling_gather(_np(ptr), _np(idx), _np(eid), _np(table), _np(values), _np(x), _np(y), _np(w), out.numpy())
    return out


def coupling_edges(src: Tensor, dst: Tensor, table: Tensor, values: Tensor, x: Tensor, y: Tensor | None,
                   w: Tensor | None, z: Tensor, wrt_w: bool, size: int) -> Tensor:
    """Per edge ``e = (src[e] -> dst[e])`` with ``p_tu = v_t x[src, u, a_t] z[dst, u, o_t]``: ``wrt_w``:
    ``out[e, k_t, u] += p_tu y[e, b_t]`` (``[E, size, C]``), else ``out[e, b_t] += sum_u p_tu w[e, k_t, u]``
    (``[E, size]``)."""
    edges, chans = src.shape[0], x.shape[1]
    out = torch.zeros((edges, size, chans) if wrt_w else (edges, size), dtype=x.dtype)
    with Parallel():
        if wrt_w:
            _coupling_edge_weights(_np(src), _np(dst), _np(table), _np(values), _np(x), _np(y), _np(z), out.numpy())
        else:
            _coupling_edge_features(_np(src), _np(dst), _np(table), _np(values), _np(x), _np(w), _np(z),
                                    out.numpy())
    return out


def householder_product(params: Tensor, d: int) -> Tensor:
    """``[E, d, d]``: per edge the product ``H_0 ... H_{d-2}`` of the reflections whose vectors hold
    ``params [E, d (d - 1) / 2]`` below a unit diagonal (see :func:`geomlearn.sparse.householder_product`)."""
    out = torch.empty(params.shape[0], d, d, dtype=params.dtype)
    with Parallel():
        edge_block_kernels(d).householder_product(_np(params), out.numpy())
    return out


def householder_product_backward(params: Tensor, product: Tensor, grad: Tensor) -> Tensor:
    """``dL/dparams [E, d (d - 1) / 2]`` from the forward's ``product [E, d, d]`` and ``grad = dL/dproduct``."""
    out = torch.zeros_like(params)
    with Parallel():
        edge_block_kernels(product.shape[1]).householder_product_backward(_np(params), _np(product), _np(grad),
                                                                          out.numpy())
    return out


def reverse_block_product(rev: Tensor, blocks: Tensor, left: Tensor | None, right: Tensor | None) -> Tensor:
    """``out[e] = diag(left[e]) blocks[rev[e]]^T blocks[e] diag(right[e])`` (no scales: both ``None``);
    ``[E, d, d]``."""
    out = torch.empty_like(blocks)
    (left, scaled), (right, _) = _edge_weights(left, blocks), _edge_weights(right, blocks)
    with Parallel():
        edge_block_kernels(blocks.shape[1]).reverse_block_product(_np(rev), _np(blocks), _np(left), _np(right), scaled,
                                                                  out.numpy())
    return out


def reverse_block_product_backward(rev: Tensor, blocks: Tensor, left: Tensor | None, right: Tensor | None,
                                   grad: Tensor) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """Gradients for ``blocks`` (each edge from its own and its reverse's output) and the scales (None without)."""
    grad_blocks = torch.empty_like(blocks)
    has_scales = left is not None
    grad_left = torch.empty(blocks.shape[0] if has_scales else 1, blocks.shape[1], dtype=blocks.dtype)
    grad_right = torch.empty_like(grad_left)
    (left, scaled), (right, _) = _edge_weights(left, blocks), _edge_weights(right, blocks)
    with Parallel():
        edge_block_kernels(blocks.shape[1]).reverse_block_product_backward(
            _np(rev), _np(blocks), _np(left), _np(right), scaled, _np(grad), grad_blocks.numpy(), grad_left.numpy(),
            grad_right.numpy())
    return grad_blocks, (grad_left if has_scales else None), (grad_right if has_scales else None)
