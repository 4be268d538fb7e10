"""Triton kernels for CUDA tensors (and for CPU tensors under ``TRITON_INTERPRET=1``).

The primitives and their contracts are those of :mod:`.cpu`, the check of every index array a kernel reads through
included (:func:`check_indices`, which each op calls before its kernel: on CUDA without a host synchronisation, as a
device-side assertion). Each row-wise kernel gives one program to one output row (and one tile of its features)
and loops over that row's edges in order, keeping the accumulator in registers: no ``[E, C]`` intermediate and no
atomics, so results are deterministic (the max/min backward is the exception: it adds with atomics). Accumulation is in float32
for 16/32-bit inputs and in float64 for float64 inputs; ``tl.dot`` runs in full IEEE precision (no
TF32), as torch's own matmul does by default.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from ..index import IndexModifiedError


def _acc_dtype(dtype: torch.dtype):
    return tl.float64 if dtype == torch.float64 else tl.float32


def _block(n: int, cap: int = 128) -> int:
    return max(16, min(cap, triton.next_power_of_2(max(n, 1))))


@triton.jit
def _gather_reduce_kernel(ptr, idx, eid, x, w, out, arg, HC, C, W_ON: tl.constexpr, MODE: tl.constexpr,
                          ACC: tl.constexpr, BLOCK: tl.constexpr):
    # MODE: 0 sum, 1 mean, 2 max, 3 min
    row = tl.program_id(0)
    f = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    fmask = f < HC
    head = f // C
    heads = HC // C
    start = tl.load(ptr + row).to(tl.int64)
    end = tl.load(ptr + row + 1).to(tl.int64)
    if MODE <= 1:
        acc = tl.zeros([BLOCK], dtype=ACC)
    elif MODE == 2:
        acc = tl.full([BLOCK], float("-inf"), dtype=ACC)
    else:
        acc = tl.full([BLOCK], float("inf"), dtype=ACC)
    best = tl.full([BLOCK], -1, dtype=tl.int64)
    for k in range(start, end):
        j = tl.load(idx + k).to(tl.int64)
        v = tl.load(x + j * HC + f, mask=fmask, other=0.0).to(ACC)
        if W_ON:
            e = tl.load(eid + k).to(tl.int64)
            v = v * tl.load(w + e * heads + head, mask=fmask, other=0.0).to(ACC)
        if MODE <= 1:
            acc += v
        elif MODE == 2:   # a NaN wins and keeps its place (the first NaN), as in torch.amax
            take = (v > acc) | (best < 0) | ((v != v) & (acc == acc))
            acc = tl.where(take, v, acc)
            best = tl.where(take, k, best)
        else:
            take = (v < acc) | (best < 0) | ((v != v) & (acc == acc))
            acc = tl.where(take, v, acc)
            best = tl.where(take, k, best)
    if MODE == 1:
        acc = acc / tl.maximum(end - start, 1).to(ACC)
    if MODE >= 2:
        acc = tl.where(best < 0, 0.0, acc)
        tl.store(arg + row * HC + f, best, mask=fmask)
    tl.store(out + row * HC + f, acc, mask=fmask)


@triton.jit
def _scatter_winners_kernel(arg, idx, eid, grad, x, w, grad_x, grad_w, HC, C, W_ON: tl.constexpr,
                            NEED_X: tl.constexpr, NEED_W: tl.constexpr, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    f = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    head = f // C
    heads = HC // C
    k = tl.load(arg + row * HC + f, mask=f < HC, other=-1).to(tl.int64)
    won = k >= 0
    safe = tl.where(won, k, 0)
    j = tl.load(idx + safe, mask=won, other=0).to(tl.int64)
    e = tl.load(eid + safe, mask=won, other=0).to(tl.int64)
    g = tl.load(grad + row * HC + f, mask=won, other=0.0)
    if NEED_X:
        scale = tl.load(w + e * heads + head, mask=won, other=0.0) if W_ON else 1.0
        tl.atomic_add(grad_x + j * HC + f, g * scale, mask=won)
    if NEED_W:
        tl.atomic_add(grad_w + e * heads + head, g * tl.load(x + j * HC + f, mask=won, other=0.0), mask=won)


@triton.jit
def _sddmm_kernel(ptr, idx, eid, a, b, out, H, C, ACC: tl.constexpr, BLOCK_C: tl.constexpr):
    row = tl.program_id(0)
    h = tl.program_id(1)
    c = tl.arange(0, BLOCK_C)
    cmask = c < C
    ai = tl.load(a + (row * H + h) * C + c, mask=cmask, other=0.0).to(ACC)
    start = tl.load(ptr + row).to(tl.int64)
    end = tl.load(ptr + row + 1).to(tl.int64)
    for k in range(start, end):
        j = tl.load(idx + k).to(tl.int64)
        e = tl.load(eid + k).to(tl.int64)
        bj = tl.load(b + (j * H + h) * C + c, mask=cmask, other=0.0).to(ACC)
        tl.store(out + e * H + h, tl.sum(ai * bj, axis=0))


@triton.jit
def _additive_scores_kernel(ptr, idx, eid, a, b, edge, att, out, slope, H, C, EDGE_ON: tl.constexpr,
                            ACC: tl.constexpr, BLOCK_C: tl.constexpr):
    row = tl.program_id(0)
    h = tl.program_id(1)
    c = tl.arange(0, BLOCK_C)
    cmask = c < C
    ai = tl.load(a + (row * H + h) * C + c, mask=cmask, other=0.0).to(ACC)
    ah = tl.load(att + h * C + c, mask=cmask, other=0.0).to(ACC)
    start = tl.load(ptr + row).to(tl.int64)
    end = tl.load(ptr + row + 1).to(tl.int64)
    for k in range(start, end):
        j = tl.load(idx + k).to(tl.int64)
        e = tl.load(eid + k).to(tl.int64)
        v = ai + tl.load(b + (j * H + h) * C + c, mask=cmask, other=0.0).to(ACC)
        if EDGE_ON:
            v += tl.load(edge + (e * H + h) * C + c, mask=cmask, other=0.0).to(ACC)
        tl.store(out + e * H + h, tl.sum(ah * tl.where(v > 0, v, slope * v), axis=0))


@triton.jit
def _additive_scores_backward_kernel(ptr, idx, eid, own, other, edge, att, grad, grad_own, att_rows, grad_edge, slope,
                                     H, C, EDGE_ON: tl.constexpr, NEED_ATT: tl.constexpr, NEED_EDGE: tl.constexpr,
                                     ACC: tl.constexpr, BLOCK_C: tl.constexpr):
    row = tl.program_id(0)
    h = tl.program_id(1)
    c = tl.arange(0, BLOCK_C)
    cmask = c < C
    oi = tl.load(own + (row * H + h) * C + c, mask=cmask, other=0.0).to(ACC)
    ah = tl.load(att + h * C + c, mask=cmask, other=0.0).to(ACC)
    acc = tl.zeros([BLOCK_C], dtype=ACC)
    acc_att = tl.zeros([BLOCK_C], dtype=ACC)
    start = tl.load(ptr + row).to(tl.int64)
    end = tl.load(ptr + row + 1).to(tl.int64)
    for k in range(start, end):
        j = tl.load(idx + k).to(tl.int64)
        e = tl.load(eid + k).to(tl.int64)
        v = oi + tl.load(other + (j * H + h) * C + c, mask=cmask, other=0.0).to(ACC)
        if EDGE_ON:
            v += tl.load(edge + (e * H + h) * C + c, mask=cmask, other=0.0).to(ACC)
        g = tl.load(grad + e * H + h).to(ACC)
        d = g * ah * tl.where(v > 0, 1.0, slope)
        acc += d
        if NEED_ATT:
            acc_att += g * tl.where(v > 0, v, slope * v)
        if NEED_EDGE:
            tl.store(grad_edge + (e * H + h) * C + c, d, mask=cmask)
    tl.store(grad_own + (row * H + h) * C + c, acc, mask=cmask)
    if NEED_ATT:
        tl.store(att_rows + (row * H + h) * C + c, acc_att, mask=cmask)


@triton.jit
def _gated_sum_kernel(ptr, idx, key, query, value, out, C, ACC: tl.constexpr, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    c = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    cmask = c < C
    ki = tl.load(key + row * C + c, mask=cmask, other=0.0).to(ACC)
    acc = tl.zeros([BLOCK], dtype=ACC)
    start = tl.load(ptr + row).to(tl.int64)
    end = tl.load(ptr + row + 1).to(tl.int64)
    for k in range(start, end):
        j = tl.load(idx + k).to(tl.int64)
        s = tl.sigmoid(ki + tl.load(query + j * C + c, mask=cmask, other=0.0).to(ACC))
        acc += s * tl.load(value + j * C + c, mask=cmask, other=0.0).to(ACC)
    tl.store(out + row * C + c, acc, mask=cmask)


@triton.jit
def _gated_sum_target_grad_kernel(ptr, idx, key, query, value, grad, out, C, ACC: tl.constexpr,
                                  BLOCK: tl.constexpr):
    row = tl.program_id(0)
    c = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    cmask = c < C
    ki = tl.load(key + row * C + c, mask=cmask, other=0.0).to(ACC)
    gi = tl.load(grad + row * C + c, mask=cmask, other=0.0).to(ACC)
    acc = tl.zeros([BLOCK], dtype=ACC)
    start = tl.load(ptr + row).to(tl.int64)
    end = tl.load(ptr + row + 1).to(tl.int64)
    for k in range(start, end):
        j = tl.load(idx + k).to(tl.int64)
        s = tl.sigmoid(ki + tl.load(query + j * C + c, mask=cmask, other=0.0).to(ACC))
        acc += gi * tl.load(value + j * C + c, mask=cmask, other=0.0).to(ACC) * s * (1.0 - s)
    tl.store(out + row * C + c, acc, mask=cmask)


@triton.jit
def _gated_sum_source_grad_kernel(tptr, tidx, key, query, value, grad, grad_query, grad_value, C, ACC: tl.constexpr,
                                  BLOCK: tl.constexpr):
    row = tl.program_id(0)
    c = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    cmask = c < C
    qj = tl.load(query + row * C + c, mask=cmask, other=0.0).to(ACC)
    vj = tl.load(value + row * C + c, mask=cmask, other=0.0).to(ACC)
    acc_q = tl.zeros([BLOCK], dtype=ACC)
    acc_v = tl.zeros([BLOCK], dtype=ACC)
    start = tl.load(tptr + row).to(tl.int64)
    end = tl.load(tptr + row + 1).to(tl.int64)
    for k in range(start, end):
        i = tl.load(tidx + k).to(tl.int64)
        s = tl.sigmoid(tl.load(key + i * C + c, mask=cmask, other=0.0).to(ACC) + qj)
        gs = tl.load(grad + i * C + c, mask=cmask, other=0.0).to(ACC) * s
        acc_v += gs
        acc_q += gs * vj * (1.0 - s)
    tl.store(grad_query + row * C + c, acc_q, mask=cmask)
    tl.store(grad_value + row * C + c, acc_v, mask=cmask)


@triton.jit
def _relu_sum_kernel(ptr, idx, eid, x, edge, out, C, ACC: tl.constexpr, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    c = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    cmask = c < C
    acc = tl.zeros([BLOCK], dtype=ACC)
    start = tl.load(ptr + row).to(tl.int64)
    end = tl.load(ptr + row + 1).to(tl.int64)
    for k in range(start, end):
        j = tl.load(idx + k).to(tl.int64)
        e = tl.load(eid + k).to(tl.int64)
        v = tl.load(x + j * C + c, mask=cmask, other=0.0).to(ACC) + tl.load(edge + e * C + c, mask=cmask,
                                                                            other=0.0).to(ACC)
        acc += tl.maximum(v, 0.0)
    tl.store(out + row * C + c, acc, mask=cmask)


@triton.jit
def _relu_sum_backward_kernel(tptr, tidx, teid, x, edge, grad, grad_x, grad_edge, C, ACC: tl.constexpr,
                              BLOCK: tl.constexpr):
    row = tl.program_id(0)
    c = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    cmask = c < C
    xj = tl.load(x + row * C + c, mask=cmask, other=0.0).to(ACC)
    acc = tl.zeros([BLOCK], dtype=ACC)
    start = tl.load(tptr + row).to(tl.int64)
    end = tl.load(tptr + row + 1).to(tl.int64)
    for k in range(start, end):
        i = tl.load(tidx + k).to(tl.int64)
        e = tl.load(teid + k).to(tl.int64)
        v = xj + tl.load(edge + e * C + c, mask=cmask, other=0.0).to(ACC)
        g = tl.where(v > 0, tl.load(grad + i * C + c, mask=cmask, other=0.0).to(ACC), 0.0)
        tl.store(grad_edge + e * C + c, g, mask=cmask)
        acc += g
    tl.store(grad_x + row * C + c, acc, mask=cmask)


@triton.jit
def _edge_matrix_gather_kernel(ptr, idx, eid, x, weight, out, IN, OUT, ACC: tl.constexpr, BLOCK_IN: tl.constexpr,
                               BLOCK_OUT: tl.constexpr):
    row = tl.program_id(0)
    o = tl.program_id(1) * BLOCK_OUT + tl.arange(0, BLOCK_OUT)
    omask = o < OUT
    acc = tl.zeros([BLOCK_OUT], dtype=ACC)
    start = tl.load(ptr + row).to(tl.int64)
    end = tl.load(ptr + row + 1).to(tl.int64)
    for k in range(start, end):
        j = tl.load(idx + k).to(tl.int64)
        e = tl.load(eid + k).to(tl.int64)
        for q0 in range(0, IN, BLOCK_IN):
            q = q0 + tl.arange(0, BLOCK_IN)
            qmask = q < IN
            xq = tl.load(x + j * IN + q, mask=qmask, other=0.0).to(ACC)
            w = tl.load(weight + e * IN * OUT + q[:, None] * OUT + o[None, :], mask=qmask[:, None] & omask[None, :],
                        other=0.0).to(ACC)
            acc += tl.sum(xq[:, None] * w, axis=0)
    tl.store(out + row * OUT + o, acc, mask=omask)


@triton.jit
def _edge_matrix_gather_backward_kernel(tptr, tidx, teid, x, weight, grad, grad_x, grad_weight, IN, OUT,
                                        NEED_WEIGHT: tl.constexpr, ACC: tl.constexpr, BLOCK_IN: tl.constexpr,
                                        BLOCK_OUT: tl.constexpr):
    row = tl.program_id(0)
    q = tl.program_id(1) * BLOCK_IN + tl.arange(0, BLOCK_IN)
    qmask = q < IN
    xq = tl.load(x + row * IN + q, mask=qmask, other=0.0).to(ACC)
    acc = tl.zeros([BLOCK_IN], dtype=ACC)
    start = tl.load(tptr + row).to(tl.int64)
    end = tl.load(tptr + row + 1).to(tl.int64)
    for k in range(start, end):
        i = tl.load(tidx + k).to(tl.int64)
        e = tl.load(teid + k).to(tl.int64)
        for o0 in range(0, OUT, BLOCK_OUT):
            o = o0 + tl.arange(0, BLOCK_OUT)
            omask = o < OUT
            g = tl.load(grad + i * OUT + o, mask=omask, other=0.0).to(ACC)
            block = e * IN * OUT + q[:, None] * OUT + o[None, :]
            both = qmask[:, None] & omask[None, :]
            acc += tl.sum(tl.load(weight + block, mask=both, other=0.0).to(ACC) * g[None, :], axis=1)
            if NEED_WEIGHT:
                tl.store(grad_weight + block, xq[:, None] * g[None, :], mask=both)
    tl.store(grad_x + row * IN + q, acc, mask=qmask)


@triton.jit
def _segment_softmax_kernel(ptr, eid, scores, out, H, ACC: tl.constexpr, BLOCK_H: tl.constexpr):
    row = tl.program_id(0)
    h = tl.arange(0, BLOCK_H)
    hmask = h < H
    start = tl.load(ptr + row).to(tl.int64)
    end = tl.load(ptr + row + 1).to(tl.int64)
    m = tl.full([BLOCK_H], float("-inf"), dtype=ACC)
    for k in range(start, end):
        e = tl.load(eid + k).to(tl.int64)
        m = tl.maximum(m, tl.load(scores + e * H + h, mask=hmask, other=0.0).to(ACC))
    total = tl.zeros([BLOCK_H], dtype=ACC)
    for k in range(start, end):
        e = tl.load(eid + k).to(tl.int64)
        total += tl.exp(tl.load(scores + e * H + h, mask=hmask, other=0.0).to(ACC) - m)
    for k in range(start, end):
        e = tl.load(eid + k).to(tl.int64)
        v = tl.exp(tl.load(scores + e * H + h, mask=hmask, other=0.0).to(ACC) - m) / total
        tl.store(out + e * H + h, v, mask=hmask)


@triton.jit
def _block_gather_kernel(ptr, idx, eid, blocks, x, out, D, C, TRANSPOSE: tl.constexpr, ACC: tl.constexpr,
                         BLOCK_D: tl.constexpr, BLOCK_C: tl.constexpr):
    row = tl.program_id(0)
    c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    p = tl.arange(0, BLOCK_D)
    pmask = p < D
    cmask = c < C
    start = tl.load(ptr + row).to(tl.int64)
    end = tl.load(ptr + row + 1).to(tl.int64)
    acc = tl.zeros([BLOCK_D, BLOCK_C], dtype=ACC)
    bmask = pmask[:, None] & pmask[None, :]
    if TRANSPOSE:
        boffs = p[None, :] * D + p[:, None]  # B^T[p, q] = B[q, p]
    else:
        boffs = p[:, None] * D + p[None, :]
    xoffs = p[:, None] * C + c[None, :]
    xmask = pmask[:, None] & cmask[None, :]
    for k in range(start, end):
        j = tl.load(idx + k).to(tl.int64)
        e = tl.load(eid + k).to(tl.int64)
        blk = tl.load(blocks + e * D * D + boffs, mask=bmask, other=0.0).to(ACC)  # [p, q]
        xj = tl.load(x + j * D * C + xoffs, mask=xmask, other=0.0).to(ACC)  # [q, c]
        acc += tl.sum(blk[:, :, None] * xj[None, :, :], axis=1)
    tl.store(out + row * D * C + xoffs, acc, mask=xmask)


@triton.jit
def _block_sddmm_kernel(ptr, idx, eid, a, b, out, D, C, ACC: tl.constexpr, BLOCK_D: tl.constexpr,
                        BLOCK_C: tl.constexpr):
    row = tl.program_id(0)
    p = tl.arange(0, BLOCK_D)
    c = tl.arange(0, BLOCK_C)
    offs = p[:, None] * C + c[None, :]
    mask = (p[:, None] < D) & (c[None, :] < C)
    ai = tl.load(a + row * D * C + offs, mask=mask, other=0.0).to(ACC)
    start = tl.load(ptr + row).to(tl.int64)
    end = tl.load(ptr + row + 1).to(tl.int64)
    omask = (p[:, None] < D) & (p[None, :] < D)
    for k in range(start, end):
        j = tl.load(idx + k).to(tl.int64)
        e = tl.load(eid + k).to(tl.int64)
        bj = tl.load(b + j * D * C + offs, mask=mask, other=0.0).to(ACC)
        blk = tl.sum(ai[:, None, :] * bj[None, :, :], axis=2)
        tl.store(out + e * D * D + p[:, None] * D + p[None, :], blk, mask=omask)


@triton.jit
def _segment_matmul_kernel(x, weight, out, tile_group, tile_row, ptr, K, M, TRANS_X: tl.constexpr,
                           ACC: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_K: tl.constexpr,
                           BLOCK_M: tl.constexpr):
    # TRANS_X = False: out[rows of g] = x[rows of g] @ weight[g]   (x [R, K], weight [G, K, M])
    # TRANS_X = True : out[g] = x[rows of g]^T @ weight[rows of g] (x [R, K], weight [R, M], out [G, K, M]);
    #                  then a tile is (g, k-tile) and the loop runs over the segment's rows.
    t = tl.program_id(0)
    m = tl.program_id(1) * BLOCK_M + tl.arange(0, BLOCK_M)
    g = tl.load(tile_group + t).to(tl.int64)
    lo = tl.load(ptr + g).to(tl.int64)
    hi = tl.load(ptr + g + 1).to(tl.int64)
    if TRANS_X:
        kk = tl.load(tile_row + t).to(tl.int64) + tl.arange(0, BLOCK_K)
        acc = tl.zeros([BLOCK_K, BLOCK_M], dtype=ACC)
        for r0 in range(lo, hi, BLOCK_R):
            r = r0 + tl.arange(0, BLOCK_R)
            xt = tl.load(x + r[None, :] * K + kk[:, None], mask=(r[None, :] < hi) & (kk[:, None] < K), other=0.0)
            gt = tl.load(weight + r[:, None] * M + m[None, :], mask=(r[:, None] < hi) & (m[None, :] < M), other=0.0)
            acc += tl.dot(xt.to(ACC), gt.to(ACC), input_precision="ieee")
        tl.store(out + g * K * M + kk[:, None] * M + m[None, :], acc, mask=(kk[:, None] < K) & (m[None, :] < M))
    else:
        r = tl.load(tile_row + t).to(tl.int64) + tl.arange(0, BLOCK_R)
        acc = tl.zeros([BLOCK_R, BLOCK_M], dtype=ACC)
        for k0 in range(0, K, BLOCK_K):
            kk = k0 + tl.arange(0, BLOCK_K)
            xt = tl.load(x + r[:, None] * K + kk[None, :], mask=(r[:, None] < hi) & (kk[None, :] < K), other=0.0)
            wt = tl.load(weight + g * K * M + kk[:, None] * M + m[None, :],
                         mask=(kk[:, None] < K) & (m[None, :] < M), other=0.0)
            acc += tl.dot(xt.to(ACC), wt.to(ACC), input_precision="ieee")
        tl.store(out + r[:, None] * M + m[None, :], acc, mask=(r[:, None] < hi) & (m[None, :] < M))


@triton.jit
def _coupling_gather_kernel(ptr, idx, eid, table, values, table_ptr, x, y, w, out, T, C, N_IN, N_EDGE, N_WEIGHT,
                            N_OUT, ACC: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_T: tl.constexpr,
                            BLOCK_O: tl.constexpr):
    # One program: a target row, a tile of channels and a tile of output positions. The table is sorted by
    # output position, so the tile's entries are one range; per chunk of entries the products are summed
    # over the row's edges in registers, then folded into the outputs by a one-hot matmul.
    row = tl.program_id(0)
    u = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    o_lo = tl.program_id(2) * BLOCK_O
    o = o_lo + tl.arange(0, BLOCK_O)
    umask = u < C
    t_lo = tl.load(table_ptr + o_lo)
    t_hi = tl.load(table_ptr + tl.minimum(o_lo + BLOCK_O, N_OUT))
    start = tl.load(ptr + row).to(tl.int64)
    end = tl.load(ptr + row + 1).to(tl.int64)
    result = tl.zeros([BLOCK_C, BLOCK_O], dtype=ACC)
    for t0 in range(t_lo, t_hi, BLOCK_T):
        t = t0 + tl.arange(0, BLOCK_T)
        tmask = t < t_hi
        a = tl.load(table + t, mask=tmask, other=0)
        b = tl.load(table + T + t, mask=tmask, other=0)
        k = tl.load(table + 2 * T + t, mask=tmask, other=0)
        ot = tl.load(table + 3 * T + t, mask=tmask, other=-1)
        v = tl.load(values + t, mask=tmask, other=0.0).to(ACC)
        m2 = umask[:, None] & tmask[None, :]
        acc = tl.zeros([BLOCK_C, BLOCK_T], dtype=ACC)
        for q in range(start, end):
            j = tl.load(idx + q).to(tl.int64)
            e = tl.load(eid + q).to(tl.int64)
            xv = tl.load(x + j * C * N_IN + u[:, None] * N_IN + a[None, :], mask=m2, other=0.0).to(ACC)
            wv = tl.load(w + e * N_WEIGHT * C + k[None, :] * C + u[:, None], mask=m2, other=0.0).to(ACC)
            yv = tl.load(y + e * N_EDGE + b, mask=tmask, other=0.0).to(ACC)
            acc += xv * wv * yv[None, :]
        onehot = (ot[:, None] == o[None, :]).to(ACC)
        result += tl.dot(acc * v[None, :], onehot, input_precision="ieee")
    tl.store(out + row * C * N_OUT + u[:, None] * N_OUT + o[None, :], result,
             mask=umask[:, None] & (o[None, :] < N_OUT))


@triton.jit
def _coupling_edges_kernel(src, dst, table, values, x, y, w, z, out, T, C, N_IN, N_EDGE, N_WEIGHT, N_OUT, SIZE,
                           WRT_W: tl.constexpr, ACC: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_T: tl.constexpr,
                           BLOCK_S: tl.constexpr):
    # One program: an edge and a tile of the positions it writes (weights k, or edge features b).
    e = tl.program_id(0).to(tl.int64)
    s = tl.program_id(1) * BLOCK_S + tl.arange(0, BLOCK_S)
    j = tl.load(src + e).to(tl.int64)
    i = tl.load(dst + e).to(tl.int64)
    if WRT_W:
        u = tl.program_id(2) * BLOCK_C + tl.arange(0, BLOCK_C)
        result = tl.zeros([BLOCK_C, BLOCK_S], dtype=ACC)
        for t0 in range(0, T, BLOCK_T):
            t = t0 + tl.arange(0, BLOCK_T)
            tmask = t < T
            m2 = (u[:, None] < C) & tmask[None, :]
            a = tl.load(table + t, mask=tmask, other=0)
            b = tl.load(table + T + t, mask=tmask, other=0)
            k = tl.load(table + 2 * T + t, mask=tmask, other=-1)
            o = tl.load(table + 3 * T + t, mask=tmask, other=0)
            scale = tl.load(values + t, mask=tmask, other=0.0).to(ACC) * \
                tl.load(y + e * N_EDGE + b, mask=tmask, other=0.0).to(ACC)
            xv = tl.load(x + j * C * N_IN + u[:, None] * N_IN + a[None, :], mask=m2, other=0.0).to(ACC)
            zv = tl.load(z + i * C * N_OUT + u[:, None] * N_OUT + o[None, :], mask=m2, other=0.0).to(ACC)
            onehot = (k[:, None] == s[None, :]).to(ACC)
            result += tl.dot(xv * zv * scale[None, :], onehot, input_precision="ieee")
        tl.store(out + e * SIZE * C + s[None, :] * C + u[:, None], result, mask=(u[:, None] < C) & (s[None, :] < SIZE))
    else:
        result = tl.zeros([BLOCK_S], dtype=ACC)
        for t0 in range(0, T, BLOCK_T):
            t = t0 + tl.arange(0, BLOCK_T)
            tmask = t < T
            a = tl.load(table + t, mask=tmask, other=0)
            b = tl.load(table + T + t, mask=tmask, other=-1)
            k = tl.load(table + 2 * T + t, mask=tmask, other=0)
            o = tl.load(table + 3 * T + t, mask=tmask, other=0)
            summed = tl.zeros([BLOCK_T], dtype=ACC)
            for c0 in range(0, C, BLOCK_C):
                u = c0 + tl.arange(0, BLOCK_C)
                m2 = (u[:, None] < C) & tmask[None, :]
                xv = tl.load(x + j * C * N_IN + u[:, None] * N_IN + a[None, :], mask=m2, other=0.0).to(ACC)
                zv = tl.load(z + i * C * N_OUT + u[:, None] * N_OUT + o[None, :], mask=m2, other=0.0).to(ACC)
                wv = tl.load(w + e * N_WEIGHT * C + k[None, :] * C + u[:, None], mask=m2, other=0.0).to(ACC)
                summed += tl.sum(xv * zv * wv, axis=0)
            summed *= tl.load(values + t, mask=tmask, other=0.0).to(ACC)
            result += tl.sum(summed[:, None] * (b[:, None] == s[None, :]).to(ACC), axis=0)
        tl.store(out + e * SIZE + s, result, mask=s < SIZE)


@triton.jit
def _reflector(p, e, emask, r, K, I: tl.constexpr, D: tl.constexpr, ACC: tl.constexpr):
    # v [BLOCK_E, BLOCK_D] = e_I + sum_{r > I} p[e, r (r - 1) / 2 + I] e_r, and tau = 2 / |v|^2 per edge
    below = (r > I) & (r < D)
    v = tl.load(p + e[:, None] * K + (r * (r - 1) // 2 + I)[None, :], mask=emask[:, None] & below[None, :],
                other=0.0).to(ACC)
    v += (r == I).to(ACC)[None, :]
    return v, 2.0 / tl.sum(v * v, axis=1)


@triton.jit
def _householder_product_kernel(p, out, E, K, D: tl.constexpr, ACC: tl.constexpr, BLOCK_E: tl.constexpr,
                                BLOCK_D: tl.constexpr):
    # One program: BLOCK_E edges, each with its d x d product in registers ([BLOCK_E, BLOCK_D, BLOCK_D]).
    e = tl.program_id(0).to(tl.int64) * BLOCK_E + tl.arange(0, BLOCK_E)
    emask = e < E
    r = tl.arange(0, BLOCK_D)
    q = tl.zeros([BLOCK_E, BLOCK_D, BLOCK_D], dtype=ACC) + (r[:, None] == r[None, :]).to(ACC)[None, :, :]
    for i in tl.static_range(D - 1):                                # Q <- Q - tau (Q v) v^T
        v, tau = _reflector(p, e, emask, r, K, i, D, ACC)
        qv = tl.sum(q * v[:, None, :], axis=2) * tau[:, None]
        q -= qv[:, :, None] * v[:, None, :]
    inside = emask[:, None, None] & (r < D)[None, :, None] & (r < D)[None, None, :]
    tl.store(out + e[:, None, None] * D * D + r[None, :, None] * D + r[None, None, :], q, mask=inside)


@triton.jit
def _householder_product_backward_kernel(p, product, grad, grad_p, E, K, D: tl.constexpr, ACC: tl.constexpr,
                                         BLOCK_E: tl.constexpr, BLOCK_D: tl.constexpr):
    e = tl.program_id(0).to(tl.int64) * BLOCK_E + tl.arange(0, BLOCK_E)
    emask = e < E
    r = tl.arange(0, BLOCK_D)
    inside = emask[:, None, None] & (r < D)[None, :, None] & (r < D)[None, None, :]
    offsets = e[:, None, None] * D * D + r[None, :, None] * D + r[None, None, :]
    q = tl.load(product + offsets, mask=inside, other=0.0).to(ACC)           # Q_{i+1}, walked back
    g = tl.load(grad + offsets, mask=inside, other=0.0).to(ACC)              # dL/dQ_{i+1}
    for step in tl.static_range(D - 1):
        i: tl.constexpr = D - 2 - step
        v, tau = _reflector(p, e, emask, r, K, i, D, ACC)
        q -= (tl.sum(q * v[:, None, :], axis=2) * tau[:, None])[:, :, None] * v[:, None, :]   # Q_i = Q_{i+1} H_i
        qv = tl.sum(q * v[:, None, :], axis=2)
        gv = tl.sum(g * v[:, None, :], axis=2)
        av = tl.sum(q * gv[:, :, None], axis=1) + tl.sum(g * qv[:, :, None], axis=1)   # (A + A^T) v, A = Q_i^T G
        vav = tl.sum(qv * gv, axis=1)
        dv = -tau[:, None] * av + (tau * tau * vav)[:, None] * v
        below = (r > i) & (r < D)
        tl.store(grad_p + e[:, None] * K + (r * (r - 1) // 2 + i)[None, :], dv, mask=emask[:, None] & below[None, :])
        g -= (tau[:, None] * gv)[:, :, None] * v[:, None, :]                 # dL/dQ_i = dL/dQ_{i+1} H_i


@triton.jit
def _edge_pairs(rev, E, D: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_D: tl.constexpr):
    # This program's BLOCK_E edges e, their reverses r, the block coordinates k and the [BLOCK_E, BLOCK_D] row mask.
    e = tl.program_id(0).to(tl.int64) * BLOCK_E + tl.arange(0, BLOCK_E)
    emask = e < E
    r = tl.load(rev + e, mask=emask, other=0).to(tl.int64)
    k = tl.arange(0, BLOCK_D)
    kmask = k < D
    return e, r, k, kmask, emask[:, None] & kmask[None, :]


@triton.jit
def _reverse_block_product_kernel(rev, blocks, left, right, out, E, D: tl.constexpr, SCALED: tl.constexpr,
                                  ACC: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_D: tl.constexpr):
    # One program: BLOCK_E edges; P = B_r^T B_e accumulated over the rows c of both blocks.
    e, r, k, kmask, rows = _edge_pairs(rev, E, D, BLOCK_E, BLOCK_D)
    p = tl.zeros([BLOCK_E, BLOCK_D, BLOCK_D], dtype=ACC)
    for c in tl.static_range(D):
        own = tl.load(blocks + e[:, None] * D * D + c * D + k[None, :], mask=rows, other=0.0).to(ACC)
        other = tl.load(blocks + r[:, None] * D * D + c * D + k[None, :], mask=rows, other=0.0).to(ACC)
        p += other[:, :, None] * own[:, None, :]
    if SCALED:
        p *= tl.load(left + e[:, None] * D + k[None, :], mask=rows, other=0.0).to(ACC)[:, :, None]
        p *= tl.load(right + e[:, None] * D + k[None, :], mask=rows, other=0.0).to(ACC)[:, None, :]
    inside = rows[:, :, None] & kmask[None, None, :]
    tl.store(out + e[:, None, None] * D * D + k[None, :, None] * D + k[None, None, :], p, mask=inside)


@triton.jit
def _reverse_block_product_backward_kernel(rev, blocks, left, right, grad, grad_blocks, grad_left, grad_right, E,
                                           D: tl.constexpr, SCALED: tl.constexpr, ACC: tl.constexpr,
                                           BLOCK_E: tl.constexpr, BLOCK_D: tl.constexpr):
    e, r, k, kmask, rows = _edge_pairs(rev, E, D, BLOCK_E, BLOCK_D)
    inside = rows[:, :, None] & kmask[None, None, :]
    ab = k[None, :, None] * D + k[None, None, :]
    g_own = tl.load(grad + e[:, None, None] * D * D + ab, mask=inside, other=0.0).to(ACC)
    # (G_r)^T: element [a, b] read at [b, a]
    g_rev = tl.load(grad + r[:, None, None] * D * D + k[None, None, :] * D + k[None, :, None], mask=inside,
                    other=0.0).to(ACC)
    if SCALED:
        l_own = tl.load(left + e[:, None] * D + k[None, :], mask=rows, other=0.0).to(ACC)
        r_own = tl.load(right + e[:, None] * D + k[None, :], mask=rows, other=0.0).to(ACC)
        l_rev = tl.load(left + r[:, None] * D + k[None, :], mask=rows, other=0.0).to(ACC)
        r_rev = tl.load(right + r[:, None] * D + k[None, :], mask=rows, other=0.0).to(ACC)
        h = l_own[:, :, None] * g_own * r_own[:, None, :] + r_rev[:, :, None] * g_rev * l_rev[:, None, :]
        p = tl.zeros([BLOCK_E, BLOCK_D, BLOCK_D], dtype=ACC)
    else:
        h = g_own + g_rev
    for c in tl.static_range(D):                                     # dB_e[c, :] = B_r[c, :] H
        other = tl.load(blocks + r[:, None] * D * D + c * D + k[None, :], mask=rows, other=0.0).to(ACC)
        tl.store(grad_blocks + e[:, None] * D * D + c * D + k[None, :], tl.sum(other[:, :, None] * h, axis=1),
                 mask=rows)
        if SCALED:
            own = tl.load(blocks + e[:, None] * D * D + c * D + k[None, :], mask=rows, other=0.0).to(ACC)
            p += other[:, :, None] * own[:, None, :]
    if SCALED:
        tl.store(grad_left + e[:, None] * D + k[None, :], tl.sum(p * r_own[:, None, :] * g_own, axis=2), mask=rows)
        tl.store(grad_right + e[:, None] * D + k[None, :], tl.sum(l_own[:, :, None] * p * g_own, axis=1), mask=rows)


_MODES = {"sum": 0, "mean": 1, "max": 2, "min": 3}


def check_indices(kernel: str, ptr: Tensor | None = None, positions: int = 0, **indices: tuple[Tensor, int, int]):
    """:func:`geomlearn.sparse.kernels.cpu.check_indices` on the device: a few reductions over the index arrays,
    and no host synchronisation on CUDA, where an entry out of range trips a device-side assertion naming the
    kernel and the array (``torch._assert_async``; the next synchronising call raises it, before any result is
    read). On CPU tensors (``TRITON_INTERPRET=1``) it raises :class:`~geomlearn.sparse.IndexModifiedError`."""
    checks = []
    if ptr is not None and ptr.numel():
        checks.append((f"ptr (row bounds outside 0..{positions} or falling)",
                       (ptr[0] >= 0) & (ptr[-1] <= positions) & (ptr[1:] >= ptr[:-1]).all()))
    for name, (values, low, high) in indices.items():
        if values.numel():
            smallest, largest = torch.aminmax(values)
            checks.append((f"{name} (entries outside {low}..{high - 1})", (smallest >= low) & (largest < high)))
    for problem, fine in checks:
        if fine.device.type == "cuda":
            torch._assert_async(fine, str(IndexModifiedError.in_layout(kernel, [problem])))
        elif not bool(fine):
            raise IndexModifiedError.in_layout(kernel, [problem])


def gather_reduce(ptr: Tensor, idx: Tensor, eid: Tensor, x: Tensor, weight: Tensor | None, reduce: str):
    """See :func:`geomlearn.sparse.kernels.cpu.gather_reduce`."""
    rows, heads, chans = ptr.shape[0] - 1, x.shape[1], x.shape[2]
    hc = heads * chans
    out = torch.empty(rows, heads, chans, dtype=x.dtype, device=x.device)
    extreme = reduce in ("max", "min")
    arg = torch.empty((rows, heads, chans) if extreme else (0,), dtype=torch.int64, device=x.device)
    if rows == 0 or hc == 0:
        return out.zero_(), arg.fill_(-1)
    block = _block(hc)
    x = x.contiguous()
    w = x if weight is None else weight.contiguous()
    _gather_reduce_kernel[(rows, triton.cdiv(hc, block))](
        ptr, idx, eid, x, w, out, arg, hc, chans, W_ON=weight is not None, MODE=_MODES[reduce],
        ACC=_acc_dtype(x.dtype), BLOCK=block)
    return out, arg.to(ptr.dtype) if extreme else arg


def scatter_winners(arg: Tensor, idx: Tensor, eid: Tensor, grad: Tensor, x: Tensor, weight: Tensor | None,
                    need_x: bool, need_w: bool) -> tuple[Tensor, Tensor]:
    """See :func:`geomlearn.sparse.kernels.cpu.scatter_winners` (atomic adds here: sums of several
    winners into one source may round differently from run to run)."""
    rows, heads, chans = arg.shape
    hc = heads * chans
    need_w = need_w and weight is not None
    grad_x = torch.zeros_like(x)
    grad_w = torch.zeros(eid.shape[0], heads, dtype=x.dtype, device=x.device)
    if rows and hc and eid.shape[0]:
        block = _block(hc)
        _scatter_winners_kernel[(rows, triton.cdiv(hc, block))](
            arg.contiguous(), idx, eid, grad.contiguous(), x.contiguous(), x if weight is None else weight.contiguous(),
            grad_x, grad_w, hc, chans, W_ON=weight is not None, NEED_X=need_x, NEED_W=need_w, BLOCK=block)
    return grad_x, grad_w


def sddmm(ptr: Tensor, idx: Tensor, eid: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """See :func:`geomlearn.sparse.kernels.cpu.sddmm`."""
    rows, heads, chans = ptr.shape[0] - 1, a.shape[1], a.shape[2]
    out = torch.zeros(eid.shape[0], heads, dtype=a.dtype, device=a.device)
    if rows and heads and eid.shape[0]:
        _sddmm_kernel[(rows, heads)](ptr, idx, eid, a.contiguous(), b.contiguous(), out, heads, chans,
                                     ACC=_acc_dtype(a.dtype), BLOCK_C=_block(chans, 4096))
    return out


def additive_scores(ptr: Tensor, idx: Tensor, eid: Tensor, a: Tensor, b: Tensor, edge: Tensor | None, att: Tensor,
                    negative_slope: float) -> Tensor:
    """See :func:`geomlearn.sparse.kernels.cpu.additive_scores`."""
    rows, heads, chans = ptr.shape[0] - 1, a.shape[1], a.shape[2]
    out = torch.zeros(eid.shape[0], heads, dtype=a.dtype, device=a.device)
    if rows and heads and eid.shape[0]:
        a = a.contiguous()
        _additive_scores_kernel[(rows, heads)](
            ptr, idx, eid, a, b.contiguous(), a if edge is None else edge.contiguous(), att.contiguous(), out,
            negative_slope, heads, chans, EDGE_ON=edge is not None, ACC=_acc_dtype(a.dtype),
            BLOCK_C=_block(chans, 4096))
    return out


def additive_scores_backward(ptr: Tensor, idx: Tensor, eid: Tensor, own: Tensor, other: Tensor, edge: Tensor | None,
                             att: Tensor, negative_slope: float, grad: Tensor, need_att: bool,
                             need_edge: bool) -> tuple[Tensor, Tensor, Tensor]:
    """See :func:`geomlearn.sparse.kernels.cpu.additive_scores_backward`."""
    rows, heads, chans = ptr.shape[0] - 1, own.shape[1], own.shape[2]
    grad_own = torch.zeros(rows, heads, chans, dtype=own.dtype, device=own.device)
    att_rows = torch.zeros((rows, heads, chans) if need_att else (0,), dtype=own.dtype, device=own.device)
    grad_edge = torch.empty((eid.shape[0], heads, chans) if need_edge else (0,), dtype=own.dtype, device=own.device)
    if rows and heads and eid.shape[0]:
        own = own.contiguous()
        _additive_scores_backward_kernel[(rows, heads)](
            ptr, idx, eid, own, other.contiguous(), own if edge is None else edge.contiguous(), att.contiguous(),
            grad.contiguous(), grad_own, att_rows if need_att else grad_own, grad_edge if need_edge else grad_own,
            negative_slope, heads, chans, EDGE_ON=edge is not None, NEED_ATT=need_att, NEED_EDGE=need_edge,
            ACC=_acc_dtype(own.dtype), BLOCK_C=_block(chans, 4096))
    return grad_own, att_rows, grad_edge


def _launch_by_rows_and_channels(kernel, rows: int, chans: int, edges: int, dtype: torch.dtype, *args) -> None:
    """Run ``kernel(*args, chans, ACC=..., BLOCK=...)`` with one program per (layout row, tile of channels), when
    there is a row, a channel and an edge to work on. The kernels index ``[rows, C]`` tensors densely: inputs are
    made contiguous (the outputs, freshly allocated, already are)."""
    if rows and chans and edges:
        block = _block(chans)
        args = tuple(a.contiguous() if isinstance(a, Tensor) else a for a in args)
        kernel[(rows, triton.cdiv(chans, block))](*args, chans, ACC=_acc_dtype(dtype), BLOCK=block)


def gated_sum(ptr: Tensor, idx: Tensor, key: Tensor, query: Tensor, value: Tensor) -> Tensor:
    """See :func:`geomlearn.sparse.kernels.cpu.gated_sum`."""
    rows, chans = ptr.shape[0] - 1, key.shape[1]
    out = torch.zeros(rows, chans, dtype=key.dtype, device=key.device)
    _launch_by_rows_and_channels(_gated_sum_kernel, rows, chans, idx.shape[0], key.dtype, ptr, idx, key, query, value,
                                 out)
    return out


def gated_sum_target_grad(ptr: Tensor, idx: Tensor, key: Tensor, query: Tensor, value: Tensor,
                          grad: Tensor) -> Tensor:
    """See :func:`geomlearn.sparse.kernels.cpu.gated_sum_target_grad`."""
    rows, chans = ptr.shape[0] - 1, key.shape[1]
    out = torch.zeros_like(key)
    _launch_by_rows_and_channels(_gated_sum_target_grad_kernel, rows, chans, idx.shape[0], key.dtype, ptr, idx, key,
                                 query, value, grad, out)
    return out


def gated_sum_source_grad(tptr: Tensor, tidx: Tensor, key: Tensor, query: Tensor, value: Tensor,
                          grad: Tensor) -> tuple[Tensor, Tensor]:
    """See :func:`geomlearn.sparse.kernels.cpu.gated_sum_source_grad`."""
    rows, chans = tptr.shape[0] - 1, key.shape[1]
    grad_query, grad_value = torch.zeros_like(query), torch.zeros_like(value)
    _launch_by_rows_and_channels(_gated_sum_source_grad_kernel, rows, chans, tidx.shape[0], key.dtype, tptr, tidx, key,
                                 query, value, grad, grad_query, grad_value)
    return grad_query, grad_value


def relu_sum(ptr: Tensor, idx: Tensor, eid: Tensor, x: Tensor, edge: Tensor) -> Tensor:
    """See :func:`geomlearn.sparse.kernels.cpu.relu_sum`."""
    rows, chans = ptr.shape[0] - 1, x.shape[1]
    out = torch.zeros(rows, chans, dtype=x.dtype, device=x.device)
    _launch_by_rows_and_channels(_relu_sum_kernel, rows, chans, idx.shape[0], x.dtype, ptr, idx, eid, x, edge, out)
    return out


def relu_sum_backward(tptr: Tensor, tidx: Tensor, teid: Tensor, x: Tensor, edge: Tensor,
                      grad: Tensor) -> tuple[Tensor, Tensor]:
    """See :func:`geomlearn.sparse.kernels.cpu.relu_sum_backward`."""
    rows, chans = tptr.shape[0] - 1, x.shape[1]
    grad_x, grad_edge = torch.zeros_like(x), torch.empty_like(edge)         # every edge's row is written once
    _launch_by_rows_and_channels(_relu_sum_backward_kernel, rows, chans, tidx.shape[0], x.dtype, tptr, tidx, teid, x,
                                 edge, grad, grad_x, grad_edge)
    return grad_x, grad_edge


def edge_matrix_gather(ptr: Tensor, idx: Tensor, eid: Tensor, x: Tensor, weight: Tensor) -> Tensor:
    """See :func:`geomlearn.sparse.kernels.cpu.edge_matrix_gather`."""
    rows, width_in, width_out = ptr.shape[0] - 1, weight.shape[1], weight.shape[2]
    out = torch.zeros(rows, width_out, dtype=x.dtype, device=x.device)
    if rows and width_in and width_out and idx.shape[0]:
        block_out = _block(width_out, 64)
        _edge_matrix_gather_kernel[(rows, triton.cdiv(width_out, block_out))](
            ptr, idx, eid, x.contiguous(), weight.contiguous(), out, width_in, width_out, ACC=_acc_dtype(x.dtype),
            BLOCK_IN=_block(width_in, 32), BLOCK_OUT=block_out)
    return out


def edge_matrix_gather_backward(tptr: Tensor, tidx: Tensor, teid: Tensor, x: Tensor, weight: Tensor, grad: Tensor,
                                need_weight: bool) -> tuple[Tensor, Tensor]:
    """See :func:`geomlearn.sparse.kernels.cpu.edge_matrix_gather_backward`."""
    rows, width_in, width_out = tptr.shape[0] - 1, weight.shape[1], weight.shape[2]
    grad_x = torch.zeros_like(x)
    grad_weight = torch.empty_like(weight) if need_weight else weight.new_empty(0)   # each edge's block written once
    if rows and width_in and width_out and tidx.shape[0]:
        block_in = _block(width_in, 64)
        _edge_matrix_gather_backward_kernel[(rows, triton.cdiv(width_in, block_in))](
            tptr, tidx, teid, x.contiguous(), weight.contiguous(), grad.contiguous(), grad_x,
            grad_weight if need_weight else grad_x, width_in, width_out,
            NEED_WEIGHT=need_weight, ACC=_acc_dtype(x.dtype), BLOCK_IN=block_in, BLOCK_OUT=_block(width_out, 32))
    return grad_x, grad_weight


def segment_softmax(ptr: Tensor, eid: Tensor, scores: Tensor) -> Tensor:
    """See :func:`geomlearn.sparse.kernels.cpu.segment_softmax`."""
    rows, heads = ptr.shape[0] - 1, scores.shape[1]
    out = torch.zeros_like(scores)
    if rows and heads and eid.shape[0]:
        _segment_softmax_kernel[(rows,)](ptr, eid, scores.contiguous(), out, heads,
                                         ACC=_acc_dtype(scores.dtype), BLOCK_H=_block(heads, 1024))
    return out


def block_gather(ptr: Tensor, idx: Tensor, eid: Tensor, blocks: Tensor, x: Tensor, transpose: bool) -> Tensor:
    """See :func:`geomlearn.sparse.kernels.cpu.block_gather`."""
    rows, d, chans = ptr.shape[0] - 1, x.shape[1], x.shape[2]
    out = torch.zeros(rows, d, chans, dtype=x.dtype, device=x.device)
    if rows and d and chans:
        block_c = _block(chans, 64)
        _block_gather_kernel[(rows, triton.cdiv(chans, block_c))](
            ptr, idx, eid, blocks.contiguous(), x.contiguous(), out, d, chans, TRANSPOSE=transpose,
            ACC=_acc_dtype(x.dtype), BLOCK_D=triton.next_power_of_2(d), BLOCK_C=block_c)
    return out


def block_sddmm(ptr: Tensor, idx: Tensor, eid: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """See :func:`geomlearn.sparse.kernels.cpu.block_sddmm`."""
    rows, d, chans = ptr.shape[0] - 1, a.shape[1], a.shape[2]
    out = torch.zeros(eid.shape[0], d, d, dtype=a.dtype, device=a.device)
    if rows and d and eid.shape[0]:
        _block_sddmm_kernel[(rows,)](ptr, idx, eid, a.contiguous(), b.contiguous(), out, d, chans,
                                     ACC=_acc_dtype(a.dtype), BLOCK_D=triton.next_power_of_2(d),
                                     BLOCK_C=_block(chans, 4096))
    return out


def _tiles(ptr: Tensor, step: int, per_group: list[int] | None = None) -> tuple[Tensor, Tensor]:
    """A (group, first row) pair per tile: each segment split into tiles of ``step`` rows
    (or, with ``per_group``, a fixed number of tiles per group starting at multiples of ``step``)."""
    bounds = ptr.tolist()
    groups, starts = [], []
    for g in range(len(bounds) - 1):
        lo, hi = bounds[g], bounds[g + 1]
        firsts = range(0, per_group[g], step) if per_group is not None else range(lo, hi, step)
        groups += [g] * len(firsts)
        starts += list(firsts)
    device = ptr.device
    return torch.tensor(groups, dtype=torch.int64, device=device), torch.tensor(starts, dtype=torch.int64, device=device)


def segment_matmul(x: Tensor, ptr: Tensor, weight: Tensor) -> Tensor:
    """See :func:`geomlearn.sparse.kernels.cpu.segment_matmul`."""
    rows, k = x.shape
    m = weight.shape[2]
    out = torch.zeros(rows, m, dtype=x.dtype, device=x.device)
    block_r, block_k, block_m = 32, _block(k, 32), _block(m, 64)
    tile_group, tile_row = _tiles(ptr, block_r)
    if tile_group.numel() and k and m:
        _segment_matmul_kernel[(tile_group.numel(), triton.cdiv(m, block_m))](
            x.contiguous(), weight.contiguous(), out, tile_group, tile_row, ptr, k, m, TRANS_X=False,
            ACC=_acc_dtype(x.dtype), BLOCK_R=block_r, BLOCK_K=block_k, BLOCK_M=block_m)
    return out


def segment_matmul_weight_grad(x: Tensor, ptr: Tensor, grad: Tensor) -> Tensor:
    """See :func:`geomlearn.sparse.kernels.cpu.segment_matmul_weight_grad`."""
    groups, k, m = ptr.shape[0] - 1, x.shape[1], grad.shape[1]
    out = torch.zeros(groups, k, m, dtype=x.dtype, device=x.device)
    block_r, block_k, block_m = 32, _block(k, 32), _block(m, 64)
    tile_group, tile_row = _tiles(ptr, block_k, per_group=[k] * groups)
    if tile_group.numel() and m:
        _segment_matmul_kernel[(tile_group.numel(), triton.cdiv(m, block_m))](
            x.contiguous(), grad.contiguous(), out, tile_group, tile_row, ptr, k, m, TRANS_X=True,
            ACC=_acc_dtype(x.dtype), BLOCK_R=block_r, BLOCK_K=block_k, BLOCK_M=block_m)
    return out


def coupling_gather(ptr: Tensor, idx: Tensor, eid: Tensor, table: Tensor, values: Tensor, table_ptr: Tensor,
                    x: Tensor, y: Tensor, w: Tensor, size: int) -> Tensor:
    """See :func:`geomlearn.sparse.kernels.cpu.coupling_gather`."""
    rows, chans = ptr.shape[0] - 1, x.shape[1]
    out = torch.zeros(rows, chans, size, dtype=x.dtype, device=x.device)
    if rows and chans and values.shape[0]:
        block_c, block_o = _block(chans, 32), _block(size, 64)
        _coupling_gather_kernel[(rows, triton.cdiv(chans, block_c), triton.cdiv(size, block_o))](
            ptr, idx, eid, table, values, table_ptr, x.contiguous(), y.contiguous(), w.contiguous(), out,
            values.shape[0], chans, x.shape[2], y.shape[1], w.shape[1], size, ACC=_acc_dtype(x.dtype),
            BLOCK_C=block_c, BLOCK_T=32, BLOCK_O=block_o)
    return out


def coupling_edges(src: Tensor, dst: Tensor, table: Tensor, values: Tensor, x: Tensor, y: Tensor | None,
                   w: Tensor | None, z: Tensor, wrt_w: bool, size: int) -> Tensor:
    """See :func:`geomlearn.sparse.kernels.cpu.coupling_edges`."""
    edges, chans = src.shape[0], x.shape[1]
    out = torch.zeros((edges, size, chans) if wrt_w else (edges, size), dtype=x.dtype, device=x.device)
    if edges and chans and values.shape[0]:
        block_c, block_s = _block(chans, 32), _block(size, 64)
        unused = x  # the one of y / w the derivative does not read
        y, w = (y.contiguous(), unused) if wrt_w else (unused, w.contiguous())
        grid = (edges, triton.cdiv(size, block_s), triton.cdiv(chans, block_c) if wrt_w else 1)
        _coupling_edges_kernel[grid](src, dst, table, values, x.contiguous(), y, w, z.contiguous(), out,
                                     values.shape[0], chans, x.shape[2], y.shape[-1] if wrt_w else 1,
                                     w.shape[1] if not wrt_w else 1, z.shape[2], size, WRT_W=wrt_w,
                                     ACC=_acc_dtype(x.dtype), BLOCK_C=block_c, BLOCK_T=32, BLOCK_S=block_s)
    return out


_EDGES_PER_PROGRAM = 64  # per-edge block kernels: 64 d x d blocks in registers


def householder_product(params: Tensor, d: int) -> Tensor:
    """See :func:`geomlearn.sparse.kernels.cpu.householder_product`."""
    edges = params.shape[0]
    out = torch.empty(edges, d, d, dtype=params.dtype, device=params.device)
    if edges:
        _householder_product_kernel[(triton.cdiv(edges, _EDGES_PER_PROGRAM),)](
            params.contiguous(), out, edges, params.shape[1], D=d, ACC=_acc_dtype(params.dtype),
            BLOCK_E=_EDGES_PER_PROGRAM, BLOCK_D=triton.next_power_of_2(d))
    return out


def householder_product_backward(params: Tensor, product: Tensor, grad: Tensor) -> Tensor:
    """See :func:`geomlearn.sparse.kernels.cpu.householder_product_backward`."""
    edges, d = product.shape[0], product.shape[1]
    out = torch.zeros_like(params)
    if edges and d > 1:
        _householder_product_backward_kernel[(triton.cdiv(edges, _EDGES_PER_PROGRAM),)](
            params.contiguous(), product.contiguous(), grad.contiguous(), out, edges, params.shape[1], D=d,
            ACC=_acc_dtype(params.dtype), BLOCK_E=_EDGES_PER_PROGRAM, BLOCK_D=triton.next_power_of_2(d))
    return out


def reverse_block_product(rev: Tensor, blocks: Tensor, left: Tensor | None, right: Tensor | None) -> Tensor:
    """See :func:`geomlearn.sparse.kernels.cpu.reverse_block_product`."""
    edges, d = blocks.shape[0], blocks.shape[1]
    out = torch.empty_like(blocks)
    if edges:
        scaled = left is not None
        _reverse_block_product_kernel[(triton.cdiv(edges, _EDGES_PER_PROGRAM),)](
            rev, blocks, left if scaled else blocks, right if scaled else blocks, out, edges, D=d, SCALED=scaled,
            ACC=_acc_dtype(blocks.dtype), BLOCK_E=_EDGES_PER_PROGRAM, BLOCK_D=triton.next_power_of_2(d))
    return out


def reverse_block_product_backward(rev: Tensor, blocks: Tensor, left: Tensor | None, right: Tensor | None,
                                   grad: Tensor) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """See :func:`geomlearn.sparse.kernels.cpu.reverse_block_product_backward`."""
    edges, d = blocks.shape[0], blocks.shape[1]
    scaled = left is not None
    grad_blocks = torch.empty_like(blocks)
    grad_left = torch.empty(edges, d, dtype=blocks.dtype, device=blocks.device) if scaled else None
    grad_right = torch.empty_like(grad_left) if scaled else None
    if edges:
        _reverse_block_product_backward_kernel[(triton.cdiv(edges, _EDGES_PER_PROGRAM),)](
            rev, blocks, left if scaled else blocks, right if scaled else blocks, grad, grad_blocks,
            grad_left if scaled else grad_blocks, grad_right if scaled else grad_blocks, edges, D=d, SCALED=scaled,
            ACC=_acc_dtype(blocks.dtype), BLOCK_E=_EDGES_PER_PROGRAM, BLOCK_D=triton.next_power_of_2(d))
    return grad_blocks, grad_left, grad_right
