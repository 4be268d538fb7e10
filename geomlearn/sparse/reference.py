"""Plain-torch reference implementations of every op in :mod:`geomlearn.sparse`.

Written for clarity, not speed: gather per edge, compute, scatter into the targets with
``scatter_reduce`` / ``index_add``. They are the oracle the tests hold the kernels against (autograd
comes from torch), and they have the same signatures as the public ops.
"""

from __future__ import annotations

from typing import Optional

import torch

from torch import Tensor

from .index import SparseIndex

_SCATTER = {"sum": "sum", "mean": "mean", "max": "amax", "min": "amin"}


def segment_reduce(values: Tensor, index: SparseIndex, reduce: str = "sum") -> Tensor:
    """``out_i = reduce_{e -> i} values_e``; 0 for a target without edges."""
    dst = index.dst.long().view(-1, *([1] * (values.dim() - 1))).expand_as(values)
    out = values.new_zeros(index.num_dst, *values.shape[1:])
    return out.scatter_reduce(0, dst, values, _SCATTER[reduce], include_self=False)


def spmm(index: SparseIndex, x: Tensor, weight: Tensor | None = None, reduce: str = "sum") -> Tensor:
    """``out_i = reduce_{e = (j -> i)} w_e x_j``."""
    messages = x[index.src.long()]
    if weight is not None:
        messages = messages * weight.view(*weight.shape, *([1] * (messages.dim() - weight.dim())))
    return segment_reduce(messages, index, reduce)


def sddmm(index: SparseIndex, a: Tensor, b: Tensor) -> Tensor:
    """``out_e = <a_i, b_j>`` over the last dimension, for each edge ``e = (j -> i)``."""
    return (a[index.dst.long()] * b[index.src.long()]).sum(-1)


def additive_scores(index: SparseIndex, a: Tensor, b: Tensor, att: Tensor, negative_slope: float = 0.2,
                    edge: Optional[Tensor] = None) -> Tensor:
    """``out_e = sum_c att_c LeakyReLU(a_i + b_j + edge_e)_c`` for each edge ``e = (j -> i)``."""
    pre = a[index.dst.long()] + b[index.src.long()]
    if edge is not None:
        pre = pre + edge
    return (torch.nn.functional.leaky_relu(pre, negative_slope) * att).sum(-1)


def gated_spmm(index: SparseIndex, key: Tensor, query: Tensor, value: Tensor) -> Tensor:
    """``out_i = sum_{e = (j -> i)} sigmoid(key_i + query_j) * value_j``."""
    src = index.src.long()
    return segment_reduce(torch.sigmoid(key[index.dst.long()] + query[src]) * value[src], index, "sum")


def relu_spmm(index: SparseIndex, x: Tensor, edge: Tensor) -> Tensor:
    """``out_i = sum_{e = (j -> i)} ReLU(x_j + edge_e)``."""
    return segment_reduce((x[index.src.long()] + edge).relu(), index, "sum")


def edge_matrix_spmm(index: SparseIndex, x: Tensor, weight: Tensor) -> Tensor:
    """``out_i = sum_{e = (j -> i)} x_j @ weight_e``."""
    return segment_reduce(torch.bmm(x[index.src.long()].unsqueeze(1), weight).squeeze(1), index, "sum")


def gather_sum(index: SparseIndex, a: Optional[Tensor], b: Optional[Tensor]) -> Tensor:
    """``out_e = a_i + b_j`` for each edge ``e = (j -> i)``; a missing term is 0."""
    if a is None:
        return b[index.src.long()]
    if b is None:
        return a[index.dst.long()]
    return a[index.dst.long()] + b[index.src.long()]


def segment_softmax(scores: Tensor, index: SparseIndex) -> Tensor:
    """Softmax of ``scores`` over each target's incoming edges."""
    dst = index.dst.long()
    peak = segment_reduce(scores, index, "max")[dst]
    exp = (scores - peak).exp()
    return exp / segment_reduce(exp, index, "sum")[dst]


def block_spmm(index: SparseIndex, blocks: Tensor, x: Tensor) -> Tensor:
    """``out_i = sum_{e = (j -> i)} blocks_e @ x_j``."""
    messages = torch.bmm(blocks, x[index.src.long()])
    return x.new_zeros(index.num_dst, *x.shape[1:]).index_add(0, index.dst.long(), messages)


def householder_orthogonal(params: Tensor, d: int) -> Tensor:
    """LAPACK's product of the reflectors ``e_i + sum_{r > i} p_ri e_r`` (``torch.linalg.householder_product``)."""
    rows, cols = torch.tril_indices(d, d, offset=-1, device=params.device)
    reflectors = torch.eye(d, dtype=params.dtype, device=params.device).repeat(params.shape[0], 1, 1)
    reflectors[:, rows, cols] = params
    taus = 2 / reflectors.square().sum(dim=1)[:, : d - 1]
    return torch.linalg.householder_product(reflectors, taus)


def reverse_block_product(index: SparseIndex, blocks: Tensor, left: Optional[Tensor] = None,
                          right: Optional[Tensor] = None) -> Tensor:
    """``out_e = diag(left_e) blocks_{e'}^T blocks_e diag(right_e)``, ``e'`` the reverse of ``e``, found by search."""
    src, dst = index.src.long(), index.dst.long()
    if src.numel() == 0:
        return blocks.clone()
    reverse = ((src.unsqueeze(1) == dst.unsqueeze(0)) & (dst.unsqueeze(1) == src.unsqueeze(0))).long().argmax(dim=1)
    out = blocks[reverse].transpose(1, 2) @ blocks
    return out if left is None else left.unsqueeze(2) * out * right.unsqueeze(1)


def segment_matmul(x: Tensor, ptr: Tensor, weight: Tensor) -> Tensor:
    """``out_r = x_r @ weight[g(r)]`` where ``g(r)`` is the segment of row ``r``."""
    group = torch.repeat_interleave(torch.arange(weight.shape[0], device=x.device), ptr.diff().long())
    return torch.bmm(x.unsqueeze(1), weight[group]).squeeze(1)


def coupling_spmm(index: SparseIndex, couplings, x: Tensor, y: Tensor, w: Tensor) -> Tensor:
    """``out_{iuo} = sum_{e = (j -> i)} sum_{t: o_t = o} v_t x_{j u a_t} y_{e b_t} w_{e k_t u}``."""
    a, b, k, o = couplings.by_out
    v = couplings.by_out_values.to(x.dtype)
    terms = x[index.src.long()][:, :, a] * (y[:, b] * v).unsqueeze(1) * w[:, k, :].transpose(1, 2)   # [E, C, T]
    messages = terms.new_zeros(index.num_edges, x.shape[1], couplings.sizes[3]).index_add(2, o, terms)
    return segment_reduce(messages, index)
