"""Graph isomorphism network convolution (Xu et al., ICLR 2019)."""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor

from ..argument_checks import check_real
from ..sparse.graph_input import Graph, graph_and_features
from .message_passing import MessagePassing


class GINConv(MessagePassing):
    r"""The graph isomorphism operator of `Xu et al. <https://arxiv.org/abs/1810.00826>`_.

    .. math::
        X' = h_\Theta\big((A + (1 + \epsilon) I) X\big), \qquad
        x_i' = h_\Theta\Big((1 + \epsilon)\, x_i + \sum_{j \to i} x_j\Big)

    A drop-in for ``torch_geometric.nn.GINConv`` (parameters ``nn.*`` and ``eps``). The neighbour sum is
    one fused :func:`~geomlearn.sparse.spmm`.

    Args:
        nn: the network :math:`h_\Theta` mapping ``[N, in]`` to ``[N, out]``, e.g. an MLP.
        eps: initial :math:`\epsilon`.
        train_eps: learn :math:`\epsilon` (else it is a buffer).
        **kwargs: :class:`~geomlearn.gnn.MessagePassing`'s options.

    Shapes:
        - input: ``x [N, in]`` or ``(x_src [N_src, in], x_dst [N_dst, in])``, ``edge_index`` / ``SparseIndex``
          / ``Data``
        - output: ``[N_dst, out]``
    """

    def __init__(self, nn: torch.nn.Module, eps: float = 0.0, train_eps: bool = False, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        if not isinstance(nn, torch.nn.Module):
            raise TypeError(f"nn: expected a torch.nn.Module mapping [N, in] to [N, out], got {type(nn).__name__}")
        check_real("eps", eps)
        self.nn = nn
        self.initial_eps = eps
        if train_eps:
            self.eps = torch.nn.Parameter(torch.tensor([float(eps)]))
        else:
            self.register_buffer("eps", torch.tensor([float(eps)]))

    def reset_parameters(self) -> None:
        for module in self.nn.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        self.eps.data.fill_(self.initial_eps)

    def forward(self, x: Union[Tensor, tuple[Tensor, Tensor]], edge_index: Graph,
                size: Optional[tuple[int, int]] = None) -> Tensor:
        index, x_src, x_dst, _ = graph_and_features(x, edge_index, node_dim=self.node_dim, flow=self.flow, size=size,
                                                    allow_missing_dst=True)
        return self.update_nodes(self.propagate(index, x=(x_src, x_dst)), x_dst)

    def update_nodes(self, aggregated: Tensor, x_dst: Optional[Tensor]) -> Tensor:
        r"""GIN's node update :math:`h_\Theta((1 + \epsilon) x_i + a_i)` of the aggregated messages ``a`` (without
        target features, as for a bipartite ``(x_src, None)`` call: :math:`h_\Theta(a_i)`)."""
        return self.nn(aggregated if x_dst is None else aggregated + (1 + self.eps) * x_dst)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(nn={self.nn})"
