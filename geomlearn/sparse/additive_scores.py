"""Additive attention scores: a LeakyReLU of the summed endpoint features, projected per edge (GATv2)."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ._checks import check_device, check_float, check_index, check_like, check_rows
from .index import SparseIndex
from .kernels import backend_for
from .spmm import layouts


def _check(kernels, ptr: Tensor, idx: Tensor, eid: Tensor, own: Tensor, other: Tensor, edge: Optional[Tensor],
           att: Tensor, name: str) -> None:
    """What the kernels read through: the layout's indices, and shapes that agree with the row features'."""
    heads_chans = list(own.shape[1:])
    for what, values in (("other", other), ("edge", edge)):
        if values is not None and list(values.shape[1:]) != heads_chans:
            raise ValueError(f"{name}: {what} has trailing shape {list(values.shape[1:])}, expected {heads_chans}")
    if list(att.shape) != heads_chans:
        raise ValueError(f"{name}: att has shape {list(att.shape)}, expected {heads_chans}")
    if ptr.shape[0] - 1 > own.shape[0]:
        raise ValueError(f"{name}: the layout has {ptr.shape[0] - 1} rows, the row features only {own.shape[0]}")
    edges = eid.shape[0] if edge is None else min(eid.shape[0], edge.shape[0])
    kernels.check_indices(name, ptr, idx.shape[0], idx=(idx, 0, other.shape[0]), eid=(eid, 0, edges))


@torch.library.custom_op("geomlearn::additive_scores", mutates_args=())
def additive_scores_op(ptr: Tensor, idx: Tensor, eid: Tensor, tptr: Tensor, tidx: Tensor, teid: Tensor, a: Tensor,
                       b: Tensor, edge: Optional[Tensor], att: Tensor, negative_slope: float) -> Tensor:
    """``out [E, H]``: ``out[eid[k], h] = sum_c att[h, c] LeakyReLU(a[r, h, c] + b[idx[k], h, c] + edge[eid[k], h, c])``
    for position ``k`` of row ``r`` (no ``edge``: that term is 0). ``(tptr, tidx, teid)`` serves the backward."""
    kernels = backend_for(a.device)
    _check(kernels, ptr, idx, eid, a, b, edge, att, "additive_scores")
    return kernels.additive_scores(ptr, idx, eid, a, b, edge, att, negative_slope)


@additive_scores_op.register_fake
def _(ptr, idx, eid, tptr, tidx, teid, a, b, edge, att, negative_slope):
    return a.new_empty((eid.shape[0], a.shape[1]))


@torch.library.custom_op("geomlearn::additive_scores_backward", mutates_args=())
def additive_scores_backward_op(ptr: Tensor, idx: Tensor, eid: Tensor, own: Tensor, other: Tensor,
                                edge: Optional[Tensor], att: Tensor, negative_slope: float, grad: Tensor,
                                need_att: bool, need_edge: bool) -> tuple[Tensor, Tensor, Tensor]:
    """Backward of :func:`additive_scores_op` along the layout ``(ptr, idx, eid)`` whose rows index ``own``: with
    ``d[e, h, c] = grad[e, h] att[h, c] LeakyReLU'(pre[e, h, c])`` it returns ``grad_own [R, H, C]`` (the sum of
    ``d`` over each row), ``[R, H, C]`` per-row sums of ``grad[e, h] LeakyReLU(pre[e, h, c])`` (``need_att``; their
    sum over rows is ``att``'s gradient) and ``d`` itself, ``[E, H, C]`` (``need_edge``; the gradient of ``edge``).
    Walked on the CSR it gives the targets' gradient, on the CSC the sources'."""
    kernels = backend_for(own.device)
    _check(kernels, ptr, idx, eid, own, other, edge, att, "additive_scores backward")
    if grad.shape != (eid.shape[0], own.shape[1]):
        raise ValueError(f"additive_scores backward: grad has shape {list(grad.shape)}, expected "
                         f"{[eid.shape[0], own.shape[1]]}")
    return kernels.additive_scores_backward(ptr, idx, eid, own, other, edge, att, negative_slope, grad, need_att,
                                            need_edge)


@additive_scores_backward_op.register_fake
def _(ptr, idx, eid, own, other, edge, att, negative_slope, grad, need_att, need_edge):
    rows, heads, chans = ptr.shape[0] - 1, own.shape[1], own.shape[2]
    return (own.new_empty((rows, heads, chans)), own.new_empty((rows, heads, chans) if need_att else (0,)),
            own.new_empty((eid.shape[0], heads, chans) if need_edge else (0,)))


def _setup_context(ctx, inputs, output):
    ptr, idx, eid, tptr, tidx, teid, a, b, edge, att, negative_slope = inputs
    ctx.negative_slope = negative_slope
    ctx.save_for_backward(ptr, idx, eid, tptr, tidx, teid, a, b, edge, att)


def _backward(ctx, grad):
    # The CSR walk gives the targets' gradient, att's and edge's; the CSC walk (the same kernel with the roles of a
    # and b swapped: pre is symmetric in them) the sources'. No [E, H, C] tensor unless edge needs its gradient.
    ptr, idx, eid, tptr, tidx, teid, a, b, edge, att = ctx.saved_tensors
    need_a, need_b, need_edge, need_att = ctx.needs_input_grad[6], ctx.needs_input_grad[7], ctx.needs_input_grad[8], \
        ctx.needs_input_grad[9]
    grad = grad.contiguous()
    grad_a = grad_b = grad_edge = grad_att = None
    if need_a or need_att or need_edge:
        grad_a, att_rows, grad_edge = additive_scores_backward_op(ptr, idx, eid, a, b, edge, att, ctx.negative_slope,
                                                                  grad, need_att, need_edge)
        grad_a = grad_a if need_a else None
        grad_att = att_rows.sum(0) if need_att else None
        grad_edge = grad_edge if need_edge else None
    if need_b:
        grad_b = additive_scores_backward_op(tptr, tidx, teid, b, a, edge, att, ctx.negative_slope, grad, False,
                                             False)[0]
    return None, None, None, None, None, None, grad_a, grad_b, grad_edge, grad_att, None


additive_scores_op.register_autograd(_backward, setup_context=_setup_context)


def additive_scores(index: SparseIndex, a: Tensor, b: Tensor, att: Tensor, negative_slope: float = 0.2,
                    edge: Optional[Tensor] = None) -> Tensor:
    r"""Per-edge additive attention scores: the projection of a LeakyReLU of the summed endpoint features.

    .. math::
        \mathrm{out}_{e,h} = \sum_c \mathrm{att}_{h,c}\,
            \mathrm{LeakyReLU}\big(a_{i,h,c} + b_{j,h,c} + f_{e,h,c}\big) \quad \text{for each edge } e = (j \to i)

    GATv2's scores (:class:`~geomlearn.gnn.GATv2Conv`), where the nonlinearity comes before the attention vector so
    that the score cannot split into a target and a source term (as GAT's :func:`gather_sum` logits do). One pass
    over the CSR computes each edge's sum, LeakyReLU and projection in registers: the ``[E, H, C]`` tensors of the
    unfused computation (the gathered sum, its LeakyReLU, the product with ``att``, and as many again in the
    backward pass) are never formed. The backward pass walks the CSR for ``a``, ``att`` and ``f`` and the CSC for
    ``b``; LeakyReLU's derivative at 0 is ``negative_slope``, as torch's.

    Args:
        index: the graph.
        a: target features ``[num_dst, C]`` or ``[num_dst, H, C]``.
        b: source features of the same trailing shape, ``[num_src, ...]``.
        att: the attention vectors, ``[C]`` or ``[H, C]`` (the trailing shape of ``a``).
        negative_slope: the LeakyReLU's slope for negative inputs.
        edge: per-edge terms :math:`f` ``[E, ...]`` of the same trailing shape (projected edge features), or
            ``None``.

    Returns:
        ``[E]`` for 2-D inputs, ``[E, H]`` for 3-D inputs, in the index's edge order.
    """
    check_index(index)
    check_float("a", a, min_dim=2)
    if a.dim() > 3:
        raise ValueError(f"a: expected shape [num_dst, C] or [num_dst, H, C], got {list(a.shape)}")
    check_device("a", a, index)
    check_rows("a", a, index.num_dst, "one per target node")
    if b is None:
        raise TypeError("b: expected the source features, a tensor, got None")
    trailing = list(a.shape[1:])
    for name, values, rows, role in (("b", b, index.num_src, "one per source node"),
                                     ("edge", edge, index.num_edges, "one per edge")):
        if values is None:
            continue
        check_float(name, values, min_dim=2)
        check_like(name, values, a, "a", index)
        check_rows(name, values, rows, role)
        if list(values.shape[1:]) != trailing:
            raise ValueError(f"{name}: expected trailing shape {trailing} (that of a), got {list(values.shape[1:])}")
    check_float("att", att)
    check_like("att", att, a, "a", index)
    if list(att.shape) != trailing:
        raise ValueError(f"att: expected shape {trailing} (the trailing shape of a), got {list(att.shape)}")
    if not isinstance(negative_slope, (int, float)) or isinstance(negative_slope, bool):
        raise TypeError(f"negative_slope: expected a float, got {type(negative_slope).__name__}")

    def heads(values):
        return None if values is None else (values if values.dim() == 3 else values.unsqueeze(1))

    csr, csc = layouts(index, b.requires_grad)
    out = additive_scores_op(*csr, *csc, heads(a), heads(b), heads(edge), att.reshape(heads(a).shape[1:]),
                             float(negative_slope))
    return out if a.dim() == 3 else out.squeeze(1)
