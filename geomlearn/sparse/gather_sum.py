"""Per-edge sums of a target value and a source value: attention logits from per-node scores."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ._checks import check_device, check_float, check_index, check_like, check_rows
from .index import SparseIndex
from .segment_reduce import reduce_edges
from .spmm import layouts


@torch.library.custom_op("geomlearn::gather_sum", mutates_args=())
def gather_sum_op(ptr: Tensor, eid: Tensor, tptr: Tensor, teid: Tensor, dst: Tensor, src: Tensor,
                  a: Optional[Tensor], b: Optional[Tensor]) -> Tensor:
    """``out [E, H] = a[dst] + b[src]`` (a missing term is 0); the CSR ``(ptr, eid)`` and CSC ``(tptr, teid)``
    serve the backward pass."""
    if a is None:
        return b.index_select(0, src.long())
    if b is None:
        return a.index_select(0, dst.long())
    return a.index_select(0, dst.long()) + b.index_select(0, src.long())


@gather_sum_op.register_fake
def _(ptr, eid, tptr, teid, dst, src, a, b):
    like = a if a is not None else b
    return like.new_empty((dst.shape[0], like.shape[1]))


def _setup_context(ctx, inputs, output):
    ctx.save_for_backward(*inputs[:6])


def _backward(ctx, grad):
    # The adjoint of a gather is a segment sum: grad_a_i sums the edges into i (CSR), grad_b_j those out of j (CSC).
    ptr, eid, tptr, teid, dst, src = ctx.saved_tensors
    grad3 = grad.unsqueeze(1).contiguous()
    grad_a = reduce_edges(ptr, eid, dst, grad3, "sum").squeeze(1) if ctx.needs_input_grad[6] else None
    grad_b = reduce_edges(tptr, teid, src, grad3, "sum").squeeze(1) if ctx.needs_input_grad[7] else None
    return None, None, None, None, None, None, grad_a, grad_b


gather_sum_op.register_autograd(_backward, setup_context=_setup_context)


def gather_sum(index: SparseIndex, a: Optional[Tensor], b: Optional[Tensor]) -> Tensor:
    r"""Per-edge sum of the target's and the source's values.

    .. math::
        \mathrm{out}_{e} = a_i + b_j \quad \text{for each edge } e = (j \to i)

    The additive counterpart of :func:`sddmm` (GAT's logits :math:`a^\top \Theta x_i + a^\top \Theta x_j`
    from per-node scores). With ``b=None`` it is the gather :math:`a_i` (``a=None``: :math:`b_j`), the
    per-edge copy of node values (normalisation factors, projections) whose backward pass stays a segment
    sum. The forward pass gathers; the backward pass reduces the gradient over the cached CSR (for ``a``)
    and CSC (for ``b``), deterministic and without atomics (``torch``'s own gather backward is a serial
    ``index_add_``).

    Args:
        index: the graph.
        a: target values ``[num_dst, ...]``, or ``None``.
        b: source values ``[num_src, ...]`` of the same trailing shape, or ``None``.

    Returns:
        ``[E, ...]`` in the index's edge order.
    """
    check_index(index)
    if a is None and b is None:
        raise ValueError("a, b: expected at least one of the target values a and the source values b, got None twice")
    for name, values, rows, role in (("a", a, index.num_dst, "one per target node"),
                                     ("b", b, index.num_src, "one per source node")):
        if values is not None:
            check_float(name, values)
            check_device(name, values, index)
            check_rows(name, values, rows, role)
    if a is not None and b is not None:
        if a.shape[1:] != b.shape[1:]:
            raise ValueError(f"b: expected a [num_src, ...] tensor with the trailing shape of a {list(a.shape)}, got "
                             f"{list(b.shape)}")
        check_like("b", b, a, "a", index)
    like = a if a is not None else b
    trailing = like.shape[1:]

    width = trailing.numel()

    def flat(values):
        return None if values is None else values.reshape(values.shape[0], width)

    csr, csc = layouts(index, b is not None and b.requires_grad)
    out = gather_sum_op(csr.ptr, csr.eid, csc.ptr, csc.eid, index.dst, index.src, flat(a), flat(b))
    return out.reshape(index.num_edges, *trailing)
