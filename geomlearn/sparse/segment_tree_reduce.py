"""Reduce each target's incoming values as a balanced binary tree of a learnable binary operator."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ._checks import check_device, check_float, check_index, check_rows
from .index import SparseIndex


def segment_tree_reduce(values: Tensor, index: SparseIndex, combine: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
    r"""Fold each target's incoming edge values with ``combine`` along a balanced binary tree.

    For a target with incoming values :math:`v_1, \dots, v_d` (in CSR order, i.e. edge order),
    level 1 combines :math:`(v_1, v_2), (v_3, v_4), \dots` (a last odd value passes through), level 2 the
    results pairwise again, and so on: :math:`\lceil \log_2 d \rceil` levels, :math:`d - 1` applications
    of ``combine``. For an associative ``combine`` the result equals the sequential fold
    :math:`(((v_1 \circ v_2) \circ v_3) \circ \dots)`; for a learnable commutative one it is the
    O(log d)-depth aggregator of Ong & Veličković (2022).

    All targets advance one level together on a flat ``[E_level, C]`` tensor, so the work is
    :math:`O(E)` calls' worth of rows in :math:`O(\log \max d)` batched calls and nothing is padded to the
    largest degree. ``combine`` is any differentiable function of two ``[M, C]`` tensors (a module, say),
    so gradients flow through plain torch indexing.

    Args:
        values: per-edge values ``[E, C]`` in the index's edge order.
        index: the graph.
        combine: binary operator, ``combine(a [M, C], b [M, C]) -> [M, C]``.

    Returns:
        ``[num_dst, C]``; a target without incoming edges gets zeros.
    """
    check_index(index)
    check_float("values", values, min_dim=2)
    check_rows("values", values, index.num_edges, "one per edge")
    check_device("values", values, index)
    if not callable(combine):
        raise TypeError(f"combine: expected a callable of two tensors, got {type(combine).__name__}")
    csr = index.csr()
    ptr = csr.ptr.long()
    lengths = ptr[1:] - ptr[:-1]
    current = values[csr.eid.long()]
    segment = torch.repeat_interleave(torch.arange(index.num_dst, device=values.device), lengths)
    position = torch.arange(index.num_edges, device=values.device) - ptr[segment]
    length = lengths[segment]
    while bool((length > 1).any()):
        even = position % 2 == 0
        left = (even & (position + 1 < length)).nonzero()[:, 0]
        combined = combine(current[left], current[left + 1])
        if combined.shape != (left.shape[0], current.shape[1]):
            raise ValueError(f"combine: expected an output of shape {[left.shape[0], current.shape[1]]}, "
                             f"got {list(combined.shape)}")
        survivors = even.nonzero()[:, 0]
        paired = (position[survivors] + 1 < length[survivors]).nonzero()[:, 0]
        current = current[survivors].index_put((paired,), combined)
        segment, position, length = segment[survivors], position[survivors] // 2, (length[survivors] + 1) // 2
    return current.new_zeros(index.num_dst, current.shape[1]).index_put((segment,), current)
