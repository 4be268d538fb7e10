"""GATv2: dynamic graph attention (Brody, Alon & Yahav, ICLR 2022), multi-head."""

from __future__ import annotations

from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import Linear

from ..argument_checks import check_width
from ..sparse import additive_scores, segment_softmax
from ..sparse.graph_input import Graph, graph_and_features
from ..tall_linear import tall_linear
from .attention_conv import AttentionConv


class GATv2Conv(AttentionConv):
    r"""The dynamic attention operator of `Brody et al. <https://arxiv.org/abs/2105.14491>`_: the attention vector
    is applied after the nonlinearity, so the ranking of neighbours can depend on the query node.

    .. math::
        e_{ji}^h = a_h^\top \mathrm{LeakyReLU}\big(\Theta^s_h x_j + \Theta^t_h x_i + \Theta^e_h f_{ji}\big), \qquad
        \alpha_{ji}^h = \operatorname{softmax}_{j \in \mathcal N(i) \cup \{i\}} e_{ji}^h, \qquad
        x_i' = \big\Vert_h \sum_j \alpha_{ji}^h \Theta^s_h x_j + b

    A drop-in for ``torch_geometric.nn.GATv2Conv`` (parameters ``lin_l`` (sources), ``lin_r`` (targets), ``att``,
    ``lin_edge``, ``res``, ``bias``; its ``state_dict`` loads). The scores are one fused
    :func:`~geomlearn.sparse.additive_scores` (each edge's sum, LeakyReLU and projection computed in registers) and
    the aggregation one multi-head :func:`~geomlearn.sparse.spmm`: no ``[E, H, C]`` tensor is formed without edge
    features (with them, only their projection :math:`\Theta^e f_{ji}`).

    Args:
        in_channels: input size, or ``(source size, target size)``; -1 for lazy initialisation.
        out_channels: size per head.
        heads: number of heads :math:`H`.
        concat: concatenate the heads (``[N, H * C]``), else average them.
        negative_slope: slope of the LeakyReLU.
        dropout: dropout on the attention coefficients during training.
        add_self_loops: replace existing self loops by one loop per node.
        edge_dim: size of the edge features that enter the scores, or ``None``.
        fill_value: edge features of the added loops: ``"mean"`` of each node's incoming ones, or a number.
        bias: biases in ``lin_l`` / ``lin_r`` and an output bias.
        share_weights: one map for sources and targets (:math:`\Theta^s = \Theta^t`).
        residual: add a linear map of the target's input features.
        **kwargs: :class:`~geomlearn.gnn.MessagePassing`'s options.

    Shapes:
        - input: ``x [N, in]`` or ``(x_src, x_dst)``, ``edge_index`` / ``SparseIndex`` / ``Data``,
          ``edge_attr [E, edge_dim]`` (optional)
        - output: ``[N_dst, H * out_channels]`` (``concat``) or ``[N_dst, out_channels]``; with
          ``return_attention_weights=True`` also ``(edge_index, alpha [E', H])`` of the graph used (as
          :class:`~geomlearn.gnn.GATConv`).
    """

    def __init__(self, in_channels: Union[int, tuple[int, int]], out_channels: int, heads: int = 1,
                 concat: bool = True, negative_slope: float = 0.2, dropout: float = 0.0, add_self_loops: bool = True,
                 edge_dim: Optional[int] = None, fill_value: Union[float, str] = "mean", bias: bool = True,
                 share_weights: bool = False, residual: bool = False, **kwargs):
        super().__init__(node_dim=0, **kwargs)
        self.set_heads(in_channels, out_channels, heads, concat, dropout, edge_dim)
        self.set_self_loops(negative_slope, add_self_loops, fill_value)
        self.share_weights, self.residual = share_weights, residual
        width = heads * out_channels
        in_src, in_dst = (in_channels, in_channels) if isinstance(in_channels, int) else in_channels
        self.lin_l = Linear(in_src, width, bias=bias, weight_initializer="glorot")
        self.lin_r = self.lin_l if share_weights else Linear(in_dst, width, bias=bias, weight_initializer="glorot")
        self.att = torch.nn.Parameter(torch.empty(1, heads, out_channels))
        self.lin_edge = Linear(edge_dim, width, bias=False, weight_initializer="glorot") if edge_dim else None
        total = width if concat else out_channels
        self.res = Linear(in_dst, total, bias=False, weight_initializer="glorot") if residual else None
        self.bias = torch.nn.Parameter(torch.empty(total)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in (self.lin_l, self.lin_r, self.lin_edge, self.res):
            if lin is not None:
                lin.reset_parameters()
        torch.nn.init.xavier_uniform_(self.att)
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)

    def forward(self, x: Union[Tensor, tuple[Tensor, Tensor]], edge_index: Graph, edge_attr: Optional[Tensor] = None,
                return_attention_weights: Optional[bool] = None):
        index, x_in_src, x_in_dst, _ = graph_and_features(x, edge_index, flow=self.flow)
        check_width("x", x_in_src, self.lin_l.in_channels)
        check_width("x_dst", x_in_dst, self.lin_r.in_channels)
        heads, chans = self.heads, self.out_channels
        x_src = self.lin_l(x_in_src).view(-1, heads, chans)
        x_dst = x_src if self.share_weights and x_in_dst is x_in_src else self.lin_r(x_in_dst).view(-1, heads, chans)
        edge_attr = self.checked_edge_attr(edge_attr, index)
        if self.add_self_loops:
            index, edge_attr = self.with_self_loops(index, edge_attr)

        edge_term = None if edge_attr is None else tall_linear(self.lin_edge, edge_attr).view(-1, heads, chans)
        scores = additive_scores(index, x_dst, x_src, self.att.view(heads, chans), self.negative_slope, edge_term)
        alpha = F.dropout(segment_softmax(scores, index), p=self.dropout, training=self.training)

        return self.aggregate_attention(edge_index, index, x_src, x_dst, alpha, x_in_dst, return_attention_weights)
