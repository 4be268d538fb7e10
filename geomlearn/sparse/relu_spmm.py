"""Aggregation of rectified per-edge sums: each message is ``ReLU(x_j + f_e)`` (GINE)."""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import check_device, check_float, check_index, check_like, check_rows
from .index import SparseIndex
from .kernels import backend_for
from .spmm import layouts


def _check(kernels, name: str, ptr: Tensor, idx: Tensor, eid: Tensor, rows: int, x: Tensor, edge: Tensor) -> None:
    """What a kernel reads through: the layout's positions, ``idx`` within ``x``'s rows, ``eid`` within ``edge``'s."""
    if x.shape[1:] != edge.shape[1:]:
        raise ValueError(f"{name}: x has width {list(x.shape[1:])}, edge {list(edge.shape[1:])}")
    if ptr.shape[0] - 1 > rows:
        raise ValueError(f"{name}: the layout has {ptr.shape[0] - 1} rows, the row features only {rows}")
    kernels.check_indices(name, ptr, idx.shape[0], idx=(idx, 0, x.shape[0]), eid=(eid, 0, edge.shape[0]))


@torch.library.custom_op("geomlearn::relu_spmm", mutates_args=())
def relu_spmm_op(ptr: Tensor, idx: Tensor, eid: Tensor, tptr: Tensor, tidx: Tensor, teid: Tensor, x: Tensor,
                 edge: Tensor) -> Tensor:
    """``out [R, C]``: ``out[r] = sum_{k in row r} ReLU(x[idx[k]] + edge[eid[k]])`` on the CSR ``(ptr, idx, eid)``;
    the CSC ``(tptr, tidx, teid)`` serves the backward pass."""
    kernels = backend_for(x.device)
    _check(kernels, "relu_spmm", ptr, idx, eid, ptr.shape[0] - 1, x, edge)
    return kernels.relu_sum(ptr, idx, eid, x, edge)


@relu_spmm_op.register_fake
def _(ptr, idx, eid, tptr, tidx, teid, x, edge):
    return x.new_empty((ptr.shape[0] - 1, x.shape[1]))


@torch.library.custom_op("geomlearn::relu_spmm_backward", mutates_args=())
def relu_spmm_backward_op(tptr: Tensor, tidx: Tensor, teid: Tensor, x: Tensor, edge: Tensor,
                          grad: Tensor) -> tuple[Tensor, Tensor]:
    """``(grad_x, grad_edge)`` of :func:`relu_spmm_op` on the CSC ``(tptr, tidx, teid)`` (rows: sources, ``tidx``:
    targets): with ``m_e = [x_j + edge_e > 0]`` per edge ``e = (j -> i)``, ``grad_edge_e = m_e grad_i`` and
    ``grad_x_j = sum_e m_e grad_i``."""
    kernels = backend_for(x.device)
    _check(kernels, "relu_spmm backward", tptr, tidx, teid, x.shape[0], grad, edge)
    if x.shape[1:] != grad.shape[1:]:
        raise ValueError(f"relu_spmm backward: grad has width {list(grad.shape[1:])}, x {list(x.shape[1:])}")
    return kernels.relu_sum_backward(tptr, tidx, teid, x, edge, grad)


@relu_spmm_backward_op.register_fake
def _(tptr, tidx, teid, x, edge, grad):
    return torch.empty_like(x), torch.empty_like(edge)


def _setup_context(ctx, inputs, output):
    ptr, idx, eid, tptr, tidx, teid, x, edge = inputs
    ctx.save_for_backward(tptr, tidx, teid, x, edge)


def _backward(ctx, grad):
    tptr, tidx, teid, x, edge = ctx.saved_tensors
    grad_x, grad_edge = relu_spmm_backward_op(tptr, tidx, teid, x, edge, grad.contiguous())
    return (None, None, None, None, None, None, grad_x if ctx.needs_input_grad[6] else None,
            grad_edge if ctx.needs_input_grad[7] else None)


relu_spmm_op.register_autograd(_backward, setup_context=_setup_context)


def relu_spmm(index: SparseIndex, x: Tensor, edge: Tensor) -> Tensor:
    r"""Sum aggregation of rectified messages that add a per-edge term to the source's features.

    .. math::
        \mathrm{out}_{i} = \sum_{e = (j \to i)} \mathrm{ReLU}\big(x_j + f_e\big)

    The aggregation of :class:`~geomlearn.gnn.GINEConv` (Hu et al.'s GIN with edge features). One pass over the
    CSR adds each edge's term to its source's features, rectifies and sums in registers, so the ``[E, C]`` gathered
    features, sums and messages of the unfused computation are never formed; the backward pass is one walk of the
    CSC, which writes the gradient of ``f`` (``[E, C]``, an input's gradient) and sums that of ``x`` (no atomics).
    ReLU's derivative at 0 is 0, as torch's.

    Args:
        index: the graph.
        x: source features ``[num_src, C]``.
        edge: per-edge terms ``[E, C]`` (edge features, or their projection).

    Returns:
        ``[num_dst, C]``; a target without edges gets 0.
    """
    check_index(index)
    check_float("x", x, min_dim=2)
    if x.dim() != 2:
        raise ValueError(f"x: expected shape [num_src, C], got {list(x.shape)}")
    check_device("x", x, index)
    check_rows("x", x, index.num_src, "one per source node")
    check_float("edge", edge, min_dim=2)
    check_like("edge", edge, x, "x", index)
    if edge.shape != (index.num_edges, x.shape[1]):
        raise ValueError(f"edge: expected shape [{index.num_edges}, {x.shape[1]}] (one row per edge, the width of x), "
                         f"got {list(edge.shape)}")
    csr, csc = layouts(index, x.requires_grad or edge.requires_grad)
    return relu_spmm_op(*csr, *csc, x.contiguous(), edge.contiguous())
