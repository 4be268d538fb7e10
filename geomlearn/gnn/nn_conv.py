"""Edge-conditioned convolution (Gilmer et al., ICML 2017; Simonovsky & Komodakis, CVPR 2017)."""

from __future__ import annotations

from typing import Callable, Optional, Union

import torch
from torch import Tensor
from torch_geometric.nn import Linear
from torch_geometric.nn.inits import reset

from ..argument_checks import check_channels, check_width
from ..sparse import edge_matrix_spmm, gather_sum
from ..sparse.graph_input import Graph, edge_features_of, graph_and_features
from .message_passing import MessagePassing, sum_or_mean


class NNConv(MessagePassing):
    r"""The edge-conditioned convolution of `Gilmer et al. <https://arxiv.org/abs/1704.01212>`_ (the MPNN's edge
    network),

    .. math::
        x_i' = \Theta x_i + \bigoplus_{j \to i} x_j^\top h_\Theta(e_{ji}) + b

    where the network :math:`h_\Theta` maps each edge's features to an ``[in, out]`` matrix. A drop-in for
    ``torch_geometric.nn.NNConv`` (parameters ``nn.*``, ``lin``, ``bias``). The per-edge matrices are the math's
    own ``[E, in, out]``. For a sum or mean aggregation the products and their sum are one fused
    :func:`~geomlearn.sparse.edge_matrix_spmm`, which forms neither the gathered ``[E, in]`` features nor the
    ``[E, out]`` messages; another aggregation gathers the sources (:func:`~geomlearn.sparse.gather_sum`), multiplies
    them by one batched matmul and reduces the messages.

    Args:
        in_channels: input size, or ``(source size, target size)``.
        out_channels: output size.
        nn: maps ``edge_attr [E, edge_dim]`` to ``[E, in_src * out]``.
        aggr: the aggregation (default ``"add"``).
        root_weight: add :math:`\Theta x_i` (``lin``).
        bias: learn an additive bias.
        **kwargs: :class:`~geomlearn.gnn.MessagePassing`'s options.

    Shapes:
        - input: ``x [N, in]`` or ``(x_src, x_dst | None)``, ``edge_index`` / ``SparseIndex`` / ``Data``,
          ``edge_attr [E, edge_dim]`` (or the values of a ``torch.sparse`` adjacency ``[N_dst, N_src, edge_dim]``)
        - output: ``[N_dst, out]``
    """

    def __init__(self, in_channels: Union[int, tuple[int, int]], out_channels: int, nn: Callable,
                 aggr: str = "add", root_weight: bool = True, bias: bool = True, **kwargs):
        super().__init__(aggr=aggr, **kwargs)
        check_channels("in_channels", in_channels, pair=True)
        check_channels("out_channels", out_channels)
        self.in_channels, self.out_channels, self.nn, self.root_weight = in_channels, out_channels, nn, root_weight
        in_src, in_dst = (in_channels, in_channels) if isinstance(in_channels, int) else in_channels
        self.in_channels_l = in_src
        if root_weight:
            self.lin = Linear(in_dst, out_channels, bias=False, weight_initializer="uniform")
        self.bias = torch.nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        reset(self.nn)
        if self.root_weight:
            self.lin.reset_parameters()
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)

    def forward(self, x: Union[Tensor, tuple[Tensor, Optional[Tensor]]], edge_index: Graph,
                edge_attr: Optional[Tensor] = None, size: Optional[tuple[int, int]] = None) -> Tensor:
        edge_index, edge_attr = edge_features_of(edge_index, edge_attr)
        if isinstance(edge_attr, Tensor) and edge_attr.dim() == 1:
            edge_attr = edge_attr.view(-1, 1)
        index, x_src, x_dst, _ = graph_and_features(x, edge_index, flow=self.flow, size=size,
                                                    allow_missing_dst=True)
        check_width("x", x_src, self.in_channels_l)
        if not isinstance(edge_attr, Tensor) or edge_attr.dim() == 0 or edge_attr.shape[0] != index.num_edges:
            shape = list(edge_attr.shape) if isinstance(edge_attr, Tensor) else type(edge_attr).__name__
            raise ValueError(f"edge_attr: expected edge features [{index.num_edges}, ...], one row per edge, got "
                             f"{shape}")
        weight = self.nn(edge_attr)
        if weight.shape != (index.num_edges, self.in_channels_l * self.out_channels):
            raise ValueError(f"nn: expected it to map edge_attr to [{index.num_edges}, {self.in_channels_l} * "
                             f"{self.out_channels}] (in_channels * out_channels per edge), got {list(weight.shape)}")
        weight = weight.view(-1, self.in_channels_l, self.out_channels)
        if self.reductions in (("sum",), ("mean",)):
            # no [E, in] gather, no [E, out] messages
            out = sum_or_mean(edge_matrix_spmm(index, x_src, weight), index, self.reductions[0])
        else:
            messages = torch.bmm(gather_sum(index, None, x_src).unsqueeze(1), weight).squeeze(1)  # [E, out]
            out = self.aggregate_edges(messages, index)
        if self.root_weight and x_dst is not None:
            out = out + self.lin(x_dst)
        return out if self.bias is None else out + self.bias

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, aggr={self.aggr}, nn={self.nn})"
