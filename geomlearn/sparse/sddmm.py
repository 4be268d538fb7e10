"""Sampled dense-dense product: one dot product per edge (attention scores, link scores)."""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import check_device, check_float, check_index, check_like, check_rows
from .index import SparseIndex
from .kernels import backend_for
from .spmm import layouts, spmm_op


@torch.library.custom_op("geomlearn::sddmm", mutates_args=())
def sddmm_op(ptr: Tensor, idx: Tensor, eid: Tensor, tptr: Tensor, tidx: Tensor, teid: Tensor, a: Tensor,
             b: Tensor) -> Tensor:
    """``out [E, H]``: ``out[eid[k], h] = <a[r, h], b[idx[k], h]>`` for position ``k`` of row ``r``."""
    kernels = backend_for(a.device)
    kernels.check_indices("sddmm", ptr, idx.shape[0], idx=(idx, 0, b.shape[0]), eid=(eid, 0, eid.shape[0]))
    return kernels.sddmm(ptr, idx, eid, a, b)


@sddmm_op.register_fake
def _(ptr, idx, eid, tptr, tidx, teid, a, b):
    return a.new_empty((eid.shape[0], a.shape[1]))


def _setup_context(ctx, inputs, output):
    ptr, idx, eid, tptr, tidx, teid, a, b = inputs
    ctx.save_for_backward(ptr, idx, eid, tptr, tidx, teid, a, b)


def _backward(ctx, grad):
    # d<a_i, b_j>/da_i = b_j: grad_a = A_g b with the per-edge gradients as weights (CSR walk),
    # grad_b = A_g^T a (CSC walk).
    ptr, idx, eid, tptr, tidx, teid, a, b = ctx.saved_tensors
    grad_a = spmm_op(ptr, idx, eid, tptr, tidx, teid, b, grad, "sum")[0] if ctx.needs_input_grad[6] else None
    grad_b = spmm_op(tptr, tidx, teid, ptr, idx, eid, a, grad, "sum")[0] if ctx.needs_input_grad[7] else None
    return None, None, None, None, None, None, grad_a, grad_b


sddmm_op.register_autograd(_backward, setup_context=_setup_context)


def sddmm(index: SparseIndex, a: Tensor, b: Tensor) -> Tensor:
    r"""Per-edge inner product of target and source features.

    .. math::
        \mathrm{out}_{e,h} = \langle a_{i,h,:},\ b_{j,h,:} \rangle \quad \text{for each edge } e = (j \to i)

    Args:
        index: the graph.
        a: target features ``[num_dst, C]`` or ``[num_dst, H, C]``.
        b: source features of the same trailing shape, ``[num_src, ...]``.

    Returns:
        ``[E]`` for 2-D inputs, ``[E, H]`` for 3-D inputs, in the index's edge order.
    """
    check_index(index)
    check_float("a", a, min_dim=2)
    check_float("b", b, min_dim=2)
    if a.dim() > 3:
        raise ValueError(f"a: expected shape [num_dst, C] or [num_dst, H, C], got {list(a.shape)}")
    check_device("a", a, index)
    check_like("b", b, a, "a", index)
    check_rows("a", a, index.num_dst, "one per target node")
    check_rows("b", b, index.num_src, "one per source node")
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(f"b: expected trailing shape {list(a.shape[1:])} (that of a), got {list(b.shape[1:])}")
    a3 = a if a.dim() == 3 else a.unsqueeze(1)
    b3 = b if b.dim() == 3 else b.unsqueeze(1)
    csr, csc = layouts(index, b.requires_grad)
    out = sddmm_op(*csr, *csc, a3, b3)
    return out if a.dim() == 3 else out.squeeze(1)
