"""Edge-conditioned convolution (Gilmer et al., ICML 2017; Simonovsky & Komodakis, CVPR 2017)."""

from __future__ import annotations

from typing import Callable, Optional, Union

import torch
from torch import Tensor
from torch_geometric.nn import Linear
from torch_geometric.nn.inits import reset

from ..argument_checks import check_channels, check_width
from ..module_hooks import has_hooks, is_plain_linear
from ..sparse import edge_matrix_spmm, gather_sum, spmm
from ..sparse.graph_input import Graph, edge_features_of, graph_and_features
from .message_passing import MessagePassing, sum_or_mean


def affine_tail(network: Callable) -> tuple[Optional[Callable[[Tensor], Tensor]], Optional[torch.nn.Module]]:
    """Split an edge network into ``(prefix, tail)`` with ``network(f) == tail(prefix(f))`` and ``tail`` a plain
    Linear (``torch.nn.Linear`` or torch_geometric ``Linear``, see :func:`~geomlearn.module_hooks.is_plain_linear`),
    so that the tail can be applied in factorised form; ``prefix`` is ``None`` when the network is the Linear
    itself. ``(None, None)`` for any other network, and when a hook on a module whose call would be skipped could
    observe the difference."""
    if is_plain_linear(network):
        return None, network
    if type(network) is not torch.nn.Sequential or has_hooks(network) or len(network) == 0:
        return None, None
    *body, tail = list(network)
    if not is_plain_linear(tail):
        return None, None

    def prefix(features: Tensor) -> Tensor:
        for module in body:
            features = module(features)
        return features

    return (prefix if body else None), tail


class NNConv(MessagePassing):
    r"""The edge-conditioned convolution of `Gilmer et al. <https://arxiv.org/abs/1704.01212>`_ (the MPNN's edge
    network),

    .. math::
        x_i' = \Theta x_i + \bigoplus_{j \to i} x_j^\top h_\Theta(e_{ji}) + b

    where the network :math:`h_\Theta` maps each edge's features to an ``[in, out]`` matrix. A drop-in for
    ``torch_geometric.nn.NNConv`` (parameters ``nn.*``, ``lin``, ``bias``).

    For a sum or mean aggregation the layer never forms the ``[E, in, out]`` matrices when the network ends in an
    affine map (a ``torch.nn.Linear``, alone or last in a ``torch.nn.Sequential``): with
    :math:`h_\Theta(e) = \mathrm{vec}^{-1}(A f_e + b)`, where :math:`f_e \in \mathbb{R}^H` is what the layers before
    the Linear make of the edge features, :math:`A_h` the ``[in, out]`` slice of :math:`A` that multiplies
    :math:`f_{e,h}` and :math:`B = \mathrm{vec}^{-1}(b)`,

    .. math::
        \sum_{j \to i} x_j^\top h_\Theta(e_{ji}) = \sum_{j \to i} \sum_{h=1}^{H} f_{e,h} \, (x_j^\top A_h)
        + \Big(\sum_{j \to i} x_j\Big)^\top B,

    so the per-node matrices ``x_j A_h [N_src, H, out]`` are aggregated by one multi-head
    :func:`~geomlearn.sparse.spmm` weighted by ``f [E, H]``: ``O(E H out)`` work and no per-edge tensor wider than
    ``f``. Other networks (or a Linear that carries hooks, or a subclass of it) run per edge, and the products and
    their sum are one fused :func:`~geomlearn.sparse.edge_matrix_spmm`, which forms neither the gathered
    ``[E, in]`` features nor the ``[E, out]`` messages. Another aggregation gathers the sources
    (:func:`~geomlearn.sparse.gather_sum`), multiplies them by the per-edge matrices in one batched matmul and
    reduces the messages.

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
        fused = self.reductions in (("sum",), ("mean",))
        prefix, tail = affine_tail(self.nn) if fused else (None, None)
        features = edge_attr if prefix is None else prefix(edge_attr)
        if tail is not None and features.dim() == 2 and features.shape[1] == tail.weight.shape[1]:
            self._check_edge_matrices(index, (index.num_edges, tail.weight.shape[0]))
            out = self._factorised(index, x_src, features, tail)
        else:
            weight = (self.nn if tail is None else tail)(features)
            self._check_edge_matrices(index, weight.shape)
            weight = weight.view(-1, self.in_channels_l, self.out_channels)
            out = self._materialised(index, x_src, weight, fused)
        if self.root_weight and x_dst is not None:
            out = out + self.lin(x_dst)
        return out if self.bias is None else out + self.bias

    def _check_edge_matrices(self, index, shape) -> None:
        if tuple(shape) != (index.num_edges, self.in_channels_l * self.out_channels):
            raise ValueError(f"nn: expected it to map edge_attr to [{index.num_edges}, {self.in_channels_l} * "
                             f"{self.out_channels}] (in_channels * out_channels per edge), got {list(shape)}")

    def _factorised(self, index, x_src: Tensor, features: Tensor, tail: torch.nn.Module) -> Tensor:
        # sum_j x_j (A f_e + b) = sum_j sum_h f_{e,h} (x_j A_h) + (sum_j x_j) B: per-node matrices x_j A_h, per-edge
        # weights f_e; no [E, in, out] tensor
        in_src, out_channels, hidden = self.in_channels_l, self.out_channels, tail.weight.shape[1]
        per_feature = tail.weight.view(in_src, out_channels, hidden).transpose(1, 2).reshape(in_src, -1)
        node_matrices = (x_src @ per_feature).view(-1, hidden, out_channels)      # [N_src, hidden, out]
        reduce = self.reductions[0]
        out = spmm(index, node_matrices, features, reduce=reduce).sum(dim=1)
        if tail.bias is not None:
            out = out + spmm(index, x_src, reduce=reduce) @ tail.bias.view(in_src, out_channels)
        return out

    def _materialised(self, index, x_src: Tensor, weight: Tensor, fused: bool) -> Tensor:
        if fused:
            # no [E, in] gather, no [E, out] messages
            return sum_or_mean(edge_matrix_spmm(index, x_src, weight), index, self.reductions[0])
        messages = torch.bmm(gather_sum(index, None, x_src).unsqueeze(1), weight).squeeze(1)  # [E, out]
        return self.aggregate_edges(messages, index)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, aggr={self.aggr}, nn={self.nn})"
