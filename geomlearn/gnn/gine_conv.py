"""GIN with edge features (Hu et al., ICLR 2020)."""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor
from torch_geometric.nn import Linear

from ..argument_checks import check_channels
from ..sparse import relu_spmm
from ..sparse.graph_input import Graph, graph_and_features
from ..tall_linear import tall_linear
from .gin_conv import GINConv


class GINEConv(GINConv):
    r"""The GIN operator with edge features of `Hu et al. <https://arxiv.org/abs/1905.12265>`_,

    .. math::
        x_i' = h_\Theta\Big((1 + \epsilon)\, x_i + \sum_{j \to i} \mathrm{ReLU}\big(x_j + W e_{ji}\big)\Big)

    (:math:`W e_{ji}` is :math:`e_{ji}` itself without ``edge_dim``). A drop-in for
    ``torch_geometric.nn.GINEConv`` (parameters ``nn.*``, ``eps``, ``lin``). With the default sum aggregation the
    messages are one fused :func:`~geomlearn.sparse.relu_spmm`, which forms no ``[E, in]`` message tensor (only the
    projected edge features :math:`W e_{ji}`, an input of the sum); another aggregation reduces the per-edge
    messages.

    Args:
        nn: the network :math:`h_\Theta`; with ``edge_dim`` its input size is read from it (its ``in_features``
            or ``in_channels``, or those of its first module for a ``Sequential``).
        eps: initial :math:`\epsilon`.
        train_eps: learn :math:`\epsilon`.
        edge_dim: size of the edge features, mapped to the node size by :math:`W` (``lin``); without it the edge
            features must have the node features' size.
        **kwargs: :class:`~geomlearn.gnn.MessagePassing`'s options.

    Shapes:
        - input: ``x [N, in]`` or ``(x_src, x_dst | None)``, ``edge_index`` / ``SparseIndex`` / ``Data``,
          ``edge_attr [E, edge_dim or in]``
        - output: ``[N_dst, out]``
    """

    def __init__(self, nn: torch.nn.Module, eps: float = 0.0, train_eps: bool = False,
                 edge_dim: Optional[int] = None, **kwargs):
        super().__init__(nn, eps, train_eps, **kwargs)
        self.lin = None
        if edge_dim is not None:
            check_channels("edge_dim", edge_dim)
            first = nn[0] if isinstance(nn, torch.nn.Sequential) else nn
            in_channels = getattr(first, "in_features", getattr(first, "in_channels", None))
            if in_channels is None:
                raise ValueError(f"nn: with edge_dim, expected a module with in_features or in_channels (or a "
                                 f"Sequential starting with one), got {type(first).__name__}")
            self.lin = Linear(edge_dim, in_channels)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.lin is not None:
            self.lin.reset_parameters()

    def forward(self, x: Union[Tensor, tuple[Tensor, Optional[Tensor]]], edge_index: Graph,
                edge_attr: Optional[Tensor] = None, size: Optional[tuple[int, int]] = None) -> Tensor:
        index, x_src, x_dst, _ = graph_and_features(x, edge_index, node_dim=self.node_dim, flow=self.flow, size=size,
                                                    allow_missing_dst=True)
        if not isinstance(edge_attr, Tensor) or edge_attr.shape[0] != index.num_edges:
            shape = list(edge_attr.shape) if isinstance(edge_attr, Tensor) else edge_attr
            raise ValueError(f"edge_attr: expected edge features [{index.num_edges}, ...], one row per edge, got "
                             f"{shape}")
        edge = edge_attr if self.lin is None else tall_linear(self.lin, edge_attr)
        if edge.shape[-1] != x_src.shape[-1]:
            raise ValueError(f"edge_attr: expected the node features' size {x_src.shape[-1]} (or set edge_dim to map "
                             f"them), got {edge_attr.shape[-1]}")
        if self.reductions == ("sum",) and x_src.dim() == 2 and edge.dim() == 2:
            out = relu_spmm(index, x_src, edge)                   # the [E, in] messages formed in registers
        else:
            out = self.propagate(index, x=(x_src, x_dst), edge_attr=edge)
        return self.update_nodes(out, x_dst)

    def message(self, x_j: Tensor, edge_attr: Tensor) -> Tensor:
        return (x_j + edge_attr).relu()
