"""Sparse-dense matrix product with a choice of reduction: message passing's workhorse."""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor

from ._checks import check_float, check_index, check_reduce, check_device, check_like, check_rows
from .index import SparseIndex
from .kernels import backend_for

REDUCTIONS = ("sum", "mean", "max", "min")


@torch.library.custom_op("geomlearn::spmm", mutates_args=())
def spmm_op(ptr: Tensor, idx: Tensor, eid: Tensor, tptr: Tensor, tidx: Tensor, teid: Tensor, x: Tensor,
            weight: Optional[Tensor], reduce: str) -> tuple[Tensor, Tensor]:
    """``out [R, H, C]``, ``arg`` = reduce over each row of the layout ``(ptr, idx, eid)`` of
    ``weight[eid] * x[idx]``. ``(tptr, tidx, teid)`` is the transposed layout, used by the backward pass."""
    kernels = backend_for(x.device)
    edges = eid.shape[0] if weight is None else weight.shape[0]
    kernels.check_indices("spmm", ptr, idx.shape[0], idx=(idx, 0, x.shape[0]), eid=(eid, 0, edges))
    return kernels.gather_reduce(ptr, idx, eid, x, weight, reduce)


@spmm_op.register_fake
def _(ptr, idx, eid, tptr, tidx, teid, x, weight, reduce):
    rows = ptr.shape[0] - 1
    out = x.new_empty((rows, x.shape[1], x.shape[2]))
    arg_shape = (rows, x.shape[1], x.shape[2]) if reduce in ("max", "min") else (0,)
    return out, ptr.new_empty(arg_shape)             # positions: the layout's offsets' dtype


def _setup_context(ctx, inputs, output):
    ptr, idx, eid, tptr, tidx, teid, x, weight, reduce = inputs
    ctx.reduce = reduce
    ctx.save_for_backward(ptr, idx, eid, tptr, tidx, teid, x, weight, output[1])


def _backward(ctx, grad_out, _grad_arg):
    ptr, idx, eid, tptr, tidx, teid, x, weight, arg = ctx.saved_tensors
    need_x, need_w = ctx.needs_input_grad[6], ctx.needs_input_grad[7]
    if ctx.reduce in ("max", "min"):
        grad_x, grad_w = scatter_winners_op(arg, idx, eid, grad_out, x, weight, need_x, need_w)
        grad_x, grad_w = (grad_x if need_x else None), (grad_w if need_w else None)
    else:
        if ctx.reduce == "mean":
            deg = (ptr[1:] - ptr[:-1]).clamp(min=1).to(grad_out.dtype)
            grad_out = grad_out / deg.view(-1, 1, 1)
        grad_x = spmm_op(tptr, tidx, teid, ptr, idx, eid, grad_out, weight, "sum")[0] if need_x else None
        grad_w = torch.ops.geomlearn.sddmm(ptr, idx, eid, tptr, tidx, teid, grad_out, x) if need_w else None
    return None, None, None, None, None, None, grad_x, grad_w, None


spmm_op.register_autograd(_backward, setup_context=_setup_context)


@torch.library.custom_op("geomlearn::scatter_winners", mutates_args=())
def scatter_winners_op(arg: Tensor, idx: Tensor, eid: Tensor, grad: Tensor, x: Tensor, weight: Optional[Tensor],
                       need_x: bool, need_w: bool) -> tuple[Tensor, Tensor]:
    """Backward of a max/min :func:`spmm_op`: each output element's gradient goes to the edge that won it
    (``arg`` holds its position; ``-1`` marks an empty row, which passes nothing). Returns
    ``(grad_x, grad_w)``, zeros where a gradient was not asked for."""
    kernels = backend_for(x.device)
    edges = eid.shape[0] if weight is None else min(eid.shape[0], weight.shape[0])
    kernels.check_indices("spmm backward", arg=(arg, -1, idx.shape[0]), idx=(idx, 0, x.shape[0]),
                          eid=(eid, 0, edges))
    return kernels.scatter_winners(arg, idx, eid, grad, x, weight, need_x, need_w)


@scatter_winners_op.register_fake
def _(arg, idx, eid, grad, x, weight, need_x, need_w):
    return torch.empty_like(x), x.new_empty((eid.shape[0], x.shape[1]))


def _winners_setup_context(ctx, inputs, output):
    arg, idx, eid, grad, x, weight, need_x, need_w = inputs
    ctx.need_x, ctx.need_w = need_x, need_w
    ctx.save_for_backward(arg, idx, eid, grad, x, weight)


def _winners_backward(ctx, grad_grad_x, grad_grad_w):
    # The scatter is bilinear: grad_x[j] += g_i w_e and grad_w[e] += g_i . x_j over each winner (i, j, e).
    # Its adjoint for g gathers the upstream gradients at the winners; those for x and w are the same
    # scatter with the upstream gradient in the place of the other factor (a max's double backward).
    arg, idx, eid, grad, x, weight = ctx.saved_tensors
    need_x, need_w = ctx.need_x, ctx.need_w and weight is not None
    grad_grad = grad_x = grad_w = None
    if ctx.needs_input_grad[3]:
        won = arg >= 0
        position = arg.clamp(min=0).long()
        j, e = idx.long()[position], eid.long()[position]
        head = torch.arange(x.shape[1], device=x.device).view(1, -1, 1)
        chan = torch.arange(x.shape[2], device=x.device).view(1, 1, -1)
        grad_grad = torch.zeros_like(grad)
        if need_x:
            grad_grad = grad_grad + grad_grad_x[j, head, chan] * (1.0 if weight is None else weight[e, head])
        if need_w:
            grad_grad = grad_grad + grad_grad_w[e, head] * x[j, head, chan]
        grad_grad = torch.where(won, grad_grad, 0.0)
    if ctx.needs_input_grad[4] and need_w:
        grad_x = scatter_winners_op(arg, idx, eid, grad, x, grad_grad_w, True, False)[0]
    if ctx.needs_input_grad[5] and need_x:
        grad_w = scatter_winners_op(arg, idx, eid, grad, grad_grad_x, weight, False, True)[1]
    return None, None, None, grad_grad, grad_x, grad_w, None, None


scatter_winners_op.register_autograd(_winners_backward, setup_context=_winners_setup_context)


def layouts(index: SparseIndex, need_transpose: bool):
    """The CSR and, when a backward pass will walk the transposed graph, the CSC. Otherwise the CSR
    stands in for it, so inference never pays for sorting by source; only a backward pass that was not
    asked for (a gradient for an input that does not require one) would ever read it."""
    csr = index.csr()
    return csr, index.csc() if need_transpose and torch.is_grad_enabled() else csr


def spmm(index: SparseIndex, x: Tensor, weight: Optional[Tensor] = None, reduce: str = "sum") -> Tensor:
    r"""Sparse-dense product ``out = A x`` with a choice of reduction over each target's incoming edges.

    .. math::
        \mathrm{out}_i = \bigoplus_{e = (j \to i)} w_e \, x_j, \qquad \oplus \in \{\sum, \mathrm{mean}, \max, \min\}

    A target with no incoming edge gets 0. With ``weight [E, H]`` (multi-head) head ``h`` of ``x`` is
    scaled by ``w_{e,h}``. Gradients flow to ``x`` and ``weight``; for ``max``/``min`` each output
    element's gradient goes to the first edge that attains it.

    Args:
        index: the graph, ``num_dst x num_src``.
        x: source features ``[num_src, ...]`` (``[num_src, H, C]`` with a ``[E, H]`` weight).
        weight: optional per-edge weights ``[E]`` or ``[E, H]``, same dtype as ``x``.
        reduce: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"``.

    Returns:
        ``[num_dst, ...]``, the trailing shape of ``x``.
    """
    check_index(index)
    check_float("x", x)
    check_reduce(reduce, REDUCTIONS)
    check_rows("x", x, index.num_src, "one per source node")
    check_device("x", x, index)
    num_src = x.shape[0]
    heads = 1
    if weight is not None:
        check_float("weight", weight)
        check_like("weight", weight, x, "x", index)
        check_rows("weight", weight, index.num_edges, "one per edge")
        if weight.dim() > 2:
            raise ValueError(f"weight: expected shape [E] or [E, H], got {list(weight.shape)}")
        if weight.dim() == 2:
            heads = weight.shape[1]
            if x.dim() < 3 or x.shape[1] != heads:
                raise ValueError(
                    f"x: a weight of shape {list(weight.shape)} has {heads} heads, so x must be "
                    f"[num_src, {heads}, C], got {list(x.shape)}"
                )
        weight = weight.reshape(index.num_edges, heads)
    chans = math.prod(x.shape[1:]) // heads
    csr, csc = layouts(index, x.requires_grad)
    out, _ = spmm_op(*csr, *csc, x.reshape(num_src, heads, chans), weight, reduce)
    return out.reshape(index.num_dst, *x.shape[1:])
