"""Deep Adaptive Graph Neural Network (Liu, Gao & Ji, KDD 2020)."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import Linear

from ..argument_checks import check_channels, check_int, check_probability, check_width
from ..sparse.graph_input import Graph, graph_and_features
from .message_passing import MessagePassing, weighted_message
from .normalization import cached_normalization


class DAGNNPropagation(MessagePassing):
    r"""The adaptive propagation of `DAGNN <https://arxiv.org/abs/2007.09296>`_.

    .. math::
        H_0 = Z, \quad H_k = \hat A H_{k-1}\ (k = 1..K), \qquad
        s_k = \sigma(H_k w + b) \in \mathbb R^{N}, \qquad
        X' = \sum_{k=0}^{K} \operatorname{diag}(s_k)\, H_k

    with :math:`\hat A = \hat D^{-1/2}(A + I)\hat D^{-1/2}`; node-wise
    :math:`x_i' = \sum_k \sigma(\langle h_{k,i}, w \rangle + b)\, h_{k,i}`. The learnable retainment scores
    let each node choose how far to look, which is what keeps deep propagation (large ``K``) from
    over-smoothing. Each step is one fused :func:`~geomlearn.sparse.spmm`.

    Args:
        channels: feature size :math:`C` of :math:`Z` (the number of classes in the paper's model).
        K: number of propagation steps.
        cached: normalise once and reuse (one graph only).

    Shapes:
        - input: ``z [N, C]``, ``edge_index`` / ``SparseIndex`` / ``Data``, ``edge_weight [E]`` (optional)
        - output: ``[N, C]``
    """

    def __init__(self, channels: int, K: int, cached: bool = False):
        super().__init__(aggr="sum")
        check_int("K", K, 0)
        self.channels, self.K, self.cached = check_channels("channels", channels), K, cached
        self.proj = torch.nn.Linear(channels, 1)
        self._cached_edge_index = None

    def reset_parameters(self) -> None:
        self.proj.reset_parameters()
        self._cached_edge_index = None

    def forward(self, z: Tensor, edge_index: Graph, edge_weight: Optional[Tensor] = None) -> Tensor:
        index, z, _, edge_weight = graph_and_features(z, edge_index, edge_weight)
        check_width("z", z, self.channels, "channels")
        index, edge_weight = cached_normalization(self, index, edge_weight, dtype=z.dtype)
        hops = [z]
        for _ in range(self.K):
            hops.append(self.propagate(index, x=hops[-1], edge_weight=edge_weight))
        stack = torch.stack(hops, dim=1)                                # [N, K + 1, C]
        retain = torch.sigmoid(self.proj(stack))                        # [N, K + 1, 1]
        return (retain * stack).sum(dim=1)

    message = weighted_message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.channels}, K={self.K})"


class DAGNN(torch.nn.Module):
    r"""The DAGNN model: an MLP, then :class:`DAGNNPropagation` over its outputs.

    .. math::
        Z = \mathrm{MLP}(X) = W_2\, \mathrm{drop}(\mathrm{ReLU}(W_1\, \mathrm{drop}(X))), \qquad
        \mathrm{out} = \mathrm{DAGNNPropagation}_K(Z)

    Returns logits (the paper's code applies ``log_softmax`` afterwards; use ``cross_entropy`` on these).
    Settings of the paper on the Planetoid public split: hidden 64, lr 0.01, ``K = 10`` with dropout 0.8 and
    weight decay 5e-3 (Cora), ``K = 10``, dropout 0.5, weight decay 2e-2 (CiteSeer), ``K = 20``, dropout
    0.8, weight decay 5e-3 (PubMed).

    Args:
        in_channels: input feature size (-1: from the first input).
        hidden_channels: hidden size of the MLP.
        out_channels: number of classes.
        K: propagation steps.
        dropout: dropout before each linear map.
        cached: cache the normalised graph (transductive training on one graph).

    Shapes:
        - input: ``x [N, in_channels]``, ``edge_index`` / ``SparseIndex`` / ``Data``
        - output: ``[N, out_channels]``
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, K: int, dropout: float = 0.5,
                 cached: bool = False):
        super().__init__()
        check_channels("in_channels", in_channels, lazy=True)
        check_channels("hidden_channels", hidden_channels)
        check_channels("out_channels", out_channels)
        self.dropout = check_probability("dropout", dropout)
        self.lin1 = Linear(in_channels, hidden_channels)
        self.lin2 = torch.nn.Linear(hidden_channels, out_channels)
        self.prop = DAGNNPropagation(out_channels, K, cached=cached)

    def reset_parameters(self) -> None:
        self.lin1.reset_parameters()
        self.lin2.reset_parameters()
        self.prop.reset_parameters()

    def mlp(self, x: Tensor) -> Tensor:
        """:math:`Z`, the transformation before any propagation."""
        check_width("x", x, self.lin1.in_channels)
        x = F.dropout(x, self.dropout, self.training)
        x = F.relu(self.lin1(x))
        x = F.dropout(x, self.dropout, self.training)
        return self.lin2(x)

    def forward(self, x: Tensor, edge_index: Graph, edge_weight: Optional[Tensor] = None) -> Tensor:
        return self.prop(self.mlp(x), edge_index, edge_weight)
