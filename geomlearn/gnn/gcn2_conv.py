"""GCNII: graph convolution with initial residual and identity mapping (Chen et al., ICML 2020)."""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor
from torch_geometric.nn.inits import glorot

from ..argument_checks import check_channels, check_int, check_real, check_width
from ..sparse.graph_input import Graph, graph_and_features
from .message_passing import MessagePassing, weighted_message
from .normalization import cached_normalization


class GCN2Conv(MessagePassing):
    r"""The GCNII layer of `Chen et al. <https://arxiv.org/abs/2007.02133>`_.

    .. math::
        X' = \left((1 - \alpha)\, \hat P X + \alpha X^{(0)}\right)
             \left((1 - \beta) I + \beta W\right),
        \qquad \hat P = \hat D^{-1/2} (A + I) \hat D^{-1/2},

    with :math:`\beta = \log(\theta / \ell + 1)` for layer :math:`\ell` (1 without ``theta`` and ``layer``).
    With ``shared_weights=False`` the two terms get their own maps,
    :math:`(1 - \alpha) \hat P X ((1 - \beta) I + \beta W_1) + \alpha X^{(0)} ((1 - \beta) I + \beta W_2)`.

    A drop-in for ``torch_geometric.nn.GCN2Conv`` (parameters ``weight1``, ``weight2``; ``_cached_edge_index``).
    The propagation is one fused :func:`~geomlearn.sparse.spmm`.

    Args:
        channels: feature size (input and output).
        alpha: the initial-residual strength :math:`\alpha`.
        theta, layer: :math:`\theta` and :math:`\ell` of :math:`\beta`; both or neither.
        shared_weights: one :math:`W` for both terms.
        cached: normalise once and reuse (one graph only).
        add_self_loops: add the remaining self loops.
        normalize: apply the symmetric normalisation.
        **kwargs: :class:`~geomlearn.gnn.MessagePassing`'s options.

    Shapes:
        - input: ``x [N, channels]``, the initial features ``x_0 [N', channels]`` (``N' >= N``; the first ``N``
          are used), ``edge_index`` / ``SparseIndex`` / ``Data`` / ``torch.sparse`` adjacency, ``edge_weight [E]``
        - output: ``[N, channels]``
    """

    def __init__(self, channels: int, alpha: float, theta: Optional[float] = None, layer: Optional[int] = None,
                 shared_weights: bool = True, cached: bool = False, add_self_loops: bool = True,
                 normalize: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.channels = check_channels("channels", channels)
        self.alpha = check_real("alpha", alpha)
        if (theta is None) != (layer is None):
            raise ValueError(f"theta, layer: give both (beta = log(theta / layer + 1)) or neither, got theta={theta!r} "
                             f"and layer={layer!r}")
        self.beta = 1.0
        if theta is not None:
            self.beta = math.log(check_real("theta", theta, 0.0) / check_int("layer", layer, 1) + 1)
        self.cached, self.add_self_loops, self.normalize = cached, add_self_loops, normalize
        self._cached_edge_index = None
        self.weight1 = torch.nn.Parameter(torch.empty(channels, channels))
        self.weight2 = None if shared_weights else torch.nn.Parameter(torch.empty(channels, channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        glorot(self.weight1)
        glorot(self.weight2)
        self._cached_edge_index = None

    def forward(self, x: Tensor, x_0: Tensor, edge_index: Graph, edge_weight: Optional[Tensor] = None) -> Tensor:
        index, x, _, edge_weight = graph_and_features(x, edge_index, edge_weight, node_dim=self.node_dim,
                                                      flow=self.flow)
        check_width("x", x, self.channels, "channels")
        check_width("x_0", x_0, self.channels, "channels")
        if x_0.shape[self.node_dim] < x.shape[self.node_dim]:
            raise ValueError(f"x_0: expected at least the {x.shape[self.node_dim]} nodes of x, got shape "
                             f"{list(x_0.shape)}")
        if self.normalize:
            index, edge_weight = cached_normalization(self, index, edge_weight, add_self_loops=self.add_self_loops,
                                                      dtype=x.dtype)
        h = self.propagate(index, x=x, edge_weight=edge_weight)
        x_0 = x_0.narrow(self.node_dim, 0, x.shape[self.node_dim])
        if self.weight2 is None:
            return self._identity_mapped(torch.lerp(h, x_0, self.alpha), self.weight1)
        return (self._identity_mapped((1 - self.alpha) * h, self.weight1)
                + self._identity_mapped(self.alpha * x_0, self.weight2))

    def _identity_mapped(self, h: Tensor, weight: Tensor) -> Tensor:
        """``(1 - beta) h + beta h W`` as one ``addmm`` over the rows of ``h [..., channels]``."""
        rows = h.reshape(-1, self.channels)
        return torch.addmm(rows, rows, weight, beta=1 - self.beta, alpha=self.beta).view(h.shape)

    message = weighted_message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.channels}, alpha={self.alpha}, beta={self.beta})"
