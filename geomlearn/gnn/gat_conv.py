"""Graph attention (Veličković et al., ICLR 2018), multi-head."""

from __future__ import annotations

from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import Linear

from ..argument_checks import check_width
from ..sparse import gather_sum, segment_softmax
from ..sparse.graph_input import Graph, graph_and_features
from ..tall_linear import tall_linear
from .attention_conv import AttentionConv


class GATConv(AttentionConv):
    r"""The graph attention operator of `Veličković et al. <https://arxiv.org/abs/1710.10903>`_.

    For each head :math:`h` with weights :math:`\Theta_h` and attention vectors :math:`a_h^{s}, a_h^{t}`,

    .. math::
        e_{ji}^h = \mathrm{LeakyReLU}\big(a_h^{s\top} \Theta_h x_j + a_h^{t\top} \Theta_h x_i
                   + a_h^{e\top} \Theta^e_h f_{ji}\big), \qquad
        \alpha_{ji}^h = \operatorname{softmax}_{j \in \mathcal N(i) \cup \{i\}} e_{ji}^h

    .. math::
        x_i' = \big\Vert_{h} \sum_{j} \alpha_{ji}^h \Theta_h x_j + b \quad (\text{or the mean over heads})

    A drop-in for ``torch_geometric.nn.GATConv`` (parameters ``lin`` or ``lin_src``/``lin_dst``,
    ``att_src``, ``att_dst``, ``lin_edge``, ``att_edge``, ``res``, ``bias``; its ``state_dict`` loads).
    The scores are one :func:`~geomlearn.sparse.gather_sum` of per-node scores (``[E, H]``), normalised by
    :func:`~geomlearn.sparse.segment_softmax`, and the aggregation is one multi-head
    :func:`~geomlearn.sparse.spmm`: the ``[E, H, C]`` message tensor torch_geometric builds is never formed.

    Args:
        in_channels: input size, or ``(source size, target size)`` for separate source/target maps; -1 takes a
            size from the first input (torch_geometric's lazy initialisation).
        out_channels: size per head.
        heads: number of heads :math:`H`.
        concat: concatenate the heads (``[N, H * C]``), else average them (``[N, C]``).
        negative_slope: slope of the LeakyReLU.
        dropout: dropout on the attention coefficients during training.
        add_self_loops: replace existing self loops by one loop per node (on a bipartite graph, loops join the
            first ``min(N_src, N_dst)`` nodes, as in torch_geometric).
        edge_dim: size of edge features ``edge_attr`` that enter the scores, or ``None``.
        fill_value: edge features of the added loops: ``"mean"`` of each node's incoming edge features,
            or a number.
        bias: learn an additive bias.
        residual: add a linear map of the target's input features.
        **kwargs: :class:`~geomlearn.gnn.MessagePassing`'s options.

    Shapes:
        - input: ``x [N, in]`` or ``(x_src, x_dst)``, ``edge_index`` / ``SparseIndex`` / ``Data``,
          ``edge_attr [E, edge_dim]`` (optional)
        - output: ``[N_dst, H * out_channels]`` (``concat``) or ``[N_dst, out_channels]``; with
          ``return_attention_weights=True`` also ``(edge_index [2, E'], alpha [E', H])`` of the graph used
          (with ``add_self_loops``, its edges sorted by target: torch_geometric lists the loops last), or, for a
          sparse adjacency, ``(adj [N_dst, N_src, H], alpha)`` holding the attention as its values (in COO,
          whatever the input's layout: torch cannot hold per-head values in CSR).
    """

    def __init__(self, in_channels: Union[int, tuple[int, int]], out_channels: int, heads: int = 1,
                 concat: bool = True, negative_slope: float = 0.2, dropout: float = 0.0, add_self_loops: bool = True,
                 edge_dim: Optional[int] = None, fill_value: Union[float, str] = "mean", bias: bool = True,
                 residual: bool = False, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(node_dim=0, **kwargs)
        self.set_heads(in_channels, out_channels, heads, concat, dropout, edge_dim)
        self.set_self_loops(negative_slope, add_self_loops, fill_value)
        width = heads * out_channels
        self.lin = self.lin_src = self.lin_dst = None
        if isinstance(in_channels, int):
            self.lin = Linear(in_channels, width, bias=False, weight_initializer="glorot")
        else:
            self.lin_src = Linear(in_channels[0], width, bias=False, weight_initializer="glorot")
            self.lin_dst = Linear(in_channels[1], width, bias=False, weight_initializer="glorot")
        self.att_src = torch.nn.Parameter(torch.empty(1, heads, out_channels))
        self.att_dst = torch.nn.Parameter(torch.empty(1, heads, out_channels))
        if edge_dim is not None:
            self.lin_edge = Linear(edge_dim, width, bias=False, weight_initializer="glorot")
            self.att_edge = torch.nn.Parameter(torch.empty(1, heads, out_channels))
        else:
            self.lin_edge = self.att_edge = None
        total = width if concat else out_channels
        in_dst = in_channels if isinstance(in_channels, int) else in_channels[1]
        self.res = Linear(in_dst, total, bias=False, weight_initializer="glorot") if residual else None
        self.bias = torch.nn.Parameter(torch.empty(total)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in (self.lin, self.lin_src, self.lin_dst, self.lin_edge, self.res):
            if lin is not None:
                lin.reset_parameters()
        for att in (self.att_src, self.att_dst, self.att_edge):
            if att is not None:
                torch.nn.init.xavier_uniform_(att)
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)

    def forward(self, x: Union[Tensor, tuple[Tensor, Tensor]], edge_index: Graph, edge_attr: Optional[Tensor] = None,
                size: Optional[tuple[int, int]] = None, return_attention_weights: Optional[bool] = None):
        index, x_in_src, x_in_dst, _ = graph_and_features(x, edge_index, flow=self.flow, size=size,
                                                          allow_missing_dst=True)
        check_width("x", x_in_src, (self.lin or self.lin_src).in_channels)
        if x_in_dst is not x_in_src and x_in_dst is not None:
            check_width("x_dst", x_in_dst, (self.lin or self.lin_dst).in_channels)
        heads, chans = self.heads, self.out_channels
        target_map = self.lin if self.lin is not None else self.lin_dst
        x_src = (self.lin or self.lin_src)(x_in_src).view(-1, heads, chans)
        if x_in_dst is x_in_src and self.lin is not None:
            x_dst = x_src
        else:
            x_dst = None if x_in_dst is None else target_map(x_in_dst).view(-1, heads, chans)
        edge_attr = self.checked_edge_attr(edge_attr, index)
        if self.add_self_loops:
            index, edge_attr = self.with_self_loops(index, edge_attr)

        score_src = (x_src * self.att_src).sum(-1)                     # [N_src, H]
        score_dst = None if x_dst is None else (x_dst * self.att_dst).sum(-1)     # [N_dst, H]
        scores = gather_sum(index, score_dst, score_src)               # [E, H]: s_i + s_j per edge
        if edge_attr is not None:
            edge_features = tall_linear(self.lin_edge, edge_attr).view(-1, heads, chans)
            scores = scores + (edge_features * self.att_edge).sum(-1)
        alpha = segment_softmax(F.leaky_relu(scores, self.negative_slope), index)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)

        return self.aggregate_attention(edge_index, index, x_src, x_dst, alpha, x_in_dst, return_attention_weights)
