"""Graph convolution (Kipf & Welling, ICLR 2017)."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.nn import Linear

from ..argument_checks import check_channels, check_width
from ..sparse.graph_input import Graph, graph_and_features
from .message_passing import MessagePassing, weighted_message
from .normalization import added_loop_weight, cached_normalization


class GCNConv(MessagePassing):
    r"""The graph convolution of `Kipf & Welling <https://arxiv.org/abs/1609.02907>`_.

    .. math::
        X' = \hat D^{-1/2} \hat A \hat D^{-1/2} X \Theta + b, \qquad \hat A = A + I

    node-wise, with :math:`\hat d_i = 1 + \sum_{j \to i} w_{ji}`,

    .. math::
        x_i' = \Theta^\top \sum_{j \in \mathcal N(i) \cup \{i\}} \frac{w_{ji}}{\sqrt{\hat d_j \hat d_i}} x_j + b

    A drop-in for ``torch_geometric.nn.GCNConv``: same arguments, same parameter names (``lin.weight``,
    ``bias``; its ``state_dict`` loads), same outputs. The propagation is one fused
    :func:`~geomlearn.sparse.spmm`; when ``out_channels < in_channels`` the linear map runs first, as in
    torch_geometric.

    Args:
        in_channels: input feature size, or -1 to take it from the first input (torch_geometric's lazy
            initialisation).
        out_channels: output feature size.
        improved: self loops of weight 2 (:math:`\hat A = A + 2I`) on weighted edges (see below).
        cached: normalise once and reuse (transductive learning on one graph only).
        add_self_loops: add the remaining self loops (a node that has one keeps its weight); defaults to
            ``normalize``, and needs it.
        normalize: apply the symmetric normalisation (else use ``edge_weight`` as given).
        bias: learn an additive bias.
        **kwargs: :class:`~geomlearn.gnn.MessagePassing`'s options (``aggr``, ``flow``, ``node_dim``, ...).

    As in torch_geometric, ``improved=True`` weighs the added loops 2 when the edges carry weights (given,
    or a sparse adjacency's values); loops added to an unweighted ``edge_index`` weigh 1.

    Shapes:
        - input: ``x [N, in_channels]`` (dense or sparse), or ``[B, N, in_channels]`` (a batch of signals on
          one graph), ``edge_index`` ``[2, E]`` / ``adj_t`` / ``SparseIndex`` / ``Data``, ``edge_weight [E]``
          (optional)
        - output: ``[N, out_channels]`` (``[B, N, out_channels]``)
    """

    def __init__(self, in_channels: int, out_channels: int, improved: bool = False, cached: bool = False,
                 add_self_loops: Optional[bool] = None, normalize: bool = True, bias: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.in_channels = check_channels("in_channels", in_channels, lazy=True)
        self.out_channels = check_channels("out_channels", out_channels)
        self.improved, self.cached = improved, cached
        self.add_self_loops = normalize if add_self_loops is None else add_self_loops
        if self.add_self_loops and not normalize:
            raise ValueError(f"add_self_loops: {type(self).__name__} does not support adding self-loops to the graph "
                             f"when no on-the-fly normalization is applied (normalize=False)")
        self.normalize = normalize
        self.lin = Linear(in_channels, out_channels, bias=False, weight_initializer="glorot")
        self.bias = torch.nn.Parameter(torch.empty(out_channels)) if bias else None
        self._cached_edge_index = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)
        self._cached_edge_index = None

    def forward(self, x: Tensor, edge_index: Graph, edge_weight: Optional[Tensor] = None) -> Tensor:
        index, x, _, edge_weight = graph_and_features(x, edge_index, edge_weight, node_dim=self.node_dim,
                                                      flow=self.flow)
        check_width("x", x, self.lin.in_channels)
        if self.normalize:
            fill = added_loop_weight(self.improved, edge_weight is not None)
            index, edge_weight = cached_normalization(self, index, edge_weight, add_self_loops=self.add_self_loops,
                                                      fill=fill, dtype=x.dtype)
        if self.out_channels <= x.shape[-1] or x.layout != torch.strided:
            out = self.propagate(index, x=self.lin(x), edge_weight=edge_weight)
        else:
            out = self.lin(self.propagate(index, x=x, edge_weight=edge_weight))
        return out if self.bias is None else out + self.bias

    message = weighted_message

