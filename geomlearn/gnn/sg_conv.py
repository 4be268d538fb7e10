"""Simplifying graph convolution (Wu et al., ICML 2019)."""

from __future__ import annotations

from typing import Optional

import torch.nn.functional as F
from torch import Tensor
from torch.nn.parameter import UninitializedParameter
from torch_geometric.nn import Linear

from ..argument_checks import check_channels, check_int, check_width
from ..sparse.graph_input import Graph, graph_and_features
from .message_passing import MessagePassing, weighted_message
from .normalization import symmetric_normalization


class SGConv(MessagePassing):
    r"""The simple graph convolution of `Wu et al. <https://arxiv.org/abs/1902.07153>`_: ``K`` normalised
    propagations, then one linear map,

    .. math::
        X' = \left(\hat D^{-1/2} \hat A \hat D^{-1/2}\right)^K X\, W^\top + b, \qquad \hat A = A + I.

    A drop-in for ``torch_geometric.nn.SGConv`` (parameter ``lin``; with ``cached=True`` the propagated
    features are kept in ``_cached_x``, as there, for transductive training on one graph). Each propagation is
    one fused :func:`~geomlearn.sparse.spmm`; when the output is narrower than the input and nothing is cached,
    the linear map runs first (it commutes with the propagation), so the ``K`` products move ``out_channels``
    columns instead of ``in_channels``.

    Args:
        in_channels: input size (-1: inferred from the first input).
        out_channels: output size.
        K: number of propagations.
        cached: keep :math:`\hat A^K X` from the first call and reuse it (one graph, fixed features).
        add_self_loops: add the remaining self loops before normalising.
        bias: learn :math:`b`.
        **kwargs: :class:`~geomlearn.gnn.MessagePassing`'s options.

    Shapes:
        - input: ``x [N, in_channels]``, ``edge_index`` / ``SparseIndex`` / ``Data`` / ``torch.sparse``
          adjacency, ``edge_weight [E]`` (optional)
        - output: ``[N, out_channels]``
    """

    def __init__(self, in_channels: int, out_channels: int, K: int = 1, cached: bool = False,
                 add_self_loops: bool = True, bias: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.in_channels = check_channels("in_channels", in_channels, lazy=True)
        self.out_channels = check_channels("out_channels", out_channels)
        self.K = check_int("K", K, 0)
        self.cached, self.add_self_loops = cached, add_self_loops
        self._cached_x = None
        self.lin = Linear(in_channels, out_channels, bias=bias)

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()
        self._cached_x = None

    def forward(self, x: Tensor, edge_index: Graph, edge_weight: Optional[Tensor] = None) -> Tensor:
        if self._cached_x is not None:
            return self.lin(self._cached_x.detach())
        index, x, _, edge_weight = graph_and_features(x, edge_index, edge_weight, node_dim=self.node_dim,
                                                      flow=self.flow)
        check_width("x", x, self.in_channels)
        index, edge_weight = symmetric_normalization(index, edge_weight, add_self_loops=self.add_self_loops,
                                                     dtype=x.dtype)
        project_first = not self.cached and self.out_channels < x.shape[-1] and \
            not isinstance(self.lin.weight, UninitializedParameter)
        if project_first:
            x = F.linear(x, self.lin.weight)
        for _ in range(self.K):
            x = self.propagate(index, x=x, edge_weight=edge_weight)
        if project_first:
            return x if self.lin.bias is None else x + self.lin.bias
        if self.cached and self.K > 0:
            self._cached_x = x
        return self.lin(x)

    message = weighted_message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, K={self.K})"
