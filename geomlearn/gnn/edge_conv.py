"""Edge convolution (Wang et al., ACM TOG 2019): a network on each edge's pair of endpoints, max-aggregated."""

from __future__ import annotations

from typing import Callable, Union

import torch
from torch import Tensor
from torch_geometric.nn.inits import reset

from ..sparse import gather_sum
from ..sparse.graph_input import Graph, graph_and_features
from .leading_linear import split_leading_linear
from .message_passing import MessagePassing


class EdgeConv(MessagePassing):
    r"""The edge convolution of `Wang et al. <https://arxiv.org/abs/1801.07829>`_ (DGCNN),

    .. math::
        x_i' = \bigoplus_{j \to i} h_\Theta\big([x_i,\ x_j - x_i]\big)

    A drop-in for ``torch_geometric.nn.EdgeConv`` (parameters ``nn.*``). When the network starts with a linear
    layer (a ``Linear`` or a ``Sequential`` starting with one) that layer runs on the nodes,
    :math:`W [x_i, x_j - x_i] = (W_1 - W_2) x_i + W_2 x_j`, and only its per-edge sum is per edge; the rest of the
    network runs on those ``[E, hidden]`` rows, reduced by :func:`~geomlearn.sparse.segment_reduce` over the cached
    CSR. Any other network gets the concatenated ``[E, 2 in]`` input.

    Args:
        nn: the network :math:`h_\Theta`, from ``2 * in`` features to ``out``.
        aggr: the aggregation (default ``"max"``).
        **kwargs: :class:`~geomlearn.gnn.MessagePassing`'s options.

    Shapes:
        - input: ``x [N, in]`` or ``(x_src, x_dst)``, ``edge_index`` / ``SparseIndex`` / ``Data``
        - output: ``[N_dst, out]``
    """

    def __init__(self, nn: Callable, aggr: str = "max", **kwargs):
        super().__init__(aggr=aggr, **kwargs)
        self.nn = nn
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        reset(self.nn)

    def forward(self, x: Union[Tensor, tuple[Tensor, Tensor]], edge_index: Graph) -> Tensor:
        index, x_src, x_dst, _ = graph_and_features(x, edge_index, flow=self.flow)
        if x_src.shape[-1] != x_dst.shape[-1]:
            raise ValueError(f"x: x_j - x_i needs sources and targets of one width, got {x_src.shape[-1]} and "
                             f"{x_dst.shape[-1]}")
        width = x_dst.shape[-1]
        split = split_leading_linear(self.nn)
        if split is not None and split.weight.shape[1] == 2 * width:
            w_target, w_difference = split.weight[:, :width], split.weight[:, width:]
            hidden = gather_sum(index, x_dst @ (w_target - w_difference).T, x_src @ w_difference.T)
            messages = split.rest(hidden if split.bias is None else hidden + split.bias)
        else:
            x_i, x_j = gather_sum(index, x_dst, None), gather_sum(index, None, x_src)
            messages = self.nn(torch.cat([x_i, x_j - x_i], dim=-1))
        return self.aggregate_edges(messages, index)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(nn={self.nn})"
