"""Softmax of per-edge scores over each target's incoming edges (attention normalisation)."""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import check_device, check_float, check_index, check_rows
from .index import SparseIndex
from .kernels import backend_for
from .segment_reduce import reduce_edges


@torch.library.custom_op("geomlearn::segment_softmax", mutates_args=())
def segment_softmax_op(ptr: Tensor, eid: Tensor, dst: Tensor, scores: Tensor) -> Tensor:
    """Softmax of ``scores [E, H]`` over the positions of each CSR row ``(ptr, eid)``; ``dst [E]`` is
    each edge's row (for the backward pass). Returns ``[E, H]``."""
    kernels = backend_for(scores.device)
    kernels.check_indices("segment_softmax", ptr, eid.shape[0], eid=(eid, 0, scores.shape[0]))
    return kernels.segment_softmax(ptr, eid, scores)


@segment_softmax_op.register_fake
def _(ptr, eid, dst, scores):
    return torch.empty_like(scores)


def _setup_context(ctx, inputs, output):
    ptr, eid, dst, _ = inputs
    ctx.save_for_backward(ptr, eid, dst, output)


def _backward(ctx, grad):
    ptr, eid, dst, alpha = ctx.saved_tensors
    weighted = alpha * grad
    per_row = reduce_edges(ptr, eid, dst, weighted.unsqueeze(1), "sum").squeeze(1)
    return None, None, None, weighted - alpha * per_row[dst.long()]


segment_softmax_op.register_autograd(_backward, setup_context=_setup_context)


def segment_softmax(scores: Tensor, index: SparseIndex) -> Tensor:
    r"""Softmax of per-edge scores over the incoming edges of each target.

    .. math::
        \alpha_{e,h} = \frac{\exp(s_{e,h} - m_{i,h})}{\sum_{e' \to i} \exp(s_{e',h} - m_{i,h})},
        \qquad m_{i,h} = \max_{e' \to i} s_{e',h}, \quad e = (j \to i)

    Backward: :math:`\partial s_e = \alpha_e \big(g_e - \sum_{e' \to i} \alpha_{e'} g_{e'}\big)`.

    Args:
        scores: ``[E]`` or ``[E, H]`` in the index's edge order.
        index: the graph.

    Returns:
        The same shape as ``scores``: for each target, its incoming edges' weights sum to 1.
    """
    check_index(index)
    check_float("scores", scores)
    if scores.dim() > 2:
        raise ValueError(f"scores: expected shape [E] or [E, H], got {list(scores.shape)}")
    check_rows("scores", scores, index.num_edges, "one per edge")
    check_device("scores", scores, index)
    csr = index.csr()
    scores2 = scores if scores.dim() == 2 else scores.unsqueeze(1)
    out = segment_softmax_op(csr.ptr, csr.eid, index.dst, scores2)
    return out if scores.dim() == 2 else out.squeeze(1)
