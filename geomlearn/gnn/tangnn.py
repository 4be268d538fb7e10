"""TANGNN: neighbourhood aggregation plus attention over the top-m most similar vertices (2024)."""

from __future__ import annotations

import math
import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import Linear

from ..argument_checks import check_channels, check_int, check_probability, check_width, is_int
from ..sparse import SparseIndex, sddmm, segment_softmax, spmm
from ..sparse.graph_input import Graph, graph_and_features
from .message_passing import MessagePassing


def top_m_similar(query: Tensor, key: Tensor, m: int, *, exclude_self: bool = True, chunk_size: int = 4096
                  ) -> SparseIndex:
    r"""The graph of each vertex's ``m`` most similar vertices: edges ``j -> i`` for the ``m`` largest
    :math:`\langle q_i, k_j \rangle`.

    Exact, in row blocks of ``chunk_size`` queries, so memory is :math:`O(\text{chunk} \cdot N)` while the
    time is :math:`O(N^2 C)`. The selection is discrete (no gradient); scores on the selected edges are
    recomputed differentiably by the caller.

    Args:
        query: ``[N, C]``; key: ``[N, C]``.
        m: neighbours per vertex, ``1 <= m <= N - 1`` (``<= N`` with ``exclude_self=False``).
        exclude_self: never select ``i`` for itself.

    Returns:
        A ``SparseIndex`` with ``N * m`` edges, ``m`` into every vertex.
    """
    num_nodes = query.shape[0]
    limit = num_nodes - 1 if exclude_self else num_nodes
    if not is_int(m) or not 1 <= m <= limit:
        raise ValueError(f"m: expected an int in 1..{limit} for {num_nodes} vertices, got {m!r}")
    sources = []
    with torch.no_grad():
        for start in range(0, num_nodes, chunk_size):
            scores = query[start:start + chunk_size] @ key.t()                 # [chunk, N]
            if exclude_self:
                rows = torch.arange(scores.shape[0], device=scores.device)
                scores[rows, rows + start] = float("-inf")
            sources.append(scores.topk(m, dim=1).indices)
    src = torch.cat(sources).reshape(-1)
    dst = torch.arange(num_nodes, device=query.device).repeat_interleave(m)
    return SparseIndex(torch.stack([src, dst]), num_nodes=num_nodes)


class TANGNNConv(MessagePassing):
    r"""One TANGNN layer: a mean over the graph neighbourhood plus multi-head attention over the
    ``top_m`` vertices most similar to each vertex, wherever they are in the graph.

    .. math::
        x_i' = W_r x_i + W_n \operatorname{mean}_{j \in \mathcal N(i)} x_j
               + \big\Vert_h \sum_{j \in \mathcal T_m(i)} \alpha^h_{ij} V_h x_j,
        \qquad \alpha^h_{ij} = \operatorname{softmax}_{j \in \mathcal T_m(i)}
               \frac{\langle Q_h x_i, K_h x_j \rangle}{\sqrt{d}}

    with :math:`\mathcal T_m(i)` the ``m`` vertices of largest :math:`\langle Q x_i, K x_j \rangle`
    (``geomlearn.gnn.tangnn.top_m_similar``, computed once per forward pass on all heads' concatenated projections). The
    attention reaches beyond the 1-hop neighbourhood at :math:`O(N m)` edges, not a transformer's
    :math:`O(N^2)`. The neighbourhood mean and the attention are one fused ``spmm`` each; the selected
    edges' scores are one ``sddmm`` normalised by ``segment_softmax``.

    Args:
        in_channels: input size (-1: from the first input).
        out_channels: output size (divisible by ``heads``).
        top_m: attended vertices per vertex.
        heads: attention heads.
        dropout: dropout on the attention coefficients during training.

    Shapes:
        - input: ``x [N, in_channels]``, ``edge_index`` / ``SparseIndex`` / ``Data``
        - output: ``[N, out_channels]``; with ``return_attention=True`` also ``(SparseIndex, alpha [N m, heads])``
    """

    def __init__(self, in_channels: int, out_channels: int, top_m: int = 8, heads: int = 1, dropout: float = 0.0):
        super().__init__(aggr="mean")
        check_channels("in_channels", in_channels, lazy=True)
        check_channels("out_channels", out_channels)
        check_int("top_m", top_m)
        check_int("heads", heads)
        check_probability("dropout", dropout)
        if out_channels % heads:
            raise ValueError(f"heads: out_channels ({out_channels}) must be divisible by heads, got heads={heads}")
        self.in_channels, self.out_channels, self.top_m, self.heads, self.dropout = (
            in_channels, out_channels, top_m, heads, dropout)
        self.lin_root = Linear(in_channels, out_channels)
        self.lin_neighbors = Linear(in_channels, out_channels, bias=False)
        self.query = Linear(in_channels, out_channels, bias=False)
        self.key = Linear(in_channels, out_channels, bias=False)
        self.value = Linear(in_channels, out_channels, bias=False)

    def reset_parameters(self) -> None:
        for lin in (self.lin_root, self.lin_neighbors, self.query, self.key, self.value):
            lin.reset_parameters()

    def forward(self, x: Tensor, edge_index: Graph, return_attention: bool = False):
        index, x, _, _ = graph_and_features(x, edge_index)
        check_width("x", x, self.lin_root.in_channels)
        heads, width = self.heads, self.out_channels // self.heads
        out = self.lin_root(x) + self.propagate(index, x=self.lin_neighbors(x))
        q, k, v = self.query(x), self.key(x), self.value(x)
        similar = top_m_similar(q.detach(), k.detach(), self.top_m)
        scores = sddmm(similar, q.view(-1, heads, width), k.view(-1, heads, width)) / math.sqrt(width)
        alpha = F.dropout(segment_softmax(scores, similar), self.dropout, self.training)
        out = out + spmm(similar, v.view(-1, heads, width), alpha).reshape(-1, self.out_channels)
        return (out, (similar, alpha)) if return_attention else out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, top_m={self.top_m}, heads={self.heads})"


class TANGNN(torch.nn.Module):
    r"""A stack of :class:`TANGNNConv` layers with ReLU and dropout between them, for vertex-level tasks.

    Args:
        in_channels, hidden_channels, out_channels: sizes.
        num_layers: number of layers (>= 1).
        top_m: attended vertices per vertex in every layer.
        heads: attention heads of the hidden layers (the last layer uses one).
        dropout: dropout on features and attention.
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int = 2,
                 top_m: int = 8, heads: int = 1, dropout: float = 0.5):
        super().__init__()
        check_int("num_layers", num_layers)
        check_channels("hidden_channels", hidden_channels)
        sizes = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.dropout = check_probability("dropout", dropout)
        self.layers = torch.nn.ModuleList(
            TANGNNConv(a, b, top_m=top_m, heads=heads if k < num_layers - 1 else 1, dropout=dropout)
            for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])))

    def reset_parameters(self) -> None:
        for layer in self.layers:
            layer.reset_parameters()

    def forward(self, x: Tensor, edge_index: Graph) -> Tensor:
        index = graph_and_features(x, edge_index)[0]          # built once, its layouts shared by every layer
        for k, layer in enumerate(self.layers):
            x = layer(x, index)
            if k < len(self.layers) - 1:
                x = F.dropout(F.relu(x), self.dropout, self.training)
        return x
