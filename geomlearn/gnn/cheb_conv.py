"""Chebyshev spectral graph convolution (Defferrard, Bresson & Vandergheynst, NeurIPS 2016)."""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor
from torch_geometric.nn import Linear

from ..argument_checks import check_channels, check_int, check_width
from ..sparse import SparseIndex, segment_reduce
from ..sparse.graph_input import Graph, graph_and_features
from .message_passing import MessagePassing

NORMALIZATIONS = (None, "sym", "rw")


def scaled_laplacian(index: SparseIndex, edge_weight: Optional[Tensor], normalization: Optional[str],
                     lambda_max: Union[float, Tensor, None], batch: Optional[Tensor],
                     dtype: torch.dtype) -> tuple[SparseIndex, Tensor, Tensor]:
    r"""The rescaled Laplacian :math:`\hat L = 2 L / \lambda_{\max} - I` as a loop-free graph, its edge weights and
    its diagonal, with torch_geometric's ``get_laplacian`` conventions: self loops are dropped, degrees are summed
    over each node's outgoing edges, and :math:`L` is :math:`D - A` (``None``),
    :math:`I - D^{-1/2} A D^{-1/2}` (``"sym"``) or :math:`I - D^{-1} A` (``"rw"``).

    Args:
        index: the graph (one node set).
        edge_weight: ``[E]`` weights, or ``None`` for ones.
        normalization: ``None``, ``"sym"`` or ``"rw"``.
        lambda_max: the largest eigenvalue, one per graph of a batch, or ``None`` for twice the largest entry
            of :math:`L` (torch_geometric's default).
        batch: ``[N]`` graph of every node, used with a per-graph ``lambda_max``.
        dtype: dtype of the weights when ``edge_weight`` is ``None``.

    Returns:
        ``(loop-free index, weights [E'], diagonal [N])``: :math:`\hat L x` is
        ``spmm(index, x, weights) + diagonal[:, None] * x``.
    """
    num_nodes = index.num_dst
    loops = index.src == index.dst
    if bool(loops.any()):
        kept = ~loops
        loop_free = SparseIndex._trusted(index.edge_index[:, kept], num_nodes, num_nodes)
        edge_weight = None if edge_weight is None else edge_weight[kept]
    else:
        loop_free = index
    if edge_weight is None:
        edge_weight = torch.ones(loop_free.num_edges, dtype=dtype, device=index.device)
    source, target = loop_free.src.long(), loop_free.dst.long()
    degree = segment_reduce(edge_weight, loop_free.t(), "sum")            # over each node's outgoing edges
    if normalization is None:
        weight, diagonal = -edge_weight, degree
    else:
        if normalization == "sym":
            inv_sqrt = degree.pow(-0.5).masked_fill(degree == 0, 0.0)
            weight = -inv_sqrt[source] * edge_weight * inv_sqrt[target]
        else:
            inverse = degree.reciprocal().masked_fill(degree == 0, 0.0)
            weight = -inverse[source] * edge_weight
        diagonal = torch.ones(num_nodes, dtype=weight.dtype, device=weight.device)
    if lambda_max is None:
        lambda_max = 2.0 * torch.cat([weight, diagonal]).max()
    lambda_max = torch.as_tensor(lambda_max, dtype=weight.dtype, device=weight.device)
    if lambda_max.numel() > 1:
        if batch is None:
            raise ValueError(f"lambda_max: {lambda_max.numel()} values (one per graph) need batch, got None")
        if batch.shape != (num_nodes,):
            raise ValueError(f"batch: expected the graph of each of the {num_nodes} nodes, got {list(batch.shape)}")
        if int(batch.max()) >= lambda_max.numel() or int(batch.min()) < 0:
            raise ValueError(f"batch: graph ids must lie in [0, {lambda_max.numel()}) (one lambda_max each), got "
                             f"[{int(batch.min())}, {int(batch.max())}]")
        node_lambda = lambda_max.reshape(-1)[batch.long()]
        edge_lambda = node_lambda[source]
    else:
        node_lambda = edge_lambda = lambda_max.reshape(())
    weight = (2.0 * weight / edge_lambda).masked_fill(edge_lambda == 0, 0.0)
    diagonal = (2.0 * diagonal / node_lambda).masked_fill(node_lambda == 0, 0.0) - 1
    return loop_free, weight, diagonal


class ChebConv(MessagePassing):
    r"""The Chebyshev spectral convolution of `Defferrard et al. <https://arxiv.org/abs/1606.09375>`_,

    .. math::
        X' = \sum_{k=0}^{K-1} T_k(\hat L)\, X\, \Theta_k + b, \qquad
        T_0 = I,\ T_1 = \hat L,\ T_k = 2 \hat L T_{k-1} - T_{k-2}, \qquad \hat L = \frac{2 L}{\lambda_{\max}} - I

    A drop-in for ``torch_geometric.nn.ChebConv`` (parameters ``lins.k``, ``bias``). Each product by
    :math:`\hat L` is one fused :func:`~geomlearn.sparse.spmm` over the loop-free graph plus its diagonal; a graph
    without self loops keeps its cached layouts (a ``SparseIndex`` passed in is reused as it is).

    Args:
        in_channels: input size.
        out_channels: output size.
        K: Chebyshev order (number of terms), >= 1.
        normalization: the Laplacian: ``None`` (:math:`D - A`), ``"sym"`` (:math:`I - D^{-1/2} A D^{-1/2}`) or
            ``"rw"`` (:math:`I - D^{-1} A`).
        bias: learn an additive bias.
        **kwargs: :class:`~geomlearn.gnn.MessagePassing`'s options.

    Shapes:
        - input: ``x [N, in]``, ``edge_index`` / ``SparseIndex`` / ``Data``, ``edge_weight [E]`` (optional),
          ``batch [N]`` and ``lambda_max`` (a number, or ``[B]`` one per graph) (optional)
        - output: ``[N, out]``
    """

    def __init__(self, in_channels: int, out_channels: int, K: int, normalization: Optional[str] = "sym",
                 bias: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        check_channels("in_channels", in_channels, lazy=True)
        check_channels("out_channels", out_channels)
        check_int("K", K)
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization: expected one of {NORMALIZATIONS}, got {normalization!r}")
        self.in_channels, self.out_channels, self.normalization = in_channels, out_channels, normalization
        self.lins = torch.nn.ModuleList([Linear(in_channels, out_channels, bias=False, weight_initializer="glorot")
                                         for _ in range(K)])
        self.bias = torch.nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin in self.lins:
            lin.reset_parameters()
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, edge_index: Graph, edge_weight: Optional[Tensor] = None,
                batch: Optional[Tensor] = None, lambda_max: Union[float, Tensor, None] = None) -> Tensor:
        index, x, _, edge_weight = graph_and_features(x, edge_index, edge_weight, flow=self.flow)
        if x.dim() != 2:
            raise ValueError(f"x: expected node features [N, in_channels], got {list(x.shape)}")
        check_width("x", x, self.lins[0].in_channels)
        laplacian, weight, diagonal = scaled_laplacian(index, edge_weight, self.normalization, lambda_max, batch,
                                                       x.dtype)
        diagonal = diagonal.unsqueeze(1)

        def apply(features: Tensor) -> Tensor:
            return self.propagate(laplacian, x=features, norm=weight) + diagonal * features

        previous, current = x, x
        out = self.lins[0](x)
        if len(self.lins) > 1:
            current = apply(x)
            out = out + self.lins[1](current)
        for lin in self.lins[2:]:
            previous, current = current, 2.0 * apply(current) - previous
            out = out + lin(current)
        return out if self.bias is None else out + self.bias

    def message(self, x_j: Tensor, norm: Tensor) -> Tensor:
        return norm.view(-1, 1) * x_j

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, K={len(self.lins)}, "
                f"normalization={self.normalization})")
