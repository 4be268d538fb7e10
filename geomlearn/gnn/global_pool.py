r"""Graph-level readouts: every graph of a mini-batch reduced to one row, on :func:`~geomlearn.sparse.segment_reduce`.

.. math::
    r_b = \bigoplus_{n : \mathrm{batch}_n = b} x_n, \qquad \oplus \in \{\sum, \mathrm{mean}, \max\}

Drop-ins for ``torch_geometric.nn.global_add_pool`` / ``global_mean_pool`` / ``global_max_pool``: ``batch=None``
reduces every row into one (a ``[1, F]`` result, ``[1]`` for 1-D ``x``, as in torch_geometric), and ``size`` is the
number of graphs (``batch.max() + 1`` when omitted; graphs without nodes get 0). The reduction walks each graph's
rows once (a sorted ``batch``, as a ``DataLoader`` gives, needs no sort) with no atomics; the max's gradient goes
to the first row that attains it.
"""

from __future__ import annotations

from typing import Optional

from torch import Tensor

from ..sparse import SparseIndex, segment_reduce


def graph_membership(batch: Tensor, size: Optional[int], rows: int) -> SparseIndex:
    """The graph that sends row ``n`` to its graph ``batch[n]`` (checked: one entry per row, ids in range)."""
    if batch.dim() != 1 or batch.shape[0] != rows:
        raise ValueError(f"batch: expected the graph of each of the {rows} rows of x, a [{rows}] tensor, got "
                         f"{list(batch.shape)}")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise ValueError(f"size: expected the number of graphs, an int >= 0, got {size!r}")
    if size is not None and batch.numel():
        low, high = int(batch.min()), int(batch.max())
        if low < 0 or high >= size:
            raise ValueError(f"batch: graph ids must lie in [0, {size}) for size={size}, got ids in [{low}, {high}]")
    return SparseIndex.from_targets(batch, size)


def _pool(x: Tensor, batch: Optional[Tensor], size: Optional[int], reduce: str) -> Tensor:
    if not isinstance(x, Tensor) or x.dim() not in (1, 2):
        raise ValueError(f"x: expected node features [N, F] or values [N], got "
                         f"{list(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
    if batch is None:
        if reduce == "max":
            return x.max(dim=0, keepdim=True)[0]
        return getattr(x, reduce)(dim=0, keepdim=True)
    return segment_reduce(x, graph_membership(batch, size, x.shape[0]), reduce)


def global_add_pool(x: Tensor, batch: Optional[Tensor], size: Optional[int] = None) -> Tensor:
    """Sum of each graph's rows: ``[B, F]`` (``[1, F]`` with ``batch=None``)."""
    return _pool(x, batch, size, "sum")


def global_mean_pool(x: Tensor, batch: Optional[Tensor], size: Optional[int] = None) -> Tensor:
    """Mean of each graph's rows: ``[B, F]`` (0 for a graph without rows)."""
    return _pool(x, batch, size, "mean")


def global_max_pool(x: Tensor, batch: Optional[Tensor], size: Optional[int] = None) -> Tensor:
    """Feature-wise maximum of each graph's rows: ``[B, F]`` (0 for a graph without rows)."""
    return _pool(x, batch, size, "max")
