"""Sigmoid-gated aggregation: each source's value scaled channel by channel by a gate of both endpoints."""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import check_device, check_float, check_index, check_like, check_rows
from .index import SparseIndex
from .kernels import backend_for
from .spmm import layouts


def _check(kernels, name: str, ptr: Tensor, idx: Tensor, rows: tuple[Tensor, ...], columns: tuple[Tensor, ...]) -> None:
    """What a kernel reads through: the layout's rows index ``rows``' tensors and its ``idx`` those of ``columns``;
    all have one width."""
    width = rows[0].shape[1:]
    for values in rows + columns:
        if values.shape[1:] != width:
            raise ValueError(f"{name}: features of widths {list(values.shape[1:])} and {list(width)}")
    fewest = min(values.shape[0] for values in rows)
    if ptr.shape[0] - 1 > fewest:
        raise ValueError(f"{name}: the layout has {ptr.shape[0] - 1} rows, the row features only {fewest}")
    kernels.check_indices(name, ptr, idx.shape[0], idx=(idx, 0, min(values.shape[0] for values in columns)))


@torch.library.custom_op("geomlearn::gated_spmm", mutates_args=())
def gated_spmm_op(ptr: Tensor, idx: Tensor, tptr: Tensor, tidx: Tensor, key: Tensor, query: Tensor,
                  value: Tensor) -> Tensor:
    """``out [R, C]``: ``out[r] = sum_{k in row r} sigmoid(key[r] + query[idx[k]]) * value[idx[k]]`` on the CSR
    ``(ptr, idx)``; the CSC ``(tptr, tidx)`` serves the backward pass."""
    kernels = backend_for(key.device)
    _check(kernels, "gated_spmm", ptr, idx, (key,), (query, value))
    return kernels.gated_sum(ptr, idx, key, query, value)


@gated_spmm_op.register_fake
def _(ptr, idx, tptr, tidx, key, query, value):
    return key.new_empty((ptr.shape[0] - 1, key.shape[1]))


@torch.library.custom_op("geomlearn::gated_spmm_backward", mutates_args=())
def gated_spmm_backward_op(ptr: Tensor, idx: Tensor, tptr: Tensor, tidx: Tensor, key: Tensor, query: Tensor,
                           value: Tensor, grad: Tensor, need_key: bool, need_sources: bool
                           ) -> tuple[Tensor, Tensor, Tensor]:
    """``(grad_key, grad_query, grad_value)`` of :func:`gated_spmm_op` for the upstream ``grad [R, C]``. With
    ``s = sigmoid(key_i + query_j)`` per edge ``j -> i``: ``grad_key_i = sum_j grad_i v_j s (1 - s)`` (CSR walk),
    ``grad_query_j = sum_i grad_i v_j s (1 - s)`` and ``grad_value_j = sum_i grad_i s`` (CSC walk); a gradient not
    asked for is an empty tensor."""
    kernels = backend_for(key.device)
    _check(kernels, "gated_spmm backward", ptr, idx, (key, grad), (query, value))
    grad_key = kernels.gated_sum_target_grad(ptr, idx, key, query, value, grad) if need_key else key.new_empty(0)
    if not need_sources:
        return grad_key, key.new_empty(0), key.new_empty(0)          # distinct tensors: outputs may not alias
    _check(kernels, "gated_spmm backward", tptr, tidx, (query, value), (key, grad))
    grad_query, grad_value = kernels.gated_sum_source_grad(tptr, tidx, key, query, value, grad)
    return grad_key, grad_query, grad_value


@gated_spmm_backward_op.register_fake
def _(ptr, idx, tptr, tidx, key, query, value, grad, need_key, need_sources):
    return (torch.empty_like(key) if need_key else key.new_empty(0),
            torch.empty_like(query) if need_sources else key.new_empty(0),
            torch.empty_like(value) if need_sources else key.new_empty(0))


def _setup_context(ctx, inputs, output):
    ctx.save_for_backward(*inputs)


def _backward(ctx, grad):
    ptr, idx, tptr, tidx, key, query, value = ctx.saved_tensors
    need_key, need_query, need_value = ctx.needs_input_grad[4:7]
    grad_key, grad_query, grad_value = gated_spmm_backward_op(ptr, idx, tptr, tidx, key, query, value,
                                                              grad.contiguous(), need_key, need_query or need_value)
    return (None, None, None, None, grad_key if need_key else None, grad_query if need_query else None,
            grad_value if need_value else None)


gated_spmm_op.register_autograd(_backward, setup_context=_setup_context)


def gated_spmm(index: SparseIndex, key: Tensor, query: Tensor, value: Tensor) -> Tensor:
    r"""Aggregation with a sigmoid gate per edge and channel.

    .. math::
        \mathrm{out}_{i} = \sum_{e = (j \to i)} \sigma\big(k_i + q_j\big) \odot v_j

    The message of :class:`~geomlearn.gnn.ResGatedGraphConv` (Bresson & Laurent's residual gated graph
    ConvNets). One pass over the CSR computes each edge's gate in registers and adds the gated value into its
    target, so the ``[E, C]`` gates and messages of the unfused computation are never formed; the backward pass
    walks the CSR for ``key`` and the CSC for ``query`` and ``value`` (no atomics, deterministic).

    Args:
        index: the graph.
        key: target features ``[num_dst, C]``.
        query: source features ``[num_src, C]``.
        value: source features ``[num_src, C]``.

    Returns:
        ``[num_dst, C]``; a target without edges gets 0.
    """
    check_index(index)
    check_float("key", key, min_dim=2)
    if key.dim() != 2:
        raise ValueError(f"key: expected shape [num_dst, C], got {list(key.shape)}")
    check_device("key", key, index)
    check_rows("key", key, index.num_dst, "one per target node")
    for name, values in (("query", query), ("value", value)):
        check_float(name, values, min_dim=2)
        check_like(name, values, key, "key", index)
        check_rows(name, values, index.num_src, "one per source node")
        if values.shape[1:] != key.shape[1:]:
            raise ValueError(f"{name}: expected shape [{index.num_src}, {key.shape[1]}] (the width of key), got "
                             f"{list(values.shape)}")
    csr, csc = layouts(index, query.requires_grad or value.requires_grad)
    return gated_spmm_op(csr.ptr, csr.idx, csc.ptr, csc.idx, key.contiguous(), query.contiguous(),
                         value.contiguous())
