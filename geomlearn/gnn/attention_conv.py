"""What the multi-head attention layers (GAT, GATv2, Transformer) share: edge features checked against the
graph, self loops with filled edge features, heads concatenated or averaged, and the attention weights returned
in torch_geometric's form."""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor

from ..argument_checks import check_channels, check_int, check_probability, check_real, check_width
from ..sparse import SparseIndex, segment_reduce
from ..sparse.graph_input import Graph, is_sparse_adjacency
from .message_passing import MessagePassing


class AttentionConv(MessagePassing):
    """Base of the attention layers: ``heads``, ``out_channels``, ``concat`` and ``edge_dim`` are set by the
    subclass; ``fill_value`` where it adds self loops."""

    heads: int
    out_channels: int
    concat: bool
    edge_dim: Optional[int]
    fill_value: Union[float, str] = "mean"

    def set_heads(self, in_channels, out_channels: int, heads: int, concat: bool, dropout: float,
                  edge_dim: Optional[int]) -> None:
        """Check and keep the options every attention layer has."""
        check_channels("in_channels", in_channels, lazy=True, pair=True)
        check_channels("out_channels", out_channels)
        check_int("heads", heads)
        check_probability("dropout", dropout)
        check_int("edge_dim", edge_dim, optional=True)
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.concat, self.dropout, self.edge_dim = concat, dropout, edge_dim

    def set_self_loops(self, negative_slope: float, add_self_loops: bool, fill_value) -> None:
        """Check and keep the LeakyReLU slope and the self-loop options of the GAT layers."""
        check_real("negative_slope", negative_slope)
        if fill_value != "mean":
            check_real("fill_value", fill_value, what="'mean' or a finite number")
        self.negative_slope, self.add_self_loops, self.fill_value = negative_slope, add_self_loops, fill_value

    def checked_edge_attr(self, edge_attr: Optional[Tensor], index: SparseIndex) -> Optional[Tensor]:
        """``edge_attr`` as ``[E, edge_dim]`` (a ``[E]`` vector is one feature per edge), or ``None``."""
        if edge_attr is None:
            return None
        if self.edge_dim is None:
            raise ValueError(f"edge_attr: this {type(self).__name__} was built with edge_dim=None, so it takes no "
                             "edge features")
        if not isinstance(edge_attr, Tensor) or edge_attr.dim() == 0 or edge_attr.shape[0] != index.num_edges:
            shape = list(edge_attr.shape) if isinstance(edge_attr, Tensor) else type(edge_attr).__name__
            raise ValueError(f"edge_attr: expected {index.num_edges} rows (one per edge), got {shape}")
        edge_attr = edge_attr.reshape(index.num_edges, -1)
        check_width("edge_attr", edge_attr, self.edge_dim, "edge_dim")
        return edge_attr

    def with_self_loops(self, index: SparseIndex, edge_attr: Optional[Tensor]) -> tuple[SparseIndex, Optional[Tensor]]:
        """The graph with its self loops replaced by one loop per node (the first ``min(N_src, N_dst)`` nodes of a
        bipartite graph, as in torch_geometric), its edges sorted by target; the loops' edge features are
        ``fill_value``: the mean of each node's incoming non-loop features (0 for a node with none) or a number."""
        looped, kept, order = index.with_self_loops()
        if edge_attr is None:
            return looped, None
        num_nodes = min(index.num_src, index.num_dst)
        if self.fill_value == "mean":
            pad = edge_attr.new_zeros(num_nodes, edge_attr.shape[1])
            total = segment_reduce(torch.cat([edge_attr[kept], pad])[order], looped, "sum")
            count = segment_reduce(torch.cat([kept[kept].to(edge_attr.dtype), pad[:, 0]])[order], looped, "sum")
            loop_attr = (total / count.clamp(min=1).unsqueeze(1))[:num_nodes]
        else:
            loop_attr = edge_attr.new_full((num_nodes, edge_attr.shape[1]), float(self.fill_value))
        return looped, torch.cat([edge_attr[kept], loop_attr])[order]

    def aggregate_attention(self, graph: Graph, index: SparseIndex, x_src: Tensor, x_dst: Optional[Tensor],
                            alpha: Tensor, x_in_dst: Optional[Tensor], return_attention_weights: Optional[bool]):
        """The GAT layers' output: ``sum_j alpha_ji x_j`` per head (one multi-head ``spmm``), heads merged, the
        residual map of ``x_in_dst`` and the bias added, and the attention weights when asked for."""
        out = self.merge_heads(self.propagate(index, x=(x_src, x_dst), alpha=alpha))
        if self.res is not None and x_in_dst is not None:
            out = out + self.res(x_in_dst)
        if self.bias is not None:
            out = out + self.bias
        if return_attention_weights:
            return out, self.attention_weights(graph, index, alpha)
        return out

    def message(self, x_j: Tensor, alpha: Tensor) -> Tensor:
        """``alpha_ji x_j`` per head (``[E, H, C]``); propagation runs it as one multi-head ``spmm``."""
        return x_j * alpha.unsqueeze(-1)

    def merge_heads(self, out: Tensor) -> Tensor:
        """``[N, H, C]`` to ``[N, H * C]`` (``concat``) or the mean over heads ``[N, C]``."""
        return out.reshape(-1, self.heads * self.out_channels) if self.concat else out.mean(dim=1)

    @staticmethod
    def attention_weights(graph: Graph, index: SparseIndex, alpha: Tensor):
        """torch_geometric's second output: ``(edge_index [2, E'], alpha [E', H])`` of the graph the attention ran
        on, or for a sparse adjacency input ``(adj [N_dst, N_src, H], alpha)`` holding the attention as its values
        (COO: torch cannot hold per-head values in CSR)."""
        if is_sparse_adjacency(graph):
            sources, targets = index.edge_index.long()
            adj = torch.sparse_coo_tensor(torch.stack([targets, sources]), alpha,
                                          (index.num_dst, index.num_src, *alpha.shape[1:])).coalesce()
            return adj, alpha
        return index.edge_index.long(), alpha

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, heads={self.heads})"
