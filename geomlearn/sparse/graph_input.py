"""Turn whatever graph a user hands a layer into a :class:`~geomlearn.sparse.SparseIndex`.

Layers accept torch_geometric's ``edge_index [2, E]``, a ``torch.sparse`` adjacency ``adj_t`` (transposed, as
torch_geometric takes it: ``[num_dst, num_src]``, its values the edge weights), a prebuilt ``SparseIndex``
(the fast path: its layouts and self-loop graph are built once and reused every call), or a torch_geometric
``Data``.
"""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor
from torch_geometric.data import Data

from .index import SparseIndex

Graph = Union[Tensor, SparseIndex, Data]
SPARSE_LAYOUTS = (torch.sparse_coo, torch.sparse_csr, torch.sparse_csc)


def is_sparse_adjacency(graph) -> bool:
    """Whether ``graph`` is a ``torch.sparse`` matrix (COO, CSR or CSC)."""
    return isinstance(graph, Tensor) and graph.layout in SPARSE_LAYOUTS


def adjacency_edges(adj_t: Tensor) -> tuple[Tensor, Tensor]:
    """``(edge_index [2, E], values [E, ...])`` of a ``torch.sparse`` adjacency ``adj_t [num_dst, num_src]``
    (torch_geometric's transposed layout): row 0 the sources, row 1 the targets, in coalesced order.

    Raises:
        ValueError: ``adj_t`` has other than two sparse dimensions.
    """
    if adj_t.sparse_dim() != 2:
        raise ValueError(f"edge_index: expected a sparse adjacency with 2 sparse dimensions, got "
                         f"{adj_t.sparse_dim()} (shape {list(adj_t.shape)})")
    coo = adj_t.to_sparse_coo().coalesce()
    targets, sources = coo.indices()
    return torch.stack([sources, targets]), coo.values()


def edge_features_of(graph, edge_attr: Optional[Tensor]) -> tuple[object, Optional[Tensor]]:
    """``(graph, edge_attr)`` for a layer taking edge features: a ``torch.sparse`` adjacency whose values are the
    edge features (``[N_dst, N_src, F]`` or ``[N_dst, N_src]``, torch_geometric's convention when ``edge_attr`` is
    not given) becomes a ``SparseIndex`` of its shape and those values, in its coalesced edge order; anything else
    is returned as it is."""
    if edge_attr is not None or not is_sparse_adjacency(graph):
        return graph, edge_attr
    edges, values = adjacency_edges(graph)
    return SparseIndex(edges, num_nodes=(graph.shape[1], graph.shape[0])), values


def declared_targets(graph) -> Optional[int]:
    """The number of targets a torch_geometric ``EdgeIndex`` declares (its ``sparse_size(1)``), else ``None``."""
    sparse_size = getattr(graph, "sparse_size", None)
    if isinstance(graph, Tensor) and callable(sparse_size) and type(graph).__name__ == "EdgeIndex":
        return sparse_size(1)
    return None


def as_sparse_index(graph: Graph, num_src: int, num_dst: Optional[int] = None,
                    edge_weight: Optional[Tensor] = None,
                    flow: str = "source_to_target") -> tuple[SparseIndex, Optional[Tensor]]:
    """The graph as a ``SparseIndex`` (sources to targets) checked against the feature sizes, and its edge weights.

    Args:
        graph: ``edge_index [2, E]`` (sized by the features, as torch_geometric does), a ``torch.sparse``
            adjacency ``adj_t [num_dst, num_src]`` (its values are the edge weights), a ``SparseIndex``, or a
            ``Data`` with ``edge_index`` (its ``edge_weight``, if any, is used when ``edge_weight`` is not
            given).
        num_src: rows of the source features.
        num_dst: rows of the target features; ``None`` for a graph on one node set (``num_dst = num_src``).
        edge_weight: optional ``[E]`` weights.
        flow: ``"source_to_target"`` (messages from ``edge_index[0]`` to ``edge_index[1]``) or
            ``"target_to_source"`` (the reverse); torch_geometric's ``flow``. It applies to ``edge_index``
            tensors and ``Data``; a ``SparseIndex`` and a sparse adjacency already say which way messages go.

    Raises:
        TypeError: ``graph`` is none of these kinds.
        ValueError: the graph's node counts do not match the feature rows, an index is out of range,
            ``edge_weight`` does not hold one value per edge, or a sparse adjacency comes with ``edge_weight``
            too.
    """
    if flow not in ("source_to_target", "target_to_source"):
        raise ValueError(f"flow: expected 'source_to_target' or 'target_to_source', got {flow!r}")
    square = num_dst is None
    num_dst = num_src if square else num_dst
    if isinstance(graph, Data):
        if edge_weight is None:
            edge_weight = getattr(graph, "edge_weight", None)
        graph = graph.edge_index
        if graph is None:
            raise ValueError("edge_index: the Data holds no edge_index")
    if is_sparse_adjacency(graph):
        if edge_weight is not None:
            raise ValueError("edge_weight: a sparse adjacency carries its weights as its values; pass one or the other")
        if graph.dim() != 2:
            raise ValueError(f"edge_index: expected a 2-D sparse adjacency, got shape {list(graph.shape)}")
        edges, edge_weight = adjacency_edges(graph)
        index = SparseIndex(edges, num_nodes=(graph.shape[1], graph.shape[0]))
    elif isinstance(graph, Tensor):
        if flow == "target_to_source" and graph.dim() == 2:
            graph = graph.flip(0)
        index = SparseIndex(graph, num_nodes=num_src if square else (num_src, num_dst))
    elif isinstance(graph, SparseIndex):
        index = graph
    else:
        raise TypeError(
            f"edge_index: expected an edge_index tensor [2, E], a torch.sparse adjacency, a "
            f"geomlearn.sparse.SparseIndex or a torch_geometric Data, got {type(graph).__name__}"
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


def split_features(x: Union[Tensor, tuple], allow_missing_dst: bool = False) -> tuple[Tensor, Optional[Tensor], bool]:
    """``(x_src, x_dst, bipartite)`` from ``x`` or a pair ``(x_src, x_dst)``; checks that they are tensors
    (``x_dst`` may be ``None`` with ``allow_missing_dst``: torch_geometric's ``(x_src, None)``)."""
    if isinstance(x, (tuple, list)):
        if len(x) != 2:
            raise ValueError(f"x: expected a tensor or a pair (x_src, x_dst), got a sequence of {len(x)}")
        x_src, x_dst = x
        bipartite = True
    else:
        x_src = x_dst = x
        bipartite = False
    for name, value in (("x", x_src), ("x_dst", x_dst)):
        if value is None and name == "x_dst" and allow_missing_dst:
            continue
        if not isinstance(value, Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(value).__name__}")
        if not value.is_floating_point():
            raise TypeError(f"{name}: expected floating-point features, got dtype {value.dtype}")
    return x_src, x_dst, bipartite


def graph_and_features(x, graph: Graph, edge_weight: Optional[Tensor] = None, *, node_dim: int = 0,
                       flow: str = "source_to_target", size: Optional[tuple[int, int]] = None,
                       allow_missing_dst: bool = False):
    """``(index, x_src, x_dst, edge_weight)`` for a layer's ``forward(x, edge_index, edge_weight)``.

    ``node_dim`` is the node axis of the features (``-2`` for torch_geometric's ``[..., N, C]``, which takes
    batched features ``[B, N, C]`` on one graph); ``size`` is torch_geometric's ``(N_src, N_dst)``, checked
    against the features it describes. With ``allow_missing_dst`` the pair may be ``(x_src, None)``: the
    targets are then counted by ``size``, a sparse adjacency or a ``SparseIndex``, else taken to be the
    sources (torch_geometric's rule; a torch_geometric ``EdgeIndex`` counts them by its ``sparse_size``)."""
    x_src, x_dst, bipartite = split_features(x, allow_missing_dst)
    num_src = x_src.shape[node_dim] if x_src.dim() else 0
    if x_dst is None:
        if size is not None and size[1] is not None:
            num_dst = size[1]
        elif is_sparse_adjacency(graph):
            num_dst = graph.shape[0]
        elif isinstance(graph, SparseIndex):
            num_dst = graph.num_dst
        elif declared_targets(graph) is not None:
            num_dst = declared_targets(graph)
        else:
            num_dst = num_src
    else:
        num_dst = x_dst.shape[node_dim] if bipartite and x_dst.dim() else None
    if size is not None:
        if not isinstance(size, (tuple, list)) or len(size) != 2:
            raise ValueError(f"size: expected a pair (N_src, N_dst), got {size!r}")
        if size[0] is not None and size[0] != num_src or \
                size[1] is not None and size[1] != (num_src if num_dst is None else num_dst):
            raise ValueError(f"size: {tuple(size)} does not match the features' node counts "
                             f"({num_src}, {num_src if num_dst is None else num_dst})")
    index, edge_weight = as_sparse_index(graph, num_src, num_dst, edge_weight, flow=flow)
    if edge_weight is not None:
        edge_weight = edge_weight.to(x_src.dtype)
    return index, x_src, x_dst, edge_weight


__all__ = ["Graph", "adjacency_edges", "as_sparse_index", "declared_targets", "edge_features_of", "graph_and_features",
           "is_sparse_adjacency", "split_features"]
