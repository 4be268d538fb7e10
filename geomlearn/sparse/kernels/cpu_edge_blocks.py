r"""Per-edge ``d x d`` block kernels for the CPU, compiled once for each stalk dimension ``d``.

The blocks of a sheaf are tiny (``d`` = 2..5 in Neural Sheaf Diffusion) and there is one per edge, so the
loops over a block are a few iterations each. Here ``d`` is a constant of the compiled code (a closure
variable, which numba freezes), so every such loop has a known trip count that LLVM can unroll: for
``d = 3`` on 396,706 edges the Householder product ran 3-4x faster, forward and backward, than the same
loops reading ``d`` from an array's shape. One set of kernels is compiled per ``d`` on first use and cached
on disk like every other kernel of :mod:`.cpu` (the closure's ``d`` is part of numba's cache key).

Every edge is one iteration of a parallel loop (in chunks of :data:`EDGE_CHUNK` edges, which share their
scratch space); the kernels write only their own edge's rows, so they need no atomics and are deterministic.

* ``householder_product(p, out)``: ``out[e] = H_0 ... H_{d-2}``, :math:`H_i = I - \tau_i v_i v_i^\top`,
  :math:`v_i = e_i + \sum_{r > i} p_{e, r (r - 1) / 2 + i}\, e_r`, :math:`\tau_i = 2 / \lVert v_i \rVert^2`.
* ``householder_product_backward(p, q_out, grad, grad_p)``: ``dL/dp`` from the product and ``dL/dproduct``,
  walking the reflections back from the product itself (:math:`Q_i = Q_{i+1} H_i`, as :math:`H_i^2 = I`).
* ``reverse_block_product(rev, blocks, left, right, scaled, out)``:
  ``out[e] = diag(left[e]) blocks[rev[e]]^T blocks[e] diag(right[e])`` (scales read at row ``e * scaled``).
* ``reverse_block_product_backward(rev, blocks, left, right, scaled, grad, grad_blocks, grad_left,
  grad_right)``: each edge's block gradient from the two products it enters, its own and its reverse's.
"""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace

import numpy as np
from numba import njit, prange

EDGE_CHUNK = 256  # edges per iteration of the parallel loop; they share the scratch space


@njit(nogil=True, inline="always")
def _reflector(p, e, i, d, v):  # pragma: no cover - compiled
    """``v = e_i + sum_{r > i} p[e, r (r - 1) / 2 + i] e_r`` (``d`` entries); returns ``2 / |v|^2``."""
    norm = 1.0
    for r in range(d):
        v[r] = 0.0
    v[i] = 1.0
    for r in range(i + 1, d):
        v[r] = p[e, r * (r - 1) // 2 + i]
        norm += v[r] * v[r]
    return 2.0 / norm


@lru_cache(maxsize=None)
def edge_block_kernels(d: int) -> SimpleNamespace:
    """The four per-edge kernels compiled for stalk dimension ``d`` (see the module docstring)."""
    jit = dict(parallel=True, nogil=True, cache=True)

    @njit(**jit)
    def householder_product(p, out):  # pragma: no cover - compiled
        edges = out.shape[0]
        for chunk in prange((edges + EDGE_CHUNK - 1) // EDGE_CHUNK):
            v = np.empty(d, dtype=out.dtype)
            for e in range(chunk * EDGE_CHUNK, min(edges, (chunk + 1) * EDGE_CHUNK)):
                for a in range(d):
                    for b in range(d):
                        out[e, a, b] = 1.0 if a == b else 0.0
                for i in range(d - 1):               # Q <- Q H_i = Q - tau (Q v) v^T
                    tau = _reflector(p, e, i, d, v)
                    for a in range(d):
                        qv = 0.0
                        for b in range(i, d):
                            qv += out[e, a, b] * v[b]
                        qv *= tau
                        for b in range(i, d):
                            out[e, a, b] -= qv * v[b]

    @njit(**jit)
    def householder_product_backward(p, q_out, grad, grad_p):  # pragma: no cover - compiled
        edges = q_out.shape[0]
        for chunk in prange((edges + EDGE_CHUNK - 1) // EDGE_CHUNK):
            v, qv, gv = np.empty(d, dtype=q_out.dtype), np.empty(d, dtype=q_out.dtype), np.empty(d, dtype=q_out.dtype)
            q, g = np.empty((d, d), dtype=q_out.dtype), np.empty((d, d), dtype=q_out.dtype)
            for e in range(chunk * EDGE_CHUNK, min(edges, (chunk + 1) * EDGE_CHUNK)):
                for a in range(d):
                    for b in range(d):
                        q[a, b] = q_out[e, a, b]     # Q_{i+1}, walked back: Q_i = Q_{i+1} H_i
                        g[a, b] = grad[e, a, b]      # dL/dQ_{i+1}
                for i in range(d - 2, -1, -1):
                    tau = _reflector(p, e, i, d, v)
                    for a in range(d):
                        s = 0.0
                        for b in range(i, d):
                            s += q[a, b] * v[b]
                        s *= tau
                        for b in range(i, d):
                            q[a, b] -= s * v[b]
                    for a in range(d):
                        s, t = 0.0, 0.0
                        for b in range(i, d):
                            s += q[a, b] * v[b]
                            t += g[a, b] * v[b]
                        qv[a], gv[a] = s, t
                    vav = 0.0
                    for a in range(d):
                        vav += qv[a] * gv[a]
                    for r in range(i + 1, d):        # dL/dv_r = -tau (A v + A^T v)_r + tau^2 (v^T A v) v_r
                        av = 0.0
                        for a in range(d):
                            av += q[a, r] * gv[a] + g[a, r] * qv[a]
                        grad_p[e, r * (r - 1) // 2 + i] = -tau * av + tau * tau * vav * v[r]
                    for a in range(d):               # dL/dQ_i = dL/dQ_{i+1} H_i
                        for b in range(i, d):
                            g[a, b] -= tau * gv[a] * v[b]

    @njit(**jit)
    def reverse_block_product(rev, blocks, left, right, scaled, out):  # pragma: no cover - compiled
        edges = blocks.shape[0]
        for chunk in prange((edges + EDGE_CHUNK - 1) // EDGE_CHUNK):
            for e in range(chunk * EDGE_CHUNK, min(edges, (chunk + 1) * EDGE_CHUNK)):
                r, s = rev[e], e * scaled
                for a in range(d):
                    for b in range(d):
                        acc = 0.0
                        for c in range(d):
                            acc += blocks[r, c, a] * blocks[e, c, b]
                        out[e, a, b] = left[s, a] * acc * right[s, b]

    @njit(**jit)
    def reverse_block_product_backward(rev, blocks, left, right, scaled, grad, grad_blocks, grad_left,
                                       grad_right):  # pragma: no cover - compiled
        edges = blocks.shape[0]
        for chunk in prange((edges + EDGE_CHUNK - 1) // EDGE_CHUNK):
            h = np.empty((d, d), dtype=blocks.dtype)
            for e in range(chunk * EDGE_CHUNK, min(edges, (chunk + 1) * EDGE_CHUNK)):
                r, s, sr = rev[e], e * scaled, rev[e] * scaled
                for a in range(d):                   # H = L_e G_e S_e + (L_r G_r S_r)^T: both roles of B_e
                    for b in range(d):
                        h[a, b] = (left[s, a] * grad[e, a, b] * right[s, b]
                                   + left[sr, b] * grad[r, b, a] * right[sr, a])
                for c in range(d):                   # dB_e = B_r H
                    for b in range(d):
                        acc = 0.0
                        for a in range(d):
                            acc += blocks[r, c, a] * h[a, b]
                        grad_blocks[e, c, b] = acc
                if scaled:  # P = B_r^T B_e: dl_a = sum_b P_ab r_b G_ab, dr_b = sum_a l_a P_ab G_ab
                    for a in range(d):
                        grad_left[e, a] = 0.0
                        grad_right[e, a] = 0.0
                    for a in range(d):
                        for b in range(d):
                            p = 0.0
                            for c in range(d):
                                p += blocks[r, c, a] * blocks[e, c, b]
                            grad_left[e, a] += p * right[e, b] * grad[e, a, b]
                            grad_right[e, b] += left[e, a] * p * grad[e, a, b]

    return SimpleNamespace(householder_product=householder_product,
                           householder_product_backward=householder_product_backward,
                           reverse_block_product=reverse_block_product,
                           reverse_block_product_backward=reverse_block_product_backward)
