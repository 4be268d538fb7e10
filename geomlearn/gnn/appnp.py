"""Approximate personalised propagation of neural predictions (Gasteiger et al., ICLR 2019)."""

from __future__ import annotations

from typing import Optional

import torch.nn.functional as F
from torch import Tensor

from ..argument_checks import check_int, check_probability
from ..sparse.graph_input import Graph, graph_and_features
from .message_passing import MessagePassing, weighted_message
from .normalization import cached_normalization


class APPNP(MessagePassing):
    r"""The propagation of `Gasteiger et al. <https://arxiv.org/abs/1810.05997>`_ (personalised PageRank).

    .. math::
        X^{(0)} = X, \qquad X^{(k)} = (1 - \alpha)\, \hat A X^{(k-1)} + \alpha X, \qquad X' = X^{(K)}

    with :math:`\hat A = \hat D^{-1/2} (A + I) \hat D^{-1/2}`; node-wise
    :math:`x_i^{(k)} = (1 - \alpha) \sum_{j} \hat a_{ij} x_j^{(k-1)} + \alpha x_i`. No parameters; each
    step is one fused :func:`~geomlearn.sparse.spmm`. A drop-in for ``torch_geometric.nn.APPNP``.

    Args:
        K: number of steps.
        alpha: teleport probability :math:`\alpha`.
        dropout: dropout on the normalised edge weights at each step during training.
        cached: normalise once and reuse (one graph only).
        add_self_loops: add the remaining self loops.
        normalize: apply the symmetric normalisation.
        **kwargs: :class:`~geomlearn.gnn.MessagePassing`'s options.

    Shapes:
        - input: ``x [N, C]``, ``edge_index`` / ``SparseIndex`` / ``Data``, ``edge_weight [E]`` (optional)
        - output: ``[N, C]``
    """

    def __init__(self, K: int, alpha: float, dropout: float = 0.0, cached: bool = False, add_self_loops: bool = True,
                 normalize: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        check_int("K", K, 0)
        check_probability("dropout", dropout)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha: expected a number in [0, 1], got {alpha!r}")
        self.K, self.alpha, self.dropout = K, alpha, dropout
        self.cached, self.add_self_loops, self.normalize = cached, add_self_loops, normalize
        self._cached_edge_index = None

    def reset_parameters(self) -> None:
        self._cached_edge_index = None

    def forward(self, x: Tensor, edge_index: Graph, edge_weight: Optional[Tensor] = None) -> Tensor:
        index, x, _, edge_weight = graph_and_features(x, edge_index, edge_weight, node_dim=self.node_dim,
                                                      flow=self.flow)
        if self.normalize:
            index, edge_weight = cached_normalization(self, index, edge_weight, add_self_loops=self.add_self_loops,
                                                      dtype=x.dtype)
        h = x
        for _ in range(self.K):
            weight = edge_weight
            if self.dropout > 0 and self.training:
                weight = F.dropout(weight if weight is not None else x.new_ones(index.num_edges), p=self.dropout)
            x = (1 - self.alpha) * self.propagate(index, x=x, edge_weight=weight) + self.alpha * h
        return x

    message = weighted_message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(K={self.K}, alpha={self.alpha})"
