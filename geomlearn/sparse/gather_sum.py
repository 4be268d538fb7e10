"""Per-edge sums of a target value and a source value: attention logits from per-node scores."""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import check_device, check_float, check_index, check_like, check_rows
from .index import SparseIndex
from .segment_reduce import reduce_edges
from .spmm import layouts


@torch.library.custom_op("geomlearn::gather_sum", mutates_args=())
def gather_sum_op(ptr: Tensor, eid: Tensor, tptr: Tensor, teid: Tensor, dst: Tensor, src: Tensor, a: Tensor,
                  b: Tensor) -> Tensor:
    """``out [E, H] = a[dst] + b[src]``; the CSR ``(ptr, eid)`` and CSC ``(tptr, teid)`` serve the backward pass."""
    return a.index_select(0, dst.long()) + b.index_select(0, src.long())


@gather_sum_op.register_fake
def _(ptr, eid, tptr, teid, dst, src, a, b):
    return a.new_empty((dst.shape[0], a.shape[1]))


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


def gather_sum(index: SparseIndex, a: Tensor, b: Tensor) -> Tensor:
    r"""Per-edge sum of the target's and the source's values.

    .. math::
        \mathrm{out}_{e} = a_i + b_j \quad \text{for each edge } e = (j \to i)

    The additive counterpart of :func:`sddmm` (GAT's logits :math:`a^\top \Theta x_i + a^\top \Theta x_j`
    from per-node scores). The forward pass gathers; the backward pass reduces the ``[E, H]`` gradient
    over the cached CSR (for ``a``) and CSC (for ``b``), deterministic and without atomics.

    Args:
        index: the graph.
        a: target values ``[num_dst]`` or ``[num_dst, H]``.
        b: source values of the same trailing shape, ``[num_src, ...]``.

    Returns:
        ``[E]`` or ``[E, H]`` in the index's edge order.
    """
    check_index(index)
    check_float("a", a)
    check_float("b", b)
    if a.dim() > 2 or a.shape[1:] != b.shape[1:]:
        raise ValueError(f"b: expected a [num_src] or [num_src, H] tensor matching a {list(a.shape)}, got "
                         f"{list(b.shape)}")
    check_device("a", a, index)
    check_like("b", b, a, "a", index)
    check_rows("a", a, index.num_dst, "one per target node")
    check_rows("b", b, index.num_src, "one per source node")
    a2, b2 = (a, b) if a.dim() == 2 else (a.unsqueeze(1), b.unsqueeze(1))
    csr, csc = layouts(index, b.requires_grad)
    out = gather_sum_op(csr.ptr, csr.eid, csc.ptr, csc.eid, index.dst, index.src, a2, b2)
    return out if a.dim() == 2 else out.squeeze(1)
