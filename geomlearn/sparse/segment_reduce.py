"""Reduce per-edge values into their targets."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._checks import check_device, check_float, check_index, check_reduce, check_rows
from .index import SparseIndex
from .spmm import REDUCTIONS, spmm_op


def segment_reduce(values: Tensor, index: SparseIndex, reduce: str = "sum") -> Tensor:
    r"""Reduce the values of each target's incoming edges.

    .. math::
        \mathrm{out}_i = \bigoplus_{e = (j \to i)} v_e, \qquad \oplus \in \{\sum, \mathrm{mean}, \max, \min\}

    It is :func:`spmm` with the edges themselves as the sources: the CSR walk reads ``values[eid]``, and
    the backward pass walks the one-entry-per-edge layout ``edge -> target``. A target with no edge gets 0.

    Args:
        values: per-edge values ``[E, ...]`` in the index's edge order.
        index: the graph.
        reduce: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"``.

    Returns:
        ``[num_dst, ...]``.
    """
    check_index(index)
    check_float("values", values)
    check_reduce(reduce, REDUCTIONS)
    check_rows("values", values, index.num_edges, "one per edge")
    check_device("values", values, index)
    num_edges = index.num_edges
    chans = math.prod(values.shape[1:])
    out = reduce_edges(index.csr().ptr, index.csr().eid, index.dst, values.reshape(num_edges, 1, chans), reduce)
    return out.reshape(index.num_dst, *values.shape[1:])


def reduce_edges(ptr: Tensor, eid: Tensor, dst: Tensor, values: Tensor, reduce: str) -> Tensor:
    """``[R, H, C]``: reduce ``values [E, H, C]`` over each CSR row ``(ptr, eid)``; ``dst [E]`` is each
    edge's row, which gives the transposed layout (edge ``e`` a row with the single entry ``dst[e]``)."""
    edge_rows = torch.arange(eid.shape[0] + 1, device=values.device, dtype=ptr.dtype)
    return spmm_op(ptr, eid, eid, edge_rows, dst, edge_rows[:-1], values, None, reduce)[0]
