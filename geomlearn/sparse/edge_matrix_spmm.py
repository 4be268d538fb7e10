"""Aggregation through a matrix per edge: each message is the source's features times its edge's matrix (NNConv)."""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import check_device, check_float, check_index, check_like, check_rows
from .index import SparseIndex
from .kernels import backend_for
from .spmm import layouts


@torch.library.custom_op("geomlearn::edge_matrix_spmm", mutates_args=())
def edge_matrix_spmm_op(ptr: Tensor, idx: Tensor, eid: Tensor, tptr: Tensor, tidx: Tensor, teid: Tensor, x: Tensor,
                        weight: Tensor) -> Tensor:
    """``out [R, out]``: ``out[r] = sum_{k in row r} x[idx[k]] @ weight[eid[k]]`` on the CSR ``(ptr, idx, eid)``
    (``x [S, in]``, ``weight [E, in, out]``); the CSC ``(tptr, tidx, teid)`` serves the backward pass."""
    kernels = backend_for(x.device)
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"edge_matrix_spmm: weight has shape {list(weight.shape)}, x {list(x.shape)}")
    kernels.check_indices("edge_matrix_spmm", ptr, idx.shape[0], idx=(idx, 0, x.shape[0]),
                          eid=(eid, 0, weight.shape[0]))
    return kernels.edge_matrix_gather(ptr, idx, eid, x, weight)


@edge_matrix_spmm_op.register_fake
def _(ptr, idx, eid, tptr, tidx, teid, x, weight):
    return x.new_empty((ptr.shape[0] - 1, weight.shape[2]))


@torch.library.custom_op("geomlearn::edge_matrix_spmm_backward", mutates_args=())
def edge_matrix_spmm_backward_op(tptr: Tensor, tidx: Tensor, teid: Tensor, x: Tensor, weight: Tensor, grad: Tensor,
                                 need_weight: bool) -> tuple[Tensor, Tensor]:
    """``(grad_x, grad_weight)`` of :func:`edge_matrix_spmm_op` on the CSC (rows: sources, ``tidx``: targets):
    ``grad_x[j] = sum_e weight[e] @ grad[i]`` and ``grad_weight[e] = x[j] grad[i]^T`` for each edge ``e = (j -> i)``
    (``need_weight``; else an empty tensor)."""
    kernels = backend_for(x.device)
    if weight.shape[1] != x.shape[1] or grad.shape[1] != weight.shape[2]:
        raise ValueError(f"edge_matrix_spmm backward: weight has shape {list(weight.shape)}, x {list(x.shape)}, "
                         f"grad {list(grad.shape)}")
    if tptr.shape[0] - 1 > x.shape[0]:
        raise ValueError(f"edge_matrix_spmm backward: the layout has {tptr.shape[0] - 1} rows, x only {x.shape[0]}")
    kernels.check_indices("edge_matrix_spmm backward", tptr, tidx.shape[0], idx=(tidx, 0, grad.shape[0]),
                          eid=(teid, 0, weight.shape[0]))
    return kernels.edge_matrix_gather_backward(tptr, tidx, teid, x, weight, grad, need_weight)


@edge_matrix_spmm_backward_op.register_fake
def _(tptr, tidx, teid, x, weight, grad, need_weight):
    return torch.empty_like(x), torch.empty_like(weight) if need_weight else weight.new_empty(0)


def _setup_context(ctx, inputs, output):
    ptr, idx, eid, tptr, tidx, teid, x, weight = inputs
    ctx.save_for_backward(tptr, tidx, teid, x, weight)


def _backward(ctx, grad):
    tptr, tidx, teid, x, weight = ctx.saved_tensors
    need_x, need_weight = ctx.needs_input_grad[6], ctx.needs_input_grad[7]
    grad_x, grad_weight = edge_matrix_spmm_backward_op(tptr, tidx, teid, x, weight, grad.contiguous(), need_weight)
    return None, None, None, None, None, None, grad_x if need_x else None, grad_weight if need_weight else None


edge_matrix_spmm_op.register_autograd(_backward, setup_context=_setup_context)


def edge_matrix_spmm(index: SparseIndex, x: Tensor, weight: Tensor) -> Tensor:
    r"""Sum aggregation of messages that multiply the source's features by a matrix of their own edge.

    .. math::
        \mathrm{out}_{i} = \sum_{e = (j \to i)} x_j\, W_e, \qquad x_j \in \mathbb{R}^{\text{in}},\
        W_e \in \mathbb{R}^{\text{in} \times \text{out}}

    The aggregation of :class:`~geomlearn.gnn.NNConv` (Gilmer et al.'s edge network), where :math:`W_e` is a
    network of the edge's features. One pass over the CSR multiplies and sums in registers, so neither the gathered
    ``[E, in]`` features nor the ``[E, out]`` messages are formed (nor a batched matrix product of ``E`` 1-row
    matrices); the backward pass is one walk of the CSC, which sums the gradient of ``x`` and writes that of each
    :math:`W_e` (``[E, in, out]``, an input's gradient) once.

    Args:
        index: the graph.
        x: source features ``[num_src, in]``.
        weight: one matrix per edge, ``[E, in, out]``, in the index's edge order.

    Returns:
        ``[num_dst, out]``; a target without edges gets 0.
    """
    check_index(index)
    check_float("x", x, min_dim=2)
    if x.dim() != 2:
        raise ValueError(f"x: expected shape [num_src, in], got {list(x.shape)}")
    check_device("x", x, index)
    check_rows("x", x, index.num_src, "one per source node")
    check_float("weight", weight, min_dim=3)
    check_like("weight", weight, x, "x", index)
    if weight.dim() != 3 or weight.shape[:2] != (index.num_edges, x.shape[1]):
        raise ValueError(f"weight: expected shape [{index.num_edges}, {x.shape[1]}, out] (one [in, out] matrix per "
                         f"edge), got {list(weight.shape)}")
    csr, csc = layouts(index, x.requires_grad or weight.requires_grad)
    return edge_matrix_spmm_op(*csr, *csc, x.contiguous(), weight.contiguous())
