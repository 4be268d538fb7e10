"""Turn whatever graph a user hands a layer into a :class:`~geomlearn.sparse.SparseIndex`.

Layers accept torch_geometric's ``edge_index [2, E]``, a prebuilt ``SparseIndex`` (the fast path: its
layouts and self-loop graph are built once and reused every call), or a torch_geometric ``Data``.
"""

from __future__ import annotations

from typing import Optional, Union

from torch import Tensor
from torch_geometric.data import Data

from .index import SparseIndex

Graph = Union[Tensor, SparseIndex, Data]


def as_sparse_index(graph: Graph, num_src: int, num_dst: Optional[int] = None,
                    edge_weight: Optional[Tensor] = None) -> tuple[SparseIndex, Optional[Tensor]]:
    """The graph as a ``SparseIndex`` checked against the feature sizes, and its edge weights.

    Args:
        graph: ``edge_index [2, E]`` (sized by the features, as torch_geometric does), a ``SparseIndex``,
            or a ``Data`` with ``edge_index`` (its ``edge_weight``, if any, is used when ``edge_weight`` is
            not given).
        num_src: rows of the source features.
        num_dst: rows of the target features; ``None`` for a graph on one node set (``num_dst = num_src``).
        edge_weight: optional ``[E]`` weights.

    Raises:
        TypeError: ``graph`` is none of the three kinds.
        ValueError: the graph's node counts do not match the feature rows, an index is out of range, or
            ``edge_weight`` does not hold one value per edge.
    """
    square = num_dst is None
    num_dst = num_src if square else num_dst
    if isinstance(graph, Data):
        if edge_weight is None:
            edge_weight = getattr(graph, "edge_weight", None)
        graph = SparseIndex.from_data(graph)
    if isinstance(graph, Tensor):
        index = SparseIndex(graph, num_nodes=num_src if square else (num_src, num_dst))
    elif isinstance(graph, SparseIndex):
        index = graph
    else:
        raise TypeError(
            f"edge_index: expected an edge_index tensor [2, E], a geomlearn.sparse.SparseIndex or a "
            f"torch_geometric Data, got {type(graph).__name__}"
        )
    if index.num_src != num_src or index.num_dst != num_dst:
        raise ValueError(
            f"x: the graph has {index.num_src} source and {index.num_dst} target nodes, but the features "
            f"have {num_src} source and {num_dst} target rows"
        )
    if edge_weight is not None:
        if not isinstance(edge_weight, Tensor) or edge_weight.dim() != 1 or edge_weight.shape[0] != index.num_edges:
            shape = list(edge_weight.shape) if isinstance(edge_weight, Tensor) else type(edge_weight).__name__
            raise ValueError(f"edge_weight: expected a tensor of shape [{index.num_edges}] (one per edge), got {shape}")
    return index, edge_weight


def split_features(x: Union[Tensor, tuple]) -> tuple[Tensor, Tensor, bool]:
    """``(x_src, x_dst, bipartite)`` from ``x`` or a pair ``(x_src, x_dst)``; checks that they are tensors."""
    if isinstance(x, (tuple, list)):
        if len(x) != 2:
            raise ValueError(f"x: expected a tensor or a pair (x_src, x_dst), got a sequence of {len(x)}")
        x_src, x_dst = x
        bipartite = True
    else:
        x_src = x_dst = x
        bipartite = False
    for name, value in (("x", x_src), ("x_dst", x_dst)):
        if not isinstance(value, Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(value).__name__}")
        if not value.is_floating_point():
            raise TypeError(f"{name}: expected floating-point features, got dtype {value.dtype}")
    return x_src, x_dst, bipartite


def graph_and_features(x, graph: Graph, edge_weight: Optional[Tensor] = None):
    """``(index, x_src, x_dst, edge_weight)`` for a layer's ``forward(x, edge_index, edge_weight)``."""
    x_src, x_dst, bipartite = split_features(x)
    index, edge_weight = as_sparse_index(graph, x_src.shape[0], x_dst.shape[0] if bipartite else None, edge_weight)
    if edge_weight is not None:
        edge_weight = edge_weight.to(x_src.dtype)
    return index, x_src, x_dst, edge_weight


__all__ = ["Graph", "as_sparse_index", "graph_and_features", "split_features"]
