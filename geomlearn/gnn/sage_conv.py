"""GraphSAGE convolution (Hamilton et al., NeurIPS 2017)."""

from __future__ import annotations

from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import Linear
from torch_geometric.nn.aggr import MultiAggregation

from ..argument_checks import check_channels, check_width
from ..sparse.graph_input import Graph, graph_and_features
from .message_passing import MessagePassing


class SAGEConv(MessagePassing):
    r"""The GraphSAGE operator of `Hamilton et al. <https://arxiv.org/abs/1706.02216>`_.

    .. math::
        x_i' = W_1 x_i + W_2 \bigoplus_{j \to i} x_j, \qquad \oplus \in \{\mathrm{mean}, \sum, \max, \min\}

    optionally followed by :math:`x_i' \leftarrow x_i' / \lVert x_i' \rVert_2`. With ``project=True`` the
    sources are first mapped by :math:`x_j \leftarrow \mathrm{ReLU}(W_3 x_j + b_3)`.

    A drop-in for ``torch_geometric.nn.SAGEConv`` (parameters ``lin_l`` = :math:`W_2` with the bias,
    ``lin_r`` = :math:`W_1`, ``lin`` = :math:`W_3`). Built-in reductions run as one fused
    :func:`~geomlearn.sparse.spmm`; ``aggr`` may also be an aggregation module such as
    :class:`~geomlearn.gnn.LCMAggregation`.

    Args:
        in_channels: input size, or ``(source size, target size)`` for a bipartite graph; -1 takes a size from the
            first input (torch_geometric's lazy initialisation).
        out_channels: output size.
        aggr: ``"mean"`` (default), ``"sum"``, ``"max"``, ``"min"`` (fused), any other aggregation torch_geometric
            resolves (``"lstm"``, ``"std"``, a list of names, whose concatenation ``lin_l`` then maps), or an
            aggregation module.
        normalize: L2-normalise the outputs.
        root_weight: add :math:`W_1 x_i` (else only the aggregated neighbours).
        project: project the sources first.
        bias: bias of :math:`W_2`.
        **kwargs: :class:`~geomlearn.gnn.MessagePassing`'s options.

    Shapes:
        - input: ``x [N, in]`` or ``(x_src [N_src, in_src], x_dst [N_dst, in_dst])``, ``edge_index`` /
          ``SparseIndex`` / ``Data``
        - output: ``[N_dst, out_channels]``
    """

    def __init__(self, in_channels: Union[int, tuple[int, int]], out_channels: int,
                 aggr: Union[str, torch.nn.Module] = "mean", normalize: bool = False, root_weight: bool = True,
                 project: bool = False, bias: bool = True, **kwargs):
        check_channels("in_channels", in_channels, lazy=True, pair=True)
        in_src, in_dst = (in_channels, in_channels) if isinstance(in_channels, int) else in_channels
        if aggr == "lstm":
            kwargs["aggr_kwargs"] = {"in_channels": in_src, "out_channels": in_src, **kwargs.get("aggr_kwargs", {})}
        super().__init__(aggr=aggr, **kwargs)
        if project and in_src == -1:
            raise ValueError("in_channels: 'SAGEConv' does not support lazy initialization (-1) with project=True, "
                             "which maps the sources to their own size")
        self.in_channels, self.out_channels = in_channels, check_channels("out_channels", out_channels)
        self.normalize, self.root_weight, self.project = normalize, root_weight, project
        self.lin = Linear(in_src, in_src, bias=True) if project else None
        aggregated = self.aggr_module.get_out_channels(in_src) if isinstance(self.aggr_module, MultiAggregation) \
            else in_src
        self.lin_l = Linear(aggregated, out_channels, bias=bias)
        self.lin_r = Linear(in_dst, out_channels, bias=False) if root_weight else None

    def reset_parameters(self) -> None:
        for lin in (self.lin, self.lin_l, self.lin_r):
            if lin is not None:
                lin.reset_parameters()

    def forward(self, x: Union[Tensor, tuple[Tensor, Tensor]], edge_index: Graph,
                size: Optional[tuple[int, int]] = None) -> Tensor:
        index, x_src, x_dst, _ = graph_and_features(x, edge_index, node_dim=self.node_dim, flow=self.flow, size=size,
                                                    allow_missing_dst=True)
        source_width = self.lin.in_channels if self.lin is not None else self.lin_l.in_channels
        if isinstance(self.aggr_module, MultiAggregation):
            source_width = self.in_channels if isinstance(self.in_channels, int) else self.in_channels[0]
        check_width("x", x_src, source_width)
        if self.lin_r is not None and x_dst is not None:
            check_width("x_dst" if x_dst is not x_src else "x", x_dst, self.lin_r.in_channels)
        if self.lin is not None:
            x_src = F.relu(self.lin(x_src))
        out = self.propagate_then_linear(self.lin_l, index, x_src)
        if self.lin_r is not None and x_dst is not None:
            out = out + self.lin_r(x_dst)
        return F.normalize(out, p=2.0, dim=-1) if self.normalize else out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, aggr={self.aggr})"
