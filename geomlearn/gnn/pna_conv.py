"""Principal neighbourhood aggregation (Corso et al., NeurIPS 2020)."""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

import torch
from torch import Tensor
from torch_geometric.nn import Linear
from torch_geometric.nn.aggr import DegreeScalerAggregation, StdAggregation, VarAggregation
from torch_geometric.nn.inits import reset
from torch_geometric.nn.resolver import activation_resolver

from ..argument_checks import check_channels, check_int, check_width
from ..sparse import SparseIndex, gather_sum, segment_reduce
from ..sparse.graph_input import Graph, graph_and_features
from .leading_linear import split_leading_linear
from .message_passing import BUILT_IN_REDUCTIONS, MessagePassing

SCALERS = ("identity", "amplification", "attenuation", "linear", "inverse_linear")
# torch_geometric's std: sqrt(max(var, 1e-5)), and exactly 0 where that floor is hit.
STD_FLOOR = 1e-5


def _moments(messages: Tensor, index: SparseIndex) -> tuple[Tensor, Tensor]:
    mean = segment_reduce(messages, index, "mean")
    return mean, segment_reduce(messages * messages, index, "mean") - mean * mean


def aggregate_by_module(module: torch.nn.Module, messages: Tensor, index: SparseIndex) -> Tensor:
    """One of torch_geometric's aggregation modules on per-edge ``messages [E, ...]``: the basic ones
    (sum, mean, min, max, var, std) as :func:`~geomlearn.sparse.segment_reduce` over the cached CSR, any other
    through the module itself."""
    kind = type(module)
    if kind in BUILT_IN_REDUCTIONS:
        return segment_reduce(messages, index, BUILT_IN_REDUCTIONS[kind])
    if kind is VarAggregation and not module.semi_grad:
        return _moments(messages, index)[1]
    if kind is StdAggregation and not module.var_aggr.semi_grad:
        std = _moments(messages, index)[1].clamp(min=STD_FLOOR).sqrt()
        return std.masked_fill(std <= STD_FLOOR ** 0.5, 0.0)
    return module(messages, index.dst.long(), dim_size=index.num_dst, dim=0)


class PNAConv(MessagePassing):
    r"""The principal neighbourhood aggregation of `Corso et al. <https://arxiv.org/abs/2004.05718>`_,

    .. math::
        x_i' = W \Big\Vert_{t} \gamma_t\Big(\Big[x_i^t,\ \mathop{\Big\Vert}_{s \in S,\, a \in A}
            s(d_i)\, a_{j \to i}\big(h_t([x_i^t, x_j^t, \phi(e_{ji})])\big)\Big]\Big)

    over towers :math:`t`, aggregators :math:`A` (mean, min, max, std, var, sum, ...) and degree scalers
    :math:`S`: identity, amplification :math:`\log(d + 1) / \delta`, attenuation :math:`\delta / \log(d + 1)`,
    linear :math:`d / \bar d` and inverse linear :math:`\bar d / d`, with :math:`\delta` and :math:`\bar d` the
    mean log-degree and degree of the training graphs (``deg``, a histogram).

    A drop-in for ``torch_geometric.nn.PNAConv`` (parameters ``edge_encoder``, ``pre_nns``, ``post_nns``, ``lin``
    and the ``aggr_module``'s degree statistics). The first layer of each tower's pre-network runs on the nodes
    (:math:`W [x_i, x_j, e] = W_t x_i + W_s x_j + W_e e`), so the ``[E, towers, 2 or 3 F]`` concatenation is never
    formed; the aggregators run as :func:`~geomlearn.sparse.segment_reduce` over the cached CSR.

    Args:
        in_channels: input size.
        out_channels: output size (a multiple of ``towers``).
        aggregators: aggregation names (torch_geometric's: ``"mean"``, ``"min"``, ``"max"``, ``"std"``, ``"var"``,
            ``"sum"``, or any other it resolves).
        scalers: scaler names from ``identity``, ``amplification``, ``attenuation``, ``linear``,
            ``inverse_linear``.
        deg: the in-degree histogram of the training graphs (``PNAConv.get_degree_histogram``).
        edge_dim: size of the edge features, or ``None``.
        towers: number of towers.
        pre_layers: layers of each tower's pre-network.
        post_layers: layers of each tower's post-network.
        divide_input: split the input features among the towers (else every tower sees all of them).
        act: the activation between layers.
        act_kwargs: its keywords.
        train_norm: learn the degree statistics.
        **kwargs: :class:`~geomlearn.gnn.MessagePassing`'s options.

    Shapes:
        - input: ``x [N, in]``, ``edge_index`` / ``SparseIndex`` / ``Data``, ``edge_attr [E, edge_dim]``
          (with ``edge_dim``)
        - output: ``[N, out]``
    """

    def __init__(self, in_channels: int, out_channels: int, aggregators: list[str], scalers: list[str],
                 deg: Tensor, edge_dim: Optional[int] = None, towers: int = 1, pre_layers: int = 1,
                 post_layers: int = 1, divide_input: bool = False, act: Union[str, Callable, None] = "relu",
                 act_kwargs: Optional[dict[str, Any]] = None, train_norm: bool = False, **kwargs):
        check_channels("in_channels", in_channels)
        check_channels("out_channels", out_channels)
        check_int("towers", towers)
        check_int("pre_layers", pre_layers)
        check_int("post_layers", post_layers)
        check_int("edge_dim", edge_dim, optional=True)
        unknown = [s for s in scalers if s not in SCALERS]
        if unknown:
            raise ValueError(f"scalers: expected names from {SCALERS}, got {unknown}")
        if not isinstance(deg, Tensor) or deg.dim() != 1 or not deg.numel() or float(deg.sum()) <= 0:
            raise ValueError(f"deg: expected a non-empty degree histogram [max degree + 1] with a positive total, "
                             f"got {deg if not isinstance(deg, Tensor) else list(deg.shape)}")
        if divide_input and in_channels % towers:
            raise ValueError(f"in_channels: with divide_input, expected a multiple of towers={towers}, got "
                             f"{in_channels}")
        if out_channels % towers:
            raise ValueError(f"out_channels: expected a multiple of towers={towers}, got {out_channels}")
        super().__init__(aggr=DegreeScalerAggregation(aggregators, scalers, deg, train_norm), node_dim=0, **kwargs)
        self.in_channels, self.out_channels, self.edge_dim = in_channels, out_channels, edge_dim
        self.towers, self.divide_input = towers, divide_input
        self.F_in = in_channels // towers if divide_input else in_channels
        self.F_out = out_channels // towers
        if edge_dim is not None:
            self.edge_encoder = Linear(edge_dim, self.F_in)

        def network(first_in: int, width: int, layers: int) -> torch.nn.Sequential:
            modules = [Linear(first_in, width)]
            for _ in range(layers - 1):
                modules += [activation_resolver(act, **(act_kwargs or {})), Linear(width, width)]
            return torch.nn.Sequential(*modules)

        inputs = 3 if edge_dim else 2
        per_tower = (len(aggregators) * len(scalers) + 1) * self.F_in
        self.pre_nns = torch.nn.ModuleList([network(inputs * self.F_in, self.F_in, pre_layers) for _ in range(towers)])
        self.post_nns = torch.nn.ModuleList([network(per_tower, self.F_out, post_layers) for _ in range(towers)])
        self.lin = Linear(out_channels, out_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.edge_dim is not None:
            self.edge_encoder.reset_parameters()
        for network in (*self.pre_nns, *self.post_nns):
            reset(network)
        self.lin.reset_parameters()

    def forward(self, x: Tensor, edge_index: Graph, edge_attr: Optional[Tensor] = None) -> Tensor:
        index, x, _, _ = graph_and_features(x, edge_index, flow=self.flow)
        check_width("x", x, self.in_channels)
        if (edge_attr is None) != (self.edge_dim is None):
            raise ValueError(f"edge_attr: this PNAConv was built with edge_dim={self.edge_dim}, so it "
                             f"{'takes no' if self.edge_dim is None else 'needs'} edge features")
        towers, width = self.towers, self.F_in
        x = x.view(-1, towers, width) if self.divide_input else x.view(-1, 1, width).expand(-1, towers, width)
        edges = None
        if edge_attr is not None:
            if edge_attr.shape[0] != index.num_edges:
                raise ValueError(f"edge_attr: expected {index.num_edges} rows (one per edge), got "
                                 f"{list(edge_attr.shape)}")
            edges = self.edge_encoder(edge_attr)                                       # [E, F]
        messages = torch.stack([self._pre_network(t, index, x[:, t], edges) for t in range(towers)], dim=1)
        out = self._scaled_aggregation(messages.reshape(index.num_edges, -1), index)   # [N, S * A * T * F] by (s, a)
        out = out.view(index.num_dst, -1, towers, width).transpose(1, 2).reshape(index.num_dst, towers, -1)
        out = torch.cat([x, out], dim=-1)
        return self.lin(torch.cat([network(out[:, t]) for t, network in enumerate(self.post_nns)], dim=1))

    def _pre_network(self, tower: int, index: SparseIndex, x: Tensor, edges: Optional[Tensor]) -> Tensor:
        """Tower ``tower``'s pre-network on every edge, its first layer split into node and edge blocks."""
        network, width = self.pre_nns[tower], self.F_in
        split = split_leading_linear(network)
        weight = split.weight
        hidden = gather_sum(index, x @ weight[:, :width].T, x @ weight[:, width:2 * width].T)
        if edges is not None:
            hidden = hidden + edges @ weight[:, 2 * width:].T
        if split.bias is not None:
            hidden = hidden + split.bias
        return split.rest(hidden)

    def _scaled_aggregation(self, messages: Tensor, index: SparseIndex) -> Tensor:
        """Every aggregator of the ``aggr_module``, then every scaler of the in-degree, concatenated (scaler-major,
        then aggregator, as torch_geometric's ``DegreeScalerAggregation`` orders them)."""
        module = self.aggr_module
        parts = [aggregate_by_module(a, messages, index) for a in module.aggr.aggrs]
        out = torch.cat(parts, dim=-1)
        degree = index.in_degree().to(out.dtype).unsqueeze(1)
        factors = {"identity": None,
                   "amplification": lambda: torch.log(degree + 1) / module.avg_deg_log,
                   "attenuation": lambda: module.avg_deg_log / torch.log(degree.clamp(min=1) + 1),
                   "linear": lambda: degree / module.avg_deg_lin,
                   "inverse_linear": lambda: module.avg_deg_lin / degree.clamp(min=1)}
        scaled = [out if factors[s] is None else out * factors[s]() for s in module.scaler]
        return torch.cat(scaled, dim=-1)

    @staticmethod
    def get_degree_histogram(loader) -> Tensor:
        """The in-degree histogram ``[max degree + 1]`` over every graph a loader yields (torch_geometric's)."""
        histogram = torch.zeros(1, dtype=torch.long)
        for data in loader:
            counts = torch.bincount(SparseIndex.from_data(data).in_degree().long())
            if counts.numel() > histogram.numel():
                counts[:histogram.numel()] += histogram
                histogram = counts
            else:
                histogram[:counts.numel()] += counts
        return histogram

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, towers={self.towers}, "
                f"edge_dim={self.edge_dim})")
