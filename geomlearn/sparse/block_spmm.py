"""Block-sparse product with a ``d x d`` block per edge: the sheaf Laplacian's off-diagonal action."""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import check_device, check_float, check_index, check_like, check_rows
from .index import SparseIndex
from .kernels import backend_for
from .spmm import layouts


@torch.library.custom_op("geomlearn::block_spmm", mutates_args=())
def block_spmm_op(ptr: Tensor, idx: Tensor, eid: Tensor, tptr: Tensor, tidx: Tensor, teid: Tensor,
                  blocks: Tensor, x: Tensor, transpose: bool) -> Tensor:
    """``out[r] = sum_{k in row r} B_k x[idx[k]]``, ``B_k = blocks[eid[k]]`` (transposed if ``transpose``)."""
    kernels = backend_for(x.device)
    kernels.check_indices("block_spmm", ptr, idx.shape[0], idx=(idx, 0, x.shape[0]), eid=(eid, 0, blocks.shape[0]))
    return kernels.block_gather(ptr, idx, eid, blocks, x, transpose)


@block_spmm_op.register_fake
def _(ptr, idx, eid, tptr, tidx, teid, blocks, x, transpose):
    return x.new_empty((ptr.shape[0] - 1, x.shape[1], x.shape[2]))


@torch.library.custom_op("geomlearn::block_sddmm", mutates_args=())
def block_sddmm_op(ptr: Tensor, idx: Tensor, eid: Tensor, tptr: Tensor, tidx: Tensor, teid: Tensor, a: Tensor,
                   b: Tensor) -> Tensor:
    """``out[eid[k]] = a[r] @ b[idx[k]]^T`` (``[E, d, d]``) for every position ``k`` of row ``r``."""
    kernels = backend_for(a.device)
    kernels.check_indices("block_spmm backward", ptr, idx.shape[0], idx=(idx, 0, b.shape[0]),
                          eid=(eid, 0, eid.shape[0]))
    return kernels.block_sddmm(ptr, idx, eid, a, b)


@block_sddmm_op.register_fake
def _(ptr, idx, eid, tptr, tidx, teid, a, b):
    return a.new_empty((eid.shape[0], a.shape[1], a.shape[1]))


def _save_all(ctx, inputs, output):
    ctx.save_for_backward(*inputs[:8])
    ctx.transpose = inputs[8] if len(inputs) > 8 else False


def _block_spmm_backward(ctx, grad):
    # out_i = sum_e B_e x_j:  dx_j = sum_e B_e^T g_i (CSC walk),  dB_e = g_i x_j^T (a block SDDMM).
    ptr, idx, eid, tptr, tidx, teid, blocks, x = ctx.saved_tensors
    grad_blocks = grad_x = None
    if ctx.needs_input_grad[6]:
        grad_blocks = block_sddmm_op(ptr, idx, eid, tptr, tidx, teid, grad, x)
        if ctx.transpose:
            grad_blocks = grad_blocks.transpose(1, 2)
    if ctx.needs_input_grad[7]:
        grad_x = block_spmm_op(tptr, tidx, teid, ptr, idx, eid, blocks, grad, not ctx.transpose)
    return None, None, None, None, None, None, grad_blocks, grad_x, None


def _block_sddmm_backward(ctx, grad):
    # out_e = a_i b_j^T:  da_i = sum_e G_e b_j (CSR walk),  db_j = sum_e G_e^T a_i (CSC walk).
    ptr, idx, eid, tptr, tidx, teid, a, b = ctx.saved_tensors
    grad_a = block_spmm_op(ptr, idx, eid, tptr, tidx, teid, grad, b, False) if ctx.needs_input_grad[6] else None
    grad_b = block_spmm_op(tptr, tidx, teid, ptr, idx, eid, grad, a, True) if ctx.needs_input_grad[7] else None
    return None, None, None, None, None, None, grad_a, grad_b


block_spmm_op.register_autograd(_block_spmm_backward, setup_context=_save_all)
block_sddmm_op.register_autograd(_block_sddmm_backward, setup_context=_save_all)


def block_spmm(index: SparseIndex, blocks: Tensor, x: Tensor) -> Tensor:
    r"""Apply a ``d x d`` block per edge and sum into the targets.

    .. math::
        \mathrm{out}_i = \sum_{e = (j \to i)} B_e \, x_j, \qquad B_e \in \mathbb{R}^{d \times d},\ x_j \in \mathbb{R}^{d \times C}

    This is the off-diagonal part of a sheaf Laplacian (``B_e = -F_{i◁e}^T F_{j◁e}``) applied without
    ever forming the scalar ``[E d^2]``-non-zero matrix or an ``[E d^2, C]`` intermediate. The gradient for
    ``x`` walks the transposed graph with ``B_e^T``; the gradient for the blocks is the block SDDMM
    ``dB_e = g_i x_j^T``.

    Args:
        index: the graph.
        blocks: ``[E, d, d]`` in the index's edge order.
        x: ``[num_src, d, C]``.

    Returns:
        ``[num_dst, d, C]``.
    """
    check_index(index)
    check_float("blocks", blocks, min_dim=3)
    check_float("x", x, min_dim=3)
    check_device("x", x, index)
    check_like("blocks", blocks, x, "x", index)
    if blocks.dim() != 3 or blocks.shape[1] != blocks.shape[2]:
        raise ValueError(f"blocks: expected shape [E, d, d], got {list(blocks.shape)}")
    check_rows("blocks", blocks, index.num_edges, "one block per edge")
    if x.dim() != 3 or x.shape[1] != blocks.shape[1]:
        raise ValueError(f"x: expected shape [num_src, {blocks.shape[1]}, C] (d from blocks), got {list(x.shape)}")
    check_rows("x", x, index.num_src, "one per source node")
    csr, csc = layouts(index, x.requires_grad)
    return block_spmm_op(*csr, *csc, blocks, x, False)
