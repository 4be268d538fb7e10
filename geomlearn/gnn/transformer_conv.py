"""The graph transformer operator (Shi et al., IJCAI 2021): scaled dot-product attention over each node's
neighbours."""

from __future__ import annotations

import math
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import Linear

from ..argument_checks import check_width
from ..sparse import gather_sum, sddmm, segment_softmax
from ..sparse.graph_input import Graph, graph_and_features
from ..tall_linear import tall_linear
from .attention_conv import AttentionConv


class TransformerConv(AttentionConv):
    r"""The graph transformer operator of `Shi et al. <https://arxiv.org/abs/2009.03509>`_,

    .. math::
        \alpha_{ji}^h = \operatorname{softmax}_{j \in \mathcal N(i)}
            \frac{(W^q_h x_i)^\top (W^k_h x_j + W^e_h f_{ji})}{\sqrt{C}}, \qquad
        x_i' = W^r x_i + \big\Vert_h \sum_{j} \alpha_{ji}^h \big(W^v_h x_j + W^e_h f_{ji}\big)

    and with ``beta`` a learned gate between the skip and the aggregate,
    :math:`x_i' = \beta_i W^r x_i + (1 - \beta_i) m_i`,
    :math:`\beta_i = \sigma(w^\top [m_i, W^r x_i, m_i - W^r x_i])`.

    A drop-in for ``torch_geometric.nn.TransformerConv`` (parameters ``lin_key``, ``lin_query``, ``lin_value``,
    ``lin_edge``, ``lin_skip``, ``lin_beta``). Without edge features the scores are one multi-head
    :func:`~geomlearn.sparse.sddmm` and the aggregation one multi-head :func:`~geomlearn.sparse.spmm`: no
    ``[E, H, C]`` tensor is formed. With edge features the messages :math:`W^v x_j + W^e f_{ji}` are per edge by the
    math and are reduced with :func:`~geomlearn.sparse.segment_reduce`.

    Args:
        in_channels: input size, or ``(source size, target size)``; -1 for lazy initialisation.
        out_channels: size per head :math:`C`.
        heads: number of heads :math:`H`.
        concat: concatenate the heads, else average them.
        beta: gate the skip connection (needs ``root_weight``).
        dropout: dropout on the attention coefficients during training.
        edge_dim: size of the edge features, or ``None``.
        bias: biases of the key, query, value and skip maps.
        root_weight: add the skip map :math:`W^r x_i`.
        **kwargs: :class:`~geomlearn.gnn.MessagePassing`'s options (``aggr``: default ``"add"``).

    Shapes:
        - input: ``x [N, in]`` or ``(x_src, x_dst)``, ``edge_index`` / ``SparseIndex`` / ``Data``,
          ``edge_attr [E, edge_dim]`` (optional)
        - output: ``[N_dst, H * C]`` (``concat``) or ``[N_dst, C]``; when ``return_attention_weights`` is a bool
          (as in torch_geometric, ``False`` included) also ``(edge_index, alpha [E, H])``, the attention before
          dropout.
    """

    def __init__(self, in_channels: Union[int, tuple[int, int]], out_channels: int, heads: int = 1,
                 concat: bool = True, beta: bool = False, dropout: float = 0.0, edge_dim: Optional[int] = None,
                 bias: bool = True, root_weight: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(node_dim=0, **kwargs)
        self.set_heads(in_channels, out_channels, heads, concat, dropout, edge_dim)
        self.beta, self.root_weight = beta and root_weight, root_weight
        in_src, in_dst = (in_channels, in_channels) if isinstance(in_channels, int) else in_channels
        width = heads * out_channels
        self.lin_key = Linear(in_src, width, bias=bias)
        self.lin_query = Linear(in_dst, width, bias=bias)
        self.lin_value = Linear(in_src, width, bias=bias)
        self.lin_edge = Linear(edge_dim, width, bias=False) if edge_dim is not None else None
        total = width if concat else out_channels
        self.lin_skip = Linear(in_dst, total, bias=bias)
        self.lin_beta = Linear(3 * total, 1, bias=False) if self.beta else None
        self._alpha = None          # torch_geometric's slot for the attention between message() and forward(): unused
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin in (self.lin_key, self.lin_query, self.lin_value, self.lin_edge, self.lin_skip, self.lin_beta):
            if lin is not None:
                lin.reset_parameters()

    def forward(self, x: Union[Tensor, tuple[Tensor, Tensor]], edge_index: Graph, edge_attr: Optional[Tensor] = None,
                return_attention_weights: Optional[bool] = None):
        index, x_src, x_dst, _ = graph_and_features(x, edge_index, flow=self.flow)
        check_width("x", x_src, self.lin_key.in_channels)
        check_width("x_dst", x_dst, self.lin_query.in_channels)
        heads, chans = self.heads, self.out_channels
        query = self.lin_query(x_dst).view(-1, heads, chans)
        key = self.lin_key(x_src).view(-1, heads, chans)
        value = self.lin_value(x_src).view(-1, heads, chans)
        edge_attr = self.checked_edge_attr(edge_attr, index)

        scores = sddmm(index, query, key)                                        # [E, H]
        if edge_attr is not None:
            edge_features = tall_linear(self.lin_edge, edge_attr).view(-1, heads, chans)
            scores = scores + (gather_sum(index, query, None) * edge_features).sum(-1)
        alpha = segment_softmax(scores / math.sqrt(chans), index)
        dropped = F.dropout(alpha, p=self.dropout, training=self.training)
        if edge_attr is None:
            out = self.propagate(index, x=(value, None), alpha=dropped)
        else:
            messages = (gather_sum(index, None, value) + edge_features) * dropped.unsqueeze(-1)
            out = self.aggregate_edges(messages, index)
        out = self.merge_heads(out)
        if self.root_weight:
            skip = self.lin_skip(x_dst)
            if self.lin_beta is not None:
                beta = self.lin_beta(torch.cat([out, skip, out - skip], dim=-1)).sigmoid()
                out = beta * skip + (1 - beta) * out
            else:
                out = out + skip
        if isinstance(return_attention_weights, bool):
            return out, self.attention_weights(edge_index, index, alpha)
        return out
