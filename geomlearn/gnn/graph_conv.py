"""The graph convolution of the Weisfeiler-Leman GNNs (Morris et al., AAAI 2019)."""

from __future__ import annotations

from typing import Optional, Union

from torch import Tensor
from torch_geometric.nn import Linear

from ..argument_checks import check_channels, check_width
from ..sparse.graph_input import Graph, graph_and_features
from .message_passing import MessagePassing, weighted_message


class GraphConv(MessagePassing):
    r"""The operator of `Morris et al. <https://arxiv.org/abs/1810.02244>`_,

    .. math::
        x_i' = W_1 x_i + W_2 \bigoplus_{j \to i} e_{ji}\, x_j

    (:math:`e_{ji}` the edge weight, 1 without). A drop-in for ``torch_geometric.nn.GraphConv`` (parameters
    ``lin_rel`` = :math:`W_2` with the bias, ``lin_root`` = :math:`W_1`). Built-in reductions run as one fused
    :func:`~geomlearn.sparse.spmm`; for a linear reduction (sum, mean) onto a narrower output the map
    :math:`W_2` runs before it (it commutes with the reduction).

    Args:
        in_channels: input size, or ``(source size, target size)`` for a bipartite graph; -1 infers it.
        out_channels: output size.
        aggr: ``"add"`` (default), ``"mean"``, ``"max"``, or any aggregation torch_geometric resolves.
        bias: bias of :math:`W_2`.
        **kwargs: :class:`~geomlearn.gnn.MessagePassing`'s options.

    Shapes:
        - input: ``x [N, in]`` or ``(x_src [N_src, in_src], x_dst [N_dst, in_dst] | None)``, ``edge_index`` /
          ``SparseIndex`` / ``Data`` / ``torch.sparse`` adjacency, ``edge_weight [E]`` (optional)
        - output: ``[N_dst, out_channels]``
    """

    def __init__(self, in_channels: Union[int, tuple[int, int]], out_channels: int, aggr: str = "add",
                 bias: bool = True, **kwargs):
        super().__init__(aggr=aggr, **kwargs)
        self.in_channels = check_channels("in_channels", in_channels, lazy=True, pair=True)
        self.out_channels = check_channels("out_channels", out_channels)
        in_src, in_dst = (in_channels, in_channels) if isinstance(in_channels, int) else in_channels
        self.lin_rel = Linear(in_src, out_channels, bias=bias)
        self.lin_root = Linear(in_dst, out_channels, bias=False)

    def reset_parameters(self) -> None:
        self.lin_rel.reset_parameters()
        self.lin_root.reset_parameters()

    def forward(self, x: Union[Tensor, tuple[Tensor, Optional[Tensor]]], edge_index: Graph,
                edge_weight: Optional[Tensor] = None, size: Optional[tuple[int, int]] = None) -> Tensor:
        index, x_src, x_dst, edge_weight = graph_and_features(x, edge_index, edge_weight, node_dim=self.node_dim,
                                                              flow=self.flow, size=size, allow_missing_dst=True)
        check_width("x", x_src, self.lin_rel.in_channels)
        if x_dst is not None:
            check_width("x_dst" if x_dst is not x_src else "x", x_dst, self.lin_root.in_channels)
        out = self.propagate_then_linear(self.lin_rel, index, x_src, edge_weight=edge_weight)
        return out if x_dst is None else out + self.lin_root(x_dst)

    message = weighted_message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"
