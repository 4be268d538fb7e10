"""Dropout on node features that may be stored sparse (bag-of-words inputs).

Dropping an entry that is zero changes nothing, so dropout on a sparse ``[N, F]`` matrix only needs to
draw for its stored values: the result has the distribution of dense dropout at ``nnz`` random draws
instead of ``N F`` (on Cora 49k instead of 3.9M; on CPU the draws dominate a small model's epoch).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

_SPARSE_LAYOUTS = (torch.sparse_coo, torch.sparse_csr)


def feature_dropout(x: Tensor, p: float, training: bool = True) -> Tensor:
    r"""``F.dropout`` for dense, sparse COO or sparse CSR features, keeping the layout: each stored value is
    zeroed with probability ``p`` and the others scaled by :math:`1 / (1 - p)`.

    Raises:
        ValueError: ``x`` in another sparse layout (CSC, BSR, ...).
    """
    if x.layout == torch.strided:
        return dense_dropout(x, p, training)
    if x.layout not in _SPARSE_LAYOUTS:
        raise ValueError(f"x: expected dense, sparse COO or sparse CSR features, got layout {x.layout}")
    if not training or p == 0:
        return x
    if x.layout == torch.sparse_coo:
        x = x.coalesce()
        return torch.sparse_coo_tensor(x.indices(), dense_dropout(x.values(), p), x.shape, is_coalesced=True,
                                       check_invariants=False)
    return torch.sparse_csr_tensor(x.crow_indices(), x.col_indices(), dense_dropout(x.values(), p), x.shape,
                                   check_invariants=False)


def dense_dropout(x: Tensor, p: float, training: bool = True) -> Tensor:
    """``F.dropout(x, p, training)`` with the keep-mask drawn as ``torch.rand(x.shape) >= p`` on the CPU.

    The outputs have ``F.dropout``'s distribution (each entry kept with probability ``1 - p`` and scaled by
    :math:`1 / (1 - p)`), but uniform draws cost half of the CPU ``bernoulli_`` that ``F.dropout`` runs, and in a
    deep model such as GCNII (a mask per layer) those draws are most of a training step. On other devices, for
    ``p`` of 0 or 1 and outside training this is ``F.dropout`` itself.
    """
    if x.device.type != "cpu" or not training or p in (0, 1) or not x.is_floating_point():
        return F.dropout(x, p, training)
    if not 0 < p < 1:
        raise ValueError(f"p: expected a dropout probability between 0 and 1, got {p!r}")
    keep = torch.rand(x.shape, dtype=x.dtype) >= p
    return x * keep.to(x.dtype).mul_(1 / (1 - p))
