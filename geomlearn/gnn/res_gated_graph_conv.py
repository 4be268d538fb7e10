"""Residual gated graph convolution (Bresson & Laurent, 2017)."""

from __future__ import annotations

from typing import Callable, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import Linear

from ..argument_checks import check_channels, check_int, check_width
from ..sparse import gated_spmm, gather_sum, spmm
from ..sparse.graph_input import Graph, graph_and_features
from .message_passing import MessagePassing, sum_or_mean


class ResGatedGraphConv(MessagePassing):
    r"""The residual gated graph convolution of `Bresson & Laurent <https://arxiv.org/abs/1711.07553>`_,

    .. math::
        x_i' = W_1 x_i + \bigoplus_{j \to i} \eta_{ji} \odot W_4 x_j + b, \qquad
        \eta_{ji} = \sigma(W_2 x_i + W_3 x_j)

    (with ``edge_dim``, the edge features are appended to :math:`x_i` and :math:`x_j` in :math:`W_2, W_3, W_4`).
    A drop-in for ``torch_geometric.nn.ResGatedGraphConv`` (parameters ``lin_key`` (:math:`W_2`), ``lin_query``
    (:math:`W_3`), ``lin_value`` (:math:`W_4`), ``lin_skip`` (:math:`W_1`), ``bias``). With the default sigmoid gate
    and a sum or mean aggregation the layer is one fused :func:`~geomlearn.sparse.gated_spmm`, which forms no
    ``[E, out]`` tensor. Another gate, or another aggregation, is per edge and per channel by the math: the gates are
    one :func:`~geomlearn.sparse.gather_sum` (``[E, out]``) reduced by a multi-head :func:`~geomlearn.sparse.spmm`
    with one head per channel, or the gated messages by the aggregation. With edge features the linear maps are
    split into their node and edge blocks, so no ``[E, in + edge_dim]`` concatenation is formed either.

    Args:
        in_channels: input size, or ``(source size, target size)``; -1 for lazy initialisation (without
            ``edge_dim``).
        out_channels: output size.
        act: the gate's nonlinearity :math:`\sigma`.
        edge_dim: size of the edge features, or ``None``.
        root_weight: add the skip map :math:`W_1 x_i`.
        bias: learn an additive bias.
        **kwargs: :class:`~geomlearn.gnn.MessagePassing`'s options (``aggr``: default ``"add"``).

    Shapes:
        - input: ``x [N, in]`` or ``(x_src, x_dst)``, ``edge_index`` / ``SparseIndex`` / ``Data``,
          ``edge_attr [E, edge_dim]`` (with ``edge_dim``)
        - output: ``[N_dst, out]``
    """

    def __init__(self, in_channels: Union[int, tuple[int, int]], out_channels: int,
                 act: Optional[Callable] = torch.nn.Sigmoid(), edge_dim: Optional[int] = None,
                 root_weight: bool = True, bias: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        check_channels("in_channels", in_channels, lazy=edge_dim is None, pair=True)
        check_channels("out_channels", out_channels)
        check_int("edge_dim", edge_dim, optional=True)
        if not callable(act):
            raise TypeError(f"act: expected a callable, got {type(act).__name__}")
        self.in_channels, self.out_channels, self.act = in_channels, out_channels, act
        self.edge_dim, self.root_weight = edge_dim, root_weight
        in_src, in_dst = (in_channels, in_channels) if isinstance(in_channels, int) else in_channels
        extra = edge_dim or 0
        self.lin_key = Linear(in_dst + extra, out_channels)
        self.lin_query = Linear(in_src + extra, out_channels)
        self.lin_value = Linear(in_src + extra, out_channels)
        self.lin_skip = Linear(in_dst, out_channels, bias=False) if root_weight else None
        self.bias = torch.nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin in (self.lin_key, self.lin_query, self.lin_value, self.lin_skip):
            if lin is not None:
                lin.reset_parameters()
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)

    def forward(self, x: Union[Tensor, tuple[Tensor, Tensor]], edge_index: Graph,
                edge_attr: Optional[Tensor] = None) -> Tensor:
        index, x_src, x_dst, _ = graph_and_features(x, edge_index, flow=self.flow)
        if (edge_attr is None) != (self.edge_dim is None):
            raise ValueError(f"edge_attr: this ResGatedGraphConv was built with edge_dim={self.edge_dim}, so it "
                             f"{'takes no' if self.edge_dim is None else 'needs'} edge features")
        if self.edge_dim is None:
            check_width("x", x_src, self.lin_query.in_channels)
            check_width("x_dst", x_dst, self.lin_key.in_channels)
            key, query, value = self.lin_key(x_dst), self.lin_query(x_src), self.lin_value(x_src)
            reductions = self.reductions
            if isinstance(self.act, torch.nn.Sigmoid) and reductions in (("sum",), ("mean",)):
                # the gates formed in registers, never stored
                out = sum_or_mean(gated_spmm(index, key, query, value), index, reductions[0])
            else:
                gate = self.act(gather_sum(index, key, query))                       # [E, out]
                if reductions in (("sum",), ("mean",)):
                    out = spmm(index, value.unsqueeze(-1), gate, reductions[0]).squeeze(-1)
                else:
                    out = self.aggregate_edges(gate * gather_sum(index, None, value), index)
        else:
            if edge_attr.dim() != 2 or edge_attr.shape != (index.num_edges, self.edge_dim):
                raise ValueError(f"edge_attr: expected [{index.num_edges}, {self.edge_dim}] (one row per edge, "
                                 f"edge_dim features), got {list(edge_attr.shape)}")
            in_src, in_dst = x_src.shape[-1], x_dst.shape[-1]
            check_width("x", x_src, self.lin_query.in_channels - self.edge_dim)
            check_width("x_dst", x_dst, self.lin_key.in_channels - self.edge_dim)
            w_key, w_query, w_value = self.lin_key.weight, self.lin_query.weight, self.lin_value.weight
            gate_edge = F.linear(edge_attr, w_key[:, in_dst:] + w_query[:, in_src:],
                                 self.lin_key.bias + self.lin_query.bias)
            gate = self.act(gather_sum(index, x_dst @ w_key[:, :in_dst].T, x_src @ w_query[:, :in_src].T) + gate_edge)
            value = gather_sum(index, None, x_src @ w_value[:, :in_src].T) + \
                F.linear(edge_attr, w_value[:, in_src:], self.lin_value.bias)
            out = self.aggregate_edges(gate * value, index)
        if self.lin_skip is not None:
            out = out + self.lin_skip(x_dst)
        return out if self.bias is None else out + self.bias
